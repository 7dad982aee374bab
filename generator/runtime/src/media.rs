//! Media upload (simple, multipart, resumable) and download.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use futures_util::StreamExt as _;
use http::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_RANGE, CONTENT_TYPE, LOCATION, RANGE};
use tracing::Instrument;

use crate::call::{decode_body, is_success, read_body, Call, Exchange, Prepared, RawResponse, ResponseFuture};
use crate::error::{Error, Result};
use crate::info::MediaUploadInfo;
use crate::retry::{random_u64, Attempted, Deadline};
use crate::BoxFuture;

const CHUNK_GRANULARITY: usize = UploadProtocol::CHUNK_GRANULARITY;

/// Media to upload: its type and its bytes.
#[derive(Clone)]
pub struct Media {
    /// The media type, such as `image/png`.
    pub content_type: String,
    /// The content. `bytes::Bytes` makes the retries and chunks of an upload copy-free.
    pub data: bytes::Bytes,
}

impl Media {
    /// Media of type `content_type` holding `data`.
    pub fn new(content_type: impl Into<String>, data: impl Into<bytes::Bytes>) -> Self {
        Media { content_type: content_type.into(), data: data.into() }
    }
}

impl fmt::Debug for Media {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Media").field("content_type", &self.content_type).field("len", &self.data.len()).finish()
    }
}

/// How [`Call::upload`] sends media.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UploadProtocol {
    /// One request carrying the media alone (`uploadType=media`). When the call has a JSON
    /// body (metadata), which a simple upload cannot carry, multipart is used instead.
    Simple,
    /// One `multipart/related` request carrying the JSON metadata and the media
    /// (`uploadType=multipart`).
    Multipart,
    /// A resumable session (`uploadType=resumable`): the metadata first, then the media in
    /// chunks of `chunk_size` bytes, which must be a non-zero multiple of 256 KiB. A chunk
    /// that fails is not simply resent: the session is asked how much it holds and the upload
    /// resumes from there.
    Resumable {
        /// Bytes per chunk: a non-zero multiple of
        /// [`UploadProtocol::CHUNK_GRANULARITY`].
        chunk_size: usize,
    },
}

impl UploadProtocol {
    /// Resumable chunks must be multiples of this size (256 KiB), except the last one.
    pub const CHUNK_GRANULARITY: usize = 256 * 1024;

    /// Resumable with 8 MiB chunks.
    pub fn resumable() -> Self {
        UploadProtocol::Resumable { chunk_size: 32 * CHUNK_GRANULARITY }
    }
}

/// The body of a download, as a stream of chunks.
///
/// Implements `futures_core::Stream`; [`try_next`](ByteStream::try_next) and
/// [`collect_bytes`](ByteStream::collect_bytes) need no extra import.
pub struct ByteStream {
    status: u16,
    headers: HeaderMap,
    inner: Pin<Box<dyn Stream<Item = Result<bytes::Bytes>> + Send>>,
}

impl ByteStream {
    /// The body of `resp`; with `idle`, a body that stops arriving fails with
    /// [`Error::Timeout`] once no chunk came for that long (then the stream ends), while a
    /// slow but steady one goes on.
    fn from_response(mut resp: reqwest::Response, idle: Option<Duration>) -> Self {
        let status = resp.status().as_u16();
        let headers = std::mem::take(resp.headers_mut());
        let chunks = Box::pin(resp.bytes_stream().map(|r| r.map_err(|e| Error::Transport(e.into()))));
        let inner: Pin<Box<dyn Stream<Item = Result<bytes::Bytes>> + Send>> = match idle {
            None => chunks,
            Some(idle) => Box::pin(futures_util::stream::unfold(Some(chunks), move |state| async move {
                let mut chunks = state?;
                match tokio::time::timeout(idle, chunks.next()).await {
                    Ok(Some(item)) => Some((item, Some(chunks))),
                    Ok(None) => None,
                    Err(_) => Some((Err(Error::Timeout), None)),
                }
            })),
        };
        ByteStream { status, headers, inner }
    }

    fn from_raw(raw: RawResponse) -> Self {
        let body = raw.body;
        let inner = futures_util::stream::iter((!body.is_empty()).then_some(Ok(body)));
        ByteStream { status: raw.status, headers: raw.headers, inner: Box::pin(inner) }
    }

    /// The HTTP status of the response.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The announced length of the body, if any.
    pub fn content_length(&self) -> Option<u64> {
        content_length(&self.headers)
    }

    /// The media type of the body, if announced.
    pub fn content_type(&self) -> Option<&str> {
        self.headers.get(CONTENT_TYPE)?.to_str().ok()
    }

    /// The next chunk, or `None` at the end of the body.
    pub async fn try_next(&mut self) -> Result<Option<bytes::Bytes>> {
        self.inner.next().await.transpose()
    }

    /// Reads the whole body into memory.
    pub async fn collect_bytes(mut self) -> Result<bytes::Bytes> {
        let mut first: Option<bytes::Bytes> = None;
        let mut all: Vec<u8> = Vec::new();
        while let Some(chunk) = self.try_next().await? {
            match first.take() {
                None if all.is_empty() => first = Some(chunk),
                previous => {
                    if let Some(previous) = previous {
                        all.extend_from_slice(&previous);
                    }
                    all.extend_from_slice(&chunk);
                }
            }
        }
        Ok(first.unwrap_or_else(|| all.into()))
    }
}

impl fmt::Debug for ByteStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ByteStream")
            .field("status", &self.status)
            .field("content_length", &self.content_length())
            .finish_non_exhaustive()
    }
}

impl Stream for ByteStream {
    type Item = Result<bytes::Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

impl Call {
    /// Downloads the method's media (`alt=media`) and returns the body as a stream.
    ///
    /// Retries apply until the response headers arrive; the per-attempt timeout covers the
    /// same span, and then bounds the wait for each next chunk: large bodies are not cut
    /// off, a stalled one fails with [`Error::Timeout`].
    pub fn download(self) -> BoxFuture<'static, Result<ByteStream>> {
        // Boxed here so that the future's code is generated once, in this crate.
        Box::pin(self.download_stream())
    }

    async fn download_stream(mut self) -> Result<ByteStream> {
        if !self.method.supports_media_download() {
            return Err(Error::InvalidRequest(format!("method {} does not support media download", self.method.id())));
        }
        self.query("alt", "media");
        let deadline = self.start_deadline();
        let span = self.span();
        let attempts_span = span.clone();
        async move {
            let request = self.media_request()?;
            let _queued = self.enter_mutation_queue(&deadline).await?;
            Ok(match self.send_prepared(&request, true, deadline, &attempts_span).await? {
                Exchange::Streaming(resp) => ByteStream::from_response(resp, self.attempt_timeout()),
                Exchange::Done(raw) => ByteStream::from_raw(raw),
            })
        }
        .instrument(span)
        .await
    }

    /// The download request: the method's, accepting any media type. A ranged request asks
    /// for the bytes as stored (`Accept-Encoding: identity`): a range of a gzip-encoded
    /// body could not be decoded on its own, and offsets must count the media's own bytes
    /// for a download to resume where it stopped.
    fn media_request(&self) -> Result<Prepared> {
        let mut request = self.json_request()?;
        request.headers.insert(http::header::ACCEPT, HeaderValue::from_static("*/*"));
        if request.headers.contains_key(RANGE) {
            request.headers.insert(http::header::ACCEPT_ENCODING, HeaderValue::from_static("identity"));
        }
        Ok(request)
    }

    /// Uploads `media` with `protocol` and decodes the JSON response (usually the created or
    /// updated resource). The call's JSON body, if any, is sent as the media's metadata.
    ///
    /// The whole upload holds the client's mutation lock, and every request of it goes
    /// through the retry policy.
    pub fn upload<R: crate::wire::FromJson>(self, media: Media, protocol: UploadProtocol) -> ResponseFuture<R> {
        ResponseFuture::new(Box::pin(self.upload_raw(media, protocol)), decode_body::<R>)
    }

    async fn upload_raw(mut self, media: Media, protocol: UploadProtocol) -> Result<RawResponse> {
        let info = self
            .method
            .media_upload()
            .ok_or_else(|| Error::InvalidRequest(format!("method {} does not accept media", self.method.id())))?;
        check_media(info, &media)?;
        let deadline = self.start_deadline();
        let span = self.span();
        let attempts_span = span.clone();
        async move {
            let metadata = self.body_bytes()?;
            let content_type = HeaderValue::from_str(&media.content_type)
                .map_err(|_| Error::InvalidRequest("invalid media content type".into()))?;
            let path = |p: Option<&'static str>, what: &str| {
                p.ok_or_else(|| Error::InvalidRequest(format!("method does not support {what} uploads")))
            };
            let mut headers = self.request_headers(self.method.has_json_response())?;
            let (upload_type, template, body) = match (protocol, &metadata) {
                (UploadProtocol::Simple, None) => {
                    headers.insert(CONTENT_TYPE, content_type);
                    ("media", path(info.simple_path(), "simple")?, media.data.clone())
                }
                (UploadProtocol::Simple | UploadProtocol::Multipart, _) => {
                    let (body, multipart_type) = multipart_body(metadata.as_deref(), &media.content_type, &media.data)?;
                    headers.insert(CONTENT_TYPE, multipart_type);
                    ("multipart", path(info.simple_path(), "multipart")?, body)
                }
                (UploadProtocol::Resumable { chunk_size }, _) => {
                    if chunk_size == 0 || chunk_size % CHUNK_GRANULARITY != 0 {
                        return Err(Error::InvalidRequest(format!(
                            "resumable chunk size {chunk_size} is not a non-zero multiple of 256 KiB"
                        )));
                    }
                    headers.insert(HeaderName::from_static("x-upload-content-type"), content_type);
                    headers.insert(
                        HeaderName::from_static("x-upload-content-length"),
                        HeaderValue::from(media.data.len()),
                    );
                    if metadata.is_some() {
                        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json; charset=UTF-8"));
                    }
                    let body = metadata.clone().unwrap_or_default();
                    ("resumable", path(info.resumable_path(), "resumable")?, body)
                }
            };
            self.query("uploadType", upload_type);
            let request = Prepared {
                method: self.method.http_method().to_http(),
                url: self.url(template)?,
                headers,
                body: Some(body),
                idempotent: self.method.http_method().is_idempotent(),
                authenticate: true,
                answers: is_success,
            };

            let _queued = self.enter_mutation_queue(&deadline).await?;
            let raw = match self.send_prepared(&request, false, deadline, &attempts_span).await? {
                Exchange::Done(raw) => raw,
                Exchange::Streaming(resp) => read_body(resp, self.client.shared.max_response_bytes).await?,
            };
            match protocol {
                UploadProtocol::Resumable { chunk_size } => {
                    let session = session_url(&request.url, &raw)?;
                    let same_origin = session.origin() == request.url.origin();
                    let upload = Session { session, authenticate: same_origin, data: &media.data, chunk_size };
                    upload.send(&self, deadline, &attempts_span).await
                }
                _ => Ok(raw),
            }
        }
        .instrument(span)
        .await
    }
}

/// Where a resumable upload stands after a request to its session.
enum Stored {
    /// The upload is complete: the answer is the method's response.
    Complete(RawResponse),
    /// `308 Resume Incomplete`: the session holds this many bytes.
    Partial(usize),
}

/// A resumable upload session being filled.
struct Session<'a> {
    session: url::Url,
    /// Whether the session URI is on the API's origin, so that the token may go with it.
    authenticate: bool,
    data: &'a bytes::Bytes,
    chunk_size: usize,
}

impl Session<'_> {
    /// Sends the media in chunks. Each chunk goes through the retry loop; an attempt after
    /// a failure first asks the session what it holds (an empty `PUT` with
    /// `Content-Range: bytes */TOTAL`), since part of the failed chunk may have been stored.
    async fn send(&self, call: &Call, deadline: Deadline, span: &tracing::Span) -> Result<RawResponse> {
        let total = self.data.len();
        let policy = call.retry_policy();
        // Guards against a server whose offsets move back and forth forever.
        let chunks = u32::try_from(total / self.chunk_size + 1).unwrap_or(u32::MAX);
        let mut budget = chunks.saturating_mul(policy.get_max_attempts().saturating_add(1)).saturating_add(2);
        let mut offset = 0usize;
        let mut stalls = 0u32;
        loop {
            if budget == 0 {
                return Err(Error::Upload("gave up: the upload session kept losing what it had stored".into()));
            }
            budget -= 1;
            // Every chunk request is a `PUT` of a byte range: repeating it is harmless.
            let retrying = call.retrying(true, deadline);
            let stored = retrying
                .run(|number| async move {
                    let mut token = None;
                    let result = async {
                        if number > 1 || offset == total {
                            match self.put(call, None, span, number, &mut token).await? {
                                Stored::Partial(at) if at == offset && offset < total => {}
                                other => return Ok(other),
                            }
                        }
                        self.put(call, Some(offset), span, number, &mut token).await
                    }
                    .await;
                    Attempted { result, token }
                })
                .await?;
            match stored {
                Stored::Complete(raw) => return Ok(raw),
                Stored::Partial(at) if at > total => {
                    return Err(Error::Protocol(format!("the upload session claims {at} bytes of {total}")));
                }
                Stored::Partial(at) => {
                    if at > offset {
                        stalls = 0;
                    } else {
                        stalls += 1;
                        if stalls >= policy.get_max_attempts() {
                            return Err(Error::Upload(format!(
                                "the upload session stopped accepting data at byte {at}"
                            )));
                        }
                    }
                    offset = at;
                }
            }
        }
    }

    /// One request to the session: the chunk starting at `from`, or with `None` the
    /// question of what it holds.
    async fn put(
        &self,
        call: &Call,
        from: Option<usize>,
        span: &tracing::Span,
        number: u32,
        token: &mut Option<String>,
    ) -> Result<Stored> {
        let total = self.data.len();
        let (range, body) = match from {
            Some(from) if total > 0 => {
                let end = from.saturating_add(self.chunk_size).min(total);
                (format!("bytes {from}-{}/{total}", end - 1), self.data.slice(from..end))
            }
            _ => (format!("bytes */{total}"), bytes::Bytes::new()),
        };
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_RANGE, HeaderValue::from_str(&range).map_err(|_| Error::Upload("bad range".into()))?);
        let request = Prepared {
            method: http::Method::PUT,
            url: self.session.clone(),
            headers,
            body: Some(body),
            idempotent: true,
            authenticate: self.authenticate,
            answers: |status| is_success(status) || status == 308,
        };
        let Attempted { result, token: used } = call.attempt(&request, number, false, span).await;
        if used.is_some() {
            *token = used;
        }
        let raw = match result? {
            Exchange::Done(raw) => raw,
            Exchange::Streaming(resp) => read_body(resp, call.client.shared.max_response_bytes).await?,
        };
        if raw.status == 308 {
            Ok(Stored::Partial(committed_offset(&raw.headers)?))
        } else {
            Ok(Stored::Complete(raw))
        }
    }
}

fn check_media(info: &MediaUploadInfo, media: &Media) -> Result<()> {
    if let Some(max) = info.max_size() {
        let len = u64::try_from(media.data.len()).unwrap_or(u64::MAX);
        if len > max {
            return Err(Error::InvalidRequest(format!(
                "media of {len} bytes exceeds the method's limit of {max} bytes"
            )));
        }
    }
    if !accepts(info.accept(), &media.content_type) {
        return Err(Error::InvalidRequest(format!(
            "media type {:?} is not accepted (accepted: {})",
            media.content_type,
            info.accept().join(", ")
        )));
    }
    Ok(())
}

fn accepts(accept: &[&str], content_type: &str) -> bool {
    if accept.is_empty() {
        return true;
    }
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let top = essence.split('/').next().unwrap_or("");
    accept.iter().any(|pattern| {
        let pattern = pattern.trim().to_ascii_lowercase();
        pattern == "*/*" || pattern == essence || pattern.strip_suffix("/*").is_some_and(|p| p == top)
    })
}

/// Builds a `multipart/related` body: the JSON metadata part, then the media part.
fn multipart_body(metadata: Option<&[u8]>, media_type: &str, data: &[u8]) -> Result<(bytes::Bytes, HeaderValue)> {
    let metadata = metadata.unwrap_or(b"{}");
    let boundary = loop {
        let candidate = format!("discovery_rs_{:016x}{:016x}", random_u64(), random_u64());
        let b = candidate.as_bytes();
        let clashes = |hay: &[u8]| hay.len() >= b.len() && hay.windows(b.len()).any(|w| w == b);
        if !clashes(data) && !clashes(metadata) {
            break candidate;
        }
    };
    let mut body = Vec::with_capacity(data.len() + metadata.len() + 256);
    body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
    body.extend_from_slice(b"Content-Type: application/json; charset=UTF-8\r\n\r\n");
    body.extend_from_slice(metadata);
    body.extend_from_slice(format!("\r\n--{boundary}\r\nContent-Type: {media_type}\r\n\r\n").as_bytes());
    body.extend_from_slice(data);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let header = HeaderValue::from_str(&format!("multipart/related; boundary={boundary}"))
        .map_err(|_| Error::InvalidRequest("invalid multipart content type".into()))?;
    Ok((body.into(), header))
}

fn session_url(request_url: &url::Url, raw: &RawResponse) -> Result<url::Url> {
    let location = raw
        .headers
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| Error::Upload("the server returned no resumable session URI (Location header)".into()))?;
    request_url.join(location).map_err(|_| Error::Upload("the resumable session URI is not a valid URL".into()))
}

/// The body's announced length, from `Content-Length`.
pub(crate) fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(http::header::CONTENT_LENGTH)?.to_str().ok()?.trim().parse().ok()
}

/// The offset to continue from, per the `Range: bytes=0-N` header of a 308 answer (no header
/// means nothing was stored).
fn committed_offset(headers: &HeaderMap) -> Result<usize> {
    let Some(value) = headers.get(RANGE) else {
        return Ok(0);
    };
    let bad = || Error::Protocol("unreadable Range header in a resumable upload answer".into());
    let text = value.to_str().map_err(|_| bad())?.trim();
    let (start, end) = text.strip_prefix("bytes=").and_then(|r| r.split_once('-')).ok_or_else(bad)?;
    if start.trim() != "0" {
        return Err(bad());
    }
    let end: usize = end.trim().parse().map_err(|_| bad())?;
    end.checked_add(1).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_patterns() {
        assert!(accepts(&[], "anything/at-all"));
        assert!(accepts(&["*/*"], "image/png"));
        assert!(accepts(&["image/*"], "Image/PNG; q=1"));
        assert!(accepts(&["text/csv", "application/json"], "application/json"));
        assert!(!accepts(&["image/*"], "text/plain"));
        assert!(!accepts(&["image/png"], "image/jpeg"));
    }

    #[test]
    fn range_header() {
        let mut h = HeaderMap::new();
        assert_eq!(committed_offset(&h).unwrap(), 0);
        h.insert(RANGE, HeaderValue::from_static("bytes=0-262143"));
        assert_eq!(committed_offset(&h).unwrap(), 262_144);
        for bad in ["bytes=5-9", "0-9", "bytes=0-x", "bytes=0-18446744073709551615"] {
            h.insert(RANGE, HeaderValue::from_static(bad));
            assert!(committed_offset(&h).is_err(), "{bad}");
        }
    }

    #[test]
    fn multipart_layout() {
        let (body, ct) = multipart_body(Some(br#"{"name":"a"}"#), "text/plain", b"hello").unwrap();
        let ct = ct.to_str().unwrap();
        let boundary = ct.strip_prefix("multipart/related; boundary=").unwrap();
        let expected = format!(
            "--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{{\"name\":\"a\"}}\r\n--{boundary}\r\nContent-Type: text/plain\r\n\r\nhello\r\n--{boundary}--\r\n"
        );
        assert_eq!(std::str::from_utf8(&body).unwrap(), expected);
    }

    proptest::proptest! {
        /// Whatever a server puts in `Range` or `Content-Length`, reading it never panics.
        #[test]
        fn range_and_length_headers_never_panic(value in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..60)) {
            if let Ok(value) = HeaderValue::from_bytes(&value) {
                let mut h = HeaderMap::new();
                h.insert(RANGE, value.clone());
                h.insert(http::header::CONTENT_LENGTH, value);
                let _ = (committed_offset(&h), content_length(&h));
            }
        }
    }
}
