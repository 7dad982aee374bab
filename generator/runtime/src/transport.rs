//! HTTP/1.1 over `hyper-util`'s pooled client: TLS (rustls, webpki roots), proxies from the
//! environment or the builder, and redirects followed by this crate's own rules.
//!
//! Why not reqwest: its layers (a redirect layer on every client, whatever the policy, and
//! two more URL parses per request) took about 30K of the 166K instructions of a small
//! `people.get` (callgrind, docs/benchmarks.md), and its redirect and `Referer` rules had
//! to be configured against leaking credentials anyway. The rules are written out here
//! instead, where `tests/transport.rs`, `tests/faults.rs`, `tests/security.rs` and
//! `tests/http/requests.rs` hold them.

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, StatusCode, Uri};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_rustls::{HttpsConnector, MaybeHttpsStream};
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::CertificateDer;
use tokio::net::TcpStream;
use tower_service::Service;
use url::Url;

type BoxError = Box<dyn StdError + Send + Sync>;

/// Redirects followed before giving up.
const MAX_REDIRECTS: usize = 10;

/// Why the request could not be sent or its response read: connecting (DNS, TCP, TLS,
/// proxy), exchanging the request and the response head, reading the body, or a redirect
/// this crate refuses to follow. Its message and sources never contain the URL, which may
/// carry an API key.
#[derive(Debug)]
pub struct TransportError {
    kind: Kind,
    source: Option<BoxError>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Connect,
    Request,
    Body,
    Redirect(&'static str),
    Proxy(&'static str),
}

impl TransportError {
    /// Whether no connection could be made (so nothing of the request was sent).
    pub fn is_connect(&self) -> bool {
        matches!(self.kind, Kind::Connect | Kind::Proxy(_))
    }

    /// Whether the response body stopped before its end (reset, truncated, malformed
    /// chunking).
    pub fn is_body(&self) -> bool {
        self.kind == Kind::Body
    }

    /// Whether a redirect was refused: too many of them, one from `https` to `http`, or one
    /// to a URL that is not `http` or `https`.
    pub fn is_redirect(&self) -> bool {
        matches!(self.kind, Kind::Redirect(_))
    }

    /// Whether connecting took longer than
    /// [`ClientBuilder::connect_timeout`](crate::ClientBuilder::connect_timeout) allows.
    pub fn is_timeout(&self) -> bool {
        self.causes().any(|e| e.downcast_ref::<io::Error>().is_some_and(|io| io.kind() == io::ErrorKind::TimedOut))
    }

    /// Whether trying again could succeed: a failed connection or exchange may be
    /// transient, a refused redirect or a proxy that cannot be used will not change.
    pub(crate) fn is_transient(&self) -> bool {
        matches!(self.kind, Kind::Connect | Kind::Request | Kind::Body)
    }

    fn new(kind: Kind, source: Option<BoxError>) -> Self {
        TransportError { kind, source }
    }

    /// The source and the sources below it.
    fn causes(&self) -> impl Iterator<Item = &(dyn StdError + 'static)> {
        causes(self.source.as_deref().map(|e| e as &(dyn StdError + 'static)))
    }

    /// A failure while reading a response body, as the runtime's error.
    pub(crate) fn body(e: hyper::Error) -> crate::Error {
        crate::Error::Transport(Self::new(Kind::Body, Some(e.into())))
    }

    fn exchange(e: hyper_util::client::legacy::Error) -> Self {
        // The connector's own refusals (a proxy it cannot use) keep their kind, which says
        // that trying again is pointless.
        let own = causes(StdError::source(&e)).find_map(|cause| cause.downcast_ref::<TransportError>());
        let kind = match own {
            Some(own) => own.kind,
            None if e.is_connect() => Kind::Connect,
            None => Kind::Request,
        };
        Self::new(kind, Some(e.into()))
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            Kind::Connect => f.write_str("could not connect to the server"),
            Kind::Request => f.write_str("the request failed before a response arrived"),
            Kind::Body => f.write_str("the response body could not be read"),
            Kind::Redirect(why) => write!(f, "redirect refused: {why}"),
            Kind::Proxy(why) => write!(f, "the proxy cannot be used: {why}"),
        }?;
        // The causes are folded into the message, since most callers print only the top
        // error. The legacy client's own layer says only "client error (Connect)", which the
        // kind above says better.
        // A `TransportError` below this one comes from the connector, whose kind this one
        // took over along with its message.
        let told =
            |e: &&(dyn StdError + 'static)| e.is::<hyper_util::client::legacy::Error>() || e.is::<TransportError>();
        for cause in self.causes().filter(|e| !told(e)) {
            write!(f, ": {cause}")?;
        }
        Ok(())
    }
}

/// `first` and the sources below it.
fn causes<'a>(first: Option<&'a (dyn StdError + 'static)>) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(first, |e: &&'a (dyn StdError + 'static)| (*e).source())
}

impl StdError for TransportError {}

/// Which proxies to use. No `Debug`: a proxy URL may hold a password.
#[derive(Clone, Default)]
pub(crate) enum ProxyConfig {
    /// `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` (or their lowercase forms),
    /// read when the client is built.
    #[default]
    Environment,
    /// Every request through this proxy.
    All(String),
    /// No proxy, whatever the environment says.
    None,
}

impl ProxyConfig {
    fn matcher(&self) -> Option<Matcher> {
        match self {
            ProxyConfig::None => None,
            ProxyConfig::All(url) => Some(Matcher::builder().all(url.clone()).build()),
            ProxyConfig::Environment => {
                // A matcher is consulted on every request; without any proxy variable it
                // would only ever say no.
                let vars = ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"];
                vars.iter().any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty())).then(Matcher::from_env)
            }
        }
    }
}

/// Settings of the connection layer.
#[derive(Default)]
pub(crate) struct TransportConfig {
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) pool_idle_timeout: Option<Duration>,
    pub(crate) proxy: ProxyConfig,
    /// Trusted besides the webpki roots.
    pub(crate) extra_roots: Vec<CertificateDer<'static>>,
}

/// The pooled HTTP client and the rules for redirects and proxies.
#[derive(Clone)]
pub(crate) struct Transport {
    client: hyper_util::client::legacy::Client<Connector, Full<Bytes>>,
    proxies: Option<Arc<Matcher>>,
}

/// The request to send: what [`Transport::send`] needs to send it again on a redirect.
pub(crate) struct Outgoing {
    pub(crate) method: Method,
    pub(crate) url: Url,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Option<Bytes>,
}

impl Transport {
    pub(crate) fn new(config: &TransportConfig) -> Result<Self, TransportError> {
        let mut http = HttpConnector::new();
        // Only `https` URLs get TLS, decided by the wrapping connector.
        http.enforce_http(false);
        http.set_nodelay(true);
        // Detects peers that vanished without closing (as reqwest's default does).
        http.set_keepalive(Some(Duration::from_secs(15)));
        http.set_connect_timeout(config.connect_timeout);
        let tls = tls_config(&config.extra_roots).map_err(|e| TransportError::new(Kind::Connect, Some(e.into())))?;
        let https = https_connector(tls.clone(), http.clone());
        let proxies = config.proxy.matcher().map(Arc::new);
        let connector = Connector { https, http, tls, proxies: proxies.clone() };

        let mut builder = hyper_util::client::legacy::Client::builder(TokioExecutor::new());
        builder.pool_idle_timeout(config.pool_idle_timeout);
        // The pool's timer reaps idle connections; without an idle timeout it would only
        // keep a timer armed for nothing (and every wait for a response would arm a kernel
        // timer too).
        if config.pool_idle_timeout.is_some() {
            builder.pool_timer(TokioTimer::new());
        }
        Ok(Transport { client: builder.build(connector), proxies })
    }

    /// Sends `request`, following redirects: at most ten, never from `https` to `http`,
    /// never with credentials to another host (scheme, host or port), and without `Referer`
    /// (which would carry the previous URL, API key included). `301`/`302` turn a `POST`
    /// into a body-less `GET`, as `303` does with any method but `HEAD`; `307`/`308` repeat
    /// the request as it was. A redirect without a usable `Location` (a resumable upload's
    /// `308`, for one) is the answer.
    pub(crate) async fn send(&self, request: Outgoing) -> Result<http::Response<Incoming>, TransportError> {
        let Outgoing { mut method, mut url, mut headers, mut body } = request;
        let mut redirects = 0;
        loop {
            let uri = Uri::try_from(url.as_str()).map_err(|e| TransportError::new(Kind::Request, Some(e.into())))?;
            let mut req = http::Request::new(Full::new(body.clone().unwrap_or_default()));
            *req.method_mut() = method.clone();
            *req.uri_mut() = uri;
            *req.headers_mut() = headers.clone();
            self.authorize_plain_proxy(&mut req);
            let response = self.client.request(req).await.map_err(TransportError::exchange)?;

            let status = response.status();
            let location = response.headers().get(header::LOCATION);
            let Some(next) = redirect(status, location, &url)? else {
                return Ok(response);
            };
            redirects += 1;
            if redirects > MAX_REDIRECTS {
                return Err(TransportError::new(Kind::Redirect("too many redirects"), None));
            }
            if !same_origin(&next, &url) {
                for name in
                    [header::AUTHORIZATION, header::COOKIE, header::PROXY_AUTHORIZATION, header::WWW_AUTHENTICATE]
                {
                    headers.remove(name);
                }
            }
            if becomes_get(status, &method) {
                method = Method::GET;
                body = None;
                for name in [header::CONTENT_TYPE, header::CONTENT_LENGTH, header::CONTENT_ENCODING] {
                    headers.remove(name);
                }
            }
            tracing::debug!(status = status.as_u16(), "following a redirect");
            // The response's body is dropped unread: a redirect's is not worth a connection.
            drop(response);
            url = next;
        }
    }

    /// A plain `http` request through a proxy goes to the proxy itself, in absolute form,
    /// and carries the proxy's credentials (a tunnel carries them in its `CONNECT`).
    fn authorize_plain_proxy(&self, req: &mut http::Request<Full<Bytes>>) {
        let Some(matcher) = &self.proxies else { return };
        if req.uri().scheme() != Some(&http::uri::Scheme::HTTP) {
            return;
        }
        if let Some(auth) = matcher.intercept(req.uri()).as_ref().and_then(|i| i.basic_auth().cloned()) {
            req.headers_mut().insert(header::PROXY_AUTHORIZATION, auth);
        }
    }
}

/// Where a response redirects to: `None` when it is the answer (not a redirect status, or
/// no `Location` that resolves against `current`, such as a resumable upload's `308`); an
/// error for a redirect that must not be followed.
fn redirect(status: StatusCode, location: Option<&HeaderValue>, current: &Url) -> Result<Option<Url>, TransportError> {
    if !matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308) {
        return Ok(None);
    }
    let Some(next) = location.and_then(|v| v.to_str().ok()).and_then(|l| current.join(l).ok()) else {
        return Ok(None);
    };
    if !matches!(next.scheme(), "http" | "https") {
        return Err(TransportError::new(Kind::Redirect("the new URL is not http or https"), None));
    }
    // The request, API key included, would travel in clear text.
    if current.scheme() == "https" && next.scheme() == "http" {
        return Err(TransportError::new(Kind::Redirect("from https to http"), None));
    }
    Ok(Some(next))
}

/// Whether credentials may follow a redirect from `b` to `a`: same scheme, host and port.
fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme() && a.host_str() == b.host_str() && a.port_or_known_default() == b.port_or_known_default()
}

/// Whether a redirect turns the request into a body-less `GET`: `303` for anything but
/// `HEAD`; `301` and `302` for `POST`, as browsers and reqwest do.
fn becomes_get(status: StatusCode, method: &Method) -> bool {
    match status {
        StatusCode::SEE_OTHER => method != Method::HEAD,
        StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND => method == Method::POST,
        _ => false,
    }
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

/// rustls with the `ring` provider and the webpki roots (the connector sets ALPN to
/// HTTP/1.1).
fn tls_config(extra_roots: &[CertificateDer<'static>]) -> Result<rustls::ClientConfig, rustls::Error> {
    let mut roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    for certificate in extra_roots {
        roots.add(certificate.clone())?;
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

fn https_connector<C>(tls: rustls::ClientConfig, inner: C) -> HttpsConnector<C> {
    hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls).https_or_http().enable_http1().wrap_connector(inner)
}

/// Connects directly, through a `CONNECT` tunnel (an `https` URL through a proxy) or to
/// the proxy itself (an `http` URL through a proxy).
#[derive(Clone)]
struct Connector {
    https: HttpsConnector<HttpConnector>,
    http: HttpConnector,
    tls: rustls::ClientConfig,
    proxies: Option<Arc<Matcher>>,
}

type Connecting = Pin<Box<dyn Future<Output = Result<Conn, BoxError>> + Send>>;

impl Service<Uri> for Connector {
    type Response = Conn;
    type Error = BoxError;
    type Future = Connecting;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // `HttpConnector` is always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let intercept = self.proxies.as_ref().and_then(|m| m.intercept(&dst));
        let Some(intercept) = intercept else {
            let connecting = self.https.call(dst);
            return Box::pin(async move { Ok(Conn { io: connecting.await?, proxied: false }) });
        };
        let proxy = intercept.uri().clone();
        if proxy.scheme() != Some(&http::uri::Scheme::HTTP) {
            let why = "only http:// proxies are supported";
            return Box::pin(async move { Err(TransportError::new(Kind::Proxy(why), None).into()) });
        }
        if dst.scheme() == Some(&http::uri::Scheme::HTTPS) {
            let mut tunnel = Tunnel::new(proxy, self.http.clone());
            if let Some(auth) = intercept.basic_auth() {
                tunnel = tunnel.with_auth(auth.clone());
            }
            let mut https = https_connector(self.tls.clone(), tunnel);
            Box::pin(async move { Ok(Conn { io: https.call(dst).await?, proxied: false }) })
        } else {
            let connecting = self.https.call(proxy);
            Box::pin(async move { Ok(Conn { io: connecting.await?, proxied: true }) })
        }
    }
}

/// A connection, marked when it leads to a proxy that expects absolute-form requests.
struct Conn {
    io: MaybeHttpsStream<TokioIo<TcpStream>>,
    proxied: bool,
}

impl Connection for Conn {
    fn connected(&self) -> Connected {
        self.io.connected().proxy(self.proxied)
    }
}

impl hyper::rt::Read for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for Conn {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }
}

/// The body's announced length, from `Content-Length`.
pub(crate) fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(header::CONTENT_LENGTH)?.to_str().ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    fn location(s: &str) -> HeaderValue {
        HeaderValue::from_str(s).unwrap()
    }

    #[test]
    fn redirects_resolve_relative_locations_and_refuse_downgrades() {
        let current = url("https://a.example/v1/x?key=k");
        let found = StatusCode::FOUND;
        let next = redirect(found, Some(&location("/v2/y")), &current).unwrap().unwrap();
        assert_eq!(next.as_str(), "https://a.example/v2/y");
        let next = redirect(StatusCode::TEMPORARY_REDIRECT, Some(&location("z")), &current).unwrap().unwrap();
        assert_eq!(next.as_str(), "https://a.example/v1/z");

        let err = redirect(found, Some(&location("http://a.example/")), &current).unwrap_err();
        assert!(err.is_redirect() && !err.is_transient(), "{err}");
        assert_eq!(err.to_string(), "redirect refused: from https to http");
        let err = redirect(found, Some(&location("ftp://a.example/")), &current).unwrap_err();
        assert!(err.is_redirect(), "{err}");
        // http to https is an upgrade, and fine.
        assert!(redirect(found, Some(&location("https://b.example/")), &url("http://a.example/")).unwrap().is_some());
    }

    #[test]
    fn statuses_that_are_answers() {
        let current = url("https://a.example/upload?upload_id=1");
        // A resumable upload's "308 Resume Incomplete" has no Location.
        assert!(redirect(StatusCode::PERMANENT_REDIRECT, None, &current).unwrap().is_none());
        assert!(redirect(StatusCode::OK, Some(&location("/elsewhere")), &current).unwrap().is_none());
        assert!(redirect(StatusCode::NOT_MODIFIED, Some(&location("/elsewhere")), &current).unwrap().is_none());
        // A Location that does not parse ends the chain: the redirect is the answer.
        assert!(redirect(StatusCode::FOUND, Some(&location("http://[::1")), &current).unwrap().is_none());
    }

    #[test]
    fn origins_compare_scheme_host_and_port() {
        let a = url("https://a.example/x");
        assert!(same_origin(&url("https://a.example:443/y"), &a));
        assert!(!same_origin(&url("https://a.example:8443/x"), &a));
        assert!(!same_origin(&url("https://b.example/x"), &a));
        assert!(!same_origin(&url("http://a.example:443/x"), &a));
    }

    #[test]
    fn which_redirects_become_gets() {
        use StatusCode as S;
        assert!(becomes_get(S::SEE_OTHER, &Method::PUT));
        assert!(becomes_get(S::SEE_OTHER, &Method::POST));
        assert!(!becomes_get(S::SEE_OTHER, &Method::HEAD));
        assert!(becomes_get(S::FOUND, &Method::POST));
        assert!(becomes_get(S::MOVED_PERMANENTLY, &Method::POST));
        assert!(!becomes_get(S::FOUND, &Method::PATCH));
        assert!(!becomes_get(S::TEMPORARY_REDIRECT, &Method::POST));
        assert!(!becomes_get(S::PERMANENT_REDIRECT, &Method::PUT));
    }

    #[test]
    fn timeouts_are_found_among_the_causes() {
        let timed_out = io::Error::new(io::ErrorKind::TimedOut, "connect timed out");
        let err = TransportError::new(Kind::Connect, Some(Box::new(timed_out)));
        assert!(err.is_timeout() && err.is_connect() && err.is_transient());
        assert_eq!(err.to_string(), "could not connect to the server: connect timed out");
        let refused = io::Error::new(io::ErrorKind::ConnectionRefused, "refused");
        assert!(!TransportError::new(Kind::Connect, Some(Box::new(refused))).is_timeout());
    }
}
