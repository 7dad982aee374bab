//! Media downloads: streamed as a [`ByteStream`], or written to an `AsyncWrite` and resumed
//! with a `Range` request after a failure.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use futures_util::StreamExt as _;
use http::header::{HeaderMap, HeaderValue, CONTENT_RANGE, CONTENT_TYPE, ETAG, RANGE};
use tokio::io::{AsyncWrite, AsyncWriteExt as _};
use tracing::Instrument;

use crate::call::{content_length, Call, Exchange, Prepared, RawResponse};
use crate::error::{Error, Result};
use crate::retry::{Attempted, Deadline};
use crate::BoxFuture;

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
    /// The body of `resp`. With `idle`, a body that stops arriving fails with
    /// [`Error::Timeout`] once no chunk came for that long, while a slow but steady one goes
    /// on; past the call's `deadline`, the next wait fails the same way (a trickle). The
    /// stream ends after its error.
    fn from_response(mut resp: reqwest::Response, idle: Option<Duration>, deadline: Deadline) -> Self {
        let status = resp.status().as_u16();
        let headers = std::mem::take(resp.headers_mut());
        let announced = crate::call::announced_body_length(&resp, false);
        let chunks = Box::pin(resp.bytes_stream().map(|r| r.map_err(|e| Error::Transport(e.into()))));
        // The bytes received so far, to tell a body that ended short of its announced length.
        let inner = Box::pin(futures_util::stream::unfold(Some((chunks, 0u64)), move |state| async move {
            let (mut chunks, received) = state?;
            match crate::retry::within(deadline.cap(idle), chunks.next()).await {
                Ok(Some(Ok(chunk))) => {
                    let received = received.saturating_add(chunk.len() as u64);
                    Some((Ok(chunk), Some((chunks, received))))
                }
                Ok(Some(Err(e))) => Some((Err(e), None)),
                Ok(None) => crate::call::short_body(received, announced).map(|short| (Err(short), None)),
                Err(timeout) => Some((Err(timeout), None)),
            }
        }));
        ByteStream { status, headers, inner }
    }

    fn from_raw(raw: RawResponse) -> Self {
        let body = raw.body;
        let inner = futures_util::stream::iter((!body.is_empty()).then_some(Ok(body)));
        ByteStream { status: raw.status, headers: raw.headers, inner: Box::pin(inner) }
    }

    fn from_exchange(answer: Exchange, idle: Option<Duration>, deadline: Deadline) -> Self {
        match answer {
            Exchange::Streaming(resp) => ByteStream::from_response(resp, idle, deadline),
            Exchange::Done(raw) => ByteStream::from_raw(raw),
        }
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
    /// off, a stalled one fails with [`Error::Timeout`]. A call with a deadline ends there,
    /// body included: the stream's next chunk after it is [`Error::Timeout`].
    pub fn download(self) -> BoxFuture<'static, Result<ByteStream>> {
        // Boxed here so that the future's code is generated once, in this crate.
        Box::pin(self.download_stream())
    }

    /// Downloads the method's media (`alt=media`) into `out` and returns the number of
    /// bytes written. When the body breaks off (a reset, a stall past the timeout), the
    /// download goes on from the byte it reached with a `Range` request, as long as the
    /// retry policy allows attempts without progress; the media must be the same (its
    /// `ETag`, when it has one) or the download fails with [`Error::Protocol`].
    ///
    /// ```no_run
    /// # async fn run(call: discovery_runtime::for_generated_code::Call) -> Result<(), Box<dyn std::error::Error>> {
    /// let mut file = tokio::fs::File::create("report.pdf").await?;
    /// let written = call.download_to(&mut file).await?;
    /// # let _ = written;
    /// # Ok(())
    /// # }
    /// ```
    pub fn download_to<'w>(self, out: &'w mut (dyn AsyncWrite + Send + Unpin)) -> BoxFuture<'w, Result<u64>> {
        Box::pin(self.download_into(out))
    }

    async fn download_stream(mut self) -> Result<ByteStream> {
        self.prepare_download()?;
        let deadline = self.start_deadline();
        let span = self.span();
        let attempts_span = span.clone();
        async move {
            let request = self.media_request(None)?;
            let _queued = self.enter_mutation_queue(&deadline).await?;
            let answer = self.send_exchange(&request, true, deadline, &attempts_span).await?;
            Ok(ByteStream::from_exchange(answer, self.attempt_timeout(), deadline))
        }
        .instrument(span)
        .await
    }

    /// The download goes through the one retry loop: each attempt asks for the media from
    /// where the last one stopped and writes what arrives; an attempt that wrote bytes
    /// before it broke off counts as progress, so the policy's attempts and budget apply
    /// to breaks in a row, not to the whole download.
    async fn download_into(mut self, out: &mut (dyn AsyncWrite + Send + Unpin)) -> Result<u64> {
        self.prepare_download()?;
        let deadline = self.start_deadline();
        let span = self.span();
        let attempts_span = span.clone();
        async move {
            let _queued = self.enter_mutation_queue(&deadline).await?;
            let mut retrying = self.retrying(true, deadline);
            // The per-attempt timeout bounds the wait for the answer and for each chunk
            // (`attempt_into`), not the whole body, which may take any time while it flows.
            retrying.attempt_timeout = None;
            // Each attempt borrows the destination in turn; the lock is never contended, it
            // only lets the retry loop's `FnMut` lend it to one attempt's future at a time.
            let target = tokio::sync::Mutex::new(Target::new(out));
            retrying
                .run(|number| {
                    let (this, target, span) = (&self, &target, &attempts_span);
                    async move {
                        let mut target = target.lock().await;
                        let (before, skipped_before) = (target.written, target.skipped);
                        let mut token = None;
                        let result = this.attempt_into(&mut target, number, deadline, span, &mut token).await;
                        // An attempt that had the media sent again from its start counts as
                        // progress only if it wrote at least as much as it dropped: else a
                        // server that breaks off soon after each resumption point would
                        // have the media sent again and again, its square in all.
                        let gained = target.written.saturating_sub(before);
                        let dropped = target.skipped.saturating_sub(skipped_before);
                        let progressed = gained >= MIN_PROGRESS && gained >= dropped;
                        Attempted { result, token, progressed }
                    }
                })
                .await
        }
        .instrument(span)
        .await
    }

    /// One attempt of [`download_into`](Call::download_into): the media from the byte
    /// `target` reached, written to it.
    async fn attempt_into(
        &self,
        target: &mut Target<'_>,
        number: u32,
        deadline: Deadline,
        span: &tracing::Span,
        token: &mut Option<String>,
    ) -> Result<u64> {
        let request = self.media_request(target.resume_from())?;
        let idle = self.attempt_timeout();
        let answer = crate::retry::within(deadline.cap(idle), self.attempt(&request, number, true, span)).await?;
        *token = answer.token;
        let mut stream = ByteStream::from_exchange(answer.result?, idle, deadline);
        let mut skip = target.start(&stream, request.headers.contains_key(RANGE))?;
        loop {
            let Some(mut chunk) = stream.try_next().await? else {
                // The answer ended as the server meant it to (a cut one is a transport
                // error): it must have reached the end it announced.
                target.check_complete(skip)?;
                break;
            };
            // A server that ignored the Range sends the media from its start, and past the
            // end asked for.
            let dropped = skip.min(chunk.len() as u64);
            let _ = chunk.split_to(dropped as usize);
            skip -= dropped;
            target.skipped = target.skipped.saturating_add(dropped);
            if target.write(chunk).await? == Written::Last {
                break;
            }
        }
        target.out.flush().await.map_err(Error::from_io)?;
        Ok(target.written)
    }

    fn prepare_download(&mut self) -> Result<()> {
        if !self.method.supports_media_download() {
            return Err(Error::InvalidRequest(format!("method {} does not support media download", self.method.id())));
        }
        self.query("alt", "media");
        Ok(())
    }

    /// The download request: the method's, accepting any media type, from byte `from` on
    /// when resuming. Every download asks for the media's own bytes
    /// (`Accept-Encoding: identity`): a range of a gzip-encoded body could not be decoded on
    /// its own, offsets must count the media's bytes for a download to resume where it
    /// stopped, and the HTTP stack's gzip decoder reads one gzip member, so a media of
    /// several (concatenated `.gz` files, served gzip-encoded) would end after the first as
    /// if it were whole.
    fn media_request(&self, from: Option<(u64, Option<u64>)>) -> Result<Prepared> {
        let mut request = self.request_accepting(false)?;
        if let Some((from, to)) = from {
            let range = match to {
                Some(to) => format!("bytes={from}-{to}"),
                None => format!("bytes={from}-"),
            };
            request.headers.insert(RANGE, HeaderValue::from_str(&range).expect("digits"));
        }
        request.headers.insert(http::header::ACCEPT_ENCODING, HeaderValue::from_static("identity"));
        Ok(request)
    }
}

/// What an attempt of a resumable download must write before it breaks off for the break
/// not to count against the retry policy. Without it, a server that sends a byte and then
/// breaks the connection, again and again, would keep a download without a deadline going
/// for as many requests as the media has bytes; with it, a connection that cannot carry
/// this much fails after the policy's attempts.
const MIN_PROGRESS: u64 = 64 << 10;

/// Where a resumable download writes, and how far it got.
struct Target<'w> {
    out: &'w mut (dyn AsyncWrite + Send + Unpin),
    written: u64,
    /// The media's byte the first answer started at (a caller's `Range`), and the last byte
    /// asked for; `None` before the first answer.
    media: Option<(u64, Option<u64>)>,
    /// The first answer's `ETag`: a resumed answer must carry the same.
    etag: Option<HeaderValue>,
    /// The media's length, once an answer stated it (a `Content-Range` total, or the
    /// `Content-Length` of a whole media sent as stored): a resumed answer must agree.
    total: Option<u64>,
    /// Bytes received and dropped: of answers that ignored the `Range` and sent the media
    /// from its start again.
    skipped: u64,
}

#[derive(PartialEq, Eq)]
enum Written {
    More,
    /// The last byte asked for is written.
    Last,
}

impl<'w> Target<'w> {
    /// Nothing written yet, no answer seen.
    fn new(out: &'w mut (dyn AsyncWrite + Send + Unpin)) -> Self {
        Target { out, written: 0, media: None, etag: None, total: None, skipped: 0 }
    }

    /// The media's byte to write next, once the first answer placed the download. The sums
    /// saturate: the offsets come from the server's `Content-Range`.
    fn next_byte(&self) -> Option<u64> {
        self.media.map(|(start, _)| start.saturating_add(self.written))
    }

    /// The last byte asked for, when the first answer's `Content-Range` named one.
    fn end(&self) -> Option<u64> {
        self.media?.1
    }

    /// The range to ask for: none at first, then from the next byte to write.
    fn resume_from(&self) -> Option<(u64, Option<u64>)> {
        Some((self.next_byte()?, self.end()))
    }

    /// Takes in an answer: how many of its bytes come before the one to write next.
    /// `ranged` says whether the request asked for a range (the caller's `Range` at first).
    fn start(&mut self, stream: &ByteStream, ranged: bool) -> Result<u64> {
        let total = stated_total(stream);
        if let (Some(known), Some(now)) = (self.total, total) {
            if known != now {
                return Err(Error::Protocol(format!(
                    "the media's length changed while it was downloaded ({known} bytes, now {now})"
                )));
            }
        }
        self.total = self.total.or(total);
        let skip = match self.next_byte() {
            None => {
                self.media = Some(first_span(stream, ranged)?);
                self.etag = stream.headers().get(ETAG).cloned();
                0
            }
            Some(next) => check_resumed(stream, next, &self.etag)?,
        };
        Ok(skip)
    }

    /// Writes `chunk`, cut at the last byte asked for.
    async fn write(&mut self, mut chunk: bytes::Bytes) -> Result<Written> {
        if let (Some(next), Some(end)) = (self.next_byte(), self.end()) {
            let room = end.saturating_add(1).saturating_sub(next);
            chunk.truncate(usize::try_from(room).unwrap_or(usize::MAX).min(chunk.len()));
        }
        self.out.write_all(&chunk).await.map_err(Error::from_io)?;
        self.written = self.written.saturating_add(chunk.len() as u64);
        Ok(if self.past_end() { Written::Last } else { Written::More })
    }

    /// Whether the last byte asked for is written.
    fn past_end(&self) -> bool {
        matches!((self.next_byte(), self.end()), (Some(next), Some(end)) if next > end)
    }

    /// At the clean end of an answer: fails unless it brought what it announced. `skip` is
    /// what was still to be skipped of a whole media sent again: then that media is shorter
    /// than what was already written, so it changed.
    fn check_complete(&self, skip: u64) -> Result<()> {
        if skip > 0 {
            return Err(Error::Protocol("the media sent again is shorter than what was already downloaded".into()));
        }
        // Without an end asked for, a download of everything from some byte on must reach the
        // media's end once an answer stated its length: a resumed answer shorter than asked
        // would otherwise leave a gap behind a success.
        let end = self.end().or_else(|| self.total?.checked_sub(1));
        match (self.next_byte(), end) {
            (Some(next), Some(end)) if next <= end => Err(Error::Protocol(format!(
                "the answer ended at byte {next}, before the end of what was asked for (byte {end})"
            ))),
            _ => Ok(()),
        }
    }
}

/// Where the first answer's bytes are in the media, and the last byte asked for: a `206`'s
/// `Content-Range` (`bytes START-END/TOTAL`), else the whole media from byte 0. A `206` to a
/// request that asked for no range is a part of the media where all of it was asked for.
fn first_span(stream: &ByteStream, ranged: bool) -> Result<(u64, Option<u64>)> {
    if stream.status() != 206 {
        return Ok((0, None));
    }
    let range = stream.headers().get(CONTENT_RANGE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !ranged {
        return Err(Error::Protocol(format!(
            "asked for the whole media, the server answered 206 with Content-Range {range:?}"
        )));
    }
    match parse_content_range(range) {
        (Some(start), Some(end)) if end < start => {
            Err(Error::Protocol(format!("the answer's Content-Range {range:?} ends before it starts")))
        }
        (start, end) => Ok((start.unwrap_or(0), end)),
    }
}

/// The media's length as an answer states it: the total of a `206`'s `Content-Range`, or
/// the `Content-Length` of a `200` sent as stored (no `Content-Encoding`; reqwest removes the
/// header of a body it decoded, whose length then is not the media's).
fn stated_total(stream: &ByteStream) -> Option<u64> {
    match stream.status() {
        206 => {
            let range = stream.headers().get(CONTENT_RANGE)?.to_str().ok()?;
            range.rsplit_once('/')?.1.trim().parse().ok()
        }
        200 if !stream.headers().contains_key(http::header::CONTENT_ENCODING) => content_length(stream.headers()),
        _ => None,
    }
}

/// `bytes START-END/TOTAL` as the start and end, each when readable.
fn parse_content_range(range: &str) -> (Option<u64>, Option<u64>) {
    let span = range.strip_prefix("bytes ").and_then(|r| r.split('/').next()).unwrap_or("");
    let (start, end) = span.split_once('-').unwrap_or(("", ""));
    (start.trim().parse().ok(), end.trim().parse().ok())
}

/// How many bytes of a resumed response to skip to reach byte `from` of the media: none when
/// it is the `206` asked for; `from` when the server sent the whole media again. Fails when
/// the media changed (another `ETag`) or the range is not the one asked for.
fn check_resumed(stream: &ByteStream, from: u64, etag: &Option<HeaderValue>) -> Result<u64> {
    if let (Some(first), Some(now)) = (etag, stream.headers().get(ETAG)) {
        if first != now {
            return Err(Error::Protocol("the media changed while it was downloaded (its ETag changed)".into()));
        }
    }
    if stream.status() == 200 {
        return Ok(from);
    }
    let range = stream.headers().get(CONTENT_RANGE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if stream.status() == 206 && parse_content_range(range).0 == Some(from) {
        Ok(0)
    } else {
        Err(Error::Protocol(format!(
            "asked for the media from byte {from}, the server answered {} with Content-Range {range:?}",
            stream.status()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, content_range: Option<&str>) -> ByteStream {
        let mut headers = HeaderMap::new();
        if let Some(range) = content_range {
            headers.insert(CONTENT_RANGE, HeaderValue::from_str(range).unwrap());
        }
        ByteStream::from_raw(RawResponse {
            status,
            headers,
            body: bytes::Bytes::new(),
            secrets: Vec::new(),
            redirected_to: None,
        })
    }

    /// Feeds `chunks` to a download placed by `first`, as `attempt_into` does.
    fn download(first: &ByteStream, chunks: &[&[u8]]) -> (Result<()>, Vec<u8>, u64) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let mut out = Vec::new();
        let mut target = Target::new(&mut out);
        let result = runtime.block_on(async {
            let skip = target.start(first, true)?;
            for chunk in chunks {
                if target.write(bytes::Bytes::copy_from_slice(chunk)).await? == Written::Last {
                    return Ok(());
                }
            }
            target.check_complete(skip)
        });
        let written = target.written;
        (result, out, written)
    }

    #[test]
    fn any_content_range_places_a_download_without_panicking() {
        let max = u64::MAX;
        for range in [
            format!("bytes 0-{max}/*"),
            format!("bytes {max}-{max}/*"),
            format!("bytes {}-{max}/{max}", max - 1),
            "bytes 5-2/10".to_owned(),
            "bytes -/".to_owned(),
            "bytes 99999999999999999999999-1/2".to_owned(),
            "items 0-1/2".to_owned(),
        ] {
            let (result, _, written) = download(&answer(206, Some(&range)), &[b"abc", b"def"]);
            if let Ok(()) = result {
                assert!(written <= 6, "{range}: {written}");
            }
        }
    }

    #[test]
    fn a_range_that_ends_before_it_starts_is_a_protocol_error() {
        let (result, out, _) = download(&answer(206, Some("bytes 5-2/10")), &[b"abc"]);
        assert!(matches!(result, Err(Error::Protocol(_))), "{result:?}");
        assert!(out.is_empty());
    }

    #[test]
    fn an_answer_ending_before_its_announced_end_is_a_protocol_error() {
        let (result, out, _) = download(&answer(206, Some("bytes 10-19/100")), &[b"0123", b"45"]);
        assert!(matches!(&result, Err(Error::Protocol(m)) if m.contains("before the end")), "{result:?}");
        assert_eq!(out, b"012345");
        // The whole range, and what comes past it is dropped.
        let (result, out, _) = download(&answer(206, Some("bytes 10-19/100")), &[b"0123456789", b"extra"]);
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(out, b"0123456789");
        // A whole media (200) has no announced end to check.
        let (result, out, _) = download(&answer(200, None), &[b"abc"]);
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(out, b"abc");
    }

    #[test]
    fn a_whole_media_sent_again_must_reach_what_was_written() {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let mut out = Vec::new();
        let mut target = Target::new(&mut out);
        runtime.block_on(async {
            target.start(&answer(200, None), false).unwrap();
            target.write(bytes::Bytes::from_static(b"abcdef")).await.unwrap();
            // The server ignores the Range of the resumption and sends the media from byte 0.
            let skip = target.start(&answer(200, None), true).unwrap();
            assert_eq!(skip, 6);
            assert!(matches!(target.check_complete(4), Err(Error::Protocol(_))));
            assert!(target.check_complete(0).is_ok());
        });
    }

    #[test]
    fn a_part_of_the_media_where_all_of_it_was_asked_for_is_a_protocol_error() {
        let mut out = Vec::new();
        let mut target = Target::new(&mut out);
        let err = target.start(&answer(206, Some("bytes 0-99/200")), false).unwrap_err();
        assert!(matches!(&err, Error::Protocol(m) if m.contains("206")), "{err:?}");
    }

    #[test]
    fn a_resumed_answer_must_reach_the_end_of_the_media() {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(async {
            // The whole media (10 bytes, as stored), cut after 4; the resumption sends 2 of 6.
            let mut out = Vec::new();
            let mut target = Target::new(&mut out);
            let mut first = answer(200, None);
            first.headers.insert(http::header::CONTENT_LENGTH, HeaderValue::from_static("10"));
            target.start(&first, false).unwrap();
            target.write(bytes::Bytes::from_static(b"0123")).await.unwrap();
            assert_eq!(target.start(&answer(206, Some("bytes 4-5/10")), true).unwrap(), 0);
            target.write(bytes::Bytes::from_static(b"45")).await.unwrap();
            assert!(matches!(target.check_complete(0), Err(Error::Protocol(_))));
            // The rest, asked for again, completes it.
            assert_eq!(target.start(&answer(206, Some("bytes 6-9/10")), true).unwrap(), 0);
            target.write(bytes::Bytes::from_static(b"6789")).await.unwrap();
            assert!(target.check_complete(0).is_ok());
            // Another length is another media.
            let err = target.start(&answer(206, Some("bytes 10-19/20")), true).unwrap_err();
            assert!(matches!(&err, Error::Protocol(m) if m.contains("length changed")), "{err:?}");
        });
        // A first answer of 200 without a usable length: the resumption's total tells the end.
        runtime.block_on(async {
            let mut out = Vec::new();
            let mut target = Target::new(&mut out);
            target.start(&answer(200, None), false).unwrap();
            target.write(bytes::Bytes::from_static(b"0123")).await.unwrap();
            target.start(&answer(206, Some("bytes 4-4/10")), true).unwrap();
            target.write(bytes::Bytes::from_static(b"4")).await.unwrap();
            assert!(matches!(target.check_complete(0), Err(Error::Protocol(_))), "a gap of five bytes");
        });
    }
}
