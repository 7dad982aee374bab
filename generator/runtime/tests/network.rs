//! What a client needs on the real network, tested on loopback: HTTP/2 by ALPN, TLS records
//! that fit in a TCP segment, gzip, Google's headers, time that always ends (per-attempt
//! timeouts, deadlines, the mutation queue), one retry with a new token after a 401,
//! requests that can never be sent, and the HTTP clients an application can bring.

use std::convert::Infallible;
use std::io::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use discovery_runtime::auth::{AuthError, StaticToken, TokenFuture, TokenProvider};
use discovery_runtime::for_generated_code::{Call, HttpMethod, MethodInfo, PathParam};
use discovery_runtime::{
    ApiInfo, BoxFuture, Client, ClientBuilder, Error, HttpClientBuilder, HttpTransport, RetryPolicy, TransportError,
};
use http_body_util::{BodyExt, Full};
use serde_json::{json, Value};
use tokio::net::TcpListener;

mod loopback_tls;
use loopback_tls::CERT_DER;

static API: ApiInfo = ApiInfo::new("compute", "v1", "https://compute.example.invalid/", "compute/v1/")
    .with_user_agent("google-compute-v1/0.1.0")
    .with_api_version("2026-11-01");

static GET: MethodInfo = MethodInfo::new("compute.instances.get", HttpMethod::Get, "instances/{instance}")
    .with_path_params(&[PathParam::new("instance", None)])
    .with_scopes(&["https://www.googleapis.com/auth/compute"])
    .with_media_download();

/// A method whose own `apiVersion` differs from the API's.
static INSERT: MethodInfo = MethodInfo::new("compute.instances.insert", HttpMethod::Post, "instances")
    .with_scopes(&["https://www.googleapis.com/auth/compute"])
    .with_api_version("2027-01-01");

static DELETE: MethodInfo = MethodInfo::new("compute.instances.delete", HttpMethod::Delete, "instances/{instance}")
    .with_path_params(&[PathParam::new("instance", None)])
    .without_response_body();

/// What a test server saw of one request.
#[derive(Clone, Debug)]
struct Seen {
    version: http::Version,
    method: String,
    path: String,
    headers: http::HeaderMap,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

type Answer = Arc<dyn Fn(&Seen) -> http::Response<Full<Bytes>> + Send + Sync>;

/// A loopback server speaking HTTP/1.1 and HTTP/2 (by ALPN over TLS with the certificate of
/// `tests/data`, for `localhost`, offering `alpn`; or in clear text), recording requests.
struct Server {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    connections: Arc<AtomicUsize>,
}

impl Server {
    async fn start(
        tls_alpn: Option<&[&[u8]]>,
        answer: impl Fn(&Seen) -> http::Response<Full<Bytes>> + Send + Sync + 'static,
    ) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let answer: Answer = Arc::new(answer);
        let acceptor = tls_alpn.map(loopback_tls::acceptor);
        let scheme = if acceptor.is_some() { "https" } else { "http" };
        let log = seen.clone();
        let connections = Arc::new(AtomicUsize::new(0));
        let accepted = connections.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                accepted.fetch_add(1, Ordering::SeqCst);
                let (log, answer, acceptor) = (log.clone(), answer.clone(), acceptor.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        let (log, answer) = (log.clone(), answer.clone());
                        async move {
                            let (parts, body) = req.into_parts();
                            let _ = body.collect().await;
                            let seen = Seen {
                                version: parts.version,
                                method: parts.method.to_string(),
                                path: parts.uri.path().to_owned(),
                                headers: parts.headers,
                            };
                            let response = answer(&seen);
                            log.lock().unwrap().push(seen);
                            Ok::<_, Infallible>(response)
                        }
                    });
                    let builder = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
                    match acceptor {
                        Some(acceptor) => {
                            if let Ok(tls) = acceptor.accept(stream).await {
                                let _ = builder.serve_connection(hyper_util::rt::TokioIo::new(tls), service).await;
                            }
                        }
                        None => {
                            let _ = builder.serve_connection(hyper_util::rt::TokioIo::new(stream), service).await;
                        }
                    }
                });
            }
        });
        let host = if scheme == "https" { "localhost" } else { "127.0.0.1" };
        Server { url: format!("{scheme}://{host}:{port}/"), seen, connections }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn builder(&self) -> ClientBuilder {
        Client::builder(&API)
            .root_url(&self.url)
            .no_proxy()
            .add_root_certificate(CERT_DER)
            .token_provider(StaticToken::new("ya29.network"))
    }
}

fn json_response(status: u16, body: &Value) -> http::Response<Full<Bytes>> {
    http::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

fn get(client: &Client, instance: &str) -> Call {
    let mut call = Call::new(client, &GET);
    call.path_param("instance", instance);
    call
}

fn insert(client: &Client) -> Call {
    let mut call = Call::new(client, &INSERT);
    call.json_body(&json!({"name": "vm-1"}));
    call
}

#[tokio::test]
async fn http2_is_negotiated_by_alpn_and_http1_is_the_fallback() {
    for (alpn, expected) in
        [(&[&b"h2"[..], b"http/1.1"][..], http::Version::HTTP_2), (&[&b"http/1.1"[..]][..], http::Version::HTTP_11)]
    {
        let server = Server::start(Some(alpn), |_| json_response(200, &json!({"name": "vm-1"}))).await;
        let client = server.builder().build().unwrap();
        for _ in 0..3 {
            let vm: Value = get(&client, "vm-1").send().await.unwrap();
            assert_eq!(vm["name"], "vm-1");
        }
        let seen = server.seen();
        assert_eq!(seen.len(), 3);
        assert!(seen.iter().all(|s| s.version == expected), "{:?}", seen.iter().map(|s| s.version).collect::<Vec<_>>());
    }
}

#[tokio::test]
async fn concurrent_calls_share_one_http2_connection() {
    let server = Server::start(Some(&[b"h2", b"http/1.1"]), |_| json_response(200, &json!({"name": "vm"}))).await;
    let client = server.builder().build().unwrap();
    // One call first, so that the pool holds the connection the others multiplex on.
    get(&client, "vm-0").send::<Value>().await.unwrap();
    let calls: Vec<_> = (1..=20).map(|i| get(&client, &format!("vm-{i}")).send::<Value>()).collect();
    for result in futures_util::future::join_all(calls).await {
        result.unwrap();
    }
    let seen = server.seen();
    assert_eq!(seen.len(), 21);
    assert!(seen.iter().all(|s| s.version == http::Version::HTTP_2));
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);

    // A fresh client sending many calls at once: the first goes alone, the others wait for
    // it and share its connection, rather than making a handshake each.
    let fresh = server.builder().build().unwrap();
    let calls: Vec<_> = (1..=20).map(|i| get(&fresh, &format!("vm-{i}")).send::<Value>()).collect();
    for result in futures_util::future::join_all(calls).await {
        result.unwrap();
    }
    assert_eq!(server.connections.load(Ordering::SeqCst), 2, "one more connection for the fresh client");
}

/// A TCP relay in front of `server` that reads the TLS records the client sends: the length
/// of each record's content (the 2-byte field of its header), in order.
async fn record_watching_relay(server: &Server) -> (String, Arc<Mutex<Vec<usize>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let target = server.url.trim_start_matches("https://localhost:").trim_end_matches('/').to_owned();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let records = Arc::new(Mutex::new(Vec::new()));
    let seen = records.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let upstream = tokio::net::TcpStream::connect(format!("127.0.0.1:{target}")).await.unwrap();
            let (mut from_client, mut to_client) = client.into_split();
            let (mut from_server, mut to_server) = upstream.into_split();
            let seen = seen.clone();
            tokio::spawn(async move {
                let (mut pending, mut buf) = (Vec::new(), vec![0u8; 65536]);
                while let Ok(n @ 1..) = from_client.read(&mut buf).await {
                    pending.extend_from_slice(&buf[..n]);
                    while pending.len() >= 5 {
                        let length = usize::from(u16::from_be_bytes([pending[3], pending[4]]));
                        if pending.len() < 5 + length {
                            break;
                        }
                        seen.lock().unwrap().push(length);
                        pending.drain(..5 + length);
                    }
                    if to_server.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
            tokio::spawn(async move { tokio::io::copy(&mut from_server, &mut to_client).await });
        }
    });
    (format!("https://localhost:{port}/"), records)
}

#[tokio::test]
async fn tls_records_the_client_sends_fit_in_one_tcp_segment() {
    let server = Server::start(Some(&[b"h2", b"http/1.1"]), |_| json_response(200, &json!({"name": "vm"}))).await;
    let (url, records) = record_watching_relay(&server).await;
    let client = server.builder().root_url(&url).build().unwrap();
    // A 64 KiB body, then a burst of calls written together.
    let mut call = Call::new(&client, &INSERT);
    call.json_body(&json!({"name": "vm-1", "description": "x".repeat(64 * 1024)}));
    call.send::<Value>().await.unwrap();
    let calls: Vec<_> = (0..100).map(|i| get(&client, &format!("vm-{i}")).send::<Value>()).collect();
    for result in futures_util::future::join_all(calls).await {
        result.unwrap();
    }
    assert_eq!(server.seen().len(), 101);

    let records = records.lock().unwrap().clone();
    let sent: usize = records.iter().sum();
    assert!(sent > 64 * 1024, "the relay saw the body: {sent} bytes in {} records", records.len());
    // A segment of an Ethernet path carries 1428 bytes over IPv6 with TCP timestamps; a
    // record is its 5-byte header and the length read here.
    let largest = records.iter().max().copied().unwrap_or(0);
    assert!(5 + largest <= 1428, "a record of {largest} bytes, {} records in all", records.len());
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

#[tokio::test]
async fn gzip_answers_are_asked_for_and_decoded() {
    let items: Vec<Value> = (0..1000).map(|i| json!({"name": format!("vm-{i}"), "zone": "europe-west1-b"})).collect();
    let page = json!({"items": items}).to_string();
    let compressed = gzip(page.as_bytes());
    assert!(compressed.len() * 10 < page.len(), "the test body compresses well");
    let server = Server::start(Some(&[b"h2", b"http/1.1"]), move |seen| {
        let wants_gzip = seen.header("accept-encoding").is_some_and(|v| v.contains("gzip"));
        let mut response = http::Response::builder().status(200).header("content-type", "application/json");
        let body = if wants_gzip && seen.path.ends_with("/broken") {
            response = response.header("content-encoding", "gzip");
            Bytes::from_static(b"\x1f\x8b\x08\x00not gzip at all")
        } else if seen.path.ends_with("/brotli") {
            // A coding the client never asked for, and cannot decode.
            response = response.header("content-encoding", "br");
            Bytes::from_static(b"\x8b\x02\x80{}\x03")
        } else if wants_gzip {
            response = response.header("content-encoding", "gzip");
            Bytes::from(compressed.clone())
        } else {
            Bytes::from(page.clone())
        };
        response.body(Full::new(body)).unwrap()
    })
    .await;
    let client = server.builder().build().unwrap();
    let listed: Value = get(&client, "all").send().await.unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1000);
    assert_eq!(listed["items"][999]["name"], "vm-999");
    let seen = &server.seen()[0];
    assert_eq!(seen.header("accept-encoding"), Some("gzip"));
    assert!(seen.header("user-agent").unwrap().ends_with(" (gzip)"));

    let err = get(&client, "broken").send::<Value>().await.unwrap_err();
    let Error::Transport(e) = &err else { panic!("expected a transport error, got {err:?}") };
    assert!(e.is_body(), "{e}");

    // The decode error names the coding the body is still in.
    let err = get(&client, "brotli").send::<Value>().await.unwrap_err();
    assert!(matches!(&err, Error::Decode { message, .. } if message.contains("\"br\"-encoded")), "{err:?}");
}

#[tokio::test]
async fn googles_headers_are_on_every_request() {
    let server = Server::start(None, |_| json_response(200, &json!({}))).await;
    let client = server
        .builder()
        .quota_project("billing-project")
        .default_header("x-goog-request-reason", "audit-42")
        .build()
        .unwrap();
    get(&client, "vm-1").send::<Value>().await.unwrap();
    insert(&client).send::<Value>().await.unwrap();
    let mut overridden = get(&client, "vm-2");
    overridden.header("x-goog-user-project", "other-project");
    overridden.send::<Value>().await.unwrap();
    let mut deletion = Call::new(&client, &DELETE);
    deletion.path_param("instance", "vm-1");
    deletion.send_empty().await.unwrap();
    let mut download = get(&client, "vm-1");
    download.header("range", "bytes=0-9");
    download.download().await.unwrap().collect_bytes().await.unwrap();

    let seen = server.seen();
    assert_eq!(seen.len(), 5);
    for s in &seen {
        let api_client = s.header("x-goog-api-client").unwrap();
        assert!(
            api_client.starts_with("gl-rust/1.") && api_client.ends_with(concat!(" gdcl/", env!("CARGO_PKG_VERSION")))
        );
        assert_eq!(s.header("user-agent"), Some("google-compute-v1/0.1.0 (gzip)"));
        assert_eq!(s.header("x-goog-request-reason"), Some("audit-42"));
        assert_eq!(s.header("authorization"), Some("Bearer ya29.network"));
    }
    // The API's apiVersion, and the one of the method that has its own.
    let versions: Vec<_> = seen.iter().map(|s| s.header("x-goog-api-version")).collect();
    assert_eq!(
        versions,
        [Some("2026-11-01"), Some("2027-01-01"), Some("2026-11-01"), Some("2026-11-01"), Some("2026-11-01")]
    );
    let projects: Vec<_> = seen.iter().map(|s| s.header("x-goog-user-project")).collect();
    assert_eq!(
        projects,
        [
            Some("billing-project"),
            Some("billing-project"),
            Some("other-project"),
            Some("billing-project"),
            Some("billing-project")
        ]
    );
    // JSON where JSON comes back; anything for a method without a response and for media.
    let accepts: Vec<_> = seen.iter().map(|s| s.header("accept")).collect();
    assert_eq!(
        accepts,
        [Some("application/json"), Some("application/json"), Some("application/json"), Some("*/*"), Some("*/*")]
    );
    assert_eq!(seen[2].path, "/compute/v1/instances/vm-2");
    // A ranged download asks for the bytes as stored: a range of a gzip body is undecodable.
    assert_eq!(seen[4].header("accept-encoding"), Some("identity"));
    assert_eq!(seen[3].method, "DELETE");
}

/// A server that accepts connections and reads requests but never answers.
async fn silent_server(seen: Arc<AtomicUsize>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            held.push(stream);
        }
    });
    format!("http://127.0.0.1:{port}/")
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_every_attempt() {
    let seen = Arc::new(AtomicUsize::new(0));
    let url = silent_server(seen.clone()).await;
    let fast = RetryPolicy::default().max_attempts(3).initial_backoff(Duration::from_millis(1));
    let client =
        Client::builder(&API).root_url(&url).timeout(Duration::from_millis(200)).retry_policy(fast).build().unwrap();

    let started = Instant::now();
    let err = get(&client, "vm-1").send::<Value>().await.unwrap_err();
    assert!(matches!(err, Error::Timeout), "{err:?}");
    assert!(err.is_timeout() && err.is_retryable());
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(600) && elapsed < Duration::from_secs(3), "{elapsed:?}");

    // A write that timed out may have been carried out: it is not sent again.
    let before = seen.load(Ordering::SeqCst);
    let err = insert(&client).send::<Value>().await.unwrap_err();
    assert!(matches!(err, Error::Timeout), "{err:?}");
    assert_eq!(seen.load(Ordering::SeqCst), before + 1);

    // The default bounds every attempt too.
    assert_eq!(discovery_runtime::DEFAULT_TIMEOUT, Duration::from_secs(60));
    let defaults = format!("{:?}", Client::builder(&API).build().unwrap());
    assert!(defaults.contains("timeout: Some(60s)"), "{defaults}");
}

/// Answers every request at once, except the first `POST`, which it holds forever.
async fn one_stuck_write() -> (String, Arc<AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let answered = Arc::new(AtomicUsize::new(0));
    let count = answered.clone();
    let stuck = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let (count, stuck) = (count.clone(), stuck.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                loop {
                    let mut head = Vec::new();
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    if head.starts_with(b"POST") && stuck.fetch_add(1, Ordering::SeqCst) == 0 {
                        std::future::pending::<()>().await;
                    }
                    count.fetch_add(1, Ordering::SeqCst);
                    let reply = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";
                    if stream.write_all(reply.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (format!("http://127.0.0.1:{port}/"), answered)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_queued_behind_a_stuck_write_complete_once_it_times_out() {
    let (url, answered) = one_stuck_write().await;
    let client = Client::builder(&API).root_url(&url).timeout(Duration::from_millis(500)).build().unwrap();
    let started = Instant::now();
    let stuck = tokio::spawn(insert(&client).send::<Value>());
    // Let the stuck write take the queue first.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let queued: Vec<_> = (0..99).map(|_| tokio::spawn(insert(&client).send::<Value>())).collect();
    let err = stuck.await.unwrap().unwrap_err();
    assert!(matches!(err, Error::Timeout), "{err:?}");
    for write in queued {
        write.await.unwrap().unwrap();
    }
    assert_eq!(answered.load(Ordering::SeqCst), 99);
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_write_ends_at_its_own_deadline_and_other_users_do_not_wait() {
    let (url, answered) = one_stuck_write().await;
    let client = Client::builder(&API).root_url(&url).no_timeout().build().unwrap();
    let stuck = tokio::spawn(insert(&client).send::<Value>());
    tokio::time::sleep(Duration::from_millis(100)).await;

    let started = Instant::now();
    let mut waiting = insert(&client);
    waiting.set_deadline(Duration::from_millis(300));
    let err = waiting.send::<Value>().await.unwrap_err();
    assert!(matches!(err, Error::Timeout), "{err:?}");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(300) && waited < Duration::from_secs(2), "{waited:?}");
    assert_eq!(answered.load(Ordering::SeqCst), 0, "it never reached the server");

    // Another user's client shares the HTTP client but not the queue.
    let other = client.with_token_provider(StaticToken::new("ya29.other-user"));
    insert(&other).send::<Value>().await.unwrap();
    assert_eq!(answered.load(Ordering::SeqCst), 1);
    stuck.abort();
}

/// Hands out `ya29.token-1`, then after an invalidation `ya29.token-2`, and so on.
#[derive(Default)]
struct Refreshing {
    generation: AtomicUsize,
    invalidated: AtomicUsize,
}

impl TokenProvider for Refreshing {
    fn token<'a>(&'a self, _scopes: &'a [String]) -> TokenFuture<'a> {
        let generation = self.generation.load(Ordering::SeqCst) + 1;
        Box::pin(async move { Ok::<_, AuthError>(format!("ya29.token-{generation}")) })
    }

    fn invalidate(&self, token: &str) -> bool {
        self.invalidated.fetch_add(1, Ordering::SeqCst);
        let current = format!("ya29.token-{}", self.generation.load(Ordering::SeqCst) + 1);
        if token == current {
            self.generation.fetch_add(1, Ordering::SeqCst);
        }
        true
    }
}

#[tokio::test]
async fn a_401_is_retried_once_with_a_new_token_when_the_provider_can_refresh() {
    let unauthorized = json!({"error": {"code": 401, "message": "Request had invalid authentication credentials.", "status": "UNAUTHENTICATED"}});
    let refused = unauthorized.clone();
    // Accepts only the second token.
    let server = Server::start(None, move |seen| {
        if seen.header("authorization") == Some("Bearer ya29.token-2") {
            json_response(200, &json!({"name": "vm-1"}))
        } else {
            json_response(401, &refused)
        }
    })
    .await;
    let provider = Arc::new(Refreshing::default());
    let client = server.builder().token_provider(provider.clone()).retry_policy(RetryPolicy::none()).build().unwrap();
    // A POST too: a 401 refuses the request before anything is done.
    let created: Value = insert(&client).send().await.unwrap();
    assert_eq!(created["name"], "vm-1");
    let auth: Vec<_> = server.seen().iter().map(|s| s.header("authorization").unwrap().to_owned()).collect();
    assert_eq!(auth, ["Bearer ya29.token-1", "Bearer ya29.token-2"]);

    // Once only: a token that is refused again is the answer.
    let always = Server::start(None, move |_| json_response(401, &unauthorized)).await;
    let provider = Arc::new(Refreshing::default());
    let client = always.builder().token_provider(provider.clone()).build().unwrap();
    let err = get(&client, "vm-1").send::<Value>().await.unwrap_err();
    assert_eq!(err.http_status(), Some(401));
    assert_eq!(always.seen().len(), 2);
    assert_eq!(provider.invalidated.load(Ordering::SeqCst), 1);

    // A static token cannot be replaced: no second request.
    let client = always.builder().build().unwrap();
    get(&client, "vm-1").send::<Value>().await.unwrap_err();
    assert_eq!(always.seen().len(), 3);
}

/// Answers an HTTP/2 stream of the test servers below with the JSON object of `vm-1`.
fn answer_vm(mut respond: h2::server::SendResponse<Bytes>) {
    let head = http::Response::builder().status(200).header("content-type", "application/json");
    let mut body = respond.send_response(head.body(()).unwrap(), false).unwrap();
    body.send_data(Bytes::from_static(br#"{"name":"vm-1"}"#), true).unwrap();
}

type TlsConnection = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;

/// A loopback HTTPS server (the certificate of `tests/data`, ALPN `h2` only) that hands each
/// connection, numbered from 0 in the order they come, to `serve`.
async fn http2_server<F, Fut>(serve: F) -> String
where
    F: Fn(usize, TlsConnection) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let acceptor = loopback_tls::acceptor(&[b"h2"]);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let serve = Arc::new(serve);
    tokio::spawn(async move {
        for index in 0.. {
            let Ok((stream, _)) = listener.accept().await else { return };
            let (acceptor, serve) = (acceptor.clone(), serve.clone());
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(stream).await {
                    serve(index, tls).await;
                }
            });
        }
    });
    format!("https://localhost:{port}/")
}

/// An HTTP/2 server that resets its first `refuse` streams with `REFUSED_STREAM` and answers
/// the others with a JSON object; counts the streams.
async fn refusing_http2_server(refuse: usize) -> (String, Arc<AtomicUsize>) {
    let streams = Arc::new(AtomicUsize::new(0));
    let seen = streams.clone();
    let url = http2_server(move |_, tls| {
        let seen = seen.clone();
        async move {
            let Ok(mut connection) = h2::server::handshake(tls).await else { return };
            while let Some(Ok((_request, mut respond))) = connection.accept().await {
                if seen.fetch_add(1, Ordering::SeqCst) < refuse {
                    respond.send_reset(h2::Reason::REFUSED_STREAM);
                    continue;
                }
                answer_vm(respond);
            }
        }
    })
    .await;
    (url, streams)
}

#[tokio::test]
async fn a_request_refused_unprocessed_is_sent_again_at_once_whatever_its_method() {
    // The backoff would take a minute: the retries must not wait for it.
    let slow = RetryPolicy::default().max_attempts(3).initial_backoff(Duration::from_secs(60));
    let client_of = |url: &str| {
        Client::builder(&API)
            .root_url(url)
            .no_proxy()
            .add_root_certificate(CERT_DER)
            .token_provider(StaticToken::new("ya29.network"))
            .retry_policy(slow.clone())
            .build()
            .unwrap()
    };
    let (url, streams) = refusing_http2_server(2).await;
    let client = client_of(&url);
    let started = Instant::now();
    // A POST, which no other transport failure after sending would repeat.
    let vm: Value = insert(&client).send().await.unwrap();
    assert_eq!(vm["name"], "vm-1");
    assert_eq!(streams.load(Ordering::SeqCst), 3, "two refusals, then the answer");
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());

    // Refused every time: the policy's attempts, then the error says what happened.
    let (url, streams) = refusing_http2_server(usize::MAX).await;
    let client = client_of(&url);
    let err = insert(&client).send::<Value>().await.unwrap_err();
    assert_eq!(streams.load(Ordering::SeqCst), 3);
    let Error::Transport(e) = &err else { panic!("expected a transport error, got {err:?}") };
    assert!(e.is_unprocessed() && !e.is_connect(), "{e:?}");
    assert!(e.to_string().starts_with("the server refused the request without processing it"), "{e}");
    assert!(err.is_retryable());
}

/// An HTTP/2 server that takes one stream at a time. On its first connection it waits a
/// moment, sends `GOAWAY` naming the first stream as the last it will process, answers that
/// stream and closes; on the others it answers every stream. Records the connection of each
/// answer.
async fn closing_http2_server() -> (String, Arc<Mutex<Vec<usize>>>) {
    let answered = Arc::new(Mutex::new(Vec::new()));
    let log = answered.clone();
    let url = http2_server(move |index, tls| {
        let log = log.clone();
        async move {
            let builder = h2::server::Builder::new().max_concurrent_streams(1).clone();
            let Ok(mut connection) = builder.handshake::<_, Bytes>(tls).await else { return };
            while let Some(Ok((_request, respond))) = connection.accept().await {
                if index == 0 {
                    // Time for the client to queue its second request behind the first.
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    connection.graceful_shutdown();
                    answer_vm(respond);
                    log.lock().unwrap().push(index);
                    // Drives the shutdown to its end.
                    while let Some(Ok((_request, respond))) = connection.accept().await {
                        drop(respond);
                    }
                    return;
                }
                answer_vm(respond);
                log.lock().unwrap().push(index);
            }
        }
    })
    .await;
    (url, answered)
}

/// The stream the `GOAWAY` leaves out never left the client (one stream at a time): hyper-util
/// sends such an unstarted request again by itself, so the runtime's loop is not needed
/// (no retries here). A stream already sent and then left out reaches the loop instead, as
/// `TransportError::is_unprocessed`: see
/// `a_request_sent_and_then_left_out_by_a_goaway_goes_through_the_retry_loop`.
#[tokio::test]
async fn a_request_left_out_by_a_goaway_is_sent_again_on_a_new_connection() {
    let (url, answered) = closing_http2_server().await;
    let client = Client::builder(&API)
        .root_url(&url)
        .no_proxy()
        .add_root_certificate(CERT_DER)
        .token_provider(StaticToken::new("ya29.network"))
        .retry_policy(RetryPolicy::default().max_attempts(1))
        .build()
        .unwrap();
    let started = Instant::now();
    let calls = [insert(&client).send::<Value>(), insert(&client).send::<Value>()];
    for result in futures_util::future::join_all(calls).await {
        assert_eq!(result.unwrap()["name"], "vm-1");
    }
    assert_eq!(*answered.lock().unwrap(), [0, 1], "one answer on each connection");
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
}

/// A media of two gzip members (two `.gz` files joined, as `cat a.gz b.gz` makes): a server
/// that serves it gzip-encoded to a client that asks for gzip. The HTTP stack's decoder
/// reads one member, so downloads ask for the bytes as stored, and get all of them.
#[tokio::test]
async fn a_download_asks_for_the_media_as_stored_and_gets_all_of_it() {
    let plain: Vec<u8> = [vec![b'A'; 100_000], vec![b'B'; 100_000]].concat();
    let members = [gzip(&plain[..100_000]), gzip(&plain[100_000..])].concat();
    let expected = plain.clone();
    let server = Server::start(None, move |seen| {
        let gzip_asked = seen.header("accept-encoding").is_some_and(|e| e.contains("gzip"));
        let builder = http::Response::builder().status(200).header("content-type", "application/octet-stream");
        if gzip_asked {
            builder.header("content-encoding", "gzip").body(Full::new(Bytes::from(members.clone()))).unwrap()
        } else {
            builder.body(Full::new(Bytes::from(plain.clone()))).unwrap()
        }
    })
    .await;
    let client = server.builder().build().unwrap();
    let bytes = get(&client, "vm-1").download().await.unwrap().collect_bytes().await.unwrap();
    assert!(bytes == expected, "{} bytes of {}", bytes.len(), expected.len());
    let mut out = Vec::new();
    assert_eq!(get(&client, "vm-1").download_to(&mut out).await.unwrap(), expected.len() as u64);
    let seen = server.seen();
    assert!(seen.iter().all(|s| s.header("accept-encoding") == Some("identity")), "{:?}", seen.len());
}

/// HTTP/2 lets a server end a stream with `RST_STREAM` and `NO_ERROR`, which hyper takes as
/// the end of the body however much of it came: a body short of its `Content-Length` is a
/// body error, so a `GET` goes again and a download resumes, rather than a decode error
/// (not retried) or a short download reported whole.
#[tokio::test]
async fn a_body_reset_short_of_its_length_is_a_body_error_and_retried() {
    let streams = Arc::new(AtomicUsize::new(0));
    let seen = streams.clone();
    let url = http2_server(move |_, tls| {
        let seen = seen.clone();
        async move {
            let Ok(mut connection) = h2::server::Builder::new().handshake::<_, Bytes>(tls).await else { return };
            while let Some(Ok((request, mut respond))) = connection.accept().await {
                let n = seen.fetch_add(1, Ordering::SeqCst);
                let body = if request.uri().query().is_some_and(|q| q.contains("alt=media")) {
                    Bytes::from(vec![7u8; 200_000])
                } else {
                    Bytes::from_static(br#"{"name":"vm-1","padding":"0123456789abcdef"}"#)
                };
                let error = request.uri().path().ends_with("/error");
                let (status, n) = if error { (503, 0) } else { (200, n) };
                let head = http::Response::builder().status(status).header("content-length", body.len());
                let mut stream = respond.send_response(head.body(()).unwrap(), false).unwrap();
                // Sent from a task of its own, while `accept` drives the connection: the
                // head and the first bytes reach the client before the reset does (a
                // reset that came with the head would fail the request itself).
                tokio::spawn(async move {
                    if n % 2 == 0 {
                        // Part of the body, then the stream ends without error.
                        let _ = stream.send_data(body.slice(..body.len() / 4), false);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        stream.send_reset(h2::Reason::NO_ERROR);
                    } else {
                        let _ = stream.send_data(body, true);
                    }
                });
            }
        }
    })
    .await;
    let client = Client::builder(&API)
        .root_url(&url)
        .no_proxy()
        .add_root_certificate(CERT_DER)
        .retry_policy(RetryPolicy::default().max_attempts(2).initial_backoff(Duration::from_millis(1)))
        .build()
        .unwrap();
    let value: Value = get(&client, "vm-1").send().await.unwrap();
    assert_eq!(value["name"], "vm-1");
    assert_eq!(streams.load(Ordering::SeqCst), 2, "sent again after the short body");
    // A streamed download reports the short body; one written to a destination resumes.
    let collected = get(&client, "vm-1").download().await.unwrap().collect_bytes().await;
    let err = collected.map(|b| b.len()).unwrap_err();
    assert!(matches!(&err, Error::Transport(e) if e.to_string().contains("ended after")), "{err:?}");
    let mut out = Vec::new();
    assert_eq!(get(&client, "vm-1").download_to(&mut out).await.unwrap(), 200_000);
    // An error answer keeps its status whatever came of its body.
    let err = get(&client, "error").send::<Value>().await.unwrap_err();
    assert_eq!(err.http_status(), Some(503), "{err:?}");
}

static HEAD: MethodInfo = MethodInfo::new("compute.instances.exists", HttpMethod::Head, "instances/{instance}")
    .with_path_params(&[PathParam::new("instance", None)]);

/// A HEAD answer, and a 204, may state a length they do not carry (RFC 9110), and over
/// HTTP/2 hyper passes that length on: neither is a short body.
#[tokio::test]
async fn a_head_answer_and_a_204_stating_a_length_are_not_short_bodies() {
    let url = http2_server(move |_, tls| async move {
        let Ok(mut connection) = h2::server::Builder::new().handshake::<_, Bytes>(tls).await else { return };
        while let Some(Ok((request, mut respond))) = connection.accept().await {
            let status = if request.method() == http::Method::HEAD { 200 } else { 204 };
            let head = http::Response::builder().status(status).header("content-length", "42");
            let _ = respond.send_response(head.body(()).unwrap(), true);
        }
    })
    .await;
    let client = Client::builder(&API)
        .root_url(&url)
        .no_proxy()
        .add_root_certificate(CERT_DER)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let mut exists = Call::new(&client, &HEAD);
    exists.path_param("instance", "vm-1");
    exists.send_empty().await.unwrap();
    get(&client, "vm-1").send_empty().await.unwrap();
}

/// An HTTP/2 frame: the 9-byte header (length, type, flags, stream) and the payload.
fn http2_frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(9 + payload.len());
    frame.extend_from_slice(&u32::try_from(payload.len()).unwrap().to_be_bytes()[1..]);
    frame.extend_from_slice(&[kind, flags]);
    frame.extend_from_slice(&stream.to_be_bytes());
    frame.extend_from_slice(payload);
    frame
}

/// Leaves out, with `GOAWAY`, the second of two requests it has received on one HTTP/2
/// connection: something the h2 server never does (its `GOAWAY` names the last stream it
/// received), but the protocol allows and a front end shutting down may do. Written at the
/// level of frames for that reason.
///
/// It reads frames until two streams have ended (only the frame headers matter; the
/// request headers are never decoded), then sends `GOAWAY` naming the first stream as the
/// last it processes, answers that stream (`:status 200`, HPACK static index 8, and a JSON
/// body) and closes once the client has. The two streams go to `record` before the `GOAWAY`
/// leaves.
async fn leave_out_second_stream(mut tls: TlsConnection, record: impl FnOnce(Vec<u32>)) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const DATA: u8 = 0x0;
    const HEADERS: u8 = 0x1;
    const SETTINGS: u8 = 0x4;
    const GOAWAY: u8 = 0x7;
    const END_STREAM: u8 = 0x1;
    const ACK: u8 = 0x1;
    const END_HEADERS: u8 = 0x4;

    let mut preface = [0u8; 24];
    tls.read_exact(&mut preface).await.unwrap();
    assert_eq!(&preface, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    tls.write_all(&http2_frame(SETTINGS, 0, 0, &[])).await.unwrap();
    let mut ended = Vec::new();
    while ended.len() < 2 {
        let mut head = [0u8; 9];
        tls.read_exact(&mut head).await.unwrap();
        let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
        let (kind, flags) = (head[3], head[4]);
        let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
        let mut payload = vec![0u8; len];
        tls.read_exact(&mut payload).await.unwrap();
        if kind == SETTINGS && flags & ACK == 0 {
            tls.write_all(&http2_frame(SETTINGS, ACK, 0, &[])).await.unwrap();
        }
        if matches!(kind, HEADERS | DATA) && flags & END_STREAM != 0 {
            ended.push(stream);
        }
    }
    let first = *ended.iter().min().unwrap();
    record(ended);
    // Last stream processed: `first`; error code NO_ERROR (0).
    let mut goaway = first.to_be_bytes().to_vec();
    goaway.extend_from_slice(&0u32.to_be_bytes());
    tls.write_all(&http2_frame(GOAWAY, 0, 0, &goaway)).await.unwrap();
    tls.write_all(&http2_frame(HEADERS, END_HEADERS, first, &[0x88])).await.unwrap();
    tls.write_all(&http2_frame(DATA, END_STREAM, first, br#"{"name":"vm-1"}"#)).await.unwrap();
    tls.flush().await.unwrap();
    // Until the client closes (it has no stream left on this connection), at most 5 s.
    let mut rest = [0u8; 1024];
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while matches!(tls.read(&mut rest).await, Ok(n) if n > 0) {}
    })
    .await;
    let _ = tls.shutdown().await;
}

/// An HTTP/2 server whose first connection takes two requests and answers only the first
/// ([`leave_out_second_stream`]); later connections answer every stream. Records each
/// stream received as (connection, stream id).
async fn goaway_after_two_streams_server() -> (String, Arc<Mutex<Vec<(usize, u32)>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let log = received.clone();
    let url = http2_server(move |index, tls| {
        let log = log.clone();
        async move {
            if index == 0 {
                let record = |streams: Vec<u32>| log.lock().unwrap().extend(streams.into_iter().map(|id| (0, id)));
                return leave_out_second_stream(tls, record).await;
            }
            let Ok(mut connection) = h2::server::handshake(tls).await else { return };
            while let Some(Ok((_request, respond))) = connection.accept().await {
                log.lock().unwrap().push((index, u32::from(respond.stream_id())));
                answer_vm(respond);
            }
        }
    })
    .await;
    (url, received)
}

#[tokio::test]
async fn a_request_sent_and_then_left_out_by_a_goaway_goes_through_the_retry_loop() {
    // The backoff would take a minute: the request left out must go again at once. The two
    // POSTs go concurrently, so the client must not queue its mutations.
    let client_with = |url: &str, attempts: u32| {
        Client::builder(&API)
            .root_url(url)
            .no_proxy()
            .add_root_certificate(CERT_DER)
            .token_provider(StaticToken::new("ya29.network"))
            .serialize_mutations(false)
            // Should the two ever go on different connections, the test fails in seconds.
            .timeout(Duration::from_secs(5))
            .retry_policy(RetryPolicy::default().max_attempts(attempts).initial_backoff(Duration::from_secs(60)))
            .build()
            .unwrap()
    };

    // With one attempt, the runtime's loop may not send it again, and nothing else does:
    // the error says the server did not process it.
    let (url, received) = goaway_after_two_streams_server().await;
    let client = client_with(&url, 1);
    let calls = [insert(&client).send::<Value>(), insert(&client).send::<Value>()];
    let results = futures_util::future::join_all(calls).await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    let err = results.into_iter().find_map(Result::err).unwrap();
    let Error::Transport(e) = &err else { panic!("expected a transport error, got {err:?}") };
    assert!(e.is_unprocessed(), "{e:?}");
    assert_eq!(*received.lock().unwrap(), [(0, 1), (0, 3)], "both POSTs reached the first connection");

    // With two, the loop sends it again, on a new connection, without the backoff.
    let (url, received) = goaway_after_two_streams_server().await;
    let client = client_with(&url, 2);
    let started = Instant::now();
    let calls = [insert(&client).send::<Value>(), insert(&client).send::<Value>()];
    for result in futures_util::future::join_all(calls).await {
        assert_eq!(result.unwrap()["name"], "vm-1");
    }
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    let received = received.lock().unwrap().clone();
    assert_eq!(received, [(0, 1), (0, 3), (1, 1)], "both on the first connection, the one left out on the next");
}

#[tokio::test]
async fn a_request_that_can_never_be_sent_is_invalid_and_not_retried() {
    let server = Server::start(None, |_| json_response(200, &json!({}))).await;
    let client = server.builder().api_key("AIza-SECRET-KEY").build().unwrap();
    let started = Instant::now();
    let err = get(&client, &"x".repeat(70_000)).send::<Value>().await.unwrap_err();
    let Error::InvalidRequest(message) = &err else { panic!("expected InvalidRequest, got {err:?}") };
    assert!(!message.contains("SECRET"), "{message}");
    // Refused before the URL is made (the `url` crate panics on paths over 4 GiB).
    assert!(message.contains("over the 65534"), "{message}");
    assert!(!err.is_retryable());
    assert!(started.elapsed() < Duration::from_secs(1), "not retried: {:?}", started.elapsed());
    assert!(server.seen().is_empty());
}

/// A transport that answers every request itself, as a test double or a middleware would.
struct Canned {
    requests: Mutex<Vec<String>>,
}

impl HttpTransport for Canned {
    fn execute(
        &self,
        request: discovery_runtime::reqwest::Request,
    ) -> BoxFuture<'_, Result<discovery_runtime::reqwest::Response, TransportError>> {
        self.requests.lock().unwrap().push(format!("{} {}", request.method(), request.url().path()));
        Box::pin(async {
            let response = http::Response::builder().status(200).body(r#"{"name":"from-the-double"}"#).unwrap();
            Ok(discovery_runtime::reqwest::Response::from(response))
        })
    }
}

#[tokio::test]
async fn an_applications_http_client_or_a_double_carries_the_requests() {
    let double = Arc::new(Canned { requests: Mutex::new(Vec::new()) });
    let client = Client::builder(&API).transport(double.clone()).build().unwrap();
    let vm: Value = get(&client, "vm-7").send().await.unwrap();
    assert_eq!(vm["name"], "from-the-double");
    assert_eq!(*double.requests.lock().unwrap(), ["GET /compute/v1/instances/vm-7"]);

    let server = Server::start(Some(&[b"h2", b"http/1.1"]), |_| json_response(200, &json!({"name": "vm"}))).await;
    let http = HttpClientBuilder::new().no_proxy().add_root_certificate(CERT_DER).build().unwrap();
    let first = Client::builder(&API).root_url(&server.url).http_client(http.clone()).build().unwrap();
    let second = Client::builder(&API).root_url(&server.url).http_client(http).build().unwrap();
    get(&first, "a").send::<Value>().await.unwrap();
    get(&second, "b").send::<Value>().await.unwrap();
    assert_eq!(server.seen().len(), 2);
    assert!(server.seen().iter().all(|s| s.version == http::Version::HTTP_2));
}

/// Adds a header on the way out, as a tracing or auth middleware would.
#[cfg(feature = "reqwest-middleware")]
fn tag<'a>(
    mut request: discovery_runtime::reqwest::Request,
    extensions: &'a mut http::Extensions,
    next: reqwest_middleware::Next<'a>,
) -> BoxFuture<'a, reqwest_middleware::Result<discovery_runtime::reqwest::Response>> {
    request.headers_mut().insert("x-middleware", http::HeaderValue::from_static("seen"));
    Box::pin(next.run(request, extensions))
}

#[cfg(feature = "reqwest-middleware")]
#[tokio::test]
async fn a_reqwest_middleware_client_carries_the_requests() {
    let server = Server::start(None, |_| json_response(200, &json!({"name": "vm"}))).await;
    let http = HttpClientBuilder::new().no_proxy().build().unwrap();
    let middleware = reqwest_middleware::ClientBuilder::new(http).with(tag).build();
    let client = Client::builder(&API).root_url(&server.url).transport(middleware).build().unwrap();
    get(&client, "vm-1").send::<Value>().await.unwrap();
    assert_eq!(server.seen()[0].header("x-middleware"), Some("seen"));
    assert_eq!(server.seen()[0].header("x-goog-api-version"), Some("2026-11-01"));
}

/// The opt-in OS trust store: `rustls-native-certs` reads `SSL_CERT_FILE` on Linux, so the
/// test points it at the loopback server's certificate. (The only test of this binary that
/// sets a variable of the environment, which is read when a client is built.)
#[tokio::test]
async fn the_os_trust_store_is_used_when_asked_for_and_only_then() {
    let server = Server::start(Some(&[b"h2", b"http/1.1"]), |_| json_response(200, &json!({"name": "vm"}))).await;
    let pem = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/cert.pem");
    std::env::set_var("SSL_CERT_FILE", pem);
    let os = Client::builder(&API).root_url(&server.url).no_proxy().use_os_trust_store().build();
    let webpki = Client::builder(&API).root_url(&server.url).no_proxy().build();
    std::env::remove_var("SSL_CERT_FILE");
    let vm: Value = get(&os.unwrap(), "vm-1").send().await.unwrap();
    assert_eq!(vm["name"], "vm");
    let started = Instant::now();
    let err = get(&webpki.unwrap(), "vm-1").send::<Value>().await.unwrap_err();
    let Error::Transport(e) = &err else { panic!("expected a transport error, got {err:?}") };
    assert!(e.is_connect() && e.is_certificate(), "Mozilla's roots do not know the test CA: {e}");
    // A refused certificate will be refused again: not retried.
    assert!(!err.is_retryable());
    assert!(started.elapsed() < Duration::from_millis(400), "{:?}", started.elapsed());
}

/// A transport whose errors quote the request, URL and credentials included, as a
/// careless middleware's might.
struct Quoting;

impl HttpTransport for Quoting {
    fn execute(
        &self,
        request: discovery_runtime::reqwest::Request,
    ) -> BoxFuture<'_, Result<discovery_runtime::reqwest::Response, TransportError>> {
        let auth = request.headers().get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let quoted = format!("cannot send GET {} with {auth}", request.url());
        Box::pin(async move { Err(TransportError::request(quoted)) })
    }
}

#[tokio::test]
async fn a_transports_error_never_shows_the_key_or_the_token() {
    let client = Client::builder(&API)
        .transport(Quoting)
        .api_key("AIza-SECRET/KEY+1")
        .token_provider(StaticToken::new("ya29.SECRET-TOKEN"))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let err = get(&client, "vm-1").send::<Value>().await.unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    for shown in [err.to_string(), format!("{err:?}"), format!("{err:#?}")] {
        assert!(shown.contains("cannot send GET"), "the cause is kept: {shown}");
        assert!(!shown.contains("SECRET"), "{shown}");
    }
}
