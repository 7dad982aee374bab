//! One method invocation: building the request, sending it with retries, decoding the answer.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use http::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, USER_AGENT};
use http_body_util::BodyExt as _;
use tracing::Instrument;

use crate::client::Client;
use crate::error::{excerpt, redact_in, Error, Result, ServiceError};
use crate::info::MethodInfo;
use crate::query::{encode_pairs, QueryValue};
use crate::retry::RetryPolicy;
use crate::wire::FromJson;
use crate::BoxFuture;

/// A decoded response together with its HTTP status and headers.
#[derive(Clone, Debug)]
pub struct Response<T> {
    /// The HTTP status code.
    pub status: u16,
    /// The response headers.
    pub headers: HeaderMap,
    /// The decoded body.
    pub body: T,
}

/// The future of a sent call, resolving to its decoded response.
///
/// The exchange (retries, the mutation lock, reading the body) is a boxed future whose code
/// lives in this crate; only the last step, decoding into `T`, depends on the response
/// type. A generated crate therefore compiles a small `poll` and a decoder per response
/// type instead of the whole exchange again for each, and an application that awaits a
/// call compiles next to nothing.
#[must_use = "futures do nothing unless polled or awaited"]
pub struct ResponseFuture<T> {
    exchange: BoxFuture<'static, Result<RawResponse>>,
    finish: fn(RawResponse) -> Result<T>,
}

impl<T> ResponseFuture<T> {
    pub(crate) fn new(exchange: BoxFuture<'static, Result<RawResponse>>, finish: fn(RawResponse) -> Result<T>) -> Self {
        ResponseFuture { exchange, finish }
    }
}

impl<T> Future for ResponseFuture<T> {
    type Output = Result<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let raw = ready!(self.exchange.as_mut().poll(cx))?;
        Poll::Ready((self.finish)(raw))
    }
}

impl<T> fmt::Debug for ResponseFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

/// One invocation of an API method, as built by a generated method builder.
///
/// Setters record values; nothing is checked or sent until one of the sending methods
/// ([`send`](Call::send), [`send_empty`](Call::send_empty),
/// [`send_with_response`](Call::send_with_response), [`download`](Call::download),
/// [`upload`](Call::upload)) runs. Problems found while building (a body that does not
/// serialise, an invalid header, a path parameter that fails its pattern) are returned by
/// that method, before anything leaves the machine.
#[derive(Clone)]
pub struct Call {
    pub(crate) client: Client,
    pub(crate) method: &'static MethodInfo,
    path_values: Vec<(&'static str, String)>,
    query: Vec<(Cow<'static, str>, String)>,
    headers: Vec<(String, String)>,
    body: Body,
    scopes: Vec<String>,
    retry: Option<RetryPolicy>,
    timeout: Option<Duration>,
}

#[derive(Clone)]
enum Body {
    None,
    Json(bytes::Bytes),
    /// Serialisation failed when the body was set; reported by the sending method.
    Invalid(Arc<str>),
}

impl fmt::Debug for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header_names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        let body = match &self.body {
            Body::None => None,
            Body::Json(b) => Some(b.len()),
            Body::Invalid(_) => Some(0),
        };
        // Credentials passed through the `param` escape hatch stay hidden too.
        let query: Vec<(&str, &str)> = self
            .query
            .iter()
            .map(|(n, v)| {
                let secret = matches!(n.as_ref(), "key" | "access_token" | "oauth_token");
                (n.as_ref(), if secret { "<redacted>" } else { v.as_str() })
            })
            .collect();
        f.debug_struct("Call")
            .field("method", &self.method.id())
            .field("path_params", &self.path_values)
            .field("query", &query)
            .field("headers", &header_names)
            .field("body_len", &body)
            .field("scopes", &self.scopes)
            .field("retry", &self.retry)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// A request ready to be sent, possibly several times.
pub(crate) struct Request {
    pub(crate) method: http::Method,
    pub(crate) url: url::Url,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Option<bytes::Bytes>,
    /// Whether repeating the request after an ambiguous failure is safe.
    pub(crate) idempotent: bool,
    /// Whether to attach the bearer token.
    pub(crate) authenticate: bool,
}

/// A response whose body was read in full.
pub(crate) struct RawResponse {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: bytes::Bytes,
    /// The credentials the request carried. A success body is kept as is (it may hold
    /// such a string legitimately), but a decode error that quotes it must not.
    pub(crate) secrets: Vec<String>,
}

/// The outcome of one attempt.
pub(crate) enum Attempt {
    Done(RawResponse),
    /// A successful response whose body is left to the caller (downloads).
    Streaming(http::Response<hyper::body::Incoming>),
}

impl Call {
    /// Starts a call of `method` through `client`.
    pub fn new(client: &Client, method: &'static MethodInfo) -> Self {
        Call {
            client: client.clone(),
            method,
            path_values: Vec::new(),
            query: Vec::new(),
            headers: Vec::new(),
            body: Body::None,
            scopes: Vec::new(),
            retry: None,
            timeout: None,
        }
    }

    /// The method being called.
    pub fn method_info(&self) -> &'static MethodInfo {
        self.method
    }

    /// The client the call goes through.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Sets a path parameter, replacing an earlier value.
    pub fn path_param(&mut self, name: &'static str, value: impl Into<String>) {
        let value = value.into();
        match self.path_values.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.path_values.push((name, value)),
        }
    }

    /// Sets a query parameter, replacing earlier values of `name`.
    pub fn query(&mut self, name: &'static str, value: impl QueryValue) {
        let value = value.to_query_value().into_owned();
        self.set_query(Cow::Borrowed(name), value);
    }

    /// Sets a repeated query parameter, sent as `name=a&name=b`, replacing earlier values of
    /// `name`.
    pub fn query_repeated<V: QueryValue>(&mut self, name: &'static str, values: impl IntoIterator<Item = V>) {
        let values: Vec<String> = values.into_iter().map(|v| v.to_query_value().into_owned()).collect();
        self.set_query_repeated(name, values);
    }

    fn set_query(&mut self, name: Cow<'static, str>, value: String) {
        self.query.retain(|(n, _)| *n != name);
        self.query.push((name, value));
    }

    fn set_query_repeated(&mut self, name: &'static str, values: Vec<String>) {
        self.query.retain(|(n, _)| n != name);
        self.query.extend(values.into_iter().map(|v| (Cow::Borrowed(name), v)));
    }

    /// Serialises `body` as the JSON request body. A serialisation failure is reported by
    /// the sending method.
    pub fn json_body<B: serde::Serialize + ?Sized>(&mut self, body: &B) {
        self.set_body(serde_json::to_vec(body));
    }

    /// Serialises a generated object type as the JSON request body, like
    /// [`json_body`](Call::json_body) but through the type's own (non-generic) serialiser.
    pub fn object_body(&mut self, body: &dyn crate::wire::JsonBody) {
        self.body = Body::Json(body.to_json().into());
    }

    fn set_body(&mut self, encoded: serde_json::Result<Vec<u8>>) {
        self.body = match encoded {
            Ok(bytes) => Body::Json(bytes.into()),
            Err(e) => Body::Invalid(format!("the request body could not be serialised: {e}").into()),
        };
    }

    /// Adds a query parameter the method builder does not know about. Unlike
    /// [`query`](Call::query) it does not replace earlier values, so it can be repeated.
    pub fn param(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.query.push((Cow::Owned(name.into()), value.into()));
    }

    /// Adds a request header. An invalid name or value is reported by the sending method.
    pub fn header(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.headers.push((name.into(), value.into()));
    }

    /// Asks the token provider for `scope`. The first call replaces the method's default
    /// scopes (all the scopes the Discovery document lists for it); later calls add to it.
    pub fn add_scope(&mut self, scope: impl Into<String>) {
        self.scopes.push(scope.into());
    }

    /// Overrides the client's retry policy for this call.
    pub fn set_retry_policy(&mut self, p: RetryPolicy) {
        self.retry = Some(p);
    }

    /// Overrides the client's per-attempt timeout for this call.
    pub fn set_timeout(&mut self, d: Duration) {
        self.timeout = Some(d);
    }

    /// Whether a JSON body was set.
    pub fn has_body(&self) -> bool {
        !matches!(self.body, Body::None)
    }

    /// Sends the call and decodes the JSON response. An empty body decodes as `null`, or as
    /// `{}` for types that do not accept `null`.
    pub fn send<R: FromJson>(self) -> ResponseFuture<R> {
        ResponseFuture::new(self.exchange(), decode_body::<R>)
    }

    /// Sends the call and ignores the response body.
    pub fn send_empty(self) -> ResponseFuture<()> {
        ResponseFuture::new(self.exchange(), |_| Ok(()))
    }

    /// Sends the call and returns the decoded body with the status and headers.
    pub fn send_with_response<R: FromJson>(self) -> ResponseFuture<Response<R>> {
        ResponseFuture::new(self.exchange(), |raw| {
            let body = decode(&raw)?;
            Ok(Response { status: raw.status, headers: raw.headers, body })
        })
    }

    /// [`execute`](Call::execute), boxed here: the future's code is then generated once, in
    /// this crate, and not again in every crate that awaits a call.
    fn exchange(self) -> BoxFuture<'static, Result<RawResponse>> {
        Box::pin(self.execute())
    }

    /// Sends the call and returns the raw successful response, with retries, the mutation
    /// lock and a tracing span.
    async fn execute(self) -> Result<RawResponse> {
        let span = self.span();
        let attempts_span = span.clone();
        async move {
            let request = self.json_request()?;
            let _guard = self.client.mutation_guard(self.method.http_method().is_mutation()).await;
            match self.send_with_retry(&request, false, &attempts_span).await? {
                Attempt::Done(raw) => Ok(raw),
                Attempt::Streaming(resp) => read_body(resp, self.client.inner.max_response_bytes).await,
            }
        }
        .instrument(span)
        .await
    }

    /// The method's request with the call's JSON body, if any.
    pub(crate) fn json_request(&self) -> Result<Request> {
        let body = self.body_bytes()?;
        let mut headers = self.request_headers()?;
        if body.is_some() && !headers.contains_key(CONTENT_TYPE) {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }

        Ok(Request {
            method: self.method.http_method().to_http(),
            url: self.url(self.method.path())?,
            headers,
            body,
            idempotent: self.method.http_method().is_idempotent(),
            authenticate: true,
        })
    }

    pub(crate) fn span(&self) -> tracing::Span {
        tracing::debug_span!(
            "api_call",
            method = self.method.id(),
            attempt = tracing::field::Empty,
            http.status = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
        )
    }

    pub(crate) fn retry_policy(&self) -> &RetryPolicy {
        self.retry.as_ref().unwrap_or(&self.client.inner.retry)
    }

    pub(crate) fn attempt_timeout(&self) -> Option<Duration> {
        self.timeout.or(self.client.inner.timeout)
    }

    /// The scopes asked of the token provider.
    pub(crate) fn effective_scopes(&self) -> Arc<[String]> {
        if self.scopes.is_empty() {
            method_scopes(self.method.scopes())
        } else {
            self.scopes.as_slice().into()
        }
    }

    /// Expands `template` and appends the query (and the API key).
    pub(crate) fn url(&self, template: &str) -> Result<url::Url> {
        let path = crate::path::expand(template, self.method.path_params(), &self.path_values)?;
        // Only the template decides whether a path is relative to the root URL (media
        // upload paths start with `/`): a value starting with `/` in `{+name}` must not
        // move the request out from under the base URL.
        let (prefix, parsed, rel) = if template.starts_with('/') {
            self.client.resolve_parts(&path)
        } else {
            (self.client.base_url(), &self.client.inner.base, path.as_str())
        };
        // Room for the pairs unencoded and some escapes: usually no regrowth.
        let mut query =
            String::with_capacity(self.query.iter().map(|(n, v)| n.len() + v.len() + 2).sum::<usize>() + 16);
        encode_pairs(&mut query, self.query.iter().map(|(n, v)| (n.as_ref(), v.as_str())));
        if let Some(key) = &self.client.inner.api_key {
            encode_pairs(&mut query, [("key", key.as_str())]);
        }
        join_url(prefix, parsed, rel, &query).map_err(|e| {
            let mut msg = format!("the request URL is invalid: {e}");
            if let Some(key) = &self.client.inner.api_key {
                redact_in(&mut msg, key);
            }
            Error::InvalidRequest(msg)
        })
    }

    /// The extra headers set on the call, validated.
    pub(crate) fn request_headers(&self) -> Result<HeaderMap> {
        let mut map = HeaderMap::new();
        for (name, value) in &self.headers {
            let header = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| Error::InvalidRequest(format!("invalid header name {name:?}")))?;
            let mut value = HeaderValue::from_str(value)
                .map_err(|_| Error::InvalidRequest(format!("invalid value for header `{name}`")))?;
            // Callers may pass credentials here; keep them out of any `Debug` output.
            value.set_sensitive(true);
            map.append(header, value);
        }
        Ok(map)
    }

    /// The JSON body, or the error recorded when it was set.
    pub(crate) fn body_bytes(&self) -> Result<Option<bytes::Bytes>> {
        match &self.body {
            Body::None => Ok(None),
            Body::Json(b) => Ok(Some(b.clone())),
            Body::Invalid(msg) => Err(Error::InvalidRequest(msg.to_string())),
        }
    }

    /// Sends `request`, retrying per the call's policy. Non-success answers become
    /// [`Error::Service`].
    pub(crate) async fn send_with_retry(
        &self,
        request: &Request,
        stream: bool,
        span: &tracing::Span,
    ) -> Result<Attempt> {
        let policy = self.retry_policy();
        let start = Instant::now();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let result = match self.attempt(request, attempt, stream, span).await {
                Ok(Attempt::Done(raw)) if !is_success(raw.status) => Err(self.service_error(&raw).into()),
                other => other,
            };
            let err = match result {
                Ok(done) => return Ok(done),
                Err(err) => err,
            };
            if attempt >= policy.get_max_attempts() || !should_retry(&err, request.idempotent) {
                return Err(err);
            }
            let wait = err.retry_after().unwrap_or_else(|| policy.backoff(attempt));
            if start.elapsed() + wait > policy.get_total_timeout() {
                tracing::debug!(?wait, "not retrying: the wait would exceed the time budget");
                return Err(err);
            }
            tracing::debug!(attempt, ?wait, error = %err, "retrying");
            tokio::time::sleep(wait).await;
        }
    }

    /// One attempt: token, request, response. Any status is returned as is. The attempt
    /// number, status and latency are recorded on `span`.
    pub(crate) async fn attempt(
        &self,
        request: &Request,
        number: u32,
        stream: bool,
        span: &tracing::Span,
    ) -> Result<Attempt> {
        let inner = &self.client.inner;
        span.record("attempt", number);

        let mut headers = request.headers.clone();
        // Appended: a `User-Agent` set on the call is sent as well.
        headers.append(USER_AGENT, inner.user_agent.clone());
        let mut token_used = None;
        if request.authenticate {
            if let Some(provider) = &inner.token_provider {
                let scopes = self.effective_scopes();
                let token = provider.token(&scopes).await.map_err(Error::Auth)?;
                let mut value = bearer(&token).map_err(|_| {
                    Error::Auth(crate::auth::AuthError::new(
                        "the token contains characters that cannot be sent in a header",
                    ))
                })?;
                value.set_sensitive(true);
                headers.append(AUTHORIZATION, value);
                token_used = Some(token);
            }
        }
        let body = request.body.clone().filter(|b| !b.is_empty());
        if body.is_none() {
            // Google front ends answer 411 Length Required to a body-less POST, PUT or
            // PATCH that does not state its length, which the HTTP stack omits.
            let m = &request.method;
            if *m == http::Method::POST || *m == http::Method::PUT || *m == http::Method::PATCH {
                headers.append(CONTENT_LENGTH, HeaderValue::from_static("0"));
            }
        }
        let outgoing =
            crate::transport::Outgoing { method: request.method.clone(), url: request.url.clone(), headers, body };

        let started = Instant::now();
        let max_body = inner.max_response_bytes;
        let exchange = async move {
            let resp = inner.http.send(outgoing).await.map_err(Error::Transport)?;
            if stream && resp.status().is_success() {
                return Ok(Attempt::Streaming(resp));
            }
            read_body(resp, max_body).await.map(Attempt::Done)
        };
        let mut result = match self.attempt_timeout() {
            Some(limit) => tokio::time::timeout(limit, exchange).await.unwrap_or_else(|_| Err(Error::Timeout)),
            None => exchange.await,
        };
        // Error pages sometimes echo the request, and so do proxies answering 200 with a
        // page: keep credentials out of error excerpts.
        if let Ok(Attempt::Done(raw)) = &mut result {
            let key = inner.api_key.as_deref();
            let encoded_key = key.map(|k| {
                let mut q = String::new();
                encode_pairs(&mut q, [("", k)]);
                q[1..].to_owned()
            });
            if is_success(raw.status) {
                raw.secrets = token_used.into_iter().chain(key.map(str::to_owned)).chain(encoded_key).collect();
            } else {
                let secrets = [token_used.as_deref(), key, encoded_key.as_deref()];
                raw.body = scrub(std::mem::take(&mut raw.body), &secrets);
            }
        }

        let latency = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        span.record("latency_ms", latency);
        match &result {
            Ok(Attempt::Done(raw)) => {
                span.record("http.status", raw.status);
                tracing::debug!(attempt = number, status = raw.status, latency_ms = latency, "response");
            }
            Ok(Attempt::Streaming(resp)) => {
                let status = resp.status().as_u16();
                span.record("http.status", status);
                tracing::debug!(attempt = number, status, latency_ms = latency, "response");
            }
            Err(e) => {
                tracing::debug!(attempt = number, latency_ms = latency, error = %e, "attempt failed")
            }
        }
        result
    }

    /// Builds the service error for a non-success answer (already scrubbed by `attempt`).
    pub(crate) fn service_error(&self, raw: &RawResponse) -> ServiceError {
        ServiceError::from_response(raw.status, &raw.headers, &raw.body)
    }
}

/// A method's default scopes as the owned strings `TokenProvider::token` takes, made once
/// per process rather than for every request.
fn method_scopes(scopes: &'static [&'static str]) -> Arc<[String]> {
    // A B-tree of two-word keys: a lookup is a few integer comparisons, where a `HashMap`
    // would run SipHash on every request.
    type Cache = Mutex<BTreeMap<(usize, usize), Arc<[String]>>>;
    static CACHE: Cache = Mutex::new(BTreeMap::new());
    let mut cache = CACHE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    // Keyed by address: equal slices that the compiler did not merge just get two entries.
    let key = (scopes.as_ptr() as usize, scopes.len());
    cache.entry(key).or_insert_with(|| scopes.iter().map(|s| (*s).to_owned()).collect()).clone()
}

/// The URL `{prefix}{rel}?{query}` (no `?` when `query` is empty), `parsed` being `prefix`
/// parsed. Scheme, host and port are taken from `parsed` rather than parsed again for every
/// request; only when `prefix` has a query or fragment, or `rel` or `query` could start one,
/// is the whole text parsed.
fn join_url(prefix: &str, parsed: &url::Url, rel: &str, query: &str) -> std::result::Result<url::Url, url::ParseError> {
    let delimiter = |s: &str| s.contains(['?', '#']);
    if parsed.query().is_some() || parsed.fragment().is_some() || delimiter(rel) || query.contains('#') {
        let mut url = format!("{prefix}{rel}");
        if !query.is_empty() {
            url.push('?');
            url.push_str(query);
        }
        return url::Url::parse(&url);
    }
    let mut url = parsed.clone();
    let mut path = String::with_capacity(parsed.path().len() + rel.len());
    path.push_str(parsed.path());
    path.push_str(rel);
    url.set_path(&path);
    if !query.is_empty() {
        url.set_query(Some(query));
    }
    Ok(url)
}

/// The `Authorization` value for `token`, built without an intermediate string.
fn bearer(token: &str) -> std::result::Result<HeaderValue, http::header::InvalidHeaderValue> {
    let mut value = Vec::with_capacity("Bearer ".len() + token.len());
    value.extend_from_slice(b"Bearer ");
    value.extend_from_slice(token.as_bytes());
    HeaderValue::from_maybe_shared(bytes::Bytes::from(value))
}

/// Replaces every occurrence of the secrets (those long enough to be real credentials)
/// with `<redacted>`.
fn scrub(body: bytes::Bytes, secrets: &[Option<&str>]) -> bytes::Bytes {
    let mut current: Option<Vec<u8>> = None;
    for secret in secrets.iter().flatten().filter(|s| s.len() >= 8) {
        let needle = secret.as_bytes();
        let hay: &[u8] = current.as_deref().unwrap_or(&body);
        if !hay.windows(needle.len()).any(|w| w == needle) {
            continue;
        }
        let mut out = Vec::with_capacity(hay.len());
        let mut i = 0;
        while i < hay.len() {
            if hay[i..].starts_with(needle) {
                out.extend_from_slice(b"<redacted>");
                i += needle.len();
            } else {
                out.push(hay[i]);
                i += 1;
            }
        }
        current = Some(out);
    }
    current.map(bytes::Bytes::from).unwrap_or(body)
}

pub(crate) fn is_success(status: u16) -> bool {
    (200..300).contains(&status)
}

/// Whether a failed attempt may be repeated: any transient failure when the method is
/// idempotent; otherwise only when the service surely did nothing: the connection failed,
/// or the answer was 429 (a rate limit refuses a request before it is processed).
pub(crate) fn should_retry(err: &Error, idempotent: bool) -> bool {
    if idempotent {
        return err.is_retryable();
    }
    match err {
        // A proxy that cannot be used is a connection that was not made, but a lasting one.
        Error::Transport(e) => e.is_connect() && err.is_retryable(),
        Error::Service(e) => e.http_status == 429,
        _ => false,
    }
}

/// Reads a whole body, at most `limit` bytes of it: a successful response beyond that is
/// [`Error::ResponseTooLarge`] (decided from `Content-Length` before reading when it is
/// announced), an error response is cut at the limit, since only its start is kept.
pub(crate) async fn read_body(resp: http::Response<hyper::body::Incoming>, limit: u64) -> Result<RawResponse> {
    let (parts, mut incoming) = resp.into_parts();
    let status = parts.status.as_u16();
    let too_large = Error::ResponseTooLarge { status, limit };
    let success = is_success(status);
    if success && crate::transport::content_length(&parts.headers).is_some_and(|len| len > limit) {
        return Err(too_large);
    }
    let mut body = Chunks::default();
    while let Some(frame) = incoming.frame().await {
        let frame = frame.map_err(crate::transport::TransportError::body)?;
        // Trailers carry nothing an API response needs.
        let Ok(mut chunk) = frame.into_data() else { continue };
        let room = limit - body.len;
        if chunk.len() as u64 > room {
            if success {
                return Err(too_large);
            }
            // `room` is below `chunk.len()`, a `usize`.
            chunk.truncate(room as usize);
            body.push(chunk);
            break;
        }
        body.push(chunk);
    }
    let body = body.join();
    Ok(RawResponse { status, headers: parts.headers, body, secrets: Vec::new() })
}

/// A body being received. Chunks are kept as they come and joined once at the end, sized
/// by what was received (a server may announce far more than it sends): no regrowing buffer
/// copying megabytes over and over, and no copy at all for a body that came in one chunk.
#[derive(Default)]
struct Chunks {
    chunks: Vec<bytes::Bytes>,
    /// Small chunks are gathered here first, so that a server trickling out tiny chunks
    /// cannot make the list of chunks cost many times the bytes it holds.
    small: bytes::BytesMut,
    len: u64,
}

impl Chunks {
    const SMALL: usize = 8 << 10;

    fn push(&mut self, chunk: bytes::Bytes) {
        self.len += chunk.len() as u64;
        // The first chunk is kept as is, however small: most bodies are a single chunk.
        if chunk.len() >= Self::SMALL || self.chunks.is_empty() {
            self.flush_small();
            self.chunks.push(chunk);
        } else {
            self.small.extend_from_slice(&chunk);
            if self.small.len() >= Self::SMALL {
                self.flush_small();
            }
        }
    }

    fn flush_small(&mut self) {
        if !self.small.is_empty() {
            self.chunks.push(std::mem::take(&mut self.small).freeze());
        }
    }

    fn join(mut self) -> bytes::Bytes {
        self.flush_small();
        if self.chunks.len() <= 1 {
            return self.chunks.pop().unwrap_or_default();
        }
        // `len` counts only bytes received, so this is no larger than the body.
        let mut joined = Vec::with_capacity(self.chunks.iter().map(bytes::Bytes::len).sum());
        for chunk in &self.chunks {
            joined.extend_from_slice(chunk);
        }
        joined.into()
    }
}

/// Decodes a JSON body. Kept small because it is instantiated once per response type.
pub(crate) fn decode_body<R: FromJson>(raw: RawResponse) -> Result<R> {
    decode(&raw)
}

pub(crate) fn decode<R: FromJson>(raw: &RawResponse) -> Result<R> {
    let text = json_text(raw)?;
    let result = if text.is_empty() {
        crate::wire::from_str("null").or_else(|_| crate::wire::from_str("{}"))
    } else {
        crate::wire::from_str(text)
    };
    result.map_err(|e| decode_error(raw, &e))
}

/// The body as text (checked as UTF-8 once; the reader then works on `&str`), `""` when it
/// is blank.
fn json_text(raw: &RawResponse) -> Result<&str> {
    let body = &raw.body;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok("");
    }
    std::str::from_utf8(body).map_err(|_| {
        // Invalid UTF-8 can only make the JSON invalid; serde_json's reading of the bytes
        // says where.
        match serde_json::from_slice::<serde_json::Value>(body) {
            Err(e) => decode_error(raw, &e),
            Ok(_) => decode_error(raw, &"the response body is not UTF-8"),
        }
    })
}

/// The body is scrubbed before the excerpt is cut, so that no part of a secret is left at
/// its end; the reader's message may quote a string from the body, so it is scrubbed too.
fn decode_error(raw: &RawResponse, e: &dyn fmt::Display) -> Error {
    let secrets: Vec<Option<&str>> = raw.secrets.iter().map(|s| Some(s.as_str())).collect();
    let mut message = e.to_string();
    for secret in raw.secrets.iter().filter(|s| s.len() >= 8) {
        redact_in(&mut message, secret);
    }
    Error::Decode { status: raw.status, message, body_excerpt: excerpt(&scrub(raw.body.clone(), &secrets)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_connect_failures_are_retried_for_non_idempotent_methods() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let post = || crate::transport::Outgoing {
            method: http::Method::POST,
            url: format!("http://{addr}/").parse().unwrap(),
            headers: HeaderMap::new(),
            body: None,
        };
        let transport = crate::transport::Transport::new(&Default::default()).unwrap();
        let connect = Error::Transport(transport.send(post()).await.unwrap_err());
        assert!(matches!(&connect, Error::Transport(e) if e.is_connect()), "{connect:?}");
        // The cause is part of the message, and the legacy client's own layer is not.
        let message = connect.to_string();
        assert!(message.starts_with("transport error: could not connect to the server: "), "{message}");
        assert!(!message.contains("client error"), "{message}");
        assert!(should_retry(&connect, false));
        assert!(should_retry(&connect, true));

        let config = crate::transport::TransportConfig {
            proxy: crate::transport::ProxyConfig::All("socks5://127.0.0.1:9".into()),
            ..Default::default()
        };
        let transport = crate::transport::Transport::new(&config).unwrap();
        let unusable_proxy = Error::Transport(transport.send(post()).await.unwrap_err());
        assert!(!should_retry(&unusable_proxy, false), "{unusable_proxy:?}");
        assert!(!should_retry(&unusable_proxy, true), "{unusable_proxy:?}");

        let unavailable = Error::from(ServiceError::from_response(503, &HeaderMap::new(), b""));
        assert!(!should_retry(&unavailable, false));
        assert!(should_retry(&unavailable, true));
        assert!(!should_retry(&Error::Timeout, false));
        assert!(should_retry(&Error::Timeout, true));
        let bad = Error::from(ServiceError::from_response(400, &HeaderMap::new(), b""));
        assert!(!should_retry(&bad, true));
    }

    fn raw(body: &'static [u8]) -> RawResponse {
        RawResponse {
            status: 200,
            headers: HeaderMap::new(),
            body: bytes::Bytes::from_static(body),
            secrets: Vec::new(),
        }
    }

    #[test]
    fn decode_reports_what_reading_bytes_would() {
        let bodies: [&[u8]; 6] =
            [b"{\"a\":\"\xff\"}", b"{\"a\":1}\xff", b"\xff", b"{\"a\" 1}", b"[1,", b"{\"a\":\"\xc3\xa9\"} x"];
        for body in bodies {
            let expected = serde_json::from_slice::<serde_json::Value>(body).unwrap_err().to_string();
            match decode::<serde_json::Value>(&raw(body)) {
                Err(Error::Decode { message, .. }) => assert_eq!(message, expected, "{body:?}"),
                other => panic!("{body:?}: {other:?}"),
            }
        }
        let v: serde_json::Value = decode(&raw(b" {\"a\":\"\xc3\xa9\"} ")).unwrap();
        assert_eq!(v["a"], "\u{e9}");
        assert_eq!(decode::<serde_json::Value>(&raw(b" \n")).unwrap(), serde_json::Value::Null);
        assert!(decode::<crate::wire::Serde<serde_json::Map<String, serde_json::Value>>>(&raw(b""))
            .unwrap()
            .0
            .is_empty());
    }

    #[test]
    fn chunks_join_in_order_and_gather_small_ones() {
        let big = |b: u8| bytes::Bytes::from(vec![b; Chunks::SMALL]);
        let mut body = Chunks::default();
        let mut expected = Vec::new();
        for chunk in [bytes::Bytes::from_static(b"ab"), big(b'x'), bytes::Bytes::from_static(b"c"), big(b'y')]
            .into_iter()
            .chain((0..3 * Chunks::SMALL).map(|i| bytes::Bytes::from(vec![i as u8])))
        {
            expected.extend_from_slice(&chunk);
            body.push(chunk);
        }
        assert!(body.chunks.len() <= 8, "{} chunks", body.chunks.len());
        assert_eq!(body.len, expected.len() as u64);
        assert_eq!(body.join(), expected);

        for one in [big(b'z'), bytes::Bytes::from_static(b"{}")] {
            let mut body = Chunks::default();
            body.push(one.clone());
            assert_eq!(body.join().as_ptr(), one.as_ptr(), "a single chunk is not copied");
        }
        assert!(Chunks::default().join().is_empty());
    }

    #[test]
    fn joined_urls_are_those_the_whole_text_parses_to() {
        let prefixes = [
            "http://127.0.0.1:9/",
            "https://people.googleapis.com/",
            "https://compute.googleapis.com/compute/v1/",
            "https://Example.COM:443/a/../b%2f/c d/",
            "http://[::1]:8080/x/",
            "https://h/p?q=1/",
            "https://h/p#f/",
        ];
        let rels =
            ["", "v1/people/c1", "/v1/x", "v1/a%2Fb:go", "../up", "v1/./x/..", "v1/a\\b", "v1/é", "v1/a?b", "v1/a#b"];
        let queries = ["", "personFields=names%2CemailAddresses&pageSize=10", "a=%23", "a=#b", "k=é ?"];
        for prefix in prefixes {
            let parsed = url::Url::parse(prefix).unwrap();
            for rel in rels {
                for query in queries {
                    let text =
                        if query.is_empty() { format!("{prefix}{rel}") } else { format!("{prefix}{rel}?{query}") };
                    let expected = url::Url::parse(&text).unwrap();
                    let joined = join_url(prefix, &parsed, rel, query).unwrap();
                    assert_eq!(joined.as_str(), expected.as_str(), "{text}");
                    assert_eq!(joined, expected, "{text}");
                }
            }
        }
    }

    #[test]
    fn scrub_replaces_every_occurrence() {
        let body = bytes::Bytes::from_static(b"key=SECRETKEY1 and SECRETKEY1; tok=TOKEN123456");
        let out = scrub(body, &[Some("SECRETKEY1"), None, Some("TOKEN123456"), Some("x")]);
        assert_eq!(&out[..], b"key=<redacted> and <redacted>; tok=<redacted>");
    }
}
