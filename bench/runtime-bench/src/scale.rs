//! Two measurements at scale, on the loopback server:
//!
//! * `users ours|ours-naive|theirs N BASE_URL`: a service acting for N users. `ours` derives a
//!   client per user from one shared client (`with_token_provider`: one HTTP client, one pool,
//!   one TLS set-up); `ours-naive` builds N clients from scratch; `theirs` makes N
//!   google-people1 hubs sharing one hyper client, as its docs suggest. Then each user makes
//!   one `people.get`, 100 at a time. Prints the time to make the clients, the resident memory
//!   they added, the time of the calls, and the sockets open at the end.
//! * `upload FILE BASE_URL`: a resumable upload of FILE (8 MiB chunks, the default) through the
//!   runtime; prints the bytes, the time and the process's peak resident memory.

use std::time::Instant;

/// This process's resident and peak resident memory, in KiB (`VmRSS`, `VmHWM`).
fn memory_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let field = |name: &str| -> u64 {
        let line = status.lines().find(|l| l.starts_with(name)).expect("field");
        line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).expect("number")
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Open sockets of this process (entries of `/proc/self/fd` that are sockets).
fn sockets() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|target| target.to_string_lossy().starts_with("socket:"))
        .count()
}

/// One user's call, boxed so that the three clients under test fit one loop.
type UserCalls = Box<dyn Fn(usize) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>>;

pub fn users(client: &str, n: usize, base: &str) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    rt.block_on(async {
        let (rss_before, _) = memory_kib();
        let started = Instant::now();
        let calls: UserCalls = match client {
            "ours" | "ours-naive" => {
                use google_people_v1::auth::StaticToken;
                use google_people_v1::PeopleClient;
                let users: Vec<PeopleClient> = if client == "ours" {
                    let shared = PeopleClient::builder().base_url(base).build().expect("client");
                    (0..n).map(|i| shared.with_token_provider(StaticToken::new(format!("ya29.user-{i}")))).collect()
                } else {
                    (0..n)
                        .map(|i| {
                            PeopleClient::builder()
                                .base_url(base)
                                .token_provider(StaticToken::new(format!("ya29.user-{i}")))
                                .build()
                                .expect("client")
                        })
                        .collect()
                };
                let users = std::sync::Arc::new(users);
                Box::new(move |i| {
                    let users = users.clone();
                    Box::pin(async move {
                        let p = users[i].people().get(format!("people/c{}", i % 100), "names").send().await;
                        assert!(p.expect("get").resource_name.is_some());
                    })
                })
            }
            "theirs" => {
                use google_people1::{hyper_util, FieldMask, PeopleService};
                let http = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                    .build(crate::theirs::http1_connector());
                let hubs: Vec<_> = (0..n)
                    .map(|i| {
                        let mut hub = PeopleService::new(http.clone(), format!("ya29.user-{i}"));
                        hub.base_url(base.to_owned());
                        hub.root_url(base.to_owned());
                        hub
                    })
                    .collect();
                let hubs = std::sync::Arc::new(hubs);
                Box::new(move |i| {
                    let hubs = hubs.clone();
                    Box::pin(async move {
                        let (_, p) = hubs[i]
                            .people()
                            .get(&format!("people/c{}", i % 100))
                            .person_fields(FieldMask::new(&["names"]))
                            .doit()
                            .await
                            .expect("get");
                        assert!(p.resource_name.is_some());
                    })
                })
            }
            other => panic!("unknown client {other}"),
        };
        let build = started.elapsed();
        let (rss_built, _) = memory_kib();
        let started = Instant::now();
        for wave in (0..n).collect::<Vec<_>>().chunks(100) {
            let wave: Vec<_> = wave.iter().map(|&i| tokio::spawn(calls(i))).collect();
            for call in wave {
                call.await.expect("call");
            }
        }
        let calls_took = started.elapsed();
        let (rss_after, _) = memory_kib();
        println!(
            "{{\"client\":\"{client}\",\"n\":{n},\"build_s\":{:.6},\"rss_before_kib\":{rss_before},\"rss_built_kib\":{rss_built},\"rss_after_kib\":{rss_after},\"calls_s\":{:.6},\"sockets\":{}}}",
            build.as_secs_f64(),
            calls_took.as_secs_f64(),
            sockets()
        );
    });
}

pub fn upload(file: &str, base: &str) {
    use discovery_runtime::for_generated_code::{Call, HttpMethod, MediaUploadInfo, MethodInfo, PathParam};
    use discovery_runtime::{ApiInfo, Client, Media, Upload};

    static API: ApiInfo = ApiInfo::new("storage", "v1", "https://storage.example.invalid/", "storage/v1/");
    static UPLOAD: MediaUploadInfo = MediaUploadInfo::new().with_simple_path("/upload/storage/v1/b/{bucket}/o");
    static INSERT: MethodInfo = MethodInfo::new("storage.objects.insert", HttpMethod::Post, "b/{bucket}/o")
        .with_path_params(&[PathParam::new("bucket", None)])
        .with_media_upload(&UPLOAD);

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let client = Client::builder(&API).root_url(base).build().expect("client");
        let media = Media::from_path("application/octet-stream", file).expect("file");
        let bytes = media.len().expect("length");
        let mut call = Call::new(&client, &INSERT);
        call.path_param("bucket", "b1");
        call.json_body(&serde_json::json!({"name": "big.bin"}));
        let started = Instant::now();
        let done: serde_json::Value = call.upload(media, Upload::resumable()).await.expect("upload");
        let took = started.elapsed();
        assert_eq!(done["size"], bytes.to_string());
        let (_, peak) = memory_kib();
        println!("{{\"bytes\":{bytes},\"wall_s\":{:.6},\"peak_rss_kib\":{peak}}}", took.as_secs_f64());
    });
}

/// The server side of `upload`: a resumable session that counts what it receives.
pub mod sessions {
    use std::collections::HashMap;
    use std::sync::Mutex;

    static SESSIONS: Mutex<Option<HashMap<u64, u64>>> = Mutex::new(None);

    /// Status, headers and body of an answer to an upload request.
    pub type Answer = (u16, Vec<(&'static str, String)>, String);

    /// `Some(answer)` when `path` is an upload request.
    pub fn answer(method: &str, path: &str, query: &str, content_range: Option<&str>, received: u64) -> Option<Answer> {
        let mut sessions = SESSIONS.lock().unwrap();
        let sessions = sessions.get_or_insert_with(HashMap::new);
        if method == "POST" && path.starts_with("/upload/") && query.contains("uploadType=resumable") {
            let id = sessions.len() as u64 + 1;
            sessions.insert(id, 0);
            return Some((200, vec![("location", format!("/upload-session/{id}"))], String::new()));
        }
        let id: u64 = path.strip_prefix("/upload-session/")?.parse().ok()?;
        let stored = sessions.get_mut(&id)?;
        let range = content_range?.strip_prefix("bytes ")?;
        let (span, total) = range.split_once('/')?;
        if span != "*" {
            *stored += received;
        }
        if total.parse::<u64>().ok() == Some(*stored) {
            return Some((
                200,
                vec![("content-type", "application/json".into())],
                format!("{{\"size\":\"{stored}\"}}"),
            ));
        }
        let headers = if *stored > 0 { vec![("range", format!("bytes=0-{}", *stored - 1))] } else { Vec::new() };
        Some((308, headers, String::new()))
    }
}

/// `isolation PLACEMENTS`: a 450-contact `batchUpdateContacts` run (chunks of 200) through the
/// generated crate's `BatchWriter` against the public People test server, in-process, with 3
/// contacts refused (changed by a rival write after they were read) and an error that names
/// no contact, so that the writer finds them by splitting requests. Placements of the three:
/// the worst cases by construction (together, at chunk edges, one per chunk) and random ones.
/// Prints, per placement, the requests sent, those spent isolating, what was written and
/// whether each refused contact was reported with the service's message.
pub fn isolation(random_placements: usize) {
    use google_people_v1::auth::StaticToken;
    use google_people_v1::types::{BatchUpdateContactsRequest, Person};
    use google_people_v1::workflows::{item_errors, BatchWriter};
    use google_people_v1::{FieldMask, PeopleClient};
    use google_people_v1_test_server::{BatchErrorShape, PeopleServer};
    use std::collections::BTreeMap;

    const N: usize = 450;
    let mut placements: Vec<[usize; 3]> = vec![
        [0, 1, 2],
        [447, 448, 449],
        [0, 225, 449],
        [199, 200, 201],
        [0, 200, 400],
        [198, 199, 399],
        [100, 300, 420],
    ];
    let mut rng = fastrand::Rng::with_seed(450);
    while placements.len() < 7 + random_placements {
        let mut three = [rng.usize(0..N), rng.usize(0..N), rng.usize(0..N)];
        three.sort_unstable();
        if three[0] != three[1] && three[1] != three[2] {
            placements.push(three);
        }
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let mut rows = Vec::new();
        for placement in &placements {
            let server = PeopleServer::start().await;
            server.set_batch_error_shape(BatchErrorShape::Unnamed);
            let names = server.add_contacts(N, "Old");
            let client = PeopleClient::builder()
                .base_url(server.url())
                .token_provider(StaticToken::new("ya29.bench-token"))
                .build()
                .expect("client");
            let mut changes: BTreeMap<String, Person> = BTreeMap::new();
            for name in &names {
                let mut person = client.people().get(name, "names,metadata").send().await.expect("get");
                for n in &mut person.names {
                    n.given_name = Some("New".into());
                    n.unstructured_name = None;
                    n.display_name = None;
                }
                changes.insert(name.clone(), person);
            }
            // The contacts in request order (the writer sends them sorted by key).
            let ordered: Vec<&String> = changes.keys().collect();
            let refused: Vec<String> = placement.iter().map(|&i| ordered[i].clone()).collect();
            for name in &refused {
                server.rival_write(name, "nicknames", serde_json::json!([{"value": "changed meanwhile"}]));
            }
            let started = Instant::now();
            let report = BatchWriter::new(200)
                .run(
                    changes,
                    |chunk: &[(String, Person)]| {
                        let request = BatchUpdateContactsRequest {
                            contacts: chunk.iter().cloned().collect(),
                            update_mask: Some(FieldMask::from("names")),
                            read_mask: Some(FieldMask::new()),
                            ..Default::default()
                        };
                        client.people().batch_update_contacts(request).send()
                    },
                    item_errors,
                )
                .await;
            let took = started.elapsed();
            let rejected: BTreeMap<&String, String> = report.rejected().map(|(k, e)| (k, e.message.clone())).collect();
            let reported_with_message =
                refused.iter().all(|name| rejected.get(name).is_some_and(|m| m.contains("etag"))) && rejected.len() == 3;
            let written = report.written().count();
            let stored_new = names
                .iter()
                .filter(|n| {
                    server.contact(n).and_then(|p| p["names"][0]["givenName"].as_str().map(|g| g == "New")) == Some(true)
                })
                .count();
            rows.push(format!(
                "{{\"placement\":[{},{},{}],\"requests\":{},\"isolation\":{},\"written\":{written},\"stored\":{stored_new},\"reported\":{reported_with_message},\"accounted\":{},\"wall_s\":{:.6}}}",
                placement[0],
                placement[1],
                placement[2],
                report.requests_sent,
                report.isolation_requests,
                report.outcomes.len(),
                took.as_secs_f64()
            ));
        }
        println!("[{}]", rows.join(","));
    });
}
