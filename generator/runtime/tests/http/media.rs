//! Media upload (simple, multipart, resumable) and download.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::response::Response;
use discovery_runtime::for_generated_code::Call;
use discovery_runtime::{Client, Error, Media, RetryPolicy, Upload};
use futures_util::StreamExt;
use serde_json::{json, Value};

use crate::support::*;

fn insert(client: &Client) -> Call {
    let mut call = Call::new(client, &INSERT_OBJECT);
    call.path_param("bucket", "b1");
    call
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

#[tokio::test]
async fn simple_upload_sends_the_raw_bytes() {
    let server = serve(|req| async move { json(200, json!({"size": req.body.len().to_string()})) }).await;
    let client = server.client().build().unwrap();
    let obj: Value = insert(&client).upload(Media::new("text/plain", "hello world"), Upload::simple()).await.unwrap();
    assert_eq!(obj["size"], "11");
    let req = &server.requests()[0];
    assert_eq!(req.method, "POST");
    assert_eq!(req.path(), "/upload/storage/v1/b/b1/o");
    assert_eq!(req.query(), Some("uploadType=media"));
    assert_eq!(req.header("content-type"), Some("text/plain"));
    assert_eq!(req.body, b"hello world");
}

#[tokio::test]
async fn multipart_upload_carries_metadata_and_media() {
    let server = serve(|_| async { json(200, json!({"name": "notes.bin"})) }).await;
    let client = server.client().build().unwrap();
    let data = pattern(1000);
    let mut call = insert(&client);
    call.json_body(&json!({"name": "notes.bin", "metadata": {"k": "v"}}));
    let obj: Value =
        call.upload(Media::new("application/octet-stream", data.clone()), Upload::multipart()).await.unwrap();
    assert_eq!(obj["name"], "notes.bin");

    let req = &server.requests()[0];
    assert_eq!(req.query(), Some("uploadType=multipart"));
    let ct = req.header("content-type").unwrap();
    let boundary = ct.strip_prefix("multipart/related; boundary=").expect(ct);
    let mut expected = format!(
        "--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{}\r\n--{boundary}\r\nContent-Type: application/octet-stream\r\n\r\n",
        json!({"name": "notes.bin", "metadata": {"k": "v"}})
    )
    .into_bytes();
    expected.extend_from_slice(&data);
    expected.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    assert_eq!(req.body, expected);
}

#[tokio::test]
async fn simple_upload_with_metadata_becomes_multipart() {
    let server = serve(|_| async { json(200, json!({})) }).await;
    let client = server.client().build().unwrap();
    let mut call = insert(&client);
    call.json_body(&json!({"name": "x"}));
    call.upload::<Value>(Media::new("text/plain", "x"), Upload::simple()).await.unwrap();
    assert_eq!(server.requests()[0].query(), Some("uploadType=multipart"));
}

#[tokio::test]
async fn unacceptable_media_is_rejected_before_sending() {
    let server = serve(|_| async { json(200, json!({})) }).await;
    let client = server.client().build().unwrap();
    let err = insert(&client).upload::<Value>(Media::new("image/png", "x"), Upload::simple()).await.unwrap_err();
    assert!(matches!(&err, Error::InvalidRequest(m) if m.contains("image/png")), "{err}");
    let err = insert(&client)
        .upload::<Value>(Media::new("text/plain", vec![0u8; 4 * 1024 * 1024 + 1]), Upload::simple())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest(_)), "{err}");
    let err = insert(&client)
        .upload::<Value>(Media::new("text/plain", "x"), Upload::resumable().chunk_size(1000))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest(_)), "{err}");
    let mut call = Call::new(&client, &GET_PERSON);
    call.path_param("resourceName", "people/me");
    let err = call.upload::<Value>(Media::new("text/plain", "x"), Upload::simple()).await.unwrap_err();
    assert!(matches!(err, Error::InvalidRequest(_)), "{err}");
    assert_eq!(server.count(), 0);
}

/// The state of a fake resumable session.
#[derive(Default)]
struct Session {
    stored: Vec<u8>,
    chunks: usize,
    failed_once: bool,
    status_queries: usize,
}

fn resp(status: u16, range_end: Option<usize>) -> Response {
    let mut b = Response::builder().status(status);
    if let Some(end) = range_end {
        b = b.header("range", format!("bytes=0-{end}"));
    }
    b.body(Body::empty()).unwrap()
}

/// Starts sessions at POST, stores chunks at PUT. The second chunk is "interrupted": only
/// its first 100 000 bytes are kept and the answer is a 503.
async fn resumable_server(session: Arc<Mutex<Session>>) -> TestServer {
    let port = Arc::new(Mutex::new(0u16));
    let p = port.clone();
    let server = serve(move |req| {
        let session = session.clone();
        let port = *p.lock().unwrap();
        async move {
            if req.method == "POST" {
                assert_eq!(req.query(), Some("uploadType=resumable"));
                return with_header(
                    json(200, json!({})),
                    "location",
                    &format!("http://127.0.0.1:{port}/upload/session/s1?upload_id=xyz"),
                );
            }
            let range = req.header("content-range").unwrap().to_owned();
            let mut s = session.lock().unwrap();
            let spec = range.strip_prefix("bytes ").unwrap();
            let (span, total) = spec.split_once('/').unwrap();
            let total: usize = total.parse().unwrap();
            let end_of = |s: &Session| s.stored.len().checked_sub(1);
            if span == "*" {
                s.status_queries += 1;
                return resp(308, end_of(&s));
            }
            let (start, end) = span.split_once('-').unwrap();
            let (start, end): (usize, usize) = (start.parse().unwrap(), end.parse().unwrap());
            if start != s.stored.len() || end + 1 - start != req.body.len() {
                return json(400, json!({"error": {"code": 400, "message": "bad range"}}));
            }
            s.chunks += 1;
            if s.chunks == 2 && !s.failed_once {
                s.failed_once = true;
                s.stored.extend_from_slice(&req.body[..100_000]);
                return json(503, json!({"error": {"code": 503, "message": "interrupted"}}));
            }
            s.stored.extend_from_slice(&req.body);
            if s.stored.len() == total {
                json(200, json!({"name": "big.bin", "size": total.to_string()}))
            } else {
                resp(308, end_of(&s))
            }
        }
    })
    .await;
    *port.lock().unwrap() = server.addr.port();
    server
}

#[tokio::test]
async fn resumable_upload_resumes_from_the_server_offset() {
    let session = Arc::new(Mutex::new(Session::default()));
    let server = resumable_server(session.clone()).await;
    let client = server.client().token_provider(discovery_runtime::auth::StaticToken::new("t")).build().unwrap();
    let data = pattern(700_000);
    let mut call = insert(&client);
    call.json_body(&json!({"name": "big.bin"}));
    let obj: Value = call
        .upload(Media::new("application/octet-stream", data.clone()), Upload::resumable().chunk_size(256 * 1024))
        .await
        .unwrap();
    assert_eq!(obj, json!({"name": "big.bin", "size": "700000"}));

    let s = session.lock().unwrap();
    assert_eq!(s.stored, data, "the stored object differs from the upload");
    assert_eq!(s.status_queries, 1);

    let reqs = server.requests();
    let start = &reqs[0];
    assert_eq!(start.method, "POST");
    assert_eq!(start.path(), "/upload/storage/v1/b/b1/o");
    assert_eq!(start.header("x-upload-content-type"), Some("application/octet-stream"));
    assert_eq!(start.header("x-upload-content-length"), Some("700000"));
    assert_eq!(start.header("content-type"), Some("application/json; charset=UTF-8"));
    assert_eq!(start.body, br#"{"name":"big.bin"}"#);
    let ranges: Vec<&str> = reqs[1..].iter().map(|r| r.header("content-range").unwrap()).collect();
    assert_eq!(
        ranges,
        [
            "bytes 0-262143/700000",
            "bytes 262144-524287/700000",
            "bytes */700000",
            // Resumed where the server said it stopped, not at the chunk boundary.
            "bytes 362144-624287/700000",
            "bytes 624288-699999/700000",
        ]
    );
    let query = reqs.iter().find(|r| r.header("content-range") == Some("bytes */700000")).unwrap();
    assert_eq!(query.header("content-length"), Some("0"));
    assert!(query.body.is_empty());
    // Same origin as the API: the session requests are authenticated too.
    assert!(reqs.iter().all(|r| r.header("authorization") == Some("Bearer t")));
}

#[tokio::test]
async fn resumable_upload_gives_up_on_a_dead_session() {
    let server = serve(|req| async move {
        if req.method == "POST" {
            with_header(json(200, json!({})), "location", "/session/dead")
        } else {
            json(503, json!({"error": {"code": 503, "message": "down"}}))
        }
    })
    .await;
    let client = server.client().retry_policy(fast_retries().max_attempts(3)).build().unwrap();
    let err = insert(&client).upload::<Value>(Media::new("text/plain", "abc"), Upload::resumable()).await.unwrap_err();
    assert_eq!(err.http_status(), Some(503));
    // One start, then chunk + two status queries: three failures in all.
    assert_eq!(server.count(), 4);
}

#[tokio::test]
async fn resumable_upload_without_session_uri_is_an_upload_error() {
    let server = serve(|_| async { json(200, json!({})) }).await;
    let client = server.client().retry_policy(RetryPolicy::none()).build().unwrap();
    let err = insert(&client).upload::<Value>(Media::new("text/plain", "abc"), Upload::resumable()).await.unwrap_err();
    assert!(matches!(err, Error::Upload(_)), "{err:?}");
}

#[tokio::test]
async fn download_streams_the_media() {
    let data = pattern(3 * 1024 * 1024);
    let body = data.clone();
    let server = serve(move |_| {
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> = body.chunks(64 * 1024).map(|c| Ok(c.to_vec())).collect();
        async move {
            Response::builder()
                .header("content-type", "application/octet-stream")
                .body(Body::from_stream(futures_util::stream::iter(chunks)))
                .unwrap()
        }
    })
    .await;
    let client = server.client().build().unwrap();
    let mut call = Call::new(&client, &GET_OBJECT);
    call.path_param("bucket", "b1");
    call.path_param("object", "big.bin");
    let mut stream = call.download().await.unwrap();
    assert_eq!(stream.status(), 200);
    assert_eq!(stream.content_type(), Some("application/octet-stream"));
    let mut received = Vec::new();
    let mut pieces = 0;
    while let Some(chunk) = stream.next().await {
        received.extend_from_slice(&chunk.unwrap());
        pieces += 1;
    }
    assert!(pieces > 1, "the body arrived in one piece");
    assert_eq!(received, data);
    assert_eq!(server.requests()[0].query(), Some("alt=media"));

    let mut call = Call::new(&client, &GET_OBJECT);
    call.path_param("bucket", "b1");
    call.path_param("object", "big.bin");
    let all = call.download().await.unwrap().collect_bytes().await.unwrap();
    assert_eq!(all.as_ref(), data.as_slice());
}

#[tokio::test]
async fn download_errors_are_service_errors() {
    let server = serve(|_| async {
        json(404, json!({"error": {"code": 404, "message": "No such object", "status": "NOT_FOUND"}}))
    })
    .await;
    let client = server.client().build().unwrap();
    let mut call = Call::new(&client, &GET_OBJECT);
    call.path_param("bucket", "b1");
    call.path_param("object", "missing");
    let err = call.download().await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");

    let mut call = Call::new(&client, &GET_PERSON);
    call.path_param("resourceName", "people/me");
    assert!(matches!(call.download().await, Err(Error::InvalidRequest(_))));
}

/// A relative session URI is relative to the URL that answered: after a redirect of the
/// session's start, that is the redirect's target, not the URL first asked.
#[tokio::test]
async fn relative_session_uri_after_a_redirect_resolves_against_the_answering_url() {
    let server = serve(|req| async move {
        match (req.method.as_str(), req.path()) {
            ("POST", "/upload/storage/v1/b/b1/o") => {
                with_header(json(307, json!({})), "location", "/moved/upload/o?uploadType=resumable")
            }
            ("POST", "/moved/upload/o") => with_header(json(200, json!({})), "location", "session/s2?upload_id=1"),
            ("PUT", "/moved/upload/session/s2") => json(200, json!({"name": "moved"})),
            _ => json(404, json!({"error": {"code": 404, "message": format!("no {}", req.uri)}})),
        }
    })
    .await;
    let client = server.client().retry_policy(RetryPolicy::none()).build().unwrap();
    let obj: Value = insert(&client).upload(Media::new("text/plain", "abc"), Upload::resumable()).await.unwrap();
    assert_eq!(obj, json!({"name": "moved"}));
    let paths: Vec<String> = server.requests().iter().map(|r| r.path().to_owned()).collect();
    assert_eq!(paths, ["/upload/storage/v1/b/b1/o", "/moved/upload/o", "/moved/upload/session/s2"]);
}

/// A transport double answers with responses that carry no URL (reqwest gives them a
/// placeholder): a relative session URI is then relative to the URL asked.
#[tokio::test]
async fn relative_session_uri_from_a_transport_double_resolves_against_the_request() {
    struct Double(Mutex<Vec<String>>);
    impl discovery_runtime::HttpTransport for Double {
        fn execute(
            &self,
            request: discovery_runtime::reqwest::Request,
        ) -> futures_util::future::BoxFuture<
            '_,
            Result<discovery_runtime::reqwest::Response, discovery_runtime::TransportError>,
        > {
            self.0.lock().unwrap().push(format!("{} {}", request.method(), request.url()));
            let answer = match request.method().as_str() {
                "POST" => http::Response::builder().status(200).header("location", "session/1?upload_id=x").body(""),
                _ => http::Response::builder().status(200).body(r#"{"name":"doubled"}"#),
            };
            Box::pin(async move { Ok(discovery_runtime::reqwest::Response::from(answer.unwrap())) })
        }
    }
    let double = Arc::new(Double(Mutex::new(Vec::new())));
    let client = Client::builder(&API)
        .root_url("https://storage.example.com/")
        .transport(double.clone())
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let obj: Value = insert(&client).upload(Media::new("text/plain", "abc"), Upload::resumable()).await.unwrap();
    assert_eq!(obj, json!({"name": "doubled"}));
    let seen = double.0.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[1], "PUT https://storage.example.com/upload/storage/v1/b/b1/session/1?upload_id=x");
}
