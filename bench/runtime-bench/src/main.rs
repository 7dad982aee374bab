//! Loopback run-time benchmark of two People clients: the generated crate (`ours`) and
//! google-people1 7.0.0 (`theirs`).
//!
//! * `runtime-bench serve`: an HTTP/1.1 server on 127.0.0.1 (port printed on stdout as
//!   `listening PORT`) that answers with canned People JSON built from `data/person.json`.
//! * `runtime-bench run ours|theirs SCENARIO N BASE_URL`: one client process. It builds its
//!   client, warms up (connection, first decode), then runs SCENARIO N times and prints one
//!   JSON line: wall time and this process's user and system CPU time (`getrusage`) for the
//!   measured loop only. The server runs in another process, so its CPU is not counted.
//!
//! Scenarios: `get` (one `people.get`), `list` (a 1000-person `connections.list` page),
//! `batch` (a `batchUpdateContacts` of 200 contacts, 200 results back) and `decode` (no
//! HTTP: the 1000-person page decoded from memory with the client's own types).
//!
//! Both clients are driven the same way: a current-thread tokio runtime, HTTP/1.1 over plain
//! `http://` with a keep-alive pool, a static bearer token, responses checked after decoding.
//!
//! The WAN section's modes (see each module): `wan-serve ADDR CERT_PEM SEED` (`wan_server`),
//! `wan-relay CLIENT_NS SERVER_NS DEVICE ONE_WAY_MS` (`wan_relay`), `wan-probe HOST` and
//! `wan ours|theirs list|get|update BASE_URL CERT_PEM SEED` (`wan_client`).

use std::convert::Infallible;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};

mod scale;
mod wan_client;
mod wan_data;
mod wan_relay;
mod wan_server;

const PERSON: &str = include_str!("../data/person.json");
const PAGE_SIZE: usize = 1000;
const BATCH_SIZE: usize = 200;

fn main() {
    pin_to_cpu();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let seed = |s: &str| s.parse::<u64>().expect("SEED must be a number");
    if args.first().is_some_and(|mode| mode.starts_with("wan")) {
        die_with_parent();
    }
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["wan-serve", addr, cert, s] => {
            return wan_server::run(addr.parse().expect("ADDR must be an IP address"), cert.as_ref(), seed(s))
        }
        ["wan-relay", client_ns, server_ns, device, one_way_ms] => {
            let ms: u64 = one_way_ms.parse().expect("ONE_WAY_MS must be a number");
            return wan_relay::run(client_ns, server_ns, device, Duration::from_millis(ms));
        }
        ["wan-probe", host] => return wan_client::probe(host),
        ["wan", client, row, base, cert, s] => return wan_client::run(client, row, base, cert.as_ref(), seed(s)),
        ["users", client, n, base] => return scale::users(client, n.parse().expect("N must be a number"), base),
        ["upload", file, base] => return scale::upload(file, base),
        ["isolation", n] => return scale::isolation(n.parse().expect("PLACEMENTS must be a number")),
        _ => {}
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["serve"] => rt.block_on(serve()),
        ["run", client, scenario, n, base] => {
            let n: u32 = n.parse().expect("N must be a number");
            let base = base.trim_end_matches('/').to_owned() + "/";
            let m = match *client {
                "ours" => rt.block_on(ours::run(scenario, n, &base)),
                "theirs" => rt.block_on(theirs::run(scenario, n, &base)),
                other => panic!("unknown client {other}"),
            };
            println!(
                "{{\"client\":\"{client}\",\"scenario\":\"{scenario}\",\"n\":{n},\"wall_s\":{:.6},\"user_s\":{:.6},\"sys_s\":{:.6}}}",
                m.wall.as_secs_f64(),
                m.user.as_secs_f64(),
                m.sys.as_secs_f64()
            );
        }
        _ => {
            eprintln!(
                "usage: runtime-bench serve | run ours|theirs get|list|batch|decode N BASE_URL | wan-serve ADDR CERT_PEM SEED \
                 | wan-relay CLIENT_NS SERVER_NS DEVICE ONE_WAY_MS | wan-probe HOST | wan ours|theirs list|get|update BASE_URL CERT_PEM SEED"
            );
            std::process::exit(2);
        }
    }
}

/// Runs this process on the CPU named by `RUNTIME_BENCH_CPU`, when set: `cargo xtask bench`
/// puts the loopback server on one core and the measured client on another, so that they
/// neither share a core nor move between them (on this 2-core machine, unpinned runs of the
/// same client spread over ±30 % of CPU time, pinned ones over ±10 %).
fn pin_to_cpu() {
    let Some(cpu) = std::env::var("RUNTIME_BENCH_CPU").ok().and_then(|v| v.parse::<usize>().ok()) else { return };
    // SAFETY: `set` is a plain bit set the CPU_* helpers write within its size, and
    // sched_setaffinity reads `size_of::<cpu_set_t>()` bytes of it.
    let rc = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    assert!(rc == 0, "cannot pin to CPU {cpu}: {}", std::io::Error::last_os_error());
}

/// The WAN processes are stopped with the bench that started them, however it ends: a
/// client blocked on a link that was just deleted would otherwise wait for TCP to give up.
fn die_with_parent() {
    // SAFETY: prctl with PR_SET_PDEATHSIG takes a signal number and nothing else.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    // The parent may have gone before the call; then this process was already adopted.
    if unsafe { libc::getppid() } == 1 {
        std::process::exit(1);
    }
}

// ---------------------------------------------------------------------------------------
// Measurement

struct Measured {
    wall: Duration,
    user: Duration,
    sys: Duration,
}

fn rusage() -> (Duration, Duration) {
    // SAFETY: getrusage only writes the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    assert_eq!(rc, 0, "getrusage failed");
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    (tv(usage.ru_utime), tv(usage.ru_stime))
}

/// Runs `step` `warmup` times unmeasured, then `n` times measured.
async fn measure<F, Fut>(warmup: u32, n: u32, mut step: F) -> Measured
where
    F: FnMut(u32) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for i in 0..warmup {
        step(i).await;
    }
    let (u0, s0) = rusage();
    let t0 = Instant::now();
    for i in 0..n {
        step(i).await;
    }
    let wall = t0.elapsed();
    let (u1, s1) = rusage();
    Measured { wall, user: u1 - u0, sys: s1 - s0 }
}

fn warmup_for(scenario: &str) -> u32 {
    if scenario == "get" {
        50
    } else {
        3
    }
}

// ---------------------------------------------------------------------------------------
// Canned data, shared by the server and the `decode` scenario

fn person_json(i: usize) -> serde_json::Value {
    let mut p: serde_json::Value = serde_json::from_str(PERSON).expect("person.json");
    p["resourceName"] = format!("people/c{i}").into();
    p["names"][0]["givenName"] = format!("Ada{i}").into();
    p["emailAddresses"][0]["value"] = format!("ada{i}@example.com").into();
    p
}

fn connections_page() -> Bytes {
    let people: Vec<_> = (0..PAGE_SIZE).map(person_json).collect();
    let page = serde_json::json!({
        "connections": people,
        "totalPeople": PAGE_SIZE,
        "totalItems": PAGE_SIZE,
        "nextSyncToken": "^CAwQ2aXx0b8yGgQBAgUHIhhTZmhvWmhPWmNUbz0="
    });
    serde_json::to_vec(&page).expect("page").into()
}

fn batch_response() -> Bytes {
    let results: serde_json::Map<String, serde_json::Value> = (0..BATCH_SIZE)
        .map(|i| {
            let entry = serde_json::json!({
                "person": person_json(i),
                "httpStatusCode": 200,
                "requestedResourceName": format!("people/c{i}"),
                "status": { "code": 0 }
            });
            (format!("people/c{i}"), entry)
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({ "updateResult": results })).expect("batch").into()
}

// ---------------------------------------------------------------------------------------
// Server

struct Canned {
    person: Bytes,
    page: Bytes,
    batch: Bytes,
    group: Bytes,
}

async fn serve() {
    let canned: &'static Canned = Box::leak(Box::new(Canned {
        person: serde_json::to_vec(&person_json(1)).expect("person").into(),
        page: connections_page(),
        batch: batch_response(),
        group: Bytes::from_static(br#"{"resourceName":"contactGroups/g1","etag":"e","name":"Friends","groupType":"USER_CONTACT_GROUP","memberCount":3}"#),
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    println!("listening {}", listener.local_addr().expect("addr").port());
    use std::io::Write;
    std::io::stdout().flush().expect("flush");
    loop {
        let (stream, _) = listener.accept().await.expect("accept");
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| handle(canned, req));
            let io = hyper_util::rt::TokioIo::new(stream);
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
        });
    }
}

async fn handle(
    canned: &'static Canned,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    let (method, query) = (req.method().as_str().to_owned(), req.uri().query().unwrap_or("").to_owned());
    let content_range = req.headers().get("content-range").and_then(|v| v.to_str().ok()).map(str::to_owned);
    // Drain the request body, as a real server would read it, counting it.
    let mut body = req.into_body();
    let mut received = 0u64;
    while let Some(Ok(frame)) = body.frame().await {
        if let Some(data) = frame.data_ref() {
            received += data.len() as u64;
        }
    }
    if let Some((status, headers, text)) =
        scale::sessions::answer(&method, &path, &query, content_range.as_deref(), received)
    {
        let mut resp = Response::new(Full::new(Bytes::from(text)));
        *resp.status_mut() = hyper::StatusCode::from_u16(status).expect("status");
        for (name, value) in headers {
            resp.headers_mut().insert(name, hyper::header::HeaderValue::from_str(&value).expect("header"));
        }
        return Ok(resp);
    }
    let body = if path.ends_with("/connections") {
        canned.page.clone()
    } else if path.ends_with(":batchUpdateContacts") {
        canned.batch.clone()
    } else if path.starts_with("/v1/contactGroups/") {
        canned.group.clone()
    } else if path.starts_with("/v1/people/") {
        canned.person.clone()
    } else {
        let mut not_found = Response::new(Full::new(Bytes::from_static(b"{\"error\":{\"code\":404}}")));
        *not_found.status_mut() = hyper::StatusCode::NOT_FOUND;
        return Ok(not_found);
    };
    let mut resp = Response::new(Full::new(body));
    resp.headers_mut()
        .insert("content-type", hyper::header::HeaderValue::from_static("application/json; charset=UTF-8"));
    Ok(resp)
}

// ---------------------------------------------------------------------------------------
// Clients

mod ours {
    use super::*;
    use google_people_v1::auth::StaticToken;
    use google_people_v1::types::{BatchUpdateContactsRequest, ListConnectionsResponse, Person};
    use google_people_v1::PeopleClient;

    pub async fn run(scenario: &str, n: u32, base: &str) -> Measured {
        let client = PeopleClient::builder()
            .base_url(base)
            .token_provider(StaticToken::new("ya29.bench-token"))
            .build()
            .expect("client");
        let template: Person = serde_json::from_str(PERSON).expect("person");
        let page = connections_page();
        let client = &client;
        let template = &template;
        let page = &page;
        measure(warmup_for(scenario), n, |i| async move {
            match scenario {
                "get" => {
                    let p = client.people().get(format!("people/c{}", i % 100), "names,emailAddresses").send().await;
                    assert!(p.expect("get").resource_name.is_some());
                }
                "list" => {
                    let r = client
                        .people()
                        .connections()
                        .list("people/me", "names,emailAddresses")
                        .page_size(1000)
                        .send()
                        .await;
                    assert_eq!(r.expect("list").connections.len(), PAGE_SIZE);
                }
                "batch" => {
                    let request = BatchUpdateContactsRequest {
                        contacts: (0..BATCH_SIZE).map(|k| (format!("people/c{k}"), template.clone())).collect(),
                        update_mask: Some("names,emailAddresses".into()),
                        read_mask: Some("names".into()),
                        ..Default::default()
                    };
                    let r = client.people().batch_update_contacts(request).send().await;
                    assert_eq!(r.expect("batch").update_result.len(), BATCH_SIZE);
                }
                "decode" => {
                    // As the runtime does: one UTF-8 check of the body, then its reader.
                    let text = std::str::from_utf8(page).expect("UTF-8");
                    let r: ListConnectionsResponse =
                        discovery_runtime::for_generated_code::from_str(text).expect("decode");
                    assert_eq!(r.connections.len(), PAGE_SIZE);
                }
                other => panic!("unknown scenario {other}"),
            }
        })
        .await
    }
}

mod theirs {
    use super::*;
    use google_people1::api::{BatchUpdateContactsRequest, ListConnectionsResponse, Person};
    use google_people1::{hyper_rustls, hyper_util, FieldMask, PeopleService};

    /// The connector of people1-usage, but HTTP/1.1 only: on loopback both clients speak
    /// HTTP/1.1 over plain http.
    pub fn http1_connector() -> hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector> {
        hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .expect("native roots")
            .https_or_http()
            .enable_http1()
            .build()
    }

    pub async fn run(scenario: &str, n: u32, base: &str) -> Measured {
        let http =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build(http1_connector());
        let mut hub = PeopleService::new(http, "ya29.bench-token".to_string());
        hub.base_url(base.to_owned());
        hub.root_url(base.to_owned());
        let template: Person = serde_json::from_str(PERSON).expect("person");
        let page = connections_page();
        let hub = &hub;
        let template = &template;
        let page = &page;
        measure(warmup_for(scenario), n, |i| async move {
            match scenario {
                "get" => {
                    let (_, p) = hub
                        .people()
                        .get(&format!("people/c{}", i % 100))
                        .person_fields(FieldMask::new(&["names", "emailAddresses"]))
                        .doit()
                        .await
                        .expect("get");
                    assert!(p.resource_name.is_some());
                }
                "list" => {
                    let (_, r) = hub
                        .people()
                        .connections_list("people/me")
                        .person_fields(FieldMask::new(&["names", "emailAddresses"]))
                        .page_size(1000)
                        .doit()
                        .await
                        .expect("list");
                    assert_eq!(r.connections.map_or(0, |c| c.len()), PAGE_SIZE);
                }
                "batch" => {
                    let request = BatchUpdateContactsRequest {
                        contacts: Some((0..BATCH_SIZE).map(|k| (format!("people/c{k}"), template.clone())).collect()),
                        update_mask: Some(FieldMask::new(&["names", "emailAddresses"])),
                        read_mask: Some(FieldMask::new(&["names"])),
                        sources: None,
                    };
                    let (_, r) = hub.people().batch_update_contacts(request).doit().await.expect("batch");
                    assert_eq!(r.update_result.map_or(0, |m| m.len()), BATCH_SIZE);
                }
                "decode" => {
                    // As google-apis-common does: `from_utf8_lossy`, then the `&str` reader.
                    let text = String::from_utf8_lossy(page);
                    let r: ListConnectionsResponse = serde_json::from_str(&text).expect("decode");
                    assert_eq!(r.connections.map_or(0, |c| c.len()), PAGE_SIZE);
                }
                other => panic!("unknown scenario {other}"),
            }
        })
        .await
    }
}
