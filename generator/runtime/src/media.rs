//! Media uploads: simple, multipart and resumable, streamed from bytes, a file or an
//! `AsyncRead`, with progress and sessions that survive a restart.

use std::fmt;
use std::io::SeekFrom;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::StreamExt as _;
use http::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, LOCATION, RANGE};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncSeekExt as _};
use tracing::Instrument;

use crate::call::{
    decode_body, is_success, slices, touching, Call, Payload, Prepared, RawResponse, ResponseFuture, SLICE,
};
use crate::error::{Error, Result};
use crate::info::MediaUploadInfo;
use crate::retry::{random_u64, Activity, Attempted, Deadline};

/// Resumable chunks must be multiples of this size (256 KiB), except the last one.
pub const CHUNK_GRANULARITY: usize = 256 * 1024;

/// The default chunk of resumable uploads: 8 MiB (what memory an upload holds).
pub const DEFAULT_CHUNK_SIZE: usize = 32 * CHUNK_GRANULARITY;

/// Media to upload: its type and where its bytes come from.
///
/// Bytes in memory and files can be read as often as an upload needs (a retry, a chunk
/// the server lost); an `AsyncRead` is read once, so a simple or multipart upload from one
/// is not retried (a resumable one keeps each chunk in memory until the server has it).
///
/// ```no_run
/// use discovery_runtime::Media;
///
/// # fn run(socket: tokio::net::TcpStream) -> std::io::Result<()> {
/// let small = Media::new("text/plain", "hello");
/// let file = Media::from_path("video/mp4", "holiday.mp4")?;
/// let piped = Media::from_reader("application/octet-stream", socket, None);
/// # let _ = (small, file, piped);
/// # Ok(())
/// # }
/// ```
pub struct Media {
    content_type: String,
    source: Source,
}

enum Source {
    Bytes(Bytes),
    /// A file, opened (and seeked) for every read of it.
    Path {
        path: PathBuf,
        len: u64,
    },
    /// Read once; `None` once taken.
    Reader {
        reader: Mutex<Option<Box<dyn AsyncRead + Send + Unpin>>>,
        len: Option<u64>,
    },
}

impl Media {
    /// Media of type `content_type` holding `data` (a `Vec<u8>`, `String`, `&'static [u8]`,
    /// `bytes::Bytes`...).
    pub fn new(content_type: impl Into<String>, data: impl Into<Bytes>) -> Self {
        Media { content_type: content_type.into(), source: Source::Bytes(data.into()) }
    }

    /// The file at `path`, whose length is read now; its bytes are read while they are sent,
    /// a chunk at a time, and again if a retry needs them.
    pub fn from_path(content_type: impl Into<String>, path: impl Into<PathBuf>) -> std::io::Result<Self> {
        let path = path.into();
        let len = std::fs::metadata(&path)?.len();
        Ok(Media { content_type: content_type.into(), source: Source::Path { path, len } })
    }

    /// The bytes `reader` yields until its end, `len` of them if known (an unknown length
    /// is announced to the server when the end is reached).
    pub fn from_reader(
        content_type: impl Into<String>,
        reader: impl AsyncRead + Send + Unpin + 'static,
        len: Option<u64>,
    ) -> Self {
        let reader: Box<dyn AsyncRead + Send + Unpin> = Box::new(reader);
        Media { content_type: content_type.into(), source: Source::Reader { reader: Mutex::new(Some(reader)), len } }
    }

    /// The media type, such as `image/png`.
    pub fn content_type(&self) -> &str {
        &self.content_type
    }

    /// The length in bytes, when known before reading.
    pub fn len(&self) -> Option<u64> {
        match &self.source {
            Source::Bytes(data) => Some(data.len() as u64),
            Source::Path { len, .. } => Some(*len),
            Source::Reader { len, .. } => *len,
        }
    }

    /// Whether the media is known to be empty.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    /// Whether the media can be read again from any offset.
    fn rereadable(&self) -> bool {
        !matches!(self.source, Source::Reader { .. })
    }

    /// The media's bytes from `offset` on.
    async fn open_at(&self, offset: u64) -> Result<Opened> {
        match &self.source {
            Source::Bytes(data) => {
                let start = usize::try_from(offset).unwrap_or(usize::MAX).min(data.len());
                Ok(Opened::Bytes(data.slice(start..)))
            }
            Source::Path { path, .. } => {
                let read_error = |e: std::io::Error| Error::Upload(format!("cannot read {}: {e}", path.display()));
                let mut file = tokio::fs::File::open(path).await.map_err(read_error)?;
                if offset > 0 {
                    file.seek(SeekFrom::Start(offset)).await.map_err(read_error)?;
                }
                Ok(Opened::Reader(Box::new(file)))
            }
            Source::Reader { reader, .. } => {
                let taken = reader.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
                let mut reader = taken.ok_or_else(|| {
                    Error::Upload("the media's reader was already read; an AsyncRead can be sent only once".into())
                })?;
                // Resuming a session in a new process: skip what the server already holds.
                if offset > 0 {
                    let skipped = tokio::io::copy(&mut (&mut reader).take(offset), &mut tokio::io::sink())
                        .await
                        .map_err(|e| Error::Upload(format!("cannot read the media: {e}")))?;
                    if skipped < offset {
                        return Err(Error::Upload(format!(
                            "the media ended after {skipped} bytes, before the {offset} the session holds"
                        )));
                    }
                }
                Ok(Opened::Reader(reader))
            }
        }
    }

    /// A request body streaming the media from its start, framed by `prefix` and `suffix`,
    /// reporting progress, and each piece handed to the HTTP stack to `activity`.
    fn body(
        self: &Arc<Self>,
        prefix: Bytes,
        suffix: Bytes,
        progress: Option<Progress>,
        activity: Arc<Activity>,
    ) -> Result<reqwest::Body> {
        let media = self.clone();
        let total = self.len();
        let chunks = futures_util::stream::once(async move { media.open_at(0).await })
            .map(|opened| match opened {
                Ok(Opened::Bytes(data)) => futures_util::stream::iter(slices(data).map(Ok)).boxed(),
                Ok(Opened::Reader(reader)) => tokio_util::io::ReaderStream::with_capacity(reader, SLICE)
                    .map(|r| r.map_err(Error::from_io))
                    .boxed(),
                Err(e) => futures_util::stream::iter([Err(e)]).boxed(),
            })
            .flatten();
        let mut sent = 0u64;
        // Only the media's bytes count as progress, not the multipart framing.
        let counted = chunks.map(move |chunk: Result<Bytes>| {
            if let (Ok(data), Some(progress)) = (&chunk, &progress) {
                sent += data.len() as u64;
                progress(&UploadProgress { sent, total });
            }
            chunk
        });
        let body =
            futures_util::stream::iter([Ok(prefix)]).chain(counted).chain(futures_util::stream::iter([Ok(suffix)]));
        Ok(reqwest::Body::wrap_stream(touching(body, activity)))
    }
}

impl fmt::Debug for Media {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = match &self.source {
            Source::Bytes(_) => "bytes",
            Source::Path { .. } => "file",
            Source::Reader { .. } => "reader",
        };
        f.debug_struct("Media")
            .field("content_type", &self.content_type)
            .field("source", &source)
            .field("len", &self.len())
            .finish()
    }
}

/// The media's bytes from some offset on.
enum Opened {
    Bytes(Bytes),
    Reader(Box<dyn AsyncRead + Send + Unpin>),
}

impl Opened {
    /// Appends to `buf` until it holds `want` bytes or the media ends; returns whether it
    /// ended.
    async fn fill(&mut self, buf: &mut Vec<u8>, want: usize) -> Result<bool> {
        match self {
            Opened::Bytes(data) => {
                let take = (want - buf.len().min(want)).min(data.len());
                buf.extend_from_slice(&data.split_to(take));
                Ok(data.is_empty())
            }
            Opened::Reader(reader) => {
                while buf.len() < want {
                    let room = want - buf.len();
                    let read = (&mut *reader)
                        .take(room as u64)
                        .read_buf(buf)
                        .await
                        .map_err(|e| Error::Upload(format!("cannot read the media: {e}")))?;
                    if read == 0 {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
        }
    }
}

/// How far an upload got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct UploadProgress {
    /// Bytes of media sent so far; for resumable uploads, the bytes the server confirmed it
    /// holds.
    pub sent: u64,
    /// The media's length, when known.
    pub total: Option<u64>,
}

type Progress = Arc<dyn Fn(&UploadProgress) + Send + Sync>;
type SessionStarted = Arc<dyn Fn(&str) + Send + Sync>;

/// How [`Call::upload`] sends media: the protocol, and for resumable uploads the chunk
/// size, a session to resume and what to tell the caller along the way.
///
/// ```no_run
/// use discovery_runtime::{Media, Upload};
///
/// # async fn run(call: discovery_runtime::for_generated_code::Call, saved: Option<String>) -> discovery_runtime::Result<()> {
/// let media = Media::from_path("video/mp4", "holiday.mp4").map_err(|e| discovery_runtime::Error::Upload(e.to_string()))?;
/// let upload = match saved {
///     // A session a previous run started (it stays valid for about a week).
///     Some(session_uri) => Upload::resume(session_uri),
///     None => Upload::resumable().on_session(|uri| println!("save {uri} to resume after a restart")),
/// };
/// let upload = upload
///     .chunk_size(16 * 1024 * 1024)
///     .on_progress(|p| println!("{} of {:?} bytes", p.sent, p.total));
/// let video: serde_json::Value = call.upload(media, upload).await?;
/// # let _ = video;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Upload {
    protocol: Protocol,
    chunk_size: usize,
    progress: Option<Progress>,
    on_session: Option<SessionStarted>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Protocol {
    Simple,
    Multipart,
    Resumable,
    Resume(String),
}

impl Upload {
    /// One request carrying the media alone (`uploadType=media`); when the call has
    /// metadata to send (a request body that is not empty), a multipart one instead, since
    /// a simple upload cannot carry it.
    pub fn simple() -> Self {
        Self::with(Protocol::Simple)
    }

    /// One `multipart/related` request carrying the JSON metadata and the media
    /// (`uploadType=multipart`).
    pub fn multipart() -> Self {
        Self::with(Protocol::Multipart)
    }

    /// A resumable session (`uploadType=resumable`): the metadata first, then the media in
    /// chunks ([`chunk_size`](Self::chunk_size), 8 MiB by default), each held in memory
    /// until the server confirms it, so memory stays bounded by the chunk size whatever the
    /// media's size. After a failure the session is asked how much it holds and the upload
    /// goes on from there.
    ///
    /// The session starts at the URL Google's own Go and Python clients use: the method's
    /// upload path (`/upload/` + service path + method path). Discovery documents also list
    /// an older `/resumable/upload/...` path, which those clients do not use.
    pub fn resumable() -> Self {
        Self::with(Protocol::Resumable)
    }

    /// Goes on with the resumable session at `session_uri`, started by an earlier upload
    /// (maybe in another process; see [`on_session`](Self::on_session)): the session is
    /// asked how much it holds, and the media (given from its start, as before) is sent
    /// from there. The call's metadata and parameters are not sent again; the session has
    /// them.
    pub fn resume(session_uri: impl Into<String>) -> Self {
        Self::with(Protocol::Resume(session_uri.into()))
    }

    fn with(protocol: Protocol) -> Self {
        Upload { protocol, chunk_size: DEFAULT_CHUNK_SIZE, progress: None, on_session: None }
    }

    /// Sets the chunk size of a resumable upload: a non-zero multiple of
    /// [`CHUNK_GRANULARITY`] (256 KiB), checked when the upload starts.
    pub fn chunk_size(mut self, bytes: usize) -> Self {
        self.chunk_size = bytes;
        self
    }

    /// Calls `progress` as the upload advances: after each chunk of a resumable upload,
    /// as the body of a simple or multipart one is sent.
    pub fn on_progress(mut self, progress: impl Fn(&UploadProgress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(progress));
        self
    }

    /// Calls `started` with the session URI as soon as a resumable session exists: save it
    /// to [`resume`](Self::resume) the upload after a crash or a restart.
    pub fn on_session(mut self, started: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.on_session = Some(Arc::new(started));
        self
    }
}

impl Default for Upload {
    /// [`Upload::resumable`].
    fn default() -> Self {
        Self::resumable()
    }
}

impl fmt::Debug for Upload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let protocol = match &self.protocol {
            Protocol::Simple => "simple",
            Protocol::Multipart => "multipart",
            Protocol::Resumable => "resumable",
            Protocol::Resume(_) => "resume",
        };
        f.debug_struct("Upload")
            .field("protocol", &protocol)
            .field("chunk_size", &self.chunk_size)
            .field("on_progress", &self.progress.is_some())
            .field("on_session", &self.on_session.is_some())
            .finish()
    }
}

impl Call {
    /// Uploads `media` as `upload` says and decodes the JSON response (usually the created
    /// or updated resource). The call's JSON body, if any, is sent as the media's metadata.
    ///
    /// The whole upload holds the client's mutation queue, and every request of it goes
    /// through the retry loop.
    pub fn upload<R: crate::reader::FromJson>(self, media: Media, upload: Upload) -> ResponseFuture<R> {
        ResponseFuture::new(Box::pin(self.upload_raw(media, upload)), decode_body::<R>)
    }

    async fn upload_raw(mut self, media: Media, upload: Upload) -> Result<RawResponse> {
        let info = self
            .method
            .media_upload()
            .ok_or_else(|| Error::InvalidRequest(format!("method {} does not accept media", self.method.id())))?;
        check_media(info, &media)?;
        let resumable = matches!(upload.protocol, Protocol::Resumable | Protocol::Resume(_));
        if resumable && (upload.chunk_size == 0 || upload.chunk_size % CHUNK_GRANULARITY != 0) {
            return Err(Error::InvalidRequest(format!(
                "resumable chunk size {} is not a non-zero multiple of 256 KiB",
                upload.chunk_size
            )));
        }
        let deadline = self.start_deadline();
        let span = self.span();
        let attempts_span = span.clone();
        async move {
            let media = Arc::new(media);
            let _queued = self.enter_mutation_queue(&deadline).await?;
            let session = match &upload.protocol {
                Protocol::Resume(uri) => {
                    let session = url::Url::parse(uri)
                        .map_err(|e| Error::InvalidRequest(format!("the upload session URI is not a URL: {e}")))?;
                    Some(session)
                }
                Protocol::Resumable => Some(self.start_session(info, &media, &upload, deadline, &attempts_span).await?),
                Protocol::Simple | Protocol::Multipart => None,
            };
            match session {
                Some(session) => {
                    // The token goes only where the API is.
                    let base = self.url(self.method.path())?;
                    let authenticate = session.origin() == base.origin();
                    let state = Session {
                        url: session,
                        authenticate,
                        media: &media,
                        upload: &upload,
                        activity: Arc::new(Activity::new()),
                    };
                    state.send(&self, deadline, &attempts_span).await
                }
                None => {
                    let request = self.single_request(info, &media, &upload)?;
                    self.send_prepared(&request, deadline, &attempts_span).await
                }
            }
        }
        .instrument(span)
        .await
    }

    /// The request of a simple or multipart upload: the media streamed, framed by the
    /// metadata part in a multipart one.
    fn single_request(&mut self, info: &MediaUploadInfo, media: &Arc<Media>, upload: &Upload) -> Result<Prepared> {
        let metadata = self.metadata()?;
        let path = info
            .simple_path()
            .ok_or_else(|| Error::InvalidRequest("the method does not support simple or multipart uploads".into()))?;
        let mut headers = self.request_headers(self.method.has_json_response())?;
        let content_type = HeaderValue::from_str(&media.content_type)
            .map_err(|_| Error::InvalidRequest("invalid media content type".into()))?;
        let (upload_type, prefix, suffix) = match (&upload.protocol, &metadata) {
            (Protocol::Simple, None) => {
                headers.insert(CONTENT_TYPE, content_type);
                ("media", Bytes::new(), Bytes::new())
            }
            _ => {
                let (prefix, suffix, multipart_type) = multipart_frame(metadata.as_deref(), &media.content_type)?;
                headers.insert(CONTENT_TYPE, multipart_type);
                ("multipart", prefix, suffix)
            }
        };
        if let Some(len) = media.len() {
            let framed = len.saturating_add((prefix.len() + suffix.len()) as u64);
            headers.insert(CONTENT_LENGTH, HeaderValue::from(framed));
        }
        self.query("uploadType", upload_type);
        let progress = upload.progress.clone();
        let activity = Arc::new(Activity::new());
        let body = {
            let (media, activity) = (media.clone(), activity.clone());
            Payload::Streamed(Box::new(move || {
                media.body(prefix.clone(), suffix.clone(), progress.clone(), activity.clone())
            }))
        };
        let mut request = self.method_request(path, headers, body)?;
        // The media may take longer to send than the attempt timeout: it bounds inactivity.
        request.activity = Some(activity);
        // An `AsyncRead` is consumed by the first attempt.
        request.once = !media.rereadable();
        Ok(request)
    }

    /// Starts a resumable session: the metadata, and the media's type and length; the
    /// session URI comes back in `Location`.
    async fn start_session(
        &mut self,
        info: &MediaUploadInfo,
        media: &Media,
        upload: &Upload,
        deadline: Deadline,
        span: &tracing::Span,
    ) -> Result<url::Url> {
        // Google's clients start sessions at the simple upload path; the document's
        // resumable path (`/resumable/upload/...`) is the fallback when there is none.
        let path = info
            .simple_path()
            .or(info.resumable_path())
            .ok_or_else(|| Error::InvalidRequest("the method does not support resumable uploads".into()))?;
        let metadata = self.body_bytes()?;
        let mut headers = self.request_headers(self.method.has_json_response())?;
        let content_type = HeaderValue::from_str(&media.content_type)
            .map_err(|_| Error::InvalidRequest("invalid media content type".into()))?;
        headers.insert(HeaderName::from_static("x-upload-content-type"), content_type);
        if let Some(len) = media.len() {
            headers.insert(HeaderName::from_static("x-upload-content-length"), HeaderValue::from(len));
        }
        if metadata.is_some() {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json; charset=UTF-8"));
        }
        self.query("uploadType", "resumable");
        let request = self.method_request(path, headers, Payload::Bytes(metadata.unwrap_or_default()))?;
        let raw = self.send_prepared(&request, deadline, span).await?;
        let session = session_url(&request.url, &raw)?;
        if let Some(started) = &upload.on_session {
            started(session.as_str());
        }
        Ok(session)
    }

    /// The metadata of a simple or multipart upload: the JSON body, unless it is an empty
    /// object (what a method's required body argument is when the caller has nothing to
    /// say), in which case a simple upload needs no multipart.
    fn metadata(&self) -> Result<Option<Bytes>> {
        Ok(self.body_bytes()?.filter(|body| {
            let text = body.iter().filter(|b| !b.is_ascii_whitespace()).copied().collect::<Vec<u8>>();
            text != b"{}"
        }))
    }
}

/// What a resumable upload session must store of a chunk (or all of a smaller chunk) for an
/// answer to count as progress. Google's sessions keep whole multiples of 256 KiB.
const MIN_UPLOAD_PROGRESS: u64 = 64 << 10;

/// ... or this part of a chunk the session received whole, when that is more.
const MIN_UPLOAD_PROGRESS_PARTS: u64 = 16;

/// Where a resumable upload stands after a request to its session.
enum Stored {
    /// The upload is complete: the answer is the method's response.
    Complete(RawResponse),
    /// `308 Resume Incomplete`: the session holds this many bytes.
    Partial(u64),
}

/// A resumable upload session being filled.
struct Session<'a> {
    url: url::Url,
    /// Whether the session URI is on the API's origin, so that the token may go with it.
    authenticate: bool,
    media: &'a Media,
    upload: &'a Upload,
    /// The progress of the chunk being sent, which the attempt timeout bounds.
    activity: Arc<Activity>,
}

/// The media read ahead of what the session holds: at most one chunk and one byte more (to
/// know whether the chunk is the last), so memory stays bounded by the chunk size.
struct Window {
    opened: Option<Opened>,
    /// Offset in the media of `held[0]`.
    start: u64,
    held: Bytes,
    /// Whether the media ends after `held`.
    ended: bool,
}

impl Window {
    /// The chunk at `offset` (at most `chunk_size` bytes) and, when it is the last one, the
    /// media's total length.
    async fn chunk_at(&mut self, media: &Media, offset: u64, chunk_size: usize) -> Result<(Bytes, Option<u64>)> {
        let end = self.start + self.held.len() as u64;
        if offset < self.start || offset > end || self.opened.is_none() {
            if self.opened.is_some() && offset < self.start && !media.rereadable() {
                return Err(Error::Upload(format!(
                    "the upload session lost data it had confirmed (it now holds {offset} bytes) and the media \
                     cannot be read again"
                )));
            }
            // Not what the window holds: read from `offset` (again).
            self.opened = Some(media.open_at(offset).await?);
            self.start = offset;
            self.held = Bytes::new();
            self.ended = false;
        } else {
            let _ = self.held.split_to((offset - self.start) as usize);
            self.start = offset;
        }
        if !self.ended && self.held.len() <= chunk_size {
            // What is left of the last chunk (usually the byte read ahead) is copied out, so
            // that its buffer is freed before the next one is allocated: one chunk in memory,
            // two only while a server that kept part of a chunk is sent the rest.
            let left = std::mem::take(&mut self.held).to_vec();
            // Room for a chunk and the byte read ahead, or for what is left of media of a
            // known length and one byte more: a chunk size far beyond the media costs
            // nothing, one beyond what memory holds is an error, not an abort, and the
            // buffer never grows past what was reserved.
            let remaining = media.len().map(|len| len.saturating_sub(offset));
            let room = remaining
                .map_or(chunk_size, |left| usize::try_from(left).unwrap_or(usize::MAX).min(chunk_size))
                .saturating_add(1)
                .max(left.len());
            let mut buf = Vec::new();
            buf.try_reserve_exact(room)
                .map_err(|e| Error::Upload(format!("cannot make room for a chunk of {room} bytes in memory: {e}")))?;
            buf.extend_from_slice(&left);
            drop(left);
            let opened = self.opened.as_mut().expect("opened above");
            self.ended = opened.fill(&mut buf, room).await?;
            // A file that grew after it was opened, or a reader with more than it said:
            // the ranges sent would run past the total the session was given.
            if let (Some(len), Some(remaining)) = (media.len(), remaining) {
                if buf.len() as u64 > remaining {
                    return Err(Error::Upload(format!("the media holds more than the {len} bytes it was said to")));
                }
            }
            self.held = Bytes::from(buf);
        }
        let take = self.held.len().min(chunk_size);
        let last = self.ended && self.held.len() <= chunk_size;
        let total = last.then(|| offset + take as u64);
        Ok((self.held.slice(..take), total))
    }
}

impl Session<'_> {
    /// Sends the media in chunks, from what the session holds. Each chunk goes through the
    /// retry loop; an attempt after a failure first asks the session what it holds (an
    /// empty `PUT` with `Content-Range: bytes */TOTAL`), since part of the failed chunk may
    /// have been stored.
    async fn send(&self, call: &Call, deadline: Deadline, span: &tracing::Span) -> Result<RawResponse> {
        let policy = call.retry_policy();
        let chunk_size = self.upload.chunk_size;
        let mut window = Window { opened: None, start: 0, held: Bytes::new(), ended: false };
        let mut total = self.media.len();
        // A resumed session holds what an earlier run sent: ask first.
        let mut offset = match self.upload.protocol {
            Protocol::Resume(_) => match self.ask(call, deadline, span, total).await? {
                Stored::Complete(raw) => return Ok(raw),
                Stored::Partial(at) if total.is_some_and(|t| at > t) => {
                    return Err(Error::Protocol(format!("the upload session claims {at} bytes of {total:?}")));
                }
                Stored::Partial(at) => at,
            },
            _ => 0,
        };
        let mut stalls = 0u32;
        // Bytes the session confirmed and then lost, and what it may lose before the upload
        // is given up: the media sent again as many times as the policy makes attempts.
        let mut lost = 0u64;
        let mut furthest = offset;
        // Guards against a server whose offsets move back and forth forever: spent by every
        // answer that did not move the upload forward.
        let mut setbacks = total
            .map_or(u32::MAX, |t| u32::try_from(t / chunk_size as u64 + 1).unwrap_or(u32::MAX))
            .saturating_mul(policy.get_max_attempts().saturating_add(1))
            .saturating_add(2);
        loop {
            if setbacks == 0 {
                return Err(Error::Upload("gave up: the upload session kept losing what it had stored".into()));
            }
            // Reading the media counts against the deadline too (a slow reader).
            let (chunk, last) = deadline.bound(window.chunk_at(self.media, offset, chunk_size)).await??;
            if last.is_some() {
                total = last;
            }
            // Every chunk request is a `PUT` of a byte range: repeating it is harmless. A chunk
            // may take longer to send than the attempt timeout: it bounds inactivity.
            let mut retrying = call.retrying(true, deadline);
            retrying.idle = Some(self.activity.clone());
            // With the answer, whether it answered the whole chunk sent (rather than the
            // question after a failed attempt, which may have sent any part of it).
            let (stored, whole_chunk_answered) = retrying
                .run(|number| {
                    let chunk = chunk.clone();
                    async move {
                        let mut token = None;
                        let result = async {
                            if number > 1 {
                                match self.put(call, None, total, span, number, &mut token).await? {
                                    Stored::Partial(at) if at == offset => {}
                                    other => return Ok((other, false)),
                                }
                            }
                            Ok((self.put(call, Some((offset, chunk)), total, span, number, &mut token).await?, true))
                        }
                        .await;
                        Attempted::new(result, token)
                    }
                })
                .await?;
            let sent_to = offset + chunk.len() as u64;
            match stored {
                // Only the chunk that ends the media can complete the upload: a success
                // answer to an earlier one (or to the question that follows a failed one)
                // would leave the rest of the media unsent behind an `Ok`.
                Stored::Complete(_) if last.is_none() => {
                    return Err(Error::Protocol(format!(
                        "the upload session answered as complete when {sent_to} bytes had been sent, before the end of the media"
                    )));
                }
                Stored::Complete(raw) => {
                    self.report(total.unwrap_or(offset), total);
                    return Ok(raw);
                }
                Stored::Partial(at) => {
                    if at > sent_to || total.is_some_and(|t| at > t) {
                        return Err(Error::Protocol(format!(
                            "the upload session claims {at} bytes where {sent_to} were sent"
                        )));
                    }
                    // Progress is what the session stored of the chunk. A server that keeps a
                    // few bytes of each chunk would have the rest sent again and again (a
                    // terabyte for a few megabytes), so that counts as no progress: of a chunk
                    // it received whole, it must keep a sixteenth, or 64 KiB, or all of a
                    // short chunk; after an attempt broke off, 64 KiB (a link that breaks
                    // every few hundred kilobytes still gets the media through).
                    let chunk_len = chunk.len() as u64;
                    let wanted = if whole_chunk_answered {
                        MIN_UPLOAD_PROGRESS.max(chunk_len / MIN_UPLOAD_PROGRESS_PARTS)
                    } else {
                        MIN_UPLOAD_PROGRESS
                    };
                    let enough = chunk_len.min(wanted);
                    if at >= offset + enough {
                        stalls = 0;
                    } else {
                        if at <= offset {
                            setbacks -= 1;
                        }
                        lost = lost.saturating_add(offset.saturating_sub(at));
                        let allowed = u64::from(policy.get_max_attempts())
                            .saturating_mul(total.unwrap_or(furthest).max(chunk_len).max(1));
                        if lost > allowed {
                            return Err(Error::Upload(format!(
                                "gave up: the upload session lost {lost} bytes it had stored"
                            )));
                        }
                        stalls += 1;
                        if stalls >= policy.get_max_attempts() {
                            return Err(Error::Upload(format!(
                                "the upload session stopped accepting data at byte {at}"
                            )));
                        }
                    }
                    self.report(at, total);
                    offset = at;
                    furthest = furthest.max(at);
                    if total == Some(at) {
                        // Everything is stored but no final answer came: ask for it.
                        match self.ask(call, deadline, span, total).await? {
                            Stored::Complete(raw) => return Ok(raw),
                            Stored::Partial(_) => {
                                return Err(Error::Upload("the server did not complete the upload".into()));
                            }
                        }
                    }
                }
            }
        }
    }

    fn report(&self, sent: u64, total: Option<u64>) {
        if let Some(progress) = &self.upload.progress {
            progress(&UploadProgress { sent, total });
        }
    }

    /// Asks the session what it holds, through the retry loop.
    async fn ask(&self, call: &Call, deadline: Deadline, span: &tracing::Span, total: Option<u64>) -> Result<Stored> {
        call.retrying(true, deadline)
            .run(|number| async move {
                let mut token = None;
                let result = self.put(call, None, total, span, number, &mut token).await;
                Attempted::new(result, token)
            })
            .await
    }

    /// One request to the session: a chunk (its offset and bytes), or with `None` the
    /// question of what it holds.
    async fn put(
        &self,
        call: &Call,
        chunk: Option<(u64, Bytes)>,
        total: Option<u64>,
        span: &tracing::Span,
        number: u32,
        token: &mut Option<String>,
    ) -> Result<Stored> {
        let total_text = total.map_or_else(|| "*".to_owned(), |t| t.to_string());
        let (range, body) = match chunk {
            Some((from, data)) if !data.is_empty() => {
                let end = from + data.len() as u64 - 1;
                (format!("bytes {from}-{end}/{total_text}"), data)
            }
            _ => (format!("bytes */{total_text}"), Bytes::new()),
        };
        // The client's headers (User-Agent, x-goog-api-client, quota project...) and the
        // call's own, as on every request.
        let mut headers = call.request_headers(call.method.has_json_response())?;
        headers.insert(CONTENT_RANGE, HeaderValue::from_str(&range).map_err(|_| Error::Upload("bad range".into()))?);
        let request = Prepared {
            method: http::Method::PUT,
            url: self.url.clone(),
            headers,
            body: Payload::Bytes(body),
            idempotent: true,
            once: false,
            authenticate: self.authenticate,
            answers: |status| is_success(status) || status == 308,
            activity: Some(self.activity.clone()),
        };
        let Attempted { result, token: used, .. } = call.attempt(&request, number, false, span).await;
        if used.is_some() {
            *token = used;
        }
        let raw = result?.read(call.client.shared.max_response_bytes).await?;
        if raw.status == 308 {
            Ok(Stored::Partial(committed_offset(&raw.headers)?))
        } else {
            Ok(Stored::Complete(raw))
        }
    }
}

fn check_media(info: &MediaUploadInfo, media: &Media) -> Result<()> {
    if let (Some(max), Some(len)) = (info.max_size(), media.len()) {
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

/// Whether a media type matches one of a method's `accept` patterns, as Google's Python
/// client matches them (mimeparse): by type and subtype, case-insensitively, `*` standing
/// for either and a bare `*` for `*/*`; parameters (`; charset=utf-8`) on either side
/// play no part.
fn accepts(accept: &[&str], content_type: &str) -> bool {
    if accept.is_empty() {
        return true;
    }
    fn type_and_subtype(media_type: &str) -> (String, String) {
        let essence = media_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        match essence.split_once('/') {
            Some((top, sub)) => (top.trim().to_owned(), sub.trim().to_owned()),
            None if essence == "*" => ("*".to_owned(), "*".to_owned()),
            None => (essence, String::new()),
        }
    }
    let (top, sub) = type_and_subtype(content_type);
    accept.iter().any(|pattern| {
        let (pattern_top, pattern_sub) = type_and_subtype(pattern);
        (pattern_top == "*" || pattern_top == top) && (pattern_sub == "*" || pattern_sub == sub)
    })
}

/// What goes before and after the media in a `multipart/related` body (the JSON metadata
/// part, then the media part's head; the closing boundary), and its content type. The
/// boundary is random: the media is streamed, so it cannot be checked against it, and a
/// clash of 128 random bits is not a risk.
fn multipart_frame(metadata: Option<&[u8]>, media_type: &str) -> Result<(Bytes, Bytes, HeaderValue)> {
    let metadata = metadata.unwrap_or(b"{}");
    let boundary = format!("discovery_rs_{:016x}{:016x}", random_u64(), random_u64());
    let mut prefix = Vec::with_capacity(metadata.len() + 256);
    prefix.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
    prefix.extend_from_slice(b"Content-Type: application/json; charset=UTF-8\r\n\r\n");
    prefix.extend_from_slice(metadata);
    prefix.extend_from_slice(format!("\r\n--{boundary}\r\nContent-Type: {media_type}\r\n\r\n").as_bytes());
    let suffix = format!("\r\n--{boundary}--\r\n").into_bytes();
    let header = HeaderValue::from_str(&format!("multipart/related; boundary={boundary}"))
        .map_err(|_| Error::InvalidRequest("invalid multipart content type".into()))?;
    Ok((prefix.into(), suffix.into(), header))
}

fn session_url(request_url: &url::Url, raw: &RawResponse) -> Result<url::Url> {
    let location = raw
        .headers
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .filter(|location| !location.trim().is_empty())
        .ok_or_else(|| Error::Upload("the server returned no resumable session URI (Location header)".into()))?;
    let url = raw
        .base_url(request_url)
        .join(location)
        .map_err(|_| Error::Upload("the resumable session URI is not a valid URL".into()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::Upload("the resumable session URI is not an http or https URL".into()));
    }
    Ok(url)
}

/// The offset to continue from, per the `Range: bytes=0-N` header of a 308 answer (no header
/// means nothing was stored).
fn committed_offset(headers: &HeaderMap) -> Result<u64> {
    let Some(value) = headers.get(RANGE) else {
        return Ok(0);
    };
    let bad = || Error::Protocol("unreadable Range header in a resumable upload answer".into());
    let text = value.to_str().map_err(|_| bad())?.trim();
    let (start, end) = text.strip_prefix("bytes=").and_then(|r| r.split_once('-')).ok_or_else(bad)?;
    if start.trim() != "0" {
        return Err(bad());
    }
    let end: u64 = end.trim().parse().map_err(|_| bad())?;
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
        // As mimeparse reads patterns: a bare `*`, parameters on either side.
        assert!(accepts(&["*"], "text/plain"));
        assert!(accepts(&["text/plain; charset=utf-8"], "text/plain"));
        assert!(accepts(&["text/plain; charset=utf-8"], "text/plain; charset=utf-8"));
        assert!(accepts(&["IMAGE/PNG"], "image/png"));
        assert!(!accepts(&["application/*+json"], "application/vnd.x+json"), "no partial subtype wildcard");
        assert!(!accepts(&["text/plain"], "textplain"));
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
        let (prefix, suffix, ct) = multipart_frame(Some(br#"{"name":"a"}"#), "text/plain").unwrap();
        let ct = ct.to_str().unwrap();
        let boundary = ct.strip_prefix("multipart/related; boundary=").unwrap();
        let body = [&prefix[..], b"hello", &suffix[..]].concat();
        let expected = format!(
            "--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{{\"name\":\"a\"}}\r\n--{boundary}\r\nContent-Type: text/plain\r\n\r\nhello\r\n--{boundary}--\r\n"
        );
        assert_eq!(std::str::from_utf8(&body).unwrap(), expected);
    }

    /// The window reads a chunk and one byte more, so it knows the last chunk when it has
    /// it, and serves any offset from what it holds or reads again.
    #[tokio::test]
    async fn windows_know_the_last_chunk_and_go_back_when_they_can() {
        let data: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
        for media in
            [Media::new("a/b", data.clone()), Media::from_reader("a/b", std::io::Cursor::new(data.clone()), None)]
        {
            let mut w = Window { opened: None, start: 0, held: Bytes::new(), ended: false };
            let (chunk, last) = w.chunk_at(&media, 0, 400).await.unwrap();
            assert_eq!((&chunk[..], last), (&data[..400], None));
            // The server kept only part of it.
            let (chunk, last) = w.chunk_at(&media, 300, 400).await.unwrap();
            assert_eq!((&chunk[..], last), (&data[300..700], None));
            let (chunk, last) = w.chunk_at(&media, 700, 400).await.unwrap();
            assert_eq!((&chunk[..], last), (&data[700..], Some(1000)));
            assert!(w.held.len() <= 401);
            let back = w.chunk_at(&media, 100, 400).await;
            if media.rereadable() {
                assert_eq!(&back.unwrap().0[..], &data[100..500]);
            } else {
                assert!(matches!(back, Err(Error::Upload(_))), "a reader cannot go back");
            }
        }
        // Exactly a chunk: the last chunk is known as such without an empty one after it.
        let media = Media::from_reader("a/b", std::io::Cursor::new(vec![7u8; 512]), None);
        let mut w = Window { opened: None, start: 0, held: Bytes::new(), ended: false };
        assert_eq!(w.chunk_at(&media, 0, 256).await.unwrap().1, None);
        assert_eq!(w.chunk_at(&media, 256, 256).await.unwrap().1, Some(512));
    }

    proptest::proptest! {
        /// Whatever a server puts in `Range` or `Content-Length`, reading it never panics.
        #[test]
        fn range_and_length_headers_never_panic(value in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..60)) {
            if let Ok(value) = HeaderValue::from_bytes(&value) {
                let mut h = HeaderMap::new();
                h.insert(RANGE, value.clone());
                h.insert(http::header::CONTENT_LENGTH, value);
                let _ = (committed_offset(&h), crate::call::content_length(&h));
            }
        }
    }
}
