//! A loopback server for media tests: resumable upload sessions that check every chunk
//! against the protocol (order, 256 KiB multiples, totals) and keep only a checksum of
//! what they stored, so that a test can upload gigabytes; simple and multipart uploads; and
//! downloads that can break off and honour `Range`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use futures_util::StreamExt;

/// FNV-1a, 64 bits: enough to tell two byte streams apart in a test.
#[allow(dead_code)] // each test binary uses part of this module
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checksum(pub u64);

impl Default for Checksum {
    fn default() -> Self {
        Checksum(0xcbf2_9ce4_8422_2325)
    }
}

#[allow(dead_code)]
impl Checksum {
    pub fn update(&mut self, data: &[u8]) {
        for &b in data {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    pub fn of(data: &[u8]) -> Checksum {
        let mut c = Checksum::default();
        c.update(data);
        c
    }
}

/// One upload session as the server sees it.
#[allow(dead_code)]
#[derive(Clone, Debug, Default)]
pub struct Session {
    pub stored: u64,
    pub checksum: Checksum,
    pub total: Option<u64>,
    pub complete: bool,
    pub metadata: String,
    pub content_type: String,
    /// Each chunk's `Content-Range`, as received.
    pub ranges: Vec<String>,
}

/// What the server does, for the test to adjust and inspect.
#[derive(Default)]
pub struct Shared {
    pub sessions: HashMap<String, Session>,
    /// Requests seen: method, path and query, and `Content-Range` or `Range`.
    pub log: Vec<String>,
    /// Chunk PUTs answered with 503 from this many on (the server "goes down").
    pub fail_chunks_from: Option<usize>,
    pub chunks_seen: usize,
    /// Simple and multipart uploads: (query, content type, content length, checksum, size).
    pub single: Vec<(String, String, Option<String>, Checksum, u64)>,
    /// Download: the media served, and the first response cut after this many bytes.
    pub media: Vec<u8>,
    pub cut_first_download_at: Option<usize>,
    /// Every download response cut after this many bytes of its body.
    pub cut_each_download_at: Option<usize>,
    /// Every download response cut this many bytes past the start of the range asked for
    /// (its body may start before that range when `ignore_range` is set).
    pub cut_past_range_by: Option<usize>,
    /// Ranged downloads (resumptions) answered 503 with this `Retry-After`, this many times.
    pub refuse_ranges: usize,
    pub refusal_retry_after: String,
    pub downloads: usize,
    /// The ETag of the media; changed by a test to simulate an edit.
    pub etag: String,
    /// Answer ranged requests with the whole media (200), as some servers do.
    pub ignore_range: bool,
    /// Downloads sent a kibibyte at a time with this pause in between (a trickle).
    pub trickle: Option<std::time::Duration>,
    /// Each chunk PUT stores at most this many of its bytes (a multiple of 256 KiB) and
    /// answers 308 with what it holds, as a server under load may.
    pub store_at_most: Option<u64>,
    /// Simple and multipart uploads answered 401 this many times.
    pub unauthorized: usize,
    /// The `Authorization` header of each request.
    pub authorization: Vec<Option<String>>,
}

pub type Server = (String, Arc<Mutex<Shared>>);

pub async fn start() -> Server {
    let shared = Arc::new(Mutex::new(Shared { etag: "\"v1\"".into(), ..Shared::default() }));
    let app = axum::Router::new().fallback(handle).with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, shared)
}

fn reply(status: u16, headers: &[(&str, String)], body: impl Into<Body>) -> Response {
    let mut builder = Response::builder().status(status);
    for (name, value) in headers {
        builder = builder.header(*name, value);
    }
    builder.body(body.into()).unwrap()
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

async fn handle(State(shared): State<Arc<Mutex<Shared>>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().unwrap_or("").to_owned();
    let range = header(&parts.headers, "content-range").or_else(|| header(&parts.headers, "range")).unwrap_or_default();
    {
        let mut s = shared.lock().unwrap();
        s.log.push(format!("{} {path}?{query} {range}", parts.method));
        s.authorization.push(header(&parts.headers, "authorization"));
    }
    let mut body = body.into_data_stream();

    if parts.method == "GET" {
        return download(&shared, &parts.headers);
    }
    if parts.method == "POST" && query.contains("uploadType=resumable") {
        let mut metadata = Vec::new();
        while let Some(chunk) = body.next().await {
            metadata.extend_from_slice(&chunk.unwrap());
        }
        let mut s = shared.lock().unwrap();
        let id = format!("s{}", s.sessions.len() + 1);
        let session = Session {
            total: header(&parts.headers, "x-upload-content-length").map(|v| v.parse().unwrap()),
            content_type: header(&parts.headers, "x-upload-content-type").unwrap_or_default(),
            metadata: String::from_utf8(metadata).unwrap(),
            ..Session::default()
        };
        s.sessions.insert(id.clone(), session);
        return reply(200, &[("location", format!("/session/{id}?upload_id=x"))], "");
    }
    if parts.method == "POST" {
        let mut checksum = Checksum::default();
        let mut size = 0u64;
        while let Some(chunk) = body.next().await {
            let Ok(chunk) = chunk else { return reply(400, &[], "body broke off") };
            checksum.update(&chunk);
            size += chunk.len() as u64;
        }
        let content_type = header(&parts.headers, "content-type").unwrap_or_default();
        let length = header(&parts.headers, "content-length");
        let mut s = shared.lock().unwrap();
        s.single.push((query, content_type, length, checksum, size));
        if s.unauthorized > 0 {
            s.unauthorized -= 1;
            return reply(401, &[], r#"{"error":{"code":401,"message":"token expired","status":"UNAUTHENTICATED"}}"#);
        }
        if s.fail_chunks_from == Some(0) {
            // A rate limit: retried even for a POST, when the body can be sent again.
            return reply(429, &[], r#"{"error":{"code":429,"message":"slow down"}}"#);
        }
        return reply(200, &[("content-type", "application/json".into())], format!(r#"{{"size":"{size}"}}"#));
    }
    // PUT to a session.
    let id = path.trim_start_matches("/session/").to_owned();
    let spec = range.strip_prefix("bytes ").unwrap_or_else(|| panic!("no Content-Range: {range:?}")).to_owned();
    let (span, total) = spec.split_once('/').unwrap();
    let total: Option<u64> = (total != "*").then(|| total.parse().unwrap());
    let status_query = span == "*";
    {
        let mut s = shared.lock().unwrap();
        if !status_query {
            s.chunks_seen += 1;
            if s.fail_chunks_from.is_some_and(|from| s.chunks_seen > from) {
                return reply(503, &[], r#"{"error":{"code":503,"message":"down"}}"#);
            }
        }
    }
    // Chunks arrive in order (asserted below), so the checksum goes on from the session's.
    let (mut running, keep) = {
        let s = shared.lock().unwrap();
        (s.sessions.get(&id).map(|s| s.checksum).unwrap_or_default(), s.store_at_most.unwrap_or(u64::MAX))
    };
    let mut len = 0u64;
    let mut kept = 0u64;
    while let Some(chunk) = body.next().await {
        let Ok(chunk) = chunk else { return reply(400, &[], "body broke off") };
        let room = usize::try_from(keep - kept).unwrap_or(usize::MAX).min(chunk.len());
        running.update(&chunk[..room]);
        kept += room as u64;
        len += chunk.len() as u64;
    }
    let mut s = shared.lock().unwrap();
    let session = s.sessions.get_mut(&id).unwrap_or_else(|| panic!("no session {id}"));
    if let Some(total) = total {
        assert!(session.total.is_none_or(|t| t == total), "the total changed");
        session.total = Some(total);
    }
    if !status_query {
        session.ranges.push(range.clone());
        let (start, end) = span.split_once('-').unwrap();
        let (start, end): (u64, u64) = (start.parse().unwrap(), end.parse().unwrap());
        assert_eq!(start, session.stored, "chunks must follow what the session holds");
        assert_eq!(end + 1 - start, len, "the range must match the body");
        let last = total.is_some_and(|t| end + 1 == t);
        assert!(last || len % (256 * 1024) == 0, "a chunk that is not the last must be a multiple of 256 KiB: {len}");
        session.stored = start + kept;
        session.checksum = running;
    }
    let done = session.total.is_some_and(|t| session.stored == t);
    if done {
        session.complete = true;
        let body = format!(r#"{{"size":"{}","checksum":"{}"}}"#, session.stored, session.checksum.0);
        return reply(200, &[("content-type", "application/json".into())], body);
    }
    let headers: Vec<(&str, String)> =
        if session.stored > 0 { vec![("range", format!("bytes=0-{}", session.stored - 1))] } else { Vec::new() };
    reply(308, &headers, "")
}

fn download(shared: &Arc<Mutex<Shared>>, headers: &HeaderMap) -> Response {
    let mut s = shared.lock().unwrap();
    s.downloads += 1;
    let media = s.media.clone();
    let etag = s.etag.clone();
    // `bytes=FROM-` or `bytes=FROM-TO`.
    let range = header(headers, "range").map(|r| {
        let (from, to) = r.strip_prefix("bytes=").unwrap().split_once('-').unwrap();
        (from.parse::<usize>().unwrap(), to.parse::<usize>().ok())
    });
    if range.is_some() && s.refuse_ranges > 0 {
        s.refuse_ranges -= 1;
        return reply(503, &[("retry-after", s.refusal_retry_after.clone())], "{}");
    }
    let first = s.downloads == 1;
    let cut = if first { s.cut_first_download_at } else { None }
        .or(s.cut_each_download_at)
        .or(s.cut_past_range_by.map(|by| range.map_or(0, |(from, _)| from) + by));
    let trickle = s.trickle;
    let (status, start, end) = match range {
        Some((from, to)) if !s.ignore_range => (206, from, to.map_or(media.len(), |to| (to + 1).min(media.len()))),
        _ => (200, 0, media.len()),
    };
    drop(s);
    let body = media[start..end].to_vec();
    let mut headers = vec![("etag", etag), ("content-type", "application/octet-stream".to_owned())];
    if status == 206 {
        headers.push(("content-range", format!("bytes {start}-{}/{}", end - 1, media.len())));
    }
    if let Some(pause) = trickle {
        let pieces: Vec<Vec<u8>> = body.chunks(1024).map(<[u8]>::to_vec).collect();
        let stream = futures_util::stream::iter(pieces).then(move |piece| async move {
            tokio::time::sleep(pause).await;
            Ok::<_, std::io::Error>(axum::body::Bytes::from(piece))
        });
        return reply(status, &headers, Body::from_stream(stream));
    }
    match cut {
        // Announce the whole body, send part of it, then fail the stream.
        Some(cut) if cut < body.len() => {
            let head = body[..cut].to_vec();
            // The failure comes a moment later, once the head and the first bytes are out
            // (else the server may drop the connection before the response head is sent).
            let stream = futures_util::stream::iter(vec![
                Ok(axum::body::Bytes::from(head)),
                Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "cut")),
            ])
            .then(|item| async move {
                if item.is_err() {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                item
            });
            headers.push(("content-length", body.len().to_string()));
            let mut response = reply(status, &headers, Body::from_stream(stream));
            *response.status_mut() = StatusCode::from_u16(status).unwrap();
            response
        }
        _ => reply(status, &headers, body),
    }
}
