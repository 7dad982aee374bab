//! The HTTP layer: reqwest, set up for Google APIs, behind a one-method trait.
//!
//! reqwest gives what a client on the real network needs and this crate should not write
//! itself: HTTP/2 by ALPN with HTTP/1.1 fallback, gzip, pooling, proxies (`http`, `https`,
//! SOCKS, the environment), redirects. What this module adds is the configuration Google
//! APIs want and the rules this crate promises (see [`HttpClientBuilder`]), and
//! [`HttpTransport`], through which an application's own `reqwest::Client`, a
//! `reqwest-middleware` client or a test double can carry the requests instead.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::CertificateDer;

use crate::BoxFuture;

type BoxError = Box<dyn StdError + Send + Sync>;

/// Redirects followed before giving up.
const MAX_REDIRECTS: usize = 10;

/// What sends the requests of a [`Client`](crate::Client): reqwest by default.
///
/// Implement it to put something between the runtime and the network: a
/// `reqwest-middleware` client (implemented with the `reqwest-middleware` cargo feature), a
/// recording or failing double in tests, a client with its own metrics. Requests arrive
/// complete (URL, headers, credentials, body); an implementation sends each once and
/// returns the response head with a body still to be read. Retries, timeouts and the
/// mutation queue are the runtime's business, around this call.
///
/// ```
/// use discovery_runtime::reqwest::{Client, Request, Response};
/// use discovery_runtime::{BoxFuture, HttpTransport, TransportError};
///
/// /// Counts requests, then lets reqwest send them.
/// struct Counting {
///     inner: Client,
///     sent: std::sync::atomic::AtomicUsize,
/// }
///
/// impl HttpTransport for Counting {
///     fn execute(&self, request: Request) -> BoxFuture<'_, Result<Response, TransportError>> {
///         self.sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
///         HttpTransport::execute(&self.inner, request)
///     }
/// }
/// ```
pub trait HttpTransport: Send + Sync + 'static {
    /// Sends `request` and returns the response, whatever its status.
    fn execute(&self, request: reqwest::Request) -> BoxFuture<'_, Result<reqwest::Response, TransportError>>;
}

impl HttpTransport for reqwest::Client {
    fn execute(&self, request: reqwest::Request) -> BoxFuture<'_, Result<reqwest::Response, TransportError>> {
        let method = SentMethod::of(request.method());
        let sending = reqwest::Client::execute(self, request);
        Box::pin(async move { polled_with(&SENT_METHOD, method, sending).await.map_err(TransportError::from) })
    }
}

/// The method of the request whose response reqwest is handling, as the redirect policy
/// needs it and reqwest does not tell it (its `Attempt` has the status and URLs only).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum SentMethod {
    /// Not sent through [`HttpTransport::execute`] of a reqwest or reqwest-middleware client
    /// (an application using the `reqwest::Client` that [`HttpClientBuilder`] made
    /// directly): reqwest's own rules.
    Unknown,
    GetOrHead,
    Post,
    Other,
}

impl SentMethod {
    fn of(method: &http::Method) -> Self {
        match *method {
            http::Method::GET | http::Method::HEAD => SentMethod::GetOrHead,
            http::Method::POST => SentMethod::Post,
            _ => SentMethod::Other,
        }
    }

    /// Why the redirect `status` must not be followed for this method: reqwest (through
    /// tower-http, as browsers do) turns a POST into a GET after a 301 or 302, and any
    /// method but HEAD into a GET after a 303, dropping the body. A write would then "succeed"
    /// with whatever the new URL answers a GET. 307 and 308 keep the method and body.
    fn refuses(self, status: u16) -> Option<&'static str> {
        match (self, status) {
            (SentMethod::Post, 301 | 302) => Some("a 301 or 302 would send this POST again as a GET, without its body"),
            (SentMethod::Post | SentMethod::Other, 303) => {
                Some("a 303 would send this request again as a GET, without its body")
            }
            _ => None,
        }
    }
}

thread_local! {
    /// Set while reqwest's response future is polled ([`polled_with`]): reqwest calls the
    /// redirect policy from within that poll, on the same thread.
    static SENT_METHOD: std::cell::Cell<SentMethod> = const { std::cell::Cell::new(SentMethod::Unknown) };
}

/// Which statuses answer a request ([`Prepared::answers`](crate::call::Prepared)).
type Answers = fn(u16) -> bool;

thread_local! {
    /// The statuses that answer the request being sent, set by [`answering`]: a redirect
    /// status among them is the answer, not a redirect (the `308 Resume Incomplete` of a
    /// resumable upload, which a server may send with a `Location`).
    static ANSWERS: std::cell::Cell<Option<Answers>> = const { std::cell::Cell::new(None) };
}

/// `sending` (a transport's response future), polled with `answers` in [`ANSWERS`] for the
/// redirect policy.
pub(crate) fn answering<F: std::future::Future + Unpin>(
    answers: Answers,
    sending: F,
) -> impl std::future::Future<Output = F::Output> {
    polled_with(&ANSWERS, Some(answers), sending)
}

/// `sending`, with `key` holding `value` during each of its polls (and what it held before
/// restored after): how the redirect policy, which reqwest calls from within the poll of
/// its response future, learns what it needs of the request being sent.
fn polled_with<T: Copy + 'static, F: std::future::Future + Unpin>(
    key: &'static std::thread::LocalKey<std::cell::Cell<T>>,
    value: T,
    mut sending: F,
) -> impl std::future::Future<Output = F::Output> {
    std::future::poll_fn(move |cx| {
        let outer = key.replace(value);
        let polled = std::pin::Pin::new(&mut sending).poll(cx);
        key.set(outer);
        polled
    })
}

impl<T: HttpTransport + ?Sized> HttpTransport for Arc<T> {
    fn execute(&self, request: reqwest::Request) -> BoxFuture<'_, Result<reqwest::Response, TransportError>> {
        (**self).execute(request)
    }
}

#[cfg(feature = "reqwest-middleware")]
impl HttpTransport for reqwest_middleware::ClientWithMiddleware {
    fn execute(&self, request: reqwest::Request) -> BoxFuture<'_, Result<reqwest::Response, TransportError>> {
        let method = SentMethod::of(request.method());
        let sending = Box::pin(reqwest_middleware::ClientWithMiddleware::execute(self, request));
        Box::pin(async move {
            match polled_with(&SENT_METHOD, method, sending).await {
                Ok(response) => Ok(response),
                Err(reqwest_middleware::Error::Reqwest(e)) => Err(TransportError::from(e)),
                Err(reqwest_middleware::Error::Middleware(e)) => {
                    // A middleware's error often wraps reqwest's, URL included.
                    let e: BoxError = match e.downcast::<reqwest::Error>() {
                        Ok(reqwest_error) => return Err(TransportError::from(reqwest_error)),
                        Err(other) => other.into_boxed_dyn_error(),
                    };
                    Err(TransportError::new(Kind::Request, Some(e)))
                }
            }
        })
    }
}

/// Why a request could not be sent or its response read: connecting (DNS, TCP, TLS,
/// proxy), exchanging the request and the response head, reading the body, or a redirect
/// this crate refuses to follow. Its message (and `Debug`, which shows the same) never
/// contains the URL, which may carry an API key, nor the request's credentials.
pub struct TransportError {
    kind: Kind,
    source: Option<BoxError>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Connect,
    /// The server's certificate was refused (unknown authority, wrong name, expired): a
    /// connection that was not made, and will not be made by trying again.
    Certificate,
    Request,
    Body,
    Redirect,
    /// The server refused the request before processing any of it (HTTP/2: the stream was
    /// reset with `REFUSED_STREAM`, or a graceful `GOAWAY` left it out), so it can be sent
    /// again whatever its method.
    Unprocessed,
    /// The request cannot be sent as it is (a URL over the HTTP stack's limit, say):
    /// reported as [`Error::InvalidRequest`](crate::Error::InvalidRequest), never retried.
    Unsendable,
    /// The answer is not HTTP: a status line, version or header the HTTP stack cannot
    /// parse, or a head over its size limit. A server or proxy that answers so does it
    /// again; Google's Python client does not retry it either.
    Malformed,
}

impl TransportError {
    /// A failure to connect (DNS, TCP, TLS, proxy): nothing of the request was sent, so
    /// the runtime may retry even a mutation.
    pub fn connect(source: impl Into<BoxError>) -> Self {
        Self::new(Kind::Connect, Some(without_url(source.into())))
    }

    /// A failure after the request may have been sent and before a response head arrived.
    /// When an HTTP/2 error below `source` shows that the server refused the request
    /// unprocessed, the error says so ([`is_unprocessed`](Self::is_unprocessed)), and when an
    /// HTTP/1 parse error shows that the answer was not HTTP, so does it
    /// ([`is_malformed`](Self::is_malformed)).
    pub fn request(source: impl Into<BoxError>) -> Self {
        let source = without_url(source.into());
        let kind = if refused_unprocessed(source.as_ref()) {
            Kind::Unprocessed
        } else if is_unparsable_answer(source.as_ref()) {
            Kind::Malformed
        } else {
            Kind::Request
        };
        Self::new(kind, Some(source))
    }

    /// A response body that stopped before its end or could not be decoded (reset,
    /// truncated, malformed chunking or gzip).
    pub fn body(source: impl Into<BoxError>) -> Self {
        Self::new(Kind::Body, Some(without_url(source.into())))
    }

    /// Replaces, in what the error shows, every occurrence of `secrets` (a request's token
    /// and API key, as given and as encoded in a URL): an error of a custom transport may
    /// quote the request.
    pub(crate) fn scrub(&mut self, secrets: &[&str]) {
        let shown = self.to_string();
        let secrets = secrets.iter().filter(|s| s.len() >= 8);
        if secrets.clone().any(|secret| shown.contains(*secret)) {
            let mut text = self.causes().map(ToString::to_string).collect::<Vec<_>>().join(": ");
            for secret in secrets {
                crate::error::redact_in(&mut text, secret);
            }
            self.source = Some(text.into());
        }
    }

    /// Whether no connection could be made (so nothing of the request was sent).
    pub fn is_connect(&self) -> bool {
        matches!(self.kind, Kind::Connect | Kind::Certificate)
    }

    /// Whether the server refused the request before processing any of it: an HTTP/2
    /// stream reset with `REFUSED_STREAM`, or left out by the server's graceful `GOAWAY`
    /// (RFC 9113, section 8.7). The runtime sends such a request again at once, whatever
    /// its method.
    pub fn is_unprocessed(&self) -> bool {
        self.kind == Kind::Unprocessed
    }

    /// Whether the server's TLS certificate was refused (an authority the client does not
    /// trust, another name, expired). Not retried: see
    /// [`ClientBuilder::add_root_certificate`](crate::ClientBuilder::add_root_certificate).
    pub fn is_certificate(&self) -> bool {
        self.kind == Kind::Certificate
    }

    /// Whether the response body stopped before its end or could not be decoded.
    pub fn is_body(&self) -> bool {
        self.kind == Kind::Body
    }

    /// Whether a redirect was refused: too many of them, one from `https` to `http`, one
    /// to a URL that is not `http` or `https`, or one that would send a write again as a
    /// `GET`.
    pub fn is_redirect(&self) -> bool {
        self.kind == Kind::Redirect
    }

    /// Whether the server's answer was not HTTP (an unparsable status line, version or
    /// header, or a head over the HTTP stack's size limit). Not retried.
    pub fn is_malformed(&self) -> bool {
        self.kind == Kind::Malformed
    }

    /// Whether connecting or reading took longer than a timeout of the HTTP client
    /// ([`ClientBuilder::connect_timeout`](crate::ClientBuilder::connect_timeout), or one
    /// set on an application's own `reqwest::Client`).
    pub fn is_timeout(&self) -> bool {
        self.causes().any(|e| {
            e.downcast_ref::<reqwest::Error>().is_some_and(reqwest::Error::is_timeout)
                || e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        })
    }

    /// Whether trying again could succeed: a failed connection or exchange may be
    /// transient, a refused redirect will not change.
    pub(crate) fn is_transient(&self) -> bool {
        matches!(self.kind, Kind::Connect | Kind::Request | Kind::Body | Kind::Unprocessed)
    }

    /// Whether the request can never be sent as it is.
    pub(crate) fn is_unsendable(&self) -> bool {
        self.kind == Kind::Unsendable
    }

    fn new(kind: Kind, source: Option<BoxError>) -> Self {
        TransportError { kind, source }
    }

    /// The source and the sources below it.
    fn causes(&self) -> impl Iterator<Item = &(dyn StdError + 'static)> {
        let first = self.source.as_deref().map(|e| e as &(dyn StdError + 'static));
        std::iter::successors(first, |e: &&(dyn StdError + 'static)| (*e).source())
    }
}

impl From<reqwest::Error> for TransportError {
    fn from(e: reqwest::Error) -> Self {
        let kind = if e.is_builder() {
            Kind::Unsendable
        } else if e.is_redirect() {
            Kind::Redirect
        } else if e.is_connect() && refuses_certificate(&e) {
            Kind::Certificate
        } else if e.is_connect() {
            Kind::Connect
        } else if e.is_body() || e.is_decode() {
            Kind::Body
        } else if refused_unprocessed(&e) {
            Kind::Unprocessed
        } else if is_unparsable_answer(&e) {
            Kind::Malformed
        } else {
            Kind::Request
        };
        // reqwest's message names the URL, and with it an API key.
        Self::new(kind, Some(Box::new(e.without_url())))
    }
}

/// `e` without the URL reqwest puts in its errors (a middleware or a custom transport may
/// hand one on).
fn without_url(e: BoxError) -> BoxError {
    match e.downcast::<reqwest::Error>() {
        Ok(reqwest_error) => Box::new(reqwest_error.without_url()),
        Err(other) => other,
    }
}

impl fmt::Debug for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // What `Display` shows (filtered of URLs and secrets), not the raw sources.
        f.debug_struct("TransportError").field("kind", &self.kind).field("message", &self.to_string()).finish()
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.kind {
            Kind::Connect => "could not connect to the server",
            Kind::Certificate => "the server's TLS certificate was refused",
            Kind::Request => "the request failed before a response arrived",
            Kind::Body => "the response body could not be read",
            Kind::Redirect => "redirect refused",
            Kind::Unprocessed => "the server refused the request without processing it",
            Kind::Unsendable => "the request cannot be sent",
            Kind::Malformed => "the server's answer is not valid HTTP",
        })?;
        // The causes are folded into the message, since most callers print only the top
        // error. reqwest's own layers ("error sending request", "client error (Connect)")
        // say less than the kind above and are left out.
        for cause in self.causes() {
            let text = cause.to_string();
            let generic = text.starts_with("error sending request")
                || text.starts_with("client error (")
                || text.starts_with("error following redirect")
                || text.starts_with("builder error")
                || text.starts_with("request or response body error")
                || text.starts_with("error decoding response body")
                || text.starts_with("error reading a body from connection")
                || text.is_empty();
            if !generic {
                write!(f, ": {text}")?;
            }
        }
        Ok(())
    }
}

impl StdError for TransportError {}

/// Whether rustls refused the server's certificate somewhere below `e` (an `io::Error`
/// hides its inner error from `source()`, so it is opened on the way).
fn refuses_certificate(e: &(dyn StdError + 'static)) -> bool {
    let mut next = Some(e);
    while let Some(cause) = next {
        if let Some(tls) = cause.downcast_ref::<rustls::Error>() {
            return matches!(tls, rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented);
        }
        next = match cause.downcast_ref::<std::io::Error>().and_then(std::io::Error::get_ref) {
            Some(inner) => Some(inner as &(dyn StdError + 'static)),
            None => cause.source(),
        };
    }
    false
}

/// Whether an HTTP/1 parse error of hyper's is among the causes: the answer was not HTTP
/// (a status line, version or header it cannot read, or a head over its size limit).
fn is_unparsable_answer(e: &(dyn StdError + 'static)) -> bool {
    std::iter::successors(Some(e), |e: &&(dyn StdError + 'static)| (*e).source())
        .any(|cause| cause.downcast_ref::<hyper::Error>().is_some_and(hyper::Error::is_parse))
}

/// Whether an HTTP/2 error below `e` shows that the server did not process the request: its
/// stream reset by the server with `REFUSED_STREAM`, or a `GOAWAY` with `NO_ERROR` from the
/// server, which h2 reports only to the streams the server says it did not process (RFC 9113,
/// section 8.7).
fn refused_unprocessed(e: &(dyn StdError + 'static)) -> bool {
    std::iter::successors(Some(e), |e: &&(dyn StdError + 'static)| (*e).source()).any(|cause| {
        cause.downcast_ref::<h2::Error>().is_some_and(|h2| {
            let reason = h2.reason();
            h2.is_remote()
                && ((h2.is_reset() && reason == Some(h2::Reason::REFUSED_STREAM))
                    || (h2.is_go_away() && reason == Some(h2::Reason::NO_ERROR)))
        })
    })
}

/// A redirect this crate does not follow; the source of a [`TransportError`] for which
/// [`is_redirect`](TransportError::is_redirect) is true.
#[derive(Debug)]
struct RedirectRefused(&'static str);

impl fmt::Display for RedirectRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl StdError for RedirectRefused {}

/// Which proxies the HTTP client uses. No `Debug`: a proxy URL may hold a password.
#[derive(Clone, Default)]
pub(crate) enum ProxyConfig {
    /// `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` (or their lowercase forms),
    /// read by reqwest when the client is built.
    #[default]
    Environment,
    /// Every request through this proxy.
    All(String),
    /// No proxy, whatever the environment says.
    None,
}

/// Where TLS server certificates are checked against.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Roots {
    /// Mozilla's roots, compiled in (the `webpki-roots` crate).
    #[default]
    Webpki,
    /// The operating system's trust store, read when the client is built.
    Os,
}

/// Makes a `reqwest::Client` the way [`ClientBuilder`](crate::ClientBuilder) makes its own:
/// rustls with the `ring` provider, HTTP/2 by ALPN with HTTP/1.1 fallback, gzip, at most
/// ten redirects and never from `https` to `http`, no `Referer`, credentials dropped when a
/// redirect changes scheme, host or port, TCP keep-alive and no Nagle delay.
///
/// Build one to share it between the clients of several APIs
/// ([`ClientBuilder::http_client`](crate::ClientBuilder::http_client)): one pool, one TLS
/// set-up. (Clients of one API for many users share theirs through
/// [`Client::with_token_provider`](crate::Client::with_token_provider).)
///
/// ```
/// let http = discovery_runtime::HttpClientBuilder::new().pool_idle_timeout(std::time::Duration::from_secs(30)).build()?;
/// # let _ = http;
/// # Ok::<(), discovery_runtime::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct HttpClientBuilder {
    settings: HttpSettings,
}

impl HttpClientBuilder {
    /// The defaults: proxies from the environment, Mozilla's roots, 90 s pool idle timeout,
    /// no connect timeout.
    pub fn new() -> Self {
        Self::default()
    }

    /// See [`ClientBuilder::proxy`](crate::ClientBuilder::proxy).
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.settings.proxy = ProxyConfig::All(url.into());
        self
    }

    /// See [`ClientBuilder::no_proxy`](crate::ClientBuilder::no_proxy).
    pub fn no_proxy(mut self) -> Self {
        self.settings.proxy = ProxyConfig::None;
        self
    }

    /// See [`ClientBuilder::add_root_certificate`](crate::ClientBuilder::add_root_certificate).
    pub fn add_root_certificate(mut self, certificate: impl Into<Vec<u8>>) -> Self {
        self.settings.extra_roots.push(certificate.into());
        self
    }

    /// See [`ClientBuilder::use_os_trust_store`](crate::ClientBuilder::use_os_trust_store).
    pub fn use_os_trust_store(mut self) -> Self {
        self.settings.roots = Roots::Os;
        self
    }

    /// See [`ClientBuilder::connect_timeout`](crate::ClientBuilder::connect_timeout).
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.settings.connect_timeout = Some(d);
        self
    }

    /// See [`ClientBuilder::pool_idle_timeout`](crate::ClientBuilder::pool_idle_timeout).
    pub fn pool_idle_timeout(mut self, d: Duration) -> Self {
        self.settings.pool_idle_timeout = Some(d);
        self
    }

    /// Builds the client. Fails as [`ClientBuilder::build`](crate::ClientBuilder::build)
    /// does for the same settings.
    pub fn build(self) -> crate::Result<reqwest::Client> {
        self.settings.build(None)
    }
}

impl fmt::Debug for HttpClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.settings;
        f.debug_struct("HttpClientBuilder")
            .field("connect_timeout", &s.connect_timeout)
            .field("pool_idle_timeout", &s.pool_idle_timeout)
            .field("roots", &s.roots)
            .field("extra_roots", &s.extra_roots.len())
            .finish_non_exhaustive()
    }
}

/// Settings of the HTTP client the runtime builds.
#[derive(Clone, Default)]
pub(crate) struct HttpSettings {
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) pool_idle_timeout: Option<Duration>,
    pub(crate) proxy: ProxyConfig,
    pub(crate) roots: Roots,
    /// Trusted besides the roots.
    pub(crate) extra_roots: Vec<Vec<u8>>,
}

impl HttpSettings {
    /// Whether anything differs from the defaults (which an application's own HTTP client
    /// would silently ignore).
    pub(crate) fn is_default(&self) -> bool {
        self.connect_timeout.is_none()
            && self.pool_idle_timeout.is_none()
            && matches!(self.proxy, ProxyConfig::Environment)
            && self.roots == Roots::Webpki
            && self.extra_roots.is_empty()
    }

    /// The reqwest client for these settings; `connections` hears of every connection made.
    pub(crate) fn build(&self, connections: Option<Arc<FirstContact>>) -> crate::Result<reqwest::Client> {
        let mut extra = Vec::new();
        for certificate in &self.extra_roots {
            extra.extend(parse_certificates(certificate)?);
        }
        let tls = tls_config(self.roots, &extra)?;
        let mut builder = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .redirect(redirect_policy())
            // reqwest would send a request again by itself after an HTTP/2 REFUSED_STREAM or
            // GOAWAY, cloning every request for that; the runtime's one retry loop does it
            // instead (`TransportError::is_unprocessed`), under the call's policy and deadline.
            .retry(reqwest::retry::never().max_retries_per_request(0))
            // A `Referer` would carry the previous URL, API key included.
            .referer(false)
            .tcp_nodelay(true)
            .tcp_keepalive(Duration::from_secs(15))
            .pool_idle_timeout(self.pool_idle_timeout.unwrap_or(DEFAULT_POOL_IDLE_TIMEOUT));
        if let Some(timeout) = self.connect_timeout {
            builder = builder.connect_timeout(timeout);
        }
        if let Some(first_contact) = connections {
            builder = builder.connector_layer(ConnectedLayer(first_contact));
        }
        builder = match &self.proxy {
            ProxyConfig::Environment => builder,
            ProxyConfig::None => builder.no_proxy(),
            ProxyConfig::All(url) => {
                // The URL may hold a password: the messages leave it out.
                let unusable = |why: &str| crate::Error::InvalidRequest(format!("the proxy URL cannot be used: {why}"));
                let scheme = url::Url::parse(url).map_err(|e| unusable(&e.to_string()))?.scheme().to_owned();
                if !PROXY_SCHEMES.contains(&scheme.as_str()) {
                    return Err(unusable(&format!("`{scheme}` proxies are not supported")));
                }
                let proxy = reqwest::Proxy::all(url.as_str()).map_err(|e| unusable(&e.without_url().to_string()))?;
                builder.proxy(proxy)
            }
        };
        builder.build().map_err(|e| crate::Error::Transport(TransportError::connect(e.without_url())))
    }
}

/// Keeps the first requests of a client from each opening a connection of its own.
///
/// A fresh client sending many requests at once (a service starting under load) would have
/// hyper open one TLS connection per request: whether a server speaks HTTP/2 is known only
/// after the handshake (ALPN), so the pool cannot tell the requests to share one, and a WAN
/// benchmark saw 100 concurrent calls make 100 handshakes and 100 slow starts. So, as Go's
/// HTTP/2 transport coalesces its dials, the first `https` request goes alone; the others
/// wait until it has a connection (the runtime's own HTTP client says when one is made) or
/// an answer, at most [`FIRST_CONTACT_WAIT`], and then find it in the pool, multiplexed when
/// it is HTTP/2.
#[derive(Default)]
pub(crate) struct FirstContact {
    made: std::sync::atomic::AtomicBool,
    gate: tokio::sync::Mutex<()>,
    connected: tokio::sync::Notify,
}

/// How long concurrent first requests wait for the first connection before opening
/// connections of their own: a few round trips of a slow link.
pub(crate) const FIRST_CONTACT_WAIT: Duration = Duration::from_secs(1);

impl FirstContact {
    /// `None` once a connection was made or a request got an answer; otherwise waits for
    /// that (or for the requests ahead to give up), and the guard makes this request the
    /// one the others wait for.
    pub(crate) async fn enter(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        use std::sync::atomic::Ordering;
        if self.made.load(Ordering::Acquire) {
            return None;
        }
        // Registered before `made` is read again, so that a connection made in between is
        // not missed.
        let mut connected = std::pin::pin!(self.connected.notified());
        connected.as_mut().enable();
        if self.made.load(Ordering::Acquire) {
            return None;
        }
        let turn = std::pin::pin!(tokio::time::timeout(FIRST_CONTACT_WAIT, self.gate.lock()));
        match futures_util::future::select(turn, connected).await {
            futures_util::future::Either::Left((Ok(guard), _)) => (!self.made.load(Ordering::Acquire)).then_some(guard),
            // Waited long enough, or the connection is there.
            _ => None,
        }
    }

    /// A connection was made, or a request got an answer: the pool has a connection.
    pub(crate) fn made(&self) {
        if !self.made.swap(true, std::sync::atomic::Ordering::AcqRel) {
            self.connected.notify_waiters();
        }
    }
}

/// Tells a client's [`FirstContact`] when reqwest's connector has made a connection, so that
/// requests waiting for the first one can go and share it.
#[derive(Clone)]
struct ConnectedLayer(Arc<FirstContact>);

impl<S> tower_layer::Layer<S> for ConnectedLayer {
    type Service = Connected<S>;

    fn layer(&self, inner: S) -> Connected<S> {
        Connected { inner, first_contact: self.0.clone() }
    }
}

#[derive(Clone)]
struct Connected<S> {
    inner: S,
    first_contact: Arc<FirstContact>,
}

impl<S, Target> tower_service::Service<Target> for Connected<S>
where
    S: tower_service::Service<Target>,
    S::Future: Send + 'static,
    S::Response: 'static,
    S::Error: 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, target: Target) -> Self::Future {
        let connecting = self.inner.call(target);
        let first_contact = self.first_contact.clone();
        Box::pin(async move {
            let connection = connecting.await?;
            first_contact.made();
            Ok(connection)
        })
    }
}

/// The proxies reqwest speaks (SOCKS through its `socks` feature).
const PROXY_SCHEMES: &[&str] = &["http", "https", "socks4", "socks4a", "socks5", "socks5h"];

/// How long an idle pooled connection is kept: reqwest's default. Google front ends close
/// idle connections after a few minutes, and proxies and NAT may drop them silently.
pub(crate) const DEFAULT_POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// Follows at most ten redirects, never from `https` to `http` (the request, credentials
/// included, would travel in clear text), never to a scheme other than `http` and
/// `https`, and never one that would turn a write into a GET ([`SentMethod::refuses`]); a
/// status the request takes as its answer ([`answering`]) is not followed at all. reqwest itself drops `Authorization`, cookies and proxy credentials when the
/// scheme, host or port changes, and `Referer` is off.
fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        if ANSWERS.get().is_some_and(|answers| answers(attempt.status().as_u16())) {
            return attempt.stop();
        }
        let next = attempt.url();
        let refuse = if attempt.previous().len() > MAX_REDIRECTS {
            Some("too many redirects")
        } else if !matches!(next.scheme(), "http" | "https") {
            Some("the new URL is not http or https")
        } else if next.scheme() == "http" && attempt.previous().last().is_some_and(|prev| prev.scheme() == "https") {
            Some("from https to http")
        } else {
            SENT_METHOD.get().refuses(attempt.status().as_u16())
        };
        match refuse {
            Some(why) => attempt.error(RedirectRefused(why)),
            None => attempt.follow(),
        }
    })
}

/// The certificates in `bytes`, PEM text (every `CERTIFICATE` block) or one DER
/// certificate, each checked to be usable as a root.
pub(crate) fn parse_certificates(bytes: &[u8]) -> crate::Result<Vec<CertificateDer<'static>>> {
    let invalid = |why: &str| crate::Error::InvalidRequest(format!("invalid root certificate: {why}"));
    let certificates = if bytes.trim_ascii_start().starts_with(b"-----BEGIN") {
        let certificates = CertificateDer::pem_slice_iter(bytes)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| invalid(&e.to_string()))?;
        if certificates.is_empty() {
            return Err(invalid("no CERTIFICATE block in the PEM text"));
        }
        certificates
    } else {
        vec![CertificateDer::from(bytes.to_vec())]
    };
    for certificate in &certificates {
        rustls::RootCertStore::empty().add(certificate.clone()).map_err(|e| invalid(&e.to_string()))?;
    }
    Ok(certificates)
}

/// The `ring` provider of rustls: pure Rust and assembly, so that no C crypto library
/// (aws-lc) has to be built wherever the runtime compiles.
///
/// rustls 0.23.48 deprecates it because ring has no post-quantum key exchange
/// (X25519MLKEM768); the classical groups it offers are what Google's front ends accept
/// too. An application that wants the hybrid exchange passes its own `reqwest::Client`
/// built with aws-lc-rs (`ClientBuilder::http_client`).
#[allow(deprecated)]
fn ring_provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// The largest TLS record the client writes, as rustls counts it (the 5-byte header and the
/// plaintext; on the wire 17 bytes more in TLS 1.3, 24 in TLS 1.2): small enough that a
/// record fits in one full-size TCP segment of an Ethernet path (1428 bytes over IPv6 with
/// TCP timestamps, 1448 over IPv4).
///
/// A server can act on a request only once the record that ends it has arrived whole. With
/// rustls's default of 16 KiB, a burst of calls at connection start that is larger than the
/// first congestion window (10 segments) ends inside a record whose last segments leave a
/// round trip later, and every request in that record waits for them: 100 concurrent
/// `people.get` on the bench's 40 ms link took 280 ms, and 256 ms with records of this
/// size. After a lost segment, too, only the records it touches wait for the resend. The
/// cost is 22 bytes per record (1.6 % of an upload) and more records to seal: rustls with
/// ring still sealed about 2,900 MiB/s against 4,000 MiB/s with full records in a test on the
/// bench machine, far above what one connection uploads. Go's `crypto/tls` makes the same
/// trade by starting every connection with small records; rustls has no such adaptive
/// sizing, hence one fixed size.
const TLS_MAX_RECORD: usize = 1400;

/// rustls with the `ring` provider (no aws-lc build), TLS 1.2 and 1.3, ALPN offering
/// HTTP/2 then HTTP/1.1, records of at most [`TLS_MAX_RECORD`] bytes.
fn tls_config(roots: Roots, extra: &[CertificateDer<'static>]) -> crate::Result<rustls::ClientConfig> {
    let tls_error = |e: rustls::Error| crate::Error::Transport(TransportError::connect(e));
    let mut store = rustls::RootCertStore::empty();
    match roots {
        Roots::Webpki => store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        Roots::Os => {
            let found = rustls_native_certs::load_native_certs();
            // Unreadable entries are skipped, as browsers do; an empty store is an error.
            let (added, _ignored) = store.add_parsable_certificates(found.certs);
            if added == 0 {
                let why = found.errors.first().map_or_else(|| "none found".to_owned(), ToString::to_string);
                return Err(crate::Error::Transport(TransportError::connect(format!(
                    "no usable certificate in the operating system's trust store: {why}"
                ))));
            }
        }
    }
    for certificate in extra {
        store.add(certificate.clone()).map_err(tls_error)?;
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(ring_provider()))
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?
        .with_root_certificates(store)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    config.max_fragment_size = Some(TLS_MAX_RECORD);
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reqwest_errors_keep_their_kind_and_lose_their_url() {
        let too_long = format!("http://127.0.0.1:9/{}?key=SECRET-KEY", "a".repeat(70_000));
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let client = HttpSettings::default().build(None).unwrap();
        let err = runtime.block_on(async {
            let request = reqwest::Request::new(reqwest::Method::GET, too_long.parse().unwrap());
            HttpTransport::execute(&client, request).await.unwrap_err()
        });
        assert!(err.is_unsendable() && !err.is_transient(), "{err:?}");
        assert!(!err.to_string().contains("SECRET"), "{err}");
        assert!(!format!("{err:?}").contains("SECRET"), "{err:?}");

        let refused = runtime.block_on(async {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            drop(listener);
            let url = format!("http://{addr}/v1?key=SECRET-KEY");
            HttpTransport::execute(&client, reqwest::Request::new(reqwest::Method::GET, url.parse().unwrap()))
                .await
                .unwrap_err()
        });
        assert!(refused.is_connect() && refused.is_transient(), "{refused:?}");
        let message = refused.to_string();
        assert!(message.starts_with("could not connect to the server: "), "{message}");
        assert!(!message.contains("SECRET") && !message.contains("error sending request"), "{message}");
    }

    #[test]
    fn timeouts_are_found_among_the_causes() {
        let timed_out = std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out");
        let err = TransportError::connect(timed_out);
        assert!(err.is_timeout() && err.is_connect() && err.is_transient());
        assert_eq!(err.to_string(), "could not connect to the server: connect timed out");
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert!(!TransportError::connect(refused).is_timeout());
    }

    #[test]
    fn the_tls_configuration_offers_http2_then_http1() {
        let config = tls_config(Roots::Webpki, &[]).unwrap();
        assert_eq!(config.alpn_protocols, [b"h2".to_vec(), b"http/1.1".to_vec()]);
    }
}
