//! Streamed uploads and downloads against a loopback server that checks the protocol:
//! files and readers of known and unknown length, progress, the session URI, resuming a
//! session in a new client (as after a restart), simple uploads for methods with a body,
//! and downloads resumed with `Range` after the body broke off.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use discovery_runtime::for_generated_code::{Call, HttpMethod, MediaUploadInfo, MethodInfo, PathParam};
use discovery_runtime::{ApiInfo, Client, Error, Media, RetryPolicy, Upload, UploadProgress, CHUNK_GRANULARITY};
use serde_json::{json, Value};

mod media_server;
use media_server::Checksum;

static API: ApiInfo = ApiInfo::new("storage", "v1", "https://storage.example.invalid/", "storage/v1/");

/// The document lists an older resumable path; sessions must start at the upload path.
static UPLOAD: MediaUploadInfo = MediaUploadInfo::new()
    .with_simple_path("/upload/storage/v1/b/{bucket}/o")
    .with_resumable_path("/resumable/upload/storage/v1/b/{bucket}/o");

static INSERT: MethodInfo = MethodInfo::new("storage.objects.insert", HttpMethod::Post, "b/{bucket}/o")
    .with_path_params(&[PathParam::new("bucket", None)])
    .with_media_upload(&UPLOAD);

static GET: MethodInfo = MethodInfo::new("storage.objects.get", HttpMethod::Get, "b/{bucket}/o/{object}")
    .with_path_params(&[PathParam::new("bucket", None), PathParam::new("object", None)])
    .with_media_download();

fn client(url: &str) -> Client {
    let fast = RetryPolicy::default().initial_backoff(Duration::from_millis(1)).max_backoff(Duration::from_millis(5));
    Client::builder(&API).root_url(url).retry_policy(fast).build().unwrap()
}

fn insert(client: &Client, metadata: Value) -> Call {
    let mut call = Call::new(client, &INSERT);
    call.path_param("bucket", "b1");
    call.json_body(&metadata);
    call
}

/// Deterministic bytes that differ at every offset a test could get wrong.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i.wrapping_mul(31) ^ (i >> 8)) as u8).collect()
}

fn temp_file(data: &[u8]) -> tempfile_path::TempPath {
    tempfile_path::TempPath::with(data)
}

/// A file under the target directory, removed when dropped.
mod tempfile_path {
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicUsize, Ordering};

    pub struct TempPath(pub PathBuf);

    impl TempPath {
        pub fn with(data: &[u8]) -> TempPath {
            static N: AtomicUsize = AtomicUsize::new(0);
            let dir = std::env::temp_dir().join("discovery-runtime-media-tests");
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join(format!("{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
            std::fs::write(&path, data).unwrap();
            TempPath(path)
        }
    }

    impl Drop for TempPath {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

#[tokio::test]
async fn resumable_uploads_stream_files_and_readers_of_known_and_unknown_length() {
    let (url, shared) = media_server::start().await;
    let client = client(&url);
    let data = pattern(5 * CHUNK_GRANULARITY + 1234);
    let file = temp_file(&data);
    let sources: Vec<(&str, Media)> = vec![
        ("bytes", Media::new("application/octet-stream", data.clone())),
        ("file", Media::from_path("application/octet-stream", &file.0).unwrap()),
        (
            "reader, known length",
            Media::from_reader("application/octet-stream", std::io::Cursor::new(data.clone()), Some(data.len() as u64)),
        ),
        (
            "reader, unknown length",
            Media::from_reader("application/octet-stream", std::io::Cursor::new(data.clone()), None),
        ),
    ];
    for (what, media) in sources {
        let progress: Arc<Mutex<Vec<UploadProgress>>> = Arc::default();
        let seen = progress.clone();
        let upload =
            Upload::resumable().chunk_size(2 * CHUNK_GRANULARITY).on_progress(move |p| seen.lock().unwrap().push(*p));
        let done: Value = insert(&client, json!({"name": what})).upload(media, upload).await.unwrap();
        assert_eq!(done["size"], data.len().to_string(), "{what}");
        assert_eq!(done["checksum"], Checksum::of(&data).0.to_string(), "{what}");
        let progress = progress.lock().unwrap();
        let sent: Vec<u64> = progress.iter().map(|p| p.sent).collect();
        assert!(sent.windows(2).all(|w| w[0] <= w[1]), "{what}: {sent:?}");
        assert_eq!(progress.last().unwrap().sent, data.len() as u64, "{what}");
        assert_eq!(progress.last().unwrap().total, Some(data.len() as u64), "{what}");
    }
    let shared = shared.lock().unwrap();
    let unknown = &shared.sessions["s4"];
    assert_eq!(unknown.total, Some(data.len() as u64));
    let first = CHUNK_GRANULARITY * 2 - 1;
    assert_eq!(unknown.ranges[0], format!("bytes 0-{first}/*"), "the total is unknown until the end");
    assert!(unknown.ranges.last().unwrap().ends_with(&format!("/{}", data.len())));
    assert_eq!(shared.sessions["s2"].metadata, r#"{"name":"file"}"#);
    // Sessions start at the upload path, as Google's clients do, not the document's
    // `/resumable/upload/` one.
    assert!(
        shared.log.iter().filter(|l| l.starts_with("POST")).all(|l| l.starts_with("POST /upload/storage/v1/b/b1/o?")),
        "{:?}",
        shared.log
    );
}

/// The buffer of a chunk is sized by what is left of the media when its length is known: a
/// chunk size far beyond memory uploads a small media; with a length unknown, it is an
/// error, not a panic or an abort.
#[tokio::test]
async fn a_chunk_size_beyond_memory_costs_only_the_media_or_is_an_error() {
    let (url, _shared) = media_server::start().await;
    let client = client(&url);
    let data = pattern(CHUNK_GRANULARITY + 10);
    let huge = usize::MAX & !(CHUNK_GRANULARITY - 1);
    let known = [
        Media::new("application/octet-stream", data.clone()),
        Media::from_reader("application/octet-stream", std::io::Cursor::new(data.clone()), Some(data.len() as u64)),
    ];
    for media in known {
        let done: Value = insert(&client, json!({})).upload(media, Upload::resumable().chunk_size(huge)).await.unwrap();
        assert_eq!(done["size"], data.len().to_string());
    }
    // A reader with more than it said: an error, whatever the chunk size, rather than
    // ranges past the total the session was given.
    for chunk_size in [huge, CHUNK_GRANULARITY] {
        let longer = Media::from_reader("application/octet-stream", std::io::Cursor::new(data.clone()), Some(1000));
        let err = insert(&client, json!({}))
            .upload::<Value>(longer, Upload::resumable().chunk_size(chunk_size))
            .await
            .unwrap_err();
        assert!(matches!(&err, Error::Upload(m) if m.contains("more than the 1000 bytes")), "{err:?}");
    }
    let unknown = Media::from_reader("application/octet-stream", std::io::Cursor::new(data.clone()), None);
    let err =
        insert(&client, json!({})).upload::<Value>(unknown, Upload::resumable().chunk_size(huge)).await.unwrap_err();
    assert!(matches!(&err, Error::Upload(m) if m.contains("cannot make room")), "{err:?}");
}

#[tokio::test]
async fn an_upload_resumes_in_a_new_client_from_the_saved_session_uri() {
    let (url, shared) = media_server::start().await;
    let data = pattern(6 * CHUNK_GRANULARITY);
    let file = temp_file(&data);
    // The first run: the server goes down after two chunks.
    shared.lock().unwrap().fail_chunks_from = Some(2);
    let saved: Arc<Mutex<Option<String>>> = Arc::default();
    let save = saved.clone();
    let first = client(&url);
    let upload = Upload::resumable()
        .chunk_size(CHUNK_GRANULARITY)
        .on_session(move |uri| *save.lock().unwrap() = Some(uri.to_owned()));
    let media = Media::from_path("application/octet-stream", &file.0).unwrap();
    let err = insert(&first, json!({"name": "backup"})).upload::<Value>(media, upload).await.unwrap_err();
    assert_eq!(err.http_status(), Some(503));
    let session_uri = saved.lock().unwrap().clone().expect("the session URI was reported");
    assert_eq!(shared.lock().unwrap().sessions["s1"].stored, 2 * CHUNK_GRANULARITY as u64);
    drop(first);

    // "After a restart": a new client, the same file, the saved URI.
    shared.lock().unwrap().fail_chunks_from = None;
    let second = client(&url);
    let media = Media::from_path("application/octet-stream", &file.0).unwrap();
    let done: Value = insert(&second, json!({}))
        .upload(media, Upload::resume(&session_uri).chunk_size(CHUNK_GRANULARITY))
        .await
        .unwrap();
    assert_eq!(done["checksum"], Checksum::of(&data).0.to_string());
    let shared = shared.lock().unwrap();
    assert_eq!(shared.sessions.len(), 1, "no new session");
    let ranges = &shared.sessions["s1"].ranges;
    assert_eq!(ranges[2], format!("bytes {}-{}/{}", 2 * CHUNK_GRANULARITY, 3 * CHUNK_GRANULARITY - 1, data.len()));

    // A reader resumes too: what the session holds is skipped.
    drop(shared);
}

#[tokio::test]
async fn a_reader_resumes_a_session_by_skipping_what_it_holds() {
    let (url, shared) = media_server::start().await;
    let data = pattern(3 * CHUNK_GRANULARITY + 7);
    shared.lock().unwrap().fail_chunks_from = Some(1);
    let saved: Arc<Mutex<Option<String>>> = Arc::default();
    let save = saved.clone();
    let client = client(&url);
    let upload = Upload::resumable()
        .chunk_size(CHUNK_GRANULARITY)
        .on_session(move |uri| *save.lock().unwrap() = Some(uri.to_owned()));
    let reader = Media::from_reader("application/octet-stream", std::io::Cursor::new(data.clone()), None);
    insert(&client, json!({})).upload::<Value>(reader, upload).await.unwrap_err();
    shared.lock().unwrap().fail_chunks_from = None;
    let uri = saved.lock().unwrap().clone().unwrap();
    let reader = Media::from_reader("application/octet-stream", std::io::Cursor::new(data.clone()), None);
    let done: Value =
        insert(&client, json!({})).upload(reader, Upload::resume(uri).chunk_size(CHUNK_GRANULARITY)).await.unwrap();
    assert_eq!(done["checksum"], Checksum::of(&data).0.to_string());
}

#[tokio::test]
async fn simple_uploads_stream_the_media_and_skip_multipart_without_metadata() {
    let (url, shared) = media_server::start().await;
    let client = client(&url);
    let data = pattern(3 * 1024 * 1024 + 5);
    let file = temp_file(&data);
    // A method with a body, called with an empty one: there is no metadata to send.
    let media = Media::from_path("video/mp4", &file.0).unwrap();
    let done: Value = insert(&client, json!({})).upload(media, Upload::simple()).await.unwrap();
    assert_eq!(done["size"], data.len().to_string());
    // With metadata, the same becomes multipart, streamed too.
    let reader = Media::from_reader("video/mp4", std::io::Cursor::new(data.clone()), None);
    insert(&client, json!({"name": "clip"})).upload::<Value>(reader, Upload::simple()).await.unwrap();
    let shared = shared.lock().unwrap();
    let (query, content_type, length, checksum, size) = &shared.single[0];
    assert_eq!(query, "uploadType=media");
    assert_eq!(content_type, "video/mp4");
    assert_eq!(length.as_deref(), Some(data.len().to_string().as_str()));
    assert_eq!((*checksum, *size), (Checksum::of(&data), data.len() as u64));
    let (query, content_type, length, _, size) = &shared.single[1];
    assert_eq!(query, "uploadType=multipart");
    assert!(content_type.starts_with("multipart/related; boundary="));
    assert_eq!(*length, None, "an unknown length streams chunked");
    assert!(*size > data.len() as u64);
}

#[tokio::test]
async fn a_reader_is_sent_once_so_a_failed_simple_upload_is_not_retried() {
    let (url, shared) = media_server::start().await;
    shared.lock().unwrap().fail_chunks_from = Some(0);
    let client = client(&url);
    let reader = Media::from_reader("text/plain", std::io::Cursor::new(b"abc".to_vec()), Some(3));
    let err = insert(&client, json!({})).upload::<Value>(reader, Upload::simple()).await.unwrap_err();
    assert_eq!(err.http_status(), Some(429));
    assert_eq!(shared.lock().unwrap().single.len(), 1);
    // Bytes can be sent again: the same rate limit is retried, up to the policy's attempts.
    let err = insert(&client, json!({}))
        .upload::<Value>(Media::new("text/plain", "abc"), Upload::simple())
        .await
        .unwrap_err();
    assert_eq!(err.http_status(), Some(429));
    assert_eq!(shared.lock().unwrap().single.len(), 1 + 5);
}

fn get(client: &Client) -> Call {
    let mut call = Call::new(client, &GET);
    call.path_param("bucket", "b1");
    call.path_param("object", "o1");
    call
}

#[tokio::test]
async fn an_interrupted_download_resumes_with_a_range_request() {
    let (url, shared) = media_server::start().await;
    let data = pattern(2 * 1024 * 1024 + 3);
    {
        let mut s = shared.lock().unwrap();
        s.media = data.clone();
        s.cut_first_download_at = Some(700_001);
    }
    let client = client(&url);
    let mut out = Vec::new();
    let written = get(&client).download_to(&mut out).await.unwrap();
    assert_eq!(written, data.len() as u64);
    assert!(out == data, "the downloaded bytes differ");
    let log = shared.lock().unwrap().log.clone();
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(log[0].ends_with("alt=media "), "{log:?}");
    assert!(log[1].ends_with("alt=media bytes=700001-"), "{log:?}");

    // A server that ignores the range sends everything again: the start is skipped.
    {
        let mut s = shared.lock().unwrap();
        s.downloads = 0;
        s.ignore_range = true;
    }
    let mut out = Vec::new();
    get(&client).download_to(&mut out).await.unwrap();
    assert!(out == data);

    // The media changed in between: no silent mix of two versions.
    {
        let mut s = shared.lock().unwrap();
        s.downloads = 0;
        s.ignore_range = false;
    }
    let shared2 = shared.clone();
    let mut writer = ChangingOnWrite { out: Vec::new(), shared: shared2, change: |s| s.etag = "\"v2\"".into() };
    let err = get(&client).download_to(&mut writer).await.unwrap_err();
    assert!(matches!(&err, Error::Protocol(m) if m.contains("ETag")), "{err:?}");
}

/// A writer that keeps what it is given and, at each write, changes the server's state with
/// `change` (as if the media changed while it was downloaded).
struct ChangingOnWrite {
    out: Vec<u8>,
    shared: Arc<Mutex<media_server::Shared>>,
    change: fn(&mut media_server::Shared),
}

impl tokio::io::AsyncWrite for ChangingOnWrite {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        (self.change)(&mut self.shared.lock().unwrap());
        self.out.extend_from_slice(buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

#[tokio::test]
async fn a_download_of_a_range_resumes_inside_that_range() {
    let (url, shared) = media_server::start().await;
    let data = pattern(3 * 1024 * 1024);
    {
        let mut s = shared.lock().unwrap();
        s.media = data.clone();
        s.cut_first_download_at = Some(100_000);
    }
    let client = client(&url);
    let mut call = get(&client);
    call.header("Range", "bytes=1000000-1999999");
    let mut out = Vec::new();
    let written = call.download_to(&mut out).await.unwrap();
    assert_eq!(written, 1_000_000);
    assert!(out == data[1_000_000..2_000_000], "the bytes of the range, once each");
    let log = shared.lock().unwrap().log.clone();
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(log[0].ends_with("bytes=1000000-1999999"), "{log:?}");
    assert!(log[1].ends_with("bytes=1100000-1999999"), "resumed where it broke off, to the same end: {log:?}");

    // A server that ignores the Range on the resumed request: what is before and after
    // the range is dropped.
    {
        let mut s = shared.lock().unwrap();
        s.downloads = 0;
        s.log.clear();
    }
    let mut call = get(&client);
    call.header("Range", "bytes=1000000-1999999");
    // The first answer is the 206; once its bytes arrive, the server ignores the Range of
    // the resumed request.
    let mut writer = ChangingOnWrite { out: Vec::new(), shared: shared.clone(), change: |s| s.ignore_range = true };
    call.download_to(&mut writer).await.unwrap();
    assert!(writer.out == data[1_000_000..2_000_000]);
    let log = shared.lock().unwrap().log.clone();
    assert!(log.len() == 2 && log[1].ends_with("bytes=1100000-1999999"), "{log:?}");
}

#[tokio::test]
async fn a_download_that_breaks_off_again_and_again_completes_while_each_break_gets_further() {
    let (url, shared) = media_server::start().await;
    let data = pattern(1024 * 1024 + 7);
    {
        let mut s = shared.lock().unwrap();
        s.media = data.clone();
        s.cut_each_download_at = Some(100_000);
    }
    // Three attempts allowed, eleven breaks: each one wrote bytes, so none counts against
    // the next.
    let fast = RetryPolicy::default().max_attempts(3).initial_backoff(Duration::from_millis(1));
    let client = Client::builder(&API).root_url(&url).retry_policy(fast).build().unwrap();
    let mut out = Vec::new();
    let written = get(&client).download_to(&mut out).await.unwrap();
    assert_eq!(written, data.len() as u64);
    assert!(out == data, "the downloaded bytes differ");
    assert_eq!(shared.lock().unwrap().log.len(), 11);
}

#[tokio::test]
async fn a_download_sent_again_from_its_start_each_time_gives_up_rather_than_take_its_square() {
    let (url, shared) = media_server::start().await;
    {
        let mut s = shared.lock().unwrap();
        s.media = pattern(4 << 20);
        // Each answer starts at byte 0 whatever the Range asked, and breaks off 100,000
        // bytes past where the download stood: every attempt writes new bytes, but the
        // n-th sends n times as many.
        s.ignore_range = true;
        s.cut_past_range_by = Some(100_000);
    }
    let fast = RetryPolicy::default().max_attempts(3).initial_backoff(Duration::from_millis(1));
    let client = Client::builder(&API).root_url(&url).retry_policy(fast).build().unwrap();
    let mut out = Vec::new();
    let err = get(&client).download_to(&mut out).await.unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    // Two attempts that wrote at least what they dropped, then the policy's three that did
    // not; without the rule, 42 attempts and 88 MB for 4 MiB.
    let log = shared.lock().unwrap().log.clone();
    assert!(log.len() <= 6, "{} attempts: {log:?}", log.len());
}

#[tokio::test]
async fn a_download_whose_attempts_barely_move_fails_after_the_policys_attempts() {
    let (url, shared) = media_server::start().await;
    {
        let mut s = shared.lock().unwrap();
        s.media = pattern(1024 * 1024);
        // A byte short of a kibibyte per connection: progress, but not enough to count.
        s.cut_each_download_at = Some(1023);
    }
    let fast = RetryPolicy::default().max_attempts(3).initial_backoff(Duration::from_millis(1));
    let client = Client::builder(&API).root_url(&url).retry_policy(fast).build().unwrap();
    let mut out = Vec::new();
    let err = get(&client).download_to(&mut out).await.unwrap_err();
    assert!(err.is_retryable(), "the last break is returned: {err:?}");
    assert_eq!(shared.lock().unwrap().log.len(), 3);
    assert_eq!(out.len(), 3 * 1023, "what arrived was written");
}

#[tokio::test]
async fn a_resumed_download_honours_retry_after_and_gives_up_after_the_policys_attempts() {
    let (url, shared) = media_server::start().await;
    let data = pattern(300_000);
    {
        let mut s = shared.lock().unwrap();
        s.media = data.clone();
        s.cut_first_download_at = Some(120_000);
        s.refuse_ranges = 1;
        s.refusal_retry_after = "1".into();
    }
    let fast = RetryPolicy::default().max_attempts(3).initial_backoff(Duration::from_millis(1));
    let client = Client::builder(&API).root_url(&url).retry_policy(fast).build().unwrap();
    let started = std::time::Instant::now();
    let mut out = Vec::new();
    get(&client).download_to(&mut out).await.unwrap();
    assert!(out == data, "the downloaded bytes differ");
    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After ignored: {:?}", started.elapsed());
    let log = shared.lock().unwrap().log.clone();
    assert_eq!(log.len(), 3, "{log:?}");
    assert!(log[1].ends_with("bytes=120000-") && log[2].ends_with("bytes=120000-"), "{log:?}");

    // Refused for good after the break: the attempt that broke off is the first of the
    // three the policy allows from it, then two refused resumptions, then the 503.
    {
        let mut s = shared.lock().unwrap();
        s.downloads = 0;
        s.log.clear();
        s.refuse_ranges = 100;
        s.refusal_retry_after = "0".into();
    }
    let mut out = Vec::new();
    let err = get(&client).download_to(&mut out).await.unwrap_err();
    assert_eq!(err.http_status(), Some(503), "{err:?}");
    assert_eq!(out.len(), 120_000, "the bytes before the break were written");
    assert_eq!(shared.lock().unwrap().log.len(), 1 + 2);
}

#[tokio::test]
async fn a_trickling_download_ends_at_the_deadline() {
    let (url, shared) = media_server::start().await;
    {
        let mut s = shared.lock().unwrap();
        s.media = pattern(1024 * 1024);
        // A kibibyte every 20 ms: never idle for long, done only after about 20 seconds.
        s.trickle = Some(Duration::from_millis(20));
    }
    let fast = RetryPolicy::default().initial_backoff(Duration::from_millis(1)).max_backoff(Duration::from_millis(5));
    let client =
        Client::builder(&API).root_url(&url).retry_policy(fast).deadline(Duration::from_millis(400)).build().unwrap();

    let started = std::time::Instant::now();
    let mut out = Vec::new();
    let err = get(&client).download_to(&mut out).await.unwrap_err();
    assert!(matches!(err, Error::Timeout), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    assert!(!out.is_empty(), "the bytes before the deadline were written");

    let started = std::time::Instant::now();
    let stream = get(&client).download().await.unwrap();
    let err = stream.collect_bytes().await.unwrap_err();
    assert!(matches!(err, Error::Timeout), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
}

#[tokio::test]
async fn an_upload_goes_on_when_the_server_keeps_part_of_each_chunk() {
    let (url, shared) = media_server::start().await;
    // The server keeps 256 KiB of every chunk: sixteen requests for one 4 MiB chunk, more
    // than the retry policy's attempts, each of them progress.
    shared.lock().unwrap().store_at_most = Some(CHUNK_GRANULARITY as u64);
    let data = pattern(16 * CHUNK_GRANULARITY);
    let client = client(&url);
    let progress: Arc<Mutex<Vec<u64>>> = Arc::default();
    let seen = progress.clone();
    let upload =
        Upload::resumable().chunk_size(16 * CHUNK_GRANULARITY).on_progress(move |p| seen.lock().unwrap().push(p.sent));
    let done: Value =
        insert(&client, json!({})).upload(Media::new("application/octet-stream", data.clone()), upload).await.unwrap();
    assert_eq!(done["checksum"], Checksum::of(&data).0.to_string());
    let shared = shared.lock().unwrap();
    assert_eq!(shared.sessions["s1"].ranges.len(), 16, "{:?}", shared.sessions["s1"].ranges);
    let progress = progress.lock().unwrap();
    assert!(progress.windows(2).all(|w| w[0] <= w[1]), "{progress:?}");
    assert_eq!(progress.last(), Some(&(data.len() as u64)));
}

/// Hands out `ya29.token-1`, then after an invalidation `ya29.token-2`.
#[derive(Default)]
struct Refreshing {
    generation: std::sync::atomic::AtomicUsize,
}

impl discovery_runtime::auth::TokenProvider for Refreshing {
    fn token<'a>(&'a self, _scopes: &'a [String]) -> discovery_runtime::auth::TokenFuture<'a> {
        let generation = self.generation.load(std::sync::atomic::Ordering::SeqCst) + 1;
        Box::pin(async move { Ok::<_, discovery_runtime::auth::AuthError>(format!("ya29.token-{generation}")) })
    }

    fn invalidate(&self, _token: &str) -> bool {
        self.generation.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        true
    }
}

#[tokio::test]
async fn a_401_is_retried_with_a_new_token_only_when_the_media_can_be_sent_again() {
    let (url, shared) = media_server::start().await;
    let client = Client::builder(&API)
        .root_url(&url)
        .token_provider(Refreshing::default())
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    // Bytes: sent again with the new token.
    shared.lock().unwrap().unauthorized = 1;
    let done: Value =
        insert(&client, json!({})).upload(Media::new("text/plain", "abc"), Upload::simple()).await.unwrap();
    assert_eq!(done["size"], "3");
    assert_eq!(
        shared.lock().unwrap().authorization,
        [Some("Bearer ya29.token-1".to_owned()), Some("Bearer ya29.token-2".to_owned())]
    );

    // A reader was consumed by the first request: the 401 is the answer.
    shared.lock().unwrap().unauthorized = 1;
    let reader = Media::from_reader("text/plain", std::io::Cursor::new(b"abc".to_vec()), Some(3));
    let err = insert(&client, json!({})).upload::<Value>(reader, Upload::simple()).await.unwrap_err();
    assert_eq!(err.http_status(), Some(401));
    assert_eq!(shared.lock().unwrap().single.len(), 3, "the reader's request went once");
}
