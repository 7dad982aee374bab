//! One method invocation: building the request, sending it through the retry loop,
//! decoding the answer.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use http::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE};
use tracing::Instrument;

use crate::client::{Client, QueueGuard};
use crate::error::{excerpt, redact_in, Error, Result, ServiceError};
use crate::info::MethodInfo;
use crate::query::{encode_pairs, QueryValue};
use crate::reader::FromJson;
use crate::retry::{Attempted, Deadline, RetryPolicy, Retrying};
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
/// The exchange (retries, the mutation queue, reading the body) is a boxed future whose code
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
    deadline: Option<Duration>,
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
                let secret = is_credential_param(n);
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
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

/// What a request carries.
pub(crate) enum Payload {
    /// Bytes in memory (maybe none), sent again as they are on a retry.
    Bytes(bytes::Bytes),
    /// A body streamed from media, made anew for each attempt.
    Streamed(Box<dyn Fn() -> Result<reqwest::Body> + Send + Sync>),
}

/// A request ready to be sent, possibly several times.
pub(crate) struct Prepared {
    pub(crate) method: http::Method,
    pub(crate) url: url::Url,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Payload,
    /// Whether repeating the request after an ambiguous failure is safe.
    pub(crate) idempotent: bool,
    /// Whether the request can be sent only once (its body cannot be made again).
    pub(crate) once: bool,
    /// Whether to attach the bearer token.
    pub(crate) authenticate: bool,
    /// Which statuses are an answer rather than an error: 2xx, and for the chunks of a
    /// resumable upload also `308 Resume Incomplete`.
    pub(crate) answers: fn(u16) -> bool,
    /// For a body that may take long to send (media): its progress, which the attempt
    /// timeout then bounds instead of the whole attempt.
    pub(crate) activity: Option<Arc<crate::retry::Activity>>,
}

/// A response whose body was read in full.
pub(crate) struct RawResponse {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: bytes::Bytes,
    /// The credentials the request carried. A success body is kept as is (it may hold
    /// such a string legitimately), but a decode error that quotes it must not.
    pub(crate) secrets: Vec<String>,
    /// The URL that answered, when redirects led away from the request's: what a relative
    /// `Location` in the answer is relative to.
    pub(crate) redirected_to: Option<Box<url::Url>>,
}

impl RawResponse {
    /// The URL a relative reference in this answer resolves against, `request_url` being the
    /// URL the request was sent to.
    pub(crate) fn base_url<'u>(&'u self, request_url: &'u url::Url) -> &'u url::Url {
        self.redirected_to.as_deref().unwrap_or(request_url)
    }
}

/// What an attempt brought back: a whole response, or (for downloads) a successful one
/// whose body is left to the caller.
pub(crate) enum Exchange {
    Done(RawResponse),
    Streaming(reqwest::Response),
}

impl Exchange {
    /// The whole response, its body read now if it was left to the caller (at most `limit`
    /// bytes).
    pub(crate) async fn read(self, limit: u64) -> Result<RawResponse> {
        match self {
            Exchange::Done(raw) => Ok(raw),
            // Streamed answers are those of uploads and downloads, never of a HEAD.
            Exchange::Streaming(resp) => read_body(resp, limit, false).await,
        }
    }
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
            deadline: None,
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
        self.path_param_list(name, [value]);
    }

    /// Sets a repeated path parameter: its values are expanded joined by commas, each
    /// encoded (`a,b`, where one value `"a,b"` would give `a%2Cb`), as Google's Python
    /// client expands a list. Replaces earlier values of `name`. An empty list fails the
    /// call (as an empty value does), where Python would expand it to nothing and leave an
    /// empty path segment.
    pub fn path_param_list(&mut self, name: &'static str, values: impl IntoIterator<Item = impl Into<String>>) {
        self.path_values.retain(|(n, _)| *n != name);
        self.path_values.extend(values.into_iter().map(|value| (name, value.into())));
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

    /// Adds a request header, replacing the client's default for that name (such as
    /// `User-Agent` or `x-goog-user-project`); repeat it to send several values. An invalid
    /// name or value is reported by the sending method.
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

    /// Overrides the client's deadline for this call: the whole call, from the wait for the
    /// mutation queue to the end of the last attempt, ends within `d` of its start
    /// ([`Error::Timeout`] otherwise).
    pub fn set_deadline(&mut self, d: Duration) {
        self.deadline = Some(d);
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
        let deadline = self.start_deadline();
        let span = self.span();
        Box::pin(self.execute(deadline, span.clone()).instrument(span))
    }

    /// Sends the call and returns the raw successful response, within `deadline`, in the
    /// mutation queue, through the retry loop; attempts are recorded on `span`.
    ///
    /// The deadline and the span come from the caller, and the future is instrumented
    /// there: an `async` block inside would hold the call twice (a 2.9 KiB future against
    /// 2.6 KiB).
    async fn execute(self, deadline: Deadline, span: tracing::Span) -> Result<RawResponse> {
        let request = self.json_request()?;
        let _queued = self.enter_mutation_queue(&deadline).await?;
        self.send_prepared(&request, deadline, &span).await
    }

    /// The call's deadline, counted from now.
    pub(crate) fn start_deadline(&self) -> Deadline {
        Deadline::after(self.deadline.or(self.client.shared.deadline))
    }

    /// Waits for the client's earlier mutations when this call is one and mutations are
    /// serialised; the guard keeps later ones waiting until it is dropped. The wait ends at
    /// the deadline.
    pub(crate) async fn enter_mutation_queue(&self, deadline: &Deadline) -> Result<Option<QueueGuard>> {
        self.client.enter_mutation_queue(self.method.http_method().is_mutation(), deadline).await
    }

    /// The method's request with the call's JSON body, if any, accepting JSON when the
    /// method answers with it.
    pub(crate) fn json_request(&self) -> Result<Prepared> {
        self.request_accepting(self.method.has_json_response())
    }

    /// The method's request with the call's JSON body, if any, accepting JSON (`json`) or
    /// any media type.
    pub(crate) fn request_accepting(&self, json: bool) -> Result<Prepared> {
        let body = self.body_bytes()?;
        let mut headers = self.request_headers(json)?;
        if body.is_some() && !headers.contains_key(CONTENT_TYPE) {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        self.method_request(self.method.path(), headers, Payload::Bytes(body.unwrap_or_default()))
    }

    /// A request of the call's method to `path` (a template of the API's paths), with its
    /// idempotence, the bearer token, and 2xx as the answers.
    pub(crate) fn method_request(&self, path: &str, headers: HeaderMap, body: Payload) -> Result<Prepared> {
        Ok(Prepared {
            method: self.method.http_method().to_http(),
            url: self.url(path)?,
            headers,
            body,
            idempotent: self.method.http_method().is_idempotent(),
            once: false,
            authenticate: true,
            answers: is_success,
            activity: None,
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
        self.retry.as_ref().unwrap_or(&self.client.shared.retry)
    }

    pub(crate) fn attempt_timeout(&self) -> Option<Duration> {
        self.timeout.or(self.client.shared.timeout)
    }

    /// How the attempts of a request of this call are retried.
    pub(crate) fn retrying(&self, idempotent: bool, deadline: Deadline) -> Retrying<'_> {
        Retrying {
            policy: self.retry_policy(),
            deadline,
            attempt_timeout: self.attempt_timeout(),
            idempotent,
            auth: self.client.user.token_provider.as_deref(),
            idle: None,
        }
    }

    /// Sends `request` through the retry loop and reads the answer, recording each attempt
    /// on `span` (the call's, passed along rather than taken from the subscriber's idea of
    /// the current span, which not every subscriber keeps). Statuses that are not answers
    /// become [`Error::Service`].
    pub(crate) async fn send_prepared(
        &self,
        request: &Prepared,
        deadline: Deadline,
        span: &tracing::Span,
    ) -> Result<RawResponse> {
        let answer = self.send_exchange(request, false, deadline, span).await?;
        answer.read(self.client.shared.max_response_bytes).await
    }

    /// [`send_prepared`](Call::send_prepared), leaving an answer's body unread with `stream`.
    pub(crate) async fn send_exchange(
        &self,
        request: &Prepared,
        stream: bool,
        deadline: Deadline,
        span: &tracing::Span,
    ) -> Result<Exchange> {
        let mut retrying = self.retrying(request.idempotent, deadline);
        retrying.idle = request.activity.clone();
        let once = RetryPolicy::none();
        if request.once {
            // Its body cannot be made again: no retry, not even with a new token after a 401.
            retrying.policy = &once;
            retrying.auth = None;
        }
        retrying.run(|number| self.attempt(request, number, stream, span)).await
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
        let shared = &self.client.shared;
        let (prefix, parsed, rel) = if template.starts_with('/') {
            self.client.resolve_parts(&path)
        } else {
            (shared.base_url.as_str(), &shared.base, path.as_str())
        };
        // Room for the pairs unencoded and some escapes: usually no regrowth.
        let mut query =
            String::with_capacity(self.query.iter().map(|(n, v)| n.len() + v.len() + 2).sum::<usize>() + 16);
        encode_pairs(&mut query, self.query.iter().map(|(n, v)| (n.as_ref(), v.as_str())));
        if let Some(key) = shared.api_key.as_ref().filter(|_| !self.has_own_key()) {
            encode_pairs(&mut query, [("key", key.as_str())]);
        }
        // Refused before the URL is made: the `url` crate panics on a path over 4 GiB, and
        // the HTTP stack would refuse anything over its limit anyway.
        let length = prefix.len() + rel.len() + 1 + query.len();
        if length > MAX_URL_LEN {
            return Err(Error::InvalidRequest(format!(
                "the request URL would be {length} bytes long, over the {MAX_URL_LEN} an HTTP request can carry"
            )));
        }
        join_url(prefix, parsed, rel, &query).map_err(|e| {
            let mut msg = format!("the request URL is invalid: {e}");
            for secret in self.query_secrets() {
                redact_in(&mut msg, secret);
            }
            Error::InvalidRequest(msg)
        })
    }

    /// Whether the call sets `key` itself (a method parameter of that name, or
    /// [`param`](Call::param)). Its value then replaces the client's API key: a URL carries
    /// one `key`, the most specific, as a call's own headers replace the client's.
    fn has_own_key(&self) -> bool {
        self.query.iter().any(|(name, _)| name == "key")
    }

    /// The credentials the call's URLs carry: the API key as sent (the call's own `key`,
    /// else the client's), and tokens passed as `access_token` or `oauth_token` parameters.
    /// Errors are scrubbed of each, as written and as percent-encoded in the query.
    fn query_secrets(&self) -> impl Iterator<Item = &str> {
        let own = self.query.iter().filter(|(name, _)| is_credential_param(name)).map(|(_, value)| value.as_str());
        let client_key = self.client.shared.api_key.as_deref().filter(|_| !self.has_own_key());
        own.chain(client_key)
    }

    /// The headers of every request of this call: the client's (`User-Agent`,
    /// `x-goog-api-client`, `x-goog-api-version`, `x-goog-user-project`, defaults), the
    /// method's `x-goog-api-version` where it has its own, `Accept` (`application/json`
    /// when `json` is expected, else `*/*`), and the call's own, which replace the client's
    /// of the same name.
    pub(crate) fn request_headers(&self, json: bool) -> Result<HeaderMap> {
        let mut map = self.client.shared.headers.clone();
        if let Some(version) = self.method.api_version() {
            map.insert(crate::client::X_GOOG_API_VERSION, HeaderValue::from_static(version));
        }
        map.insert(ACCEPT, HeaderValue::from_static(if json { "application/json" } else { "*/*" }));
        crate::client::merge_headers(&mut map, &self.headers)?;
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

    /// One attempt: token, request, response. Statuses that `request.answers` does not
    /// accept become [`Error::Service`]; with `stream`, an answer's body is left unread.
    /// The attempt number, status and latency are recorded on `span`.
    pub(crate) async fn attempt(
        &self,
        request: &Prepared,
        number: u32,
        stream: bool,
        span: &tracing::Span,
    ) -> Attempted<Exchange> {
        span.record("attempt", number);
        let started = Instant::now();
        let mut token = None;
        let result = self.exchange_once(request, stream, &mut token).await;
        let latency = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        span.record("latency_ms", latency);
        match &result {
            Ok(exchange) => {
                let status = match exchange {
                    Exchange::Done(raw) => raw.status,
                    Exchange::Streaming(resp) => resp.status().as_u16(),
                };
                span.record("http.status", status);
                tracing::debug!(attempt = number, status, latency_ms = latency, "response");
            }
            Err(e) => {
                if let Some(status) = e.http_status() {
                    span.record("http.status", status);
                }
                tracing::debug!(attempt = number, latency_ms = latency, error = %e, "attempt failed")
            }
        }
        Attempted::new(result, token)
    }

    async fn exchange_once(
        &self,
        request: &Prepared,
        stream: bool,
        token_used: &mut Option<String>,
    ) -> Result<Exchange> {
        let shared = &self.client.shared;
        let mut outgoing = reqwest::Request::new(request.method.clone(), request.url.clone());
        let headers = outgoing.headers_mut();
        *headers = request.headers.clone();
        if request.authenticate {
            if let Some(provider) = &self.client.user.token_provider {
                let token = provider.token(&self.effective_scopes()).await.map_err(Error::Auth)?;
                let mut value = bearer(&token).map_err(|_| {
                    Error::Auth(crate::auth::AuthError::new(
                        "the token contains characters that cannot be sent in a header",
                    ))
                })?;
                value.set_sensitive(true);
                headers.insert(AUTHORIZATION, value);
                *token_used = Some(token);
            }
        }
        match &request.body {
            Payload::Bytes(body) if !body.is_empty() => match &request.activity {
                Some(activity) => {
                    // A stream has no length of its own: without the header, the chunk would
                    // go with chunked transfer coding, where Google's clients state it.
                    outgoing.headers_mut().insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
                    *outgoing.body_mut() = Some(sliced_body(body.clone(), activity.clone()));
                }
                None => *outgoing.body_mut() = Some(body.clone().into()),
            },
            Payload::Bytes(_) => {
                // Google front ends answer 411 Length Required to a body-less POST, PUT or
                // PATCH that does not state its length, which the HTTP stack omits.
                let m = &request.method;
                if *m == http::Method::POST || *m == http::Method::PUT || *m == http::Method::PATCH {
                    outgoing.headers_mut().insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
                }
            }
            Payload::Streamed(make) => *outgoing.body_mut() = Some(make()?),
        }

        let first_contact = shared.first_contact.as_deref().filter(|_| outgoing.url().scheme() == "https");
        let first = match first_contact {
            Some(first_contact) => first_contact.enter().await,
            None => None,
        };
        let resp = crate::transport::answering(request.answers, shared.http.execute(outgoing)).await;
        if let (Ok(_), Some(first_contact)) = (&resp, first_contact) {
            first_contact.made();
        }
        drop(first);
        // The query's credentials as they are sent (percent-encoded) and as they may be
        // echoed (decoded).
        let encoded: Vec<String> = self
            .query_secrets()
            .map(|secret| {
                let mut q = String::new();
                encode_pairs(&mut q, [("", secret)]);
                q[1..].to_owned()
            })
            .collect();
        let token = token_used.as_deref();
        let secrets = || token.into_iter().chain(self.query_secrets()).chain(encoded.iter().map(String::as_str));
        let resp = resp.map_err(|mut e| {
            e.scrub(&secrets().collect::<Vec<_>>());
            Error::from_transport(e)
        })?;
        let status = resp.status().as_u16();
        if stream && (request.answers)(status) {
            return Ok(Exchange::Streaming(resp));
        }
        // Compared as text, so that the usual answer (from the URL asked) costs no copy.
        let answered = resp.url();
        let redirected_to = (answered != &request.url && answered.host_str() != Some(URL_UNKNOWN_TO_REQWEST))
            .then(|| Box::new(answered.clone()));
        let mut raw = read_body(resp, shared.max_response_bytes, request.method == http::Method::HEAD).await?;
        raw.redirected_to = redirected_to;
        // Error pages sometimes echo the request, and so do proxies answering 200 with a
        // page: keep credentials out of error excerpts.
        if (request.answers)(raw.status) {
            // The token moves here rather than being copied: after a success the retry loop
            // has no use for it (it invalidates tokens after a 401).
            let query_secrets = self.query_secrets().map(str::to_owned);
            raw.secrets = token_used.take().into_iter().chain(query_secrets).chain(encoded).collect();
            Ok(Exchange::Done(raw))
        } else {
            let secrets: Vec<Option<&str>> = secrets().map(Some).collect();
            raw.body = scrub_body(std::mem::take(&mut raw.body), &secrets);
            Err(ServiceError::from_response(raw.status, &raw.headers, &raw.body).into())
        }
    }
}

/// Whether a query parameter carries a credential (an API key, or a token given in the URL
/// as Google's APIs accept): its value is hidden in `Debug` and scrubbed from errors.
fn is_credential_param(name: &str) -> bool {
    matches!(name, "key" | "access_token" | "oauth_token")
}

/// The longest URL the HTTP stack sends (`http::Uri` refuses longer text).
const MAX_URL_LEN: usize = u16::MAX as usize - 1;

/// The host of the URL reqwest gives a response made from an `http::Response` that does
/// not carry its URL (a transport double's, say): such an answer was not redirected.
const URL_UNKNOWN_TO_REQWEST: &str = "no.url.provided.local";

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

/// [`scrub`], also where JSON escapes spell a secret: a server (or a proxy) that echoes the
/// request may write `ya29\u002eabc` for `ya29.abc`, which the error's message, once
/// parsed, or a reader of the excerpt, would turn back into the token.
///
/// A body that is valid JSON is first written again in serde_json's form, which escapes
/// only quotes, backslashes and control characters (none of which a header value or an API
/// key holds), so that the parsed error is read from the scrubbed text. Of a body that is
/// not valid JSON, only an excerpt is ever shown: if its escapes, undone, spell a secret,
/// the body is kept with its escapes undone and the secret redacted.
fn scrub_body(body: bytes::Bytes, secrets: &[Option<&str>]) -> bytes::Bytes {
    if !body.contains(&b'\\') {
        return scrub(body, secrets);
    }
    let body = match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(value) => serde_json::to_vec(&value).map(bytes::Bytes::from).unwrap_or(body),
        Err(_) => body,
    };
    let body = scrub(body, secrets);
    if !body.contains(&b'\\') {
        return body;
    }
    let unescaped = bytes::Bytes::from(unescape_json_leniently(&body));
    let spelled = secrets.iter().flatten().filter(|s| s.len() >= 8).any(|s| contains(&unescaped, s.as_bytes()));
    if spelled {
        scrub(unescaped, secrets)
    } else {
        body
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// `text` with its JSON escapes undone wherever they are well formed (`\uXXXX`, surrogate
/// pairs, `\n`, `\/`...), the rest kept as it is: for text that is not valid JSON.
fn unescape_json_leniently(text: &[u8]) -> Vec<u8> {
    let hex4 = |at: usize| -> Option<u32> {
        let digits = std::str::from_utf8(text.get(at..at + 4)?).ok()?;
        u32::from_str_radix(digits, 16).ok().filter(|_| digits.bytes().all(|b| b.is_ascii_hexdigit()))
    };
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if text[i] != b'\\' || i + 1 >= text.len() {
            out.push(text[i]);
            i += 1;
            continue;
        }
        let simple = match text[i + 1] {
            b'"' => Some(b'"'),
            b'\\' => Some(b'\\'),
            b'/' => Some(b'/'),
            b'b' => Some(0x08),
            b'f' => Some(0x0c),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            _ => None,
        };
        if let Some(byte) = simple {
            out.push(byte);
            i += 2;
            continue;
        }
        let Some(unit) = (text[i + 1] == b'u').then(|| hex4(i + 2)).flatten() else {
            out.push(text[i]);
            i += 1;
            continue;
        };
        let mut consumed = 6;
        let scalar = if (0xD800..0xDC00).contains(&unit) {
            match (text.get(i + 6..i + 8), hex4(i + 8)) {
                (Some(b"\\u"), Some(low)) if (0xDC00..0xE000).contains(&low) => {
                    consumed = 12;
                    0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                }
                _ => 0xFFFD,
            }
        } else {
            unit
        };
        let c = char::from_u32(scalar).unwrap_or('\u{FFFD}');
        out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
        i += consumed;
    }
    out
}

/// Replaces every occurrence of the secrets (those long enough to be real credentials)
/// with `<redacted>`.
fn scrub(body: bytes::Bytes, secrets: &[Option<&str>]) -> bytes::Bytes {
    let mut current: Option<Vec<u8>> = None;
    for secret in secrets.iter().flatten().filter(|s| s.len() >= 8) {
        let needle = secret.as_bytes();
        let hay: &[u8] = current.as_deref().unwrap_or(&body);
        if !contains(hay, needle) {
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

/// The body's announced length, from `Content-Length`.
pub(crate) fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(CONTENT_LENGTH)?.to_str().ok()?.trim().parse().ok()
}

pub(crate) fn is_success(status: u16) -> bool {
    (200..300).contains(&status)
}

/// How much of an error response's body is read (more is left unread).
const ERROR_BODY_LIMIT: u64 = 1 << 20;

/// Reads a whole body, at most `limit` bytes of it (after gzip decoding): a successful
/// response beyond that is [`Error::ResponseTooLarge`] (decided from `Content-Length` before
/// reading when it is announced), an error response is cut at the limit, since only its
/// start is kept, at [`ERROR_BODY_LIMIT`] at most.
pub(crate) async fn read_body(mut resp: reqwest::Response, limit: u64, head: bool) -> Result<RawResponse> {
    let status = resp.status().as_u16();
    let headers = std::mem::take(resp.headers_mut());
    let too_large = Error::ResponseTooLarge { status, limit };
    let success = is_success(status);
    // Only an error's message and a short excerpt are kept, but the whole body is parsed to
    // find them: a hostile server's megabytes of `[{},{},...]` would cost many times their
    // size as parsed JSON. Google's error bodies are a few kilobytes (observed, not a
    // documented limit; a longer one is cut, and keeps its status and excerpt).
    let limit = if success { limit } else { limit.min(ERROR_BODY_LIMIT) };
    if success && content_length(&headers).is_some_and(|len| len > limit) {
        return Err(too_large);
    }
    let announced = announced_body_length(&resp, head);
    let mut body = Chunks::default();
    while let Some(mut chunk) = resp.chunk().await.map_err(|e| Error::Transport(e.into()))? {
        let room = limit.saturating_sub(body.len);
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
    // Only a body that is not cut has to reach a length: `announced` is none for errors.
    if let Some(short) = short_body(body.len, announced) {
        return Err(short);
    }
    let body = body.join();
    Ok(RawResponse { status, headers, body, secrets: Vec::new(), redirected_to: None })
}

/// The length a successful answer's body must reach: the HTTP stack's own count
/// (`Content-Length` of a body it does not decode). None for an error answer, whose status
/// and excerpt are kept whatever came, nor for a HEAD answer or a 204, which may state a
/// length they do not carry (over HTTP/2, hyper passes it on).
pub(crate) fn announced_body_length(resp: &reqwest::Response, head: bool) -> Option<u64> {
    let status = resp.status().as_u16();
    resp.content_length().filter(|_| is_success(status) && status != 204 && !head)
}

/// The error for a body that ended, as the HTTP stack saw it, before the length it
/// announced: an HTTP/2 stream reset with `NO_ERROR` ends a body for hyper as cleanly as its
/// last frame does. A transport error of the body, so that a `GET` is sent again and a
/// download resumes. `announced` comes from [`announced_body_length`].
pub(crate) fn short_body(received: u64, announced: Option<u64>) -> Option<Error> {
    let announced = announced.filter(|&announced| received < announced)?;
    Some(Error::Transport(crate::TransportError::body(format!(
        "the response body ended after {received} of the {announced} bytes it announced"
    ))))
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
        crate::reader::from_str("null").or_else(|_| crate::reader::from_str("{}"))
    } else {
        crate::reader::from_str(text)
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
    // The HTTP stack decodes gzip and then drops the header: one still there names a coding
    // the body is still in, which explains a failure better than the byte it failed at.
    let coding = raw.headers.get(http::header::CONTENT_ENCODING).and_then(|v| v.to_str().ok()).map(str::trim);
    if let Some(coding) = coding.filter(|c| !c.is_empty() && !c.eq_ignore_ascii_case("identity")) {
        message.push_str(&format!(" (the body is {coding:?}-encoded, which the client does not decode)"));
    }
    Error::Decode { status: raw.status, message, body_excerpt: excerpt(&scrub_body(raw.body.clone(), &secrets)) }
}

/// The size of the pieces a media body is handed to the HTTP stack in: the stack asks for
/// the next only once it wrote the last (or buffered it), so each request for one is
/// progress, seen every 2 s even at 1 Mbit/s.
pub(crate) const SLICE: usize = 256 << 10;

/// `data` in pieces of [`SLICE`] bytes, without copying.
pub(crate) fn slices(data: bytes::Bytes) -> impl Iterator<Item = bytes::Bytes> {
    (0..data.len().div_ceil(SLICE)).map(move |i| data.slice(i * SLICE..((i + 1) * SLICE).min(data.len())))
}

/// `stream`, recording progress in `activity` as each piece is taken.
pub(crate) fn touching<S: futures_core::Stream>(
    stream: S,
    activity: Arc<crate::retry::Activity>,
) -> impl futures_core::Stream<Item = S::Item> {
    futures_util::StreamExt::map(stream, move |item| {
        activity.touch();
        item
    })
}

/// A request body of `data`, in pieces that record progress in `activity`: for the chunks
/// of a resumable upload, whose attempt timeout bounds inactivity.
pub(crate) fn sliced_body(data: bytes::Bytes, activity: Arc<crate::retry::Activity>) -> reqwest::Body {
    let pieces = futures_util::stream::iter(slices(data).map(Ok::<_, std::convert::Infallible>));
    reqwest::Body::wrap_stream(touching(pieces, activity))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_connect_failures_and_rate_limits_are_retried_for_non_idempotent_methods() {
        use crate::retry::should_retry;
        let connect = Error::Transport(crate::TransportError::connect("refused"));
        assert!(should_retry(&connect, false));
        assert!(should_retry(&connect, true));
        let lost = Error::Transport(crate::TransportError::request("reset"));
        assert!(!should_retry(&lost, false));
        assert!(should_retry(&lost, true));
        let unavailable = Error::from(ServiceError::from_response(503, &HeaderMap::new(), b""));
        assert!(!should_retry(&unavailable, false));
        assert!(should_retry(&unavailable, true));
        let limited = Error::from(ServiceError::from_response(429, &HeaderMap::new(), b""));
        assert!(should_retry(&limited, false));
        assert!(!should_retry(&Error::Timeout, false));
        assert!(should_retry(&Error::Timeout, true));
        let bad = Error::from(ServiceError::from_response(400, &HeaderMap::new(), b""));
        assert!(!should_retry(&bad, true));
        assert!(!should_retry(&Error::InvalidRequest("too long".into()), true));
    }

    fn raw(body: &'static [u8]) -> RawResponse {
        RawResponse {
            status: 200,
            headers: HeaderMap::new(),
            body: bytes::Bytes::from_static(body),
            secrets: Vec::new(),
            redirected_to: None,
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
        assert!(decode::<crate::reader::Serde<serde_json::Map<String, serde_json::Value>>>(&raw(b""))
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
    fn secrets_spelled_with_json_escapes_are_scrubbed_too() {
        let secrets = [Some("ya29.SECRET-TOKEN-1"), Some("AIzaSECRET-KEY-2")];
        // Valid JSON: read again in plain form, then scrubbed; other escapes survive.
        let json = br#"{"error":{"message":"t=ya29\u002eSECRET-TOKEN-1 k=AIza\u0053ECRET-KEY-2 \"q\"\n"}}"#;
        let out = scrub_body(bytes::Bytes::from_static(json), &secrets);
        let text = std::str::from_utf8(&out).unwrap();
        assert_eq!(text, r#"{"error":{"message":"t=<redacted> k=<redacted> \"q\"\n"}}"#);
        // Not JSON: the excerpt shows the text with its escapes undone and the secret redacted.
        let broken = br#"{"echo": "ya29\u002eSECRET\/TOKEN-1" ... ya29.SECRET\u002fTOKEN"#;
        let secrets = [Some("ya29.SECRET/TOKEN-1")];
        let out = scrub_body(bytes::Bytes::from_static(broken), &secrets);
        assert_eq!(std::str::from_utf8(&out).unwrap(), r#"{"echo": "<redacted>" ... ya29.SECRET/TOKEN"#);
        // Escapes that spell no secret are left alone, surrogate pairs decode.
        let innocent = br#"not json \ud83d\ude00 \u00e9"#;
        let out = scrub_body(bytes::Bytes::from_static(innocent), &secrets);
        assert_eq!(&out[..], &innocent[..]);
        assert_eq!(
            unescape_json_leniently(br#"\ud83d\ude00 \u00e9 \ud800 \x \u12"#),
            "😀 é \u{FFFD} \\x \\u12".as_bytes()
        );
    }

    #[test]
    fn scrub_replaces_every_occurrence() {
        let body = bytes::Bytes::from_static(b"key=SECRETKEY1 and SECRETKEY1; tok=TOKEN123456");
        let out = scrub(body, &[Some("SECRETKEY1"), None, Some("TOKEN123456"), Some("x")]);
        assert_eq!(&out[..], b"key=<redacted> and <redacted>; tok=<redacted>");
    }
}
