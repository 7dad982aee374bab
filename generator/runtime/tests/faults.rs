//! The client against a misbehaving server: truncated, reset, stalled, oversized and
//! malformed responses, 429/503 storms and redirects to other hosts.
//!
//! The server is a raw `TcpListener` (not axum), so that it can break HTTP at the byte
//! level. Every case must end in a typed error or a success, never a panic or a hang; attempt
//! counts and elapsed times pin the retry bounds. Bounds on time are generous where only
//! an upper limit matters, so that a loaded CI machine does not fail them.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use discovery_runtime::auth::StaticToken;
use discovery_runtime::for_generated_code::{Call, HttpMethod, MediaUploadInfo, MethodInfo, PathParam};
use discovery_runtime::{ApiInfo, Client, Error, Media, RetryPolicy, Upload, CHUNK_GRANULARITY};
use serde_json::Value;

use server::{full, head, Reply, Server};

mod raw_http;

static API: ApiInfo =
    ApiInfo::new("faults", "v1", "https://faults.example.invalid/", "").with_user_agent("faults-test/0.1");

static GET: MethodInfo = MethodInfo::new("faults.items.get", HttpMethod::Get, "v1/items/{item}")
    .with_path_params(&[PathParam::new("item", None)])
    .with_scopes(&["https://www.googleapis.com/auth/faults"])
    .with_media_download();

static CREATE: MethodInfo = MethodInfo::new("faults.items.create", HttpMethod::Post, "v1/items")
    .with_scopes(&["https://www.googleapis.com/auth/faults"]);

static UPLOAD: MediaUploadInfo =
    MediaUploadInfo::new().with_simple_path("/upload/v1/items").with_resumable_path("/upload/v1/items");

static INSERT: MethodInfo =
    MethodInfo::new("faults.items.insert", HttpMethod::Post, "v1/items").with_media_upload(&UPLOAD);

/// Up to `attempts` attempts, with backoffs of at most 5 ms.
fn fast(attempts: u32) -> RetryPolicy {
    RetryPolicy::default()
        .max_attempts(attempts)
        .initial_backoff(Duration::from_millis(1))
        .max_backoff(Duration::from_millis(5))
}

fn client(server: &Server, policy: RetryPolicy) -> Client {
    Client::builder(&API).base_url(server.url()).retry_policy(policy).build().unwrap()
}

fn client_for(server: &Server) -> Client {
    client(server, RetryPolicy::none())
}

fn get(client: &Client) -> Call {
    let mut call = Call::new(client, &GET);
    call.path_param("item", "a");
    call
}

fn create(client: &Client) -> Call {
    let mut call = Call::new(client, &CREATE);
    call.json_body(&serde_json::json!({"name": "x"}));
    call
}

/// Runs `future`, failing the test if it takes more than 20 s: a hang is a failure, not
/// something for CI's global timeout to find.
async fn bounded<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), future).await.expect("the client hung")
}

/// A failure below HTTP (connection, framing, body), not a status the service chose.
fn assert_transport(err: &Error) {
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert_eq!(err.http_status(), None, "{err:?}");
}

#[tokio::test]
async fn truncated_body_is_a_transport_error_retried_only_when_idempotent() {
    // Content-Length promises 100 bytes, 6 arrive, then the server closes.
    let server = server::start(|_, _| {
        Reply::Close([head("200 OK", &[("content-length", "100")]), b"{\"a\":".to_vec()].concat())
    })
    .await;
    let client = client(&server, fast(3));

    let err = get(&client).send::<Value>().await.unwrap_err();
    assert_transport(&err);
    assert!(err.is_retryable());
    assert_eq!(server.count(), 3, "a GET is retried up to max_attempts");

    // The POST may have been applied: one attempt only.
    let err = create(&client).send::<Value>().await.unwrap_err();
    assert_transport(&err);
    assert_eq!(server.count(), 4);
}

#[tokio::test]
async fn truncated_download_fails_while_streaming() {
    let server = server::start(|_, _| {
        Reply::Close([head("200 OK", &[("content-length", "100000")]), vec![b'x'; 1000]].concat())
    })
    .await;
    let client = client(&server, RetryPolicy::none());
    // The headers arrived: the download starts, and the short body is an error, not a
    // silently short file.
    let stream = get(&client).download().await.unwrap();
    assert_eq!(stream.content_length(), Some(100_000));
    let err = bounded(stream.collect_bytes()).await.unwrap_err();
    assert_transport(&err);
}

#[tokio::test]
async fn invalid_json_with_200_is_a_decode_error_and_not_retried() {
    let server = server::start(|_, _| Reply::Close(full("200 OK", "application/json", b"{\"a\": tru"))).await;
    let client = client(&server, fast(3));
    let err = get(&client).send::<Value>().await.unwrap_err();
    match &err {
        Error::Decode { status, message, body_excerpt } => {
            assert_eq!(*status, 200);
            assert!(message.contains("EOF"), "{message}");
            assert_eq!(body_excerpt, "{\"a\": tru");
        }
        other => panic!("{other:?}"),
    }
    assert!(!err.is_retryable());
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn html_with_200_is_a_decode_error_keeping_the_page() {
    // A captive portal or a misrouted proxy answering for the API.
    let page = b"<!DOCTYPE html><html><body><form action=\"/login\">Sign in</form></body></html>";
    let server = server::start(move |_, _| Reply::Close(full("200 OK", "text/html; charset=utf-8", page))).await;
    let client = client(&server, fast(3));
    let err = get(&client).send::<Value>().await.unwrap_err();
    match &err {
        Error::Decode { status: 200, body_excerpt, .. } => assert!(body_excerpt.contains("Sign in"), "{body_excerpt}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(server.count(), 1);
    // `send_empty` does not read the body as JSON, so the page does not matter to it.
    get(&client).send_empty().await.unwrap();
}

#[tokio::test]
async fn wrong_or_missing_content_type_does_not_matter_for_json() {
    // Content types that lie: the body decides. Google front ends have answered JSON as
    // text/plain, and an empty 200 is `{}`.
    let server = server::start(|n, _| {
        Reply::Close(match n {
            0 => full("200 OK", "text/plain", b"{\"a\":1}"),
            1 => full("200 OK", "application/octet-stream", b"{\"a\":2}"),
            2 => [head("200 OK", &[("content-length", "7")]), b"{\"a\":3}".to_vec()].concat(),
            3 => full("200 OK", "application/json; charset=utf-16", b"{\"a\":4}"),
            _ => full("200 OK", "image/png", b""),
        })
    })
    .await;
    let client = client(&server, RetryPolicy::none());
    for expected in 1..=4 {
        let v: Value = get(&client).send().await.unwrap();
        assert_eq!(v["a"], expected);
    }
    let v: serde_json::Map<String, Value> = get(&client).send().await.unwrap();
    assert!(v.is_empty());

    // Bytes that are not UTF-8 inside a JSON string: a decode error.
    let server = server::start(|_, _| Reply::Close(full("200 OK", "application/json", b"{\"a\":\"\xff\xfe\"}"))).await;
    let err = get(&client_for(&server)).send::<Value>().await.unwrap_err();
    assert!(matches!(err, Error::Decode { status: 200, .. }), "{err:?}");
}

#[tokio::test]
async fn connection_reset_mid_body_is_a_transport_error() {
    let server = server::start(|_, _| {
        Reply::Reset([head("200 OK", &[("content-length", "100000")]), vec![b' '; 2000]].concat())
    })
    .await;
    let client = client(&server, fast(3));
    let err = get(&client).send::<Value>().await.unwrap_err();
    assert_transport(&err);
    assert_eq!(server.count(), 3);
    let err = create(&client).send::<Value>().await.unwrap_err();
    assert_transport(&err);
    assert_eq!(server.count(), 4, "a reset after the request was sent does not make a POST safe to repeat");
}

#[tokio::test]
async fn reset_or_close_before_any_answer_is_a_transport_error() {
    let server =
        server::start(|n, _| if n % 2 == 0 { Reply::Reset(Vec::new()) } else { Reply::Close(Vec::new()) }).await;
    let client = client(&server, RetryPolicy::none());
    for _ in 0..2 {
        let err = get(&client).send::<Value>().await.unwrap_err();
        assert_transport(&err);
        assert!(err.is_retryable(), "{err:?}");
    }
}

#[tokio::test]
async fn garbage_instead_of_http_is_a_transport_error_not_retried() {
    // (answer, whether its head is not HTTP)
    let answers: Vec<(Vec<u8>, bool)> = vec![
        (b"HELLO WORLD\r\n\r\n".to_vec(), true),
        (b"HTTP/1.1 200 OK\r\ncontent-length: abc\r\n\r\n{}".to_vec(), true),
        (b"HTTP/1.1 200 OK\r\nbad header line\r\n\r\n{}".to_vec(), true),
        (b"HTTP/1.1 999999 OK\r\ncontent-length: 2\r\n\r\n{}".to_vec(), true),
        (b"HTTP/2.0 200 OK\r\ncontent-length: 2\r\n\r\n{}".to_vec(), true),
        ([b"HTTP/1.1 200 OK\r\nx-big: ".to_vec(), vec![b'a'; 1 << 20], b"\r\n\r\n{}".to_vec()].concat(), true),
        // A head that parses, then a body that does not: a body error, which a cut
        // connection also causes, and an idempotent call tries again.
        (b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n".to_vec(), false),
    ];
    let count = answers.len();
    let replies: Vec<Vec<u8>> = answers.iter().map(|(bytes, _)| bytes.clone()).collect();
    let server = server::start(move |n, _| Reply::Close(replies[n % count].clone())).await;
    let client = client(&server, RetryPolicy::none());
    for (i, (_, malformed)) in answers.iter().enumerate() {
        let err = get(&client).send::<Value>().await.unwrap_err();
        assert_transport(&err);
        assert!(!err.to_string().is_empty(), "answer {i}");
        let Error::Transport(e) = &err else { unreachable!() };
        assert_eq!(e.is_malformed(), *malformed, "answer {i}: {err}");
        assert_eq!(err.is_retryable(), !*malformed, "answer {i}: {err}");
    }
}

#[tokio::test]
async fn stalled_body_times_out_per_attempt_within_the_retry_bounds() {
    // Headers and a little of the body, then silence.
    let server = server::start(|_, _| {
        Reply::Stall([head("200 OK", &[("content-length", "1000")]), b"{\"items\": [".to_vec()].concat())
    })
    .await;
    let attempt = Duration::from_millis(300);
    let client = Client::builder(&API).base_url(server.url()).timeout(attempt).retry_policy(fast(3)).build().unwrap();
    let started = Instant::now();
    let err = bounded(get(&client).send::<Value>()).await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(matches!(err, Error::Timeout), "{err:?}");
    assert_eq!(server.count(), 3);
    // Three attempts of 300 ms and two backoffs of at most 5 ms.
    assert!(elapsed >= attempt * 3, "{elapsed:?}");
    assert!(elapsed < attempt * 3 + Duration::from_secs(2), "{elapsed:?}");
}

#[tokio::test]
async fn stalled_download_times_out_between_chunks() {
    let server = server::start(|_, _| {
        Reply::Stall([head("200 OK", &[("content-length", "100000")]), vec![b'x'; 5000]].concat())
    })
    .await;
    let client = Client::builder(&API).base_url(server.url()).timeout(Duration::from_millis(300)).build().unwrap();
    let mut stream = get(&client).download().await.unwrap();
    let started = Instant::now();
    let mut received = 0;
    let err = loop {
        match bounded(stream.try_next()).await {
            Ok(Some(chunk)) => received += chunk.len(),
            Ok(None) => panic!("the body cannot be complete"),
            Err(err) => break err,
        }
    };
    assert_eq!(received, 5000);
    assert!(matches!(err, Error::Timeout), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    // After the timeout the stream is over rather than waiting again.
    assert!(bounded(stream.try_next()).await.unwrap().is_none());

    // A per-call timeout applies in the same way.
    let client = Client::builder(&API).base_url(server.url()).build().unwrap();
    let mut call = get(&client);
    call.set_timeout(Duration::from_millis(200));
    let err = bounded(async { call.download().await?.collect_bytes().await }).await.unwrap_err();
    assert!(matches!(err, Error::Timeout), "{err:?}");
}

fn status(code: &str, retry_after: Option<&str>) -> Vec<u8> {
    let body = br#"{"error":{"code":429,"message":"slow down","status":"RESOURCE_EXHAUSTED"}}"#;
    let mut headers = vec![("content-type", "application/json"), ("content-length", "74")];
    if let Some(after) = retry_after {
        headers.push(("retry-after", after));
    }
    [head(code, &headers), body.to_vec()].concat()
}

#[tokio::test]
async fn rate_limit_storm_stops_at_max_attempts() {
    let server = server::start(|_, _| Reply::Close(status("429 Too Many Requests", None))).await;
    let policy = RetryPolicy::default()
        .max_attempts(4)
        .initial_backoff(Duration::from_millis(40))
        .max_backoff(Duration::from_millis(80));
    let client = client(&server, policy);
    let started = Instant::now();
    let err = get(&client).send::<Value>().await.unwrap_err();
    assert!(err.is_rate_limited(), "{err:?}");
    assert_eq!(server.count(), 4);
    // Backoffs of at most 40, 80 and 80 ms.
    assert!(started.elapsed() < Duration::from_millis(200) + Duration::from_secs(2), "{:?}", started.elapsed());
}

#[tokio::test]
async fn retry_after_storm_stops_at_the_time_budget() {
    // Every answer asks for one second; the budget of 2.5 s allows two waits, so three
    // attempts, although ten are allowed.
    let server = server::start(|_, _| Reply::Close(status("503 Service Unavailable", Some("1")))).await;
    let policy = fast(10).total_timeout(Duration::from_millis(2500));
    let client = client(&server, policy);
    let started = Instant::now();
    let err = get(&client).send::<Value>().await.unwrap_err();
    let elapsed = started.elapsed();
    assert_eq!(err.http_status(), Some(503));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(1)));
    assert_eq!(server.count(), 3);
    assert!(elapsed >= Duration::from_secs(2), "Retry-After was not honoured: {elapsed:?}");
    assert!(elapsed < Duration::from_millis(2500) + Duration::from_secs(1), "{elapsed:?}");
}

#[tokio::test]
async fn unparsable_retry_after_falls_back_to_backoff() {
    let answers = ["-1", "soon", "1.5", "Thu, 01 Jan 1970 00:00:00 GMT"];
    let server = server::start(move |n, _| {
        if n < answers.len() {
            Reply::Close(status("503 Service Unavailable", Some(answers[n])))
        } else {
            Reply::Close(full("200 OK", "application/json", b"{}"))
        }
    })
    .await;
    let client = client(&server, fast(10));
    let started = Instant::now();
    get(&client).send::<Value>().await.unwrap();
    assert_eq!(server.count(), 5);
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
}

/// A wait too long to represent, or past the budget, is honoured by not retrying: the error
/// comes back at once, carrying the wait, and nothing overflows.
#[tokio::test]
async fn an_endless_retry_after_ends_the_retries_at_once() {
    for wait in ["99999999999999999999999", "18446744073709551615", "Fri, 31 Dec 9999 23:59:59 GMT"] {
        let server = server::start(move |_, _| Reply::Close(status("503 Service Unavailable", Some(wait)))).await;
        let client = client(&server, fast(10));
        let started = Instant::now();
        let err = get(&client).send::<Value>().await.unwrap_err();
        assert_eq!(err.http_status(), Some(503), "{wait}");
        assert!(err.retry_after().unwrap() > Duration::from_secs(3600 * 24 * 365), "{wait}");
        assert_eq!(server.count(), 1, "{wait}");
        assert!(started.elapsed() < Duration::from_secs(2), "{wait}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_in_a_503_storm_each_stay_bounded() {
    let server = server::start(|_, _| Reply::Close(status("503 Service Unavailable", None))).await;
    let client = client(&server, fast(3));
    let started = Instant::now();
    let calls: Vec<_> = (0..8).map(|_| tokio::spawn(get(&client).send::<Value>())).collect();
    for call in calls {
        let err = call.await.unwrap().unwrap_err();
        assert_eq!(err.http_status(), Some(503));
    }
    assert_eq!(server.count(), 8 * 3);
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());

    // A POST is not repeated after a 503, which it may have caused.
    create(&client).send::<Value>().await.unwrap_err();
    assert_eq!(server.count(), 8 * 3 + 1);
}

/// A server that redirects every request to `location(its own port)`, recording them.
async fn redirector(location: fn(u16) -> String) -> Server {
    let port = std::sync::Arc::new(AtomicUsize::new(0));
    let server = {
        let port = port.clone();
        server::start(move |_, _| {
            let target = location(port.load(Ordering::SeqCst) as u16);
            Reply::Close(head("307 Temporary Redirect", &[("location", &target), ("content-length", "0")]))
        })
        .await
    };
    port.store(server.addr.port().into(), Ordering::SeqCst);
    server
}

#[tokio::test]
async fn authorization_is_dropped_on_redirects_to_another_port_or_host() {
    let target = server::start(|_, _| Reply::Close(full("200 OK", "application/json", b"{\"landed\":true}"))).await;
    // The target listens on 127.0.0.1: `localhost` names it as another host, and the
    // redirecting server's own address differs from it by the port.
    let port = target.addr.port();
    for (name, location) in [
        ("another host", format!("http://localhost:{port}/landing")),
        ("another port", format!("http://127.0.0.1:{port}/landing")),
    ] {
        let before = target.count();
        let location2 = location.clone();
        let first = server::start(move |_, _| {
            Reply::Close(head("302 Found", &[("location", &location2), ("content-length", "0")]))
        })
        .await;
        let client = Client::builder(&API)
            .base_url(first.url())
            .token_provider(StaticToken::new("ya29.redirect-token"))
            .build()
            .unwrap();
        let v: Value = get(&client).send().await.unwrap();
        assert_eq!(v["landed"], true, "{name}");
        assert!(first.requests()[0].header("authorization").is_some(), "{name}: the first request is authenticated");
        let landed = &target.requests()[before];
        assert_eq!(landed.request_line(), "GET /landing HTTP/1.1", "{name}");
        assert_eq!(landed.header("authorization"), None, "{name}: {}", landed.head);
        assert!(!landed.head.contains("ya29"), "{name}: {}", landed.head);
    }
}

#[tokio::test]
async fn redirect_loops_and_broken_locations_are_transport_errors() {
    let server = redirector(|port| format!("http://127.0.0.1:{port}/again")).await;
    let client = client(&server, RetryPolicy::none());
    let err = get(&client).send::<Value>().await.unwrap_err();
    assert_transport(&err);
    // The first request and ten redirects.
    assert_eq!(server.count(), 11);

    let server =
        server::start(|_, _| Reply::Close(head("302 Found", &[("location", "http://[::1"), ("content-length", "0")])))
            .await;
    let client = client_for(&server);
    // A Location that is not a URL ends the redirect chain: the 302 itself is the answer.
    let err = get(&client).send::<Value>().await.unwrap_err();
    assert_eq!(err.http_status(), Some(302), "{err:?}");
}

/// A resumable upload of `len` bytes in chunks of 256 KiB, against `server`.
async fn upload(server: &Server, len: usize) -> Result<Value, Error> {
    upload_in_chunks(server, len, CHUNK_GRANULARITY).await
}

/// A resumable upload of `len` bytes in chunks of `chunk_size`, against `server`.
async fn upload_in_chunks(server: &Server, len: usize, chunk_size: usize) -> Result<Value, Error> {
    let client = Client::builder(&API)
        .root_url(server.url())
        .token_provider(StaticToken::new("ya29.faults-token"))
        .retry_policy(fast(3))
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let mut call = Call::new(&client, &INSERT);
    call.json_body(&serde_json::json!({}));
    let media = Media::new("application/octet-stream", vec![7u8; len]);
    bounded(call.upload::<Value>(media, Upload::resumable().chunk_size(chunk_size))).await
}

/// Answers a session's initiation with `Location: /session`, and every other request with
/// `chunk(n, request)`.
fn session(chunk: fn(usize, &server::Request) -> Vec<u8>) -> impl Fn(usize, &server::Request) -> Reply {
    move |n, request| {
        if request.request_line().starts_with("POST ") {
            Reply::Close(head("200 OK", &[("location", "/session"), ("content-length", "0")]))
        } else {
            Reply::Close(chunk(n, request))
        }
    }
}

/// The first byte of a chunk request's range (`Content-Range: bytes A-B/T`).
fn chunk_start(request: &server::Request) -> u64 {
    let range = request.header("content-range").unwrap_or("");
    range.trim_start_matches("bytes ").split('-').next().and_then(|s| s.parse::<u64>().ok()).unwrap_or(0)
}

/// The first byte after the range of a chunk request (`Content-Range: bytes A-B/T`).
fn chunk_end(request: &server::Request) -> u64 {
    let range = request.header("content-range").unwrap_or("");
    let span = range.trim_start_matches("bytes ").split('/').next().unwrap_or("");
    span.split_once('-').and_then(|(_, end)| end.parse::<u64>().ok()).map_or(0, |end| end + 1)
}

#[tokio::test]
async fn an_upload_answered_as_complete_before_its_last_chunk_is_an_error() {
    // 700,000 bytes are three chunks; the server says "done" after the first.
    let server = server::start(session(|_, _| full("200 OK", "application/json", br#"{"name":"o"}"#))).await;
    let err = upload(&server, 700_000).await.unwrap_err();
    assert!(matches!(&err, Error::Protocol(m) if m.contains("complete")), "{err:?}");
    assert_eq!(server.count(), 2, "the initiation and the first chunk");
}

#[tokio::test]
async fn an_upload_session_that_keeps_a_few_bytes_of_each_chunk_is_given_up() {
    // Every chunk is answered 308 with one byte more stored: without a minimum, a 4 MiB
    // upload would take millions of requests.
    let server = server::start(session(|_, request| {
        let stored = chunk_end(request).min(
            1 + request.header("content-range").map_or(0, |r| {
                r.trim_start_matches("bytes ").split('-').next().and_then(|s| s.parse::<u64>().ok()).unwrap_or(0)
            }),
        );
        let range = format!("bytes=0-{}", stored.saturating_sub(1));
        head("308 Resume Incomplete", &[("range", &range), ("content-length", "0")])
    }))
    .await;
    let err = upload(&server, 4 << 20).await.unwrap_err();
    assert!(matches!(&err, Error::Upload(_)), "{err:?}");
    assert!(server.count() <= 10, "gave up after the policy's attempts: {}", server.count());
}

#[tokio::test]
async fn an_upload_session_that_keeps_too_small_a_part_of_each_chunk_is_given_up() {
    // 64 KiB of each 2 MiB chunk: every answer moves forward, but each chunk would be sent
    // again thirty-two times over.
    let server = server::start(session(|_, request| {
        let stored = chunk_end(request).min(chunk_start(request) + (64 << 10));
        let range = format!("bytes=0-{}", stored.saturating_sub(1));
        head("308 Resume Incomplete", &[("range", &range), ("content-length", "0")])
    }))
    .await;
    let err = upload_in_chunks(&server, 4 << 20, 2 << 20).await.unwrap_err();
    assert!(matches!(&err, Error::Upload(_)), "{err:?}");
    assert!(server.count() <= 6, "gave up after the policy's attempts: {}", server.count());
}

#[tokio::test]
async fn an_upload_over_a_link_that_breaks_every_few_hundred_kilobytes_completes() {
    // Each chunk's connection breaks once 192 KiB of it reached the session, which keeps
    // them: less than a sixteenth of the 4 MiB chunk, but progress after a broken attempt.
    static STORED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    const TOTAL: u64 = 4 << 20;
    let done = || full("200 OK", "application/json", br#"{"name":"o"}"#);
    let server = server::start(move |_, request| {
        if request.request_line().starts_with("POST ") {
            return Reply::Close(head("200 OK", &[("location", "/session"), ("content-length", "0")]));
        }
        let end = chunk_end(request);
        if end > 0 {
            let stored = (chunk_start(request) + (192 << 10)).min(end);
            STORED.store(stored, Ordering::SeqCst);
            return if stored == TOTAL { Reply::Close(done()) } else { Reply::Reset(Vec::new()) };
        }
        match STORED.load(Ordering::SeqCst) {
            TOTAL => Reply::Close(done()),
            stored => {
                let range = format!("bytes=0-{}", stored - 1);
                Reply::Close(head("308 Resume Incomplete", &[("range", &range), ("content-length", "0")]))
            }
        }
    })
    .await;
    let result = upload_in_chunks(&server, TOTAL as usize, 4 << 20).await.unwrap();
    assert_eq!(result["name"], "o");
}

#[tokio::test]
async fn an_upload_session_that_loses_what_it_stored_again_and_again_is_given_up() {
    // Each chunk is stored, until the session holds 3 MiB; the next answer says it holds
    // nothing. Each round sends 4 MiB, and the session is allowed to lose the media's size
    // as many times as the policy makes attempts (3).
    let server = server::start(session(|_, request| match chunk_end(request) {
        end if end == 0 || end > 3 << 20 => head("308 Resume Incomplete", &[("content-length", "0")]),
        end => {
            let range = format!("bytes=0-{}", end - 1);
            head("308 Resume Incomplete", &[("range", &range), ("content-length", "0")])
        }
    }))
    .await;
    let err = upload_in_chunks(&server, 4 << 20, 1 << 20).await.unwrap_err();
    assert!(matches!(&err, Error::Upload(m) if m.contains("lost")), "{err:?}");
    // Four rounds of four chunks lose 12 MiB; the fifth round's loss passes the 12 MiB
    // allowed. Without the allowance, 22 rounds.
    assert!(server.count() <= 25, "{} requests", server.count());
}

#[tokio::test]
async fn a_resume_incomplete_with_a_location_is_not_followed() {
    // A 308 is the protocol's "resume incomplete", not a redirect: the chunks stay with the
    // session, whatever `Location` the answer carries.
    let elsewhere = server::start(|_, _| Reply::Close(full("200 OK", "application/json", b"{}"))).await;
    let port = elsewhere.addr.port();
    let server = server::start(move |n, request| {
        if request.request_line().starts_with("POST ") {
            return Reply::Close(head("200 OK", &[("location", "/session"), ("content-length", "0")]));
        }
        if chunk_end(request) < 300_000 {
            let location = format!("http://localhost:{port}/steal");
            let range = format!("bytes=0-{}", chunk_end(request) - 1);
            Reply::Close(head(
                "308 Resume Incomplete",
                &[("range", &range), ("location", &location), ("content-length", "0")],
            ))
        } else {
            let _ = n;
            Reply::Close(full("200 OK", "application/json", br#"{"name":"o"}"#))
        }
    })
    .await;
    let done = upload(&server, 300_000).await.unwrap();
    assert_eq!(done["name"], "o");
    assert_eq!(elsewhere.count(), 0, "nothing went to the Location of a 308");
    assert_eq!(server.count(), 3, "the initiation and two chunks");
    // Each chunk states its length, as Google's clients send it (not chunked coding).
    for (request, length) in server.requests()[1..].iter().zip([262_144, 300_000 - 262_144]) {
        assert_eq!(request.header("content-length"), Some(length.to_string().as_str()), "{}", request.head);
        assert_eq!(request.header("transfer-encoding"), None, "{}", request.head);
        assert_eq!(request.body.len(), length);
    }
}

#[tokio::test]
async fn a_session_location_that_is_empty_or_not_http_is_an_upload_error() {
    for location in ["", "javascript:alert(1)", "file:///etc/passwd"] {
        let server =
            server::start(move |_, _| Reply::Close(head("200 OK", &[("location", location), ("content-length", "0")])))
                .await;
        let err = upload(&server, 10).await.unwrap_err();
        assert!(matches!(&err, Error::Upload(_)), "{location:?}: {err:?}");
        assert_eq!(server.count(), 1, "{location:?}: nothing sent after the initiation");
    }
}

#[tokio::test]
async fn announced_huge_body_is_refused_before_reading() {
    // One TiB announced, nothing sent: the default limit refuses it at once.
    let server = server::start(|_, _| Reply::Stall(head("200 OK", &[("content-length", "1099511627776")]))).await;
    let client = client_for(&server);
    let started = Instant::now();
    let err = bounded(get(&client).send::<Value>()).await.unwrap_err();
    match err {
        Error::ResponseTooLarge { status, limit } => {
            assert_eq!(status, 200);
            assert_eq!(limit, discovery_runtime::DEFAULT_MAX_RESPONSE_BYTES);
        }
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn endless_body_stops_at_the_limit() {
    for chunked in [false, true] {
        // No length: the body ends when the connection does, which is never.
        let headers: &[(&str, &str)] = if chunked { &[("transfer-encoding", "chunked")] } else { &[] };
        let server = server::start(move |_, _| Reply::Endless { head: head("200 OK", headers), chunked }).await;
        let limit = 1 << 20;
        let client = Client::builder(&API).base_url(server.url()).max_response_bytes(limit).build().unwrap();
        let err = bounded(get(&client).send::<Value>()).await.unwrap_err();
        assert!(matches!(err, Error::ResponseTooLarge { status: 200, limit: 1_048_576 }), "{err:?}");
        assert!(!err.is_retryable());
        assert!(err.to_string().contains("1048576"), "{err}");
        // The client stopped reading: what the server got out is the limit plus what the
        // sockets buffer, far from endless.
        server.wait_until_closed().await;
        let sent = server.streamed();
        assert!(sent < 64 << 20, "{sent} bytes were sent (chunked: {chunked})");
    }
}

#[tokio::test]
async fn body_at_the_limit_is_read() {
    let body = [b"\"".to_vec(), vec![b'a'; 998], b"\"".to_vec()].concat();
    let server = server::start(move |_, _| Reply::Close(full("200 OK", "application/json", &body))).await;
    let client = Client::builder(&API).base_url(server.url()).max_response_bytes(1000).build().unwrap();
    let v: String = get(&client).send().await.unwrap();
    assert_eq!(v.len(), 998);
    let client = Client::builder(&API).base_url(server.url()).max_response_bytes(999).build().unwrap();
    assert!(matches!(get(&client).send::<String>().await, Err(Error::ResponseTooLarge { .. })));
}

#[tokio::test]
async fn huge_error_body_is_cut_and_stays_a_retryable_service_error() {
    let server =
        server::start(|_, _| Reply::Endless { head: head("503 Service Unavailable", &[]), chunked: false }).await;
    let client = Client::builder(&API)
        .base_url(server.url())
        .max_response_bytes(64 << 10)
        .retry_policy(fast(2))
        .build()
        .unwrap();
    let err = bounded(get(&client).send::<Value>()).await.unwrap_err();
    let service = err.service_error().unwrap_or_else(|| panic!("{err:?}"));
    assert_eq!(service.http_status, 503);
    assert_eq!(service.body_excerpt.len(), 512);
    assert_eq!(server.count(), 2, "a 503 stays retryable however large its page");
}

#[tokio::test]
async fn downloads_stream_past_the_limit() {
    // The limit is for bodies held in memory; a download hands out chunks instead.
    let server = server::start(|_, _| Reply::Endless { head: head("200 OK", &[]), chunked: false }).await;
    let client = Client::builder(&API).base_url(server.url()).max_response_bytes(1000).build().unwrap();
    let mut stream = get(&client).download().await.unwrap();
    let mut received = 0;
    while received < 1 << 20 {
        received += bounded(stream.try_next()).await.unwrap().expect("endless").len();
    }
}

/// The raw fault server.
mod server {
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use tokio::io::AsyncWriteExt;
    use tokio::net::{TcpListener, TcpStream};

    use crate::raw_http::read_request;
    pub use crate::raw_http::RawRequest as Request;

    /// What the server does with a request. Every reply ends the connection, so that
    /// the client never reuses one that is about to misbehave.
    pub enum Reply {
        /// Send these bytes, then close.
        Close(Vec<u8>),
        /// Send these bytes, then reset the connection (RST rather than FIN).
        Reset(Vec<u8>),
        /// Send these bytes, then keep the connection open and say nothing more.
        Stall(Vec<u8>),
        /// Send `head`, then body bytes until the client goes away (or 128 MiB went out,
        /// so that a client without a limit fails its test instead of exhausting memory).
        Endless { head: Vec<u8>, chunked: bool },
    }

    /// A status line and headers, with `connection: close` and the blank line.
    pub fn head(status: &str, headers: &[(&str, &str)]) -> Vec<u8> {
        let mut out = format!("HTTP/1.1 {status}\r\n");
        for (name, value) in headers {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
        out.push_str("connection: close\r\n\r\n");
        out.into_bytes()
    }

    /// A complete response with a correct Content-Length.
    pub fn full(status: &str, content_type: &str, body: &[u8]) -> Vec<u8> {
        let length = body.len().to_string();
        [head(status, &[("content-type", content_type), ("content-length", &length)]), body.to_vec()].concat()
    }

    pub struct Server {
        pub addr: std::net::SocketAddr,
        requests: Arc<Mutex<Vec<Request>>>,
        streamed: Arc<AtomicU64>,
        open: Arc<AtomicUsize>,
    }

    impl Server {
        pub fn url(&self) -> String {
            format!("http://{}/", self.addr)
        }

        pub fn count(&self) -> usize {
            self.requests.lock().unwrap().len()
        }

        pub fn requests(&self) -> Vec<Request> {
            self.requests.lock().unwrap().clone()
        }

        /// Body bytes written by `Reply::Endless` replies.
        pub fn streamed(&self) -> u64 {
            self.streamed.load(Ordering::SeqCst)
        }

        /// Waits (up to 5 s) until no `Endless` reply is still writing.
        pub async fn wait_until_closed(&self) {
            for _ in 0..500 {
                if self.open.load(Ordering::SeqCst) == 0 {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            panic!("the client kept the connection open");
        }
    }

    /// Serves on a loopback port; `script` gets the request's number (from 0) and the
    /// request.
    pub async fn start<F>(script: F) -> Server
    where
        F: Fn(usize, &Request) -> Reply + Send + Sync + 'static,
    {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let server = Server {
            addr: listener.local_addr().unwrap(),
            requests: Arc::default(),
            streamed: Arc::default(),
            open: Arc::default(),
        };
        let (requests, streamed, open) = (server.requests.clone(), server.streamed.clone(), server.open.clone());
        let script = Arc::new(script);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (requests, streamed, open, script) =
                    (requests.clone(), streamed.clone(), open.clone(), script.clone());
                tokio::spawn(async move {
                    let mut stream = stream;
                    let Some(request) = read_request(&mut stream).await else { return };
                    let n = {
                        let mut log = requests.lock().unwrap();
                        log.push(request.clone());
                        log.len() - 1
                    };
                    reply(stream, script(n, &request), &streamed, &open).await;
                });
            }
        });
        server
    }

    async fn reply(mut stream: TcpStream, reply: Reply, streamed: &AtomicU64, open: &AtomicUsize) {
        match reply {
            Reply::Close(bytes) => {
                let _ = stream.write_all(&bytes).await;
                let _ = stream.shutdown().await;
            }
            Reply::Reset(bytes) => {
                let _ = stream.write_all(&bytes).await;
                let _ = stream.set_zero_linger();
            }
            Reply::Stall(bytes) => {
                let _ = stream.write_all(&bytes).await;
                // Longer than any test; the runtime drops the task at the test's end.
                tokio::time::sleep(Duration::from_secs(120)).await;
            }
            Reply::Endless { head, chunked } => {
                open.fetch_add(1, Ordering::SeqCst);
                let chunk = vec![b' '; 64 << 10];
                let framed = [format!("{:x}\r\n", chunk.len()).into_bytes(), chunk.clone(), b"\r\n".to_vec()].concat();
                if stream.write_all(&head).await.is_ok() {
                    while streamed.load(Ordering::SeqCst) < 128 << 20
                        && stream.write_all(if chunked { &framed } else { &chunk }).await.is_ok()
                    {
                        streamed.fetch_add(chunk.len() as u64, Ordering::SeqCst);
                    }
                }
                open.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }
}

/// A server that reads an upload's body at `per_step` bytes every 100 ms (or never, with 0),
/// then answers `{}`; returns its address and how many body bytes it read.
async fn slow_reader(per_step: usize) -> (std::net::SocketAddr, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // A small receive buffer: what the kernels hold once the client has handed over the
    // last byte must drain well within the timeout, which bounds the wait for the answer.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(256 << 10).unwrap();
    socket.bind(([127, 0, 0, 1], 0).into()).unwrap();
    let listener = socket.listen(1).unwrap();
    let addr = listener.local_addr().unwrap();
    let read = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = read.clone();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        // The head, byte by byte up to the blank line, then the announced body.
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let mut byte = [0u8; 1];
            if stream.read(&mut byte).await.unwrap_or(0) == 0 {
                return;
            }
            head.push(byte[0]);
        }
        let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
        let length: usize = text
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        if per_step == 0 {
            tokio::time::sleep(Duration::from_secs(30)).await;
            return;
        }
        let mut buf = vec![0u8; per_step];
        while counter.load(Ordering::Relaxed) < length {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let want = per_step.min(length - counter.load(Ordering::Relaxed));
            match stream.read_exact(&mut buf[..want]).await {
                Ok(_) => counter.fetch_add(want, Ordering::Relaxed),
                Err(_) => return,
            };
        }
        let _ = stream.write_all(&full("200 OK", "application/json", b"{}")).await;
    });
    (addr, read)
}

fn simple_upload(
    addr: std::net::SocketAddr,
    len: usize,
    timeout: Duration,
) -> impl std::future::Future<Output = Result<Value, Error>> {
    let client = Client::builder(&API)
        .root_url(format!("http://{addr}/"))
        .retry_policy(RetryPolicy::none())
        .timeout(timeout)
        .build()
        .unwrap();
    let call = Call::new(&client, &INSERT);
    call.upload::<Value>(Media::new("application/octet-stream", vec![1u8; len]), Upload::simple())
}

#[tokio::test]
async fn an_upload_slower_than_the_timeout_completes_while_its_body_moves() {
    // 48 MiB read at 1.25 MiB per 100 ms takes about 4 s, past the 2 s timeout, which
    // bounds the time without progress (as Python's socket timeout), not the whole upload.
    let (addr, read) = slow_reader(1280 << 10).await;
    let started = Instant::now();
    let done = bounded(simple_upload(addr, 48 << 20, Duration::from_secs(2))).await;
    assert!(done.is_ok(), "{done:?} after {:?}", started.elapsed());
    assert_eq!(read.load(Ordering::Relaxed), 48 << 20);
    assert!(started.elapsed() > Duration::from_secs(2), "the upload outlasted the timeout: {:?}", started.elapsed());
}

#[tokio::test]
async fn an_upload_whose_body_stops_moving_times_out() {
    let (addr, read) = slow_reader(0).await;
    let started = Instant::now();
    let err = bounded(simple_upload(addr, 16 << 20, Duration::from_secs(1))).await.unwrap_err();
    assert!(matches!(err, Error::Timeout), "{err:?}");
    assert_eq!(read.load(Ordering::Relaxed), 0);
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
}
