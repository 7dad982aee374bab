//! `wan-serve ADDR CERT_PEM SEED`: the WAN section's People server, run inside the server's
//! network namespace.
//!
//! * HTTPS on ADDR:443 with a self-signed certificate made here with rcgen for ADDR (written
//!   to CERT_PEM for the clients to trust); ALPN offers `h2` and `http/1.1`, and hyper-util's
//!   `auto` builder serves whichever the client speaks.
//! * Google's behaviour where it changes what crosses the link: a body is gzipped when the
//!   request's `Accept-Encoding` names gzip and sent as is otherwise; JSON is indented unless
//!   the request says `prettyPrint=false`; Google's usual response headers are sent.
//! * `GET v1/people/me/connections`: the 1000 persons of SEED as one page (`wan_data`);
//!   `GET v1/people/c…`: one of them; `PATCH v1/people/c…:updateContact`: the request body
//!   read and parsed, sent back with the path's resource name and a new etag.
//! * A plain TCP port, 9000, for the link probe (`wan_probe`): echo, download, upload.
//!
//! Static bodies (the page, each person) and their gzipped forms are made once at start, as
//! a front end caching them would; `updateContact` answers are compressed per request. The
//! server's CPU is not what is measured, so it uses both cores.
//!
//! For each `stats` line read on stdin it prints a JSON line of counters (connections by
//! protocol, requests, responses by encoding); it exits when stdin closes.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io::{BufRead, Write};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::wan_data;

pub const PROBE_PORT: u16 = 9000;

/// One JSON body in the four forms a request may ask for.
struct Body {
    pretty: Bytes,
    pretty_gz: Bytes,
    compact: Bytes,
    compact_gz: Bytes,
}

impl Body {
    fn of(value: &serde_json::Value) -> Body {
        let pretty = serde_json::to_vec_pretty(value).expect("json");
        let compact = serde_json::to_vec(value).expect("json");
        Body {
            pretty_gz: gzip(&pretty).into(),
            compact_gz: gzip(&compact).into(),
            pretty: pretty.into(),
            compact: compact.into(),
        }
    }

    fn pick(&self, pretty: bool, gz: bool) -> Bytes {
        match (pretty, gz) {
            (true, false) => self.pretty.clone(),
            (true, true) => self.pretty_gz.clone(),
            (false, false) => self.compact.clone(),
            (false, true) => self.compact_gz.clone(),
        }
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
}

#[derive(Default)]
struct Stats {
    connections_h2: AtomicU64,
    connections_h1: AtomicU64,
    tls_failures: AtomicU64,
    requests: AtomicU64,
    gzip_responses: AtomicU64,
    identity_responses: AtomicU64,
    body_bytes: AtomicU64,
}

struct State {
    page: Body,
    persons: HashMap<String, Body>,
    etags: AtomicU64,
    stats: Stats,
}

pub fn run(addr: IpAddr, cert_pem: &std::path::Path, seed: u64) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    rt.block_on(serve(addr, cert_pem, seed));
}

async fn serve(addr: IpAddr, cert_pem: &std::path::Path, seed: u64) {
    let cert =
        rcgen::generate_simple_self_signed(vec![addr.to_string(), "people.wan.test".to_owned()]).expect("certificate");
    std::fs::write(cert_pem, cert.cert.pem()).expect("write the certificate");
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
    let provider = Arc::new(ring_provider());
    let mut tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key)
        .expect("TLS config");
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));

    let persons = wan_data::persons(seed);
    let state: &'static State = Box::leak(Box::new(State {
        page: Body::of(&wan_data::connections_page(&persons)),
        persons: persons.iter().map(|p| (p["resourceName"].as_str().expect("name").to_owned(), Body::of(p))).collect(),
        etags: AtomicU64::new(0),
        stats: Stats::default(),
    }));

    let https = tokio::net::TcpListener::bind(SocketAddr::new(addr, 443)).await.expect("bind 443");
    let probe = tokio::net::TcpListener::bind(SocketAddr::new(addr, PROBE_PORT)).await.expect("bind probe port");
    tokio::spawn(probe_loop(probe));
    std::thread::spawn(move || control(state));
    println!(
        "ready page={} page_gz={} page_compact={} page_compact_gz={}",
        state.page.pretty.len(),
        state.page.pretty_gz.len(),
        state.page.compact.len(),
        state.page.compact_gz.len()
    );
    std::io::stdout().flush().expect("flush");

    loop {
        let Ok((stream, _)) = https.accept().await else { continue };
        let _ = stream.set_nodelay(true);
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let tls = match acceptor.accept(stream).await {
                Ok(tls) => tls,
                Err(_) => {
                    state.stats.tls_failures.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            };
            let counter = if tls.get_ref().1.alpn_protocol() == Some(b"h2") {
                &state.stats.connections_h2
            } else {
                &state.stats.connections_h1
            };
            counter.fetch_add(1, Ordering::Relaxed);
            let service = hyper::service::service_fn(move |req| handle(state, req));
            let io = hyper_util::rt::TokioIo::new(tls);
            let _ = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new())
                .serve_connection(io, service)
                .await;
        });
    }
}

fn control(state: &'static State) {
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        if line.trim() == "stats" {
            let s = &state.stats;
            let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
            println!(
                "{{\"connections_h2\":{},\"connections_h1\":{},\"tls_failures\":{},\"requests\":{},\"gzip_responses\":{},\"identity_responses\":{},\"body_bytes\":{}}}",
                get(&s.connections_h2),
                get(&s.connections_h1),
                get(&s.tls_failures),
                get(&s.requests),
                get(&s.gzip_responses),
                get(&s.identity_responses),
                get(&s.body_bytes)
            );
            std::io::stdout().flush().expect("flush");
        }
    }
    std::process::exit(0);
}

async fn handle(
    state: &'static State,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    state.stats.requests.fetch_add(1, Ordering::Relaxed);
    let gz = req
        .headers()
        .get_all(hyper::header::ACCEPT_ENCODING)
        .iter()
        .any(|v| v.to_str().is_ok_and(|v| v.split(',').any(|c| c.trim().starts_with("gzip"))));
    let pretty = !req.uri().query().unwrap_or("").split('&').any(|kv| kv == "prettyPrint=false");
    let path = req.uri().path().to_owned();
    let method = req.method().clone();
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return Ok(error(StatusCode::BAD_REQUEST)),
    };
    let name = path.strip_prefix("/v1/").unwrap_or("");
    let out = if method == hyper::Method::GET && name == "people/me/connections" {
        state.page.pick(pretty, gz)
    } else if let (true, Some(name)) = (method == hyper::Method::PATCH, name.strip_suffix(":updateContact")) {
        if !state.persons.contains_key(name) {
            return Ok(error(StatusCode::NOT_FOUND));
        }
        let Ok(mut person) = serde_json::from_slice::<serde_json::Value>(&body) else {
            return Ok(error(StatusCode::BAD_REQUEST));
        };
        let n = state.etags.fetch_add(1, Ordering::Relaxed);
        person["resourceName"] = name.into();
        person["etag"] = format!("%EgkBAj0DBgc3CRoE{n:012}").into();
        let text = if pretty { serde_json::to_vec_pretty(&person) } else { serde_json::to_vec(&person) };
        let text = text.expect("json");
        if gz {
            gzip(&text).into()
        } else {
            text.into()
        }
    } else if method == hyper::Method::GET && state.persons.contains_key(name) {
        state.persons[name].pick(pretty, gz)
    } else {
        return Ok(error(StatusCode::NOT_FOUND));
    };
    let counter = if gz { &state.stats.gzip_responses } else { &state.stats.identity_responses };
    counter.fetch_add(1, Ordering::Relaxed);
    state.stats.body_bytes.fetch_add(out.len() as u64, Ordering::Relaxed);
    let mut resp = Response::new(Full::new(out));
    let headers = resp.headers_mut();
    use hyper::header::HeaderValue;
    headers.insert("content-type", HeaderValue::from_static("application/json; charset=UTF-8"));
    if gz {
        headers.insert("content-encoding", HeaderValue::from_static("gzip"));
    }
    for (k, v) in [
        ("vary", "Origin"),
        ("vary", "X-Origin"),
        ("vary", "Referer"),
        ("server", "ESF"),
        ("cache-control", "private"),
        ("x-xss-protection", "0"),
        ("x-frame-options", "SAMEORIGIN"),
        ("x-content-type-options", "nosniff"),
    ] {
        headers.append(k, HeaderValue::from_static(v));
    }
    Ok(resp)
}

fn error(status: StatusCode) -> Response<Full<Bytes>> {
    let text = format!("{{\"error\":{{\"code\":{},\"message\":\"{}\"}}}}", status.as_u16(), status);
    let mut resp = Response::new(Full::new(Bytes::from(text)));
    *resp.status_mut() = status;
    resp
}

// ---------------------------------------------------------------------------------------
// Link probe: one byte `e` then echo of single bytes; `d` + 8-byte length: that many bytes
// sent back; `u` + 8-byte length + the bytes: one byte back when all have arrived.

async fn probe_loop(listener: tokio::net::TcpListener) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else { continue };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let mut op = [0u8; 1];
            if stream.read_exact(&mut op).await.is_err() {
                return;
            }
            match op[0] {
                b'e' => {
                    let mut b = [0u8; 1];
                    while stream.read_exact(&mut b).await.is_ok() {
                        if stream.write_all(&b).await.is_err() {
                            return;
                        }
                    }
                }
                b'd' => {
                    let Ok(n) = stream.read_u64().await else { return };
                    let chunk = vec![0x5a_u8; 64 * 1024];
                    let mut left = n;
                    while left > 0 {
                        let k = left.min(chunk.len() as u64) as usize;
                        if stream.write_all(&chunk[..k]).await.is_err() {
                            return;
                        }
                        left -= k as u64;
                    }
                }
                b'u' => {
                    let Ok(n) = stream.read_u64().await else { return };
                    let mut buf = vec![0u8; 64 * 1024];
                    let mut left = n;
                    while left > 0 {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(k) => left = left.saturating_sub(k as u64),
                        }
                    }
                    let _ = stream.write_all(b"k").await;
                }
                _ => {}
            }
        });
    }
}

/// ring, as both clients under test use it. The newest rustls deprecates ring's default
/// provider because it offers no post-quantum key exchange; the benchmark measures the
/// clients as they ship, so it keeps ring on purpose, in this one place.
#[allow(deprecated)]
pub(crate) fn ring_provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}
