//! The client shared by every call of one API, and its builder.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderValue;

use crate::auth::TokenProvider;
use crate::error::{Error, Result};
use crate::info::ApiInfo;
use crate::retry::RetryPolicy;
use crate::transport::{ProxyConfig, Transport, TransportConfig};

/// A handle to one API: base URL, credentials, HTTP connection pool and defaults.
///
/// Cloning is cheap and clones share everything, including the connection pool and the
/// mutation lock (see [`ClientBuilder::serialize_mutations`]).
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<ClientInner>,
}

pub(crate) struct ClientInner {
    pub(crate) api: &'static ApiInfo,
    /// Base URL for method paths; always ends with `/`.
    pub(crate) base_url: String,
    /// Root URL for paths that start with `/` (media uploads); always ends with `/`.
    pub(crate) root_url: String,
    /// `base_url` and `root_url` parsed, so that each request parses only its path and query.
    pub(crate) base: url::Url,
    pub(crate) root: url::Url,
    pub(crate) http: Transport,
    pub(crate) token_provider: Option<Arc<dyn TokenProvider>>,
    pub(crate) api_key: Option<String>,
    pub(crate) user_agent: HeaderValue,
    pub(crate) timeout: Option<Duration>,
    pub(crate) retry: RetryPolicy,
    pub(crate) mutation_lock: Option<tokio::sync::Mutex<()>>,
    /// Largest response body read into memory.
    pub(crate) max_response_bytes: u64,
}

impl Client {
    /// Starts configuring a client for `api`.
    pub fn builder(api: &'static ApiInfo) -> ClientBuilder<Client> {
        ClientBuilder::new(api)
    }

    /// The API this client calls.
    pub fn api(&self) -> &'static ApiInfo {
        self.inner.api
    }

    /// The URL that method paths are relative to, ending with `/`.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The URL that media upload paths (those starting with `/`) are relative to, ending with
    /// `/`.
    pub fn root_url(&self) -> &str {
        &self.inner.root_url
    }

    /// The default retry policy of calls made with this client.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    /// Joins a path (expanded template) to the base URL, or to the root URL when it starts
    /// with `/` as Discovery media upload paths do.
    #[cfg(test)]
    pub(crate) fn resolve(&self, path: &str) -> String {
        let (prefix, _, rel) = self.resolve_parts(path);
        format!("{prefix}{rel}")
    }

    /// [`resolve`](Self::resolve) in parts: the URL `path` is relative to, as text and
    /// parsed, and the rest of `path`.
    pub(crate) fn resolve_parts<'p>(&self, path: &'p str) -> (&str, &url::Url, &'p str) {
        let i = &self.inner;
        match path.strip_prefix('/') {
            Some(rooted) => (&i.root_url, &i.root, rooted),
            None => (&i.base_url, &i.base, path),
        }
    }

    /// Holds the mutation lock, when mutations are serialised, for as long as the guard lives.
    pub(crate) async fn mutation_guard(&self, mutation: bool) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match (&self.inner.mutation_lock, mutation) {
            (Some(lock), true) => Some(lock.lock().await),
            _ => None,
        }
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        f.debug_struct("Client")
            .field("api", &format_args!("{}:{}", i.api.name(), i.api.version()))
            .field("base_url", &i.base_url)
            .field("token_provider", &i.token_provider.as_ref().map(|_| "<set>"))
            .field("api_key", &i.api_key.as_ref().map(|_| "<redacted>"))
            .field("timeout", &i.timeout)
            .field("retry", &i.retry)
            .field("serialize_mutations", &i.mutation_lock.is_some())
            .field("max_response_bytes", &i.max_response_bytes)
            .finish_non_exhaustive()
    }
}

/// Configures a [`Client`]. Generated crates use `C` to build their own client type, which
/// wraps a [`Client`].
pub struct ClientBuilder<C = Client> {
    api: &'static ApiInfo,
    base_url: Option<String>,
    root_url: Option<String>,
    token_provider: Option<Arc<dyn TokenProvider>>,
    api_key: Option<String>,
    user_agent: Option<String>,
    timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    pool_idle_timeout: Option<Duration>,
    retry: RetryPolicy,
    serialize_mutations: bool,
    proxy: ProxyConfig,
    root_certificates: Vec<Vec<u8>>,
    max_response_bytes: u64,
    _client: PhantomData<fn() -> C>,
}

impl<C> fmt::Debug for ClientBuilder<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("api", &format_args!("{}:{}", self.api.name(), self.api.version()))
            .field("base_url", &self.base_url)
            .field("token_provider", &self.token_provider.as_ref().map(|_| "<set>"))
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .field("pool_idle_timeout", &self.pool_idle_timeout)
            .field("retry", &self.retry)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish_non_exhaustive()
    }
}

/// The default of [`ClientBuilder::max_response_bytes`]: 256 MiB.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 256 << 20;

impl<C: From<Client>> ClientBuilder<C> {
    /// A builder with the defaults: the document's URLs and user agent, no credentials, no
    /// timeout, [`RetryPolicy::default`], mutations serialised, response bodies up to
    /// [`DEFAULT_MAX_RESPONSE_BYTES`](crate::DEFAULT_MAX_RESPONSE_BYTES).
    pub fn new(api: &'static ApiInfo) -> Self {
        ClientBuilder {
            api,
            base_url: None,
            root_url: None,
            token_provider: None,
            api_key: None,
            user_agent: None,
            timeout: None,
            connect_timeout: None,
            pool_idle_timeout: None,
            retry: RetryPolicy::default(),
            serialize_mutations: true,
            proxy: ProxyConfig::Environment,
            root_certificates: Vec::new(),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            _client: PhantomData,
        }
    }

    /// Overrides the base URL (root URL plus service path), for example to reach a test
    /// server. A missing trailing `/` is added.
    ///
    /// Media upload paths, which Discovery documents give relative to the root URL, are then
    /// resolved against this URL with the service path removed from its end when present,
    /// unless [`root_url`](Self::root_url) is also set.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Overrides the root URL; the base URL becomes this URL plus the API's service path
    /// (unless [`base_url`](Self::base_url) is also set).
    pub fn root_url(mut self, url: impl Into<String>) -> Self {
        self.root_url = Some(url.into());
        self
    }

    /// Authenticates every call with bearer tokens from `provider`.
    pub fn token_provider(mut self, provider: impl TokenProvider + 'static) -> Self {
        self.token_provider = Some(Arc::new(provider));
        self
    }

    /// Sends an API key as the `key` query parameter of every call. The key never appears in
    /// `Debug` output, errors or traces.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Replaces the `User-Agent` header.
    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.user_agent = Some(ua.into());
        self
    }

    /// Limits each attempt (sending the request and reading the whole response; for
    /// downloads, until the response headers arrive, and then each wait for the next chunk
    /// of the body). Unlimited by default.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = Some(d);
        self
    }

    /// Limits establishing the TCP connection (to the proxy, when there is one; the TLS
    /// handshake and a proxy's `CONNECT` exchange are covered by the attempt's
    /// [`timeout`](Self::timeout)). A
    /// connection that times out is an [`Error::Transport`] for which
    /// [`Error::is_timeout`] is true, and may be retried even for mutations, since nothing
    /// was sent.
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = Some(d);
        self
    }

    /// Closes pooled keep-alive connections that stayed idle this long. By default they are
    /// kept until the server closes them (the pool notices at once, and a request that meets
    /// a connection being closed under it is sent again on a new one when nothing of it had
    /// been written).
    ///
    /// Why no timeout by default (reqwest and `hyper-util` default to 90 s): reaping idle
    /// connections keeps a timer armed for the life of the client, so that every wait for a
    /// response also arms a kernel timer; on the loopback benchmark that cost about 3 % of
    /// the throughput of small requests. Set it when a proxy or load balancer drops idle
    /// connections without closing them.
    pub fn pool_idle_timeout(mut self, d: Duration) -> Self {
        self.pool_idle_timeout = Some(d);
        self
    }

    /// Sets the default retry policy of calls.
    pub fn retry_policy(mut self, p: RetryPolicy) -> Self {
        self.retry = p;
        self
    }

    /// When on (the default), mutations (every method but `GET` and `HEAD`) made through
    /// this client and its clones are sent one at a time: each holds an async lock from its
    /// first attempt to its last, retries and upload chunks included. Google recommends this
    /// for APIs such as People, where parallel writes for one user raise latency and
    /// failure rates.
    pub fn serialize_mutations(mut self, on: bool) -> Self {
        self.serialize_mutations = on;
        self
    }

    /// Limits the size of a response body read into memory (everything but downloads, which
    /// stream). A successful response with a larger body, announced or actually sent, fails
    /// with [`Error::ResponseTooLarge`] as soon as that is known; an error response is cut
    /// at the limit (only its start is kept anyway). The default,
    /// [`DEFAULT_MAX_RESPONSE_BYTES`](crate::DEFAULT_MAX_RESPONSE_BYTES), keeps a hostile or
    /// broken server from exhausting memory while leaving room for any real JSON response.
    pub fn max_response_bytes(mut self, limit: u64) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// Sends every request through this HTTP proxy (`http://host:port`, with
    /// `user:password@` for basic authentication), whatever the environment says: `https`
    /// URLs through a `CONNECT` tunnel, `http` URLs as absolute-form requests to the proxy.
    ///
    /// By default the proxies of the environment are used, read when the client is built:
    /// `HTTPS_PROXY` for `https` URLs, `HTTP_PROXY` for `http` URLs (ignored in CGI
    /// programs, where a request header can set it), `ALL_PROXY` for both, `NO_PROXY` for
    /// the hosts and domains that are reached directly, each also in lowercase. Only
    /// `http://` proxies are supported; with another kind, requests fail with
    /// [`Error::Transport`].
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy = ProxyConfig::All(url.into());
        self
    }

    /// Connects directly, ignoring the proxy variables of the environment.
    pub fn no_proxy(mut self) -> Self {
        self.proxy = ProxyConfig::None;
        self
    }

    /// Trusts this certificate authority as well as the built-in roots (Mozilla's, from the
    /// `webpki-roots` crate): for a company proxy that inspects TLS, a private endpoint or a
    /// test server with its own certificate. DER bytes or PEM text, which may hold several
    /// certificates; [`build`](Self::build) fails with [`Error::InvalidRequest`] when they
    /// do not parse.
    pub fn add_root_certificate(mut self, certificate: impl Into<Vec<u8>>) -> Self {
        self.root_certificates.push(certificate.into());
        self
    }

    /// Builds the client.
    ///
    /// Fails with [`Error::InvalidRequest`] when a URL is not an absolute `http`/`https` URL
    /// the user agent is not a valid header value or a root certificate does not parse, and
    /// with [`Error::Transport`] when TLS cannot be set up.
    pub fn build(self) -> Result<C> {
        // The work is done by a non-generic function, compiled once in this crate rather
        // than in every application that builds a client.
        self.untyped().build_client().map(C::from)
    }

    fn untyped(self) -> ClientBuilder<Client> {
        ClientBuilder {
            api: self.api,
            base_url: self.base_url,
            root_url: self.root_url,
            token_provider: self.token_provider,
            api_key: self.api_key,
            user_agent: self.user_agent,
            timeout: self.timeout,
            connect_timeout: self.connect_timeout,
            pool_idle_timeout: self.pool_idle_timeout,
            retry: self.retry,
            serialize_mutations: self.serialize_mutations,
            proxy: self.proxy,
            root_certificates: self.root_certificates,
            max_response_bytes: self.max_response_bytes,
            _client: PhantomData,
        }
    }
}

impl ClientBuilder<Client> {
    fn build_client(self) -> Result<Client> {
        let api = self.api;
        let service_path = api.service_path().trim_start_matches('/');
        let root_url = self.root_url.map(with_slash);
        let base_url = match (self.base_url.map(with_slash), &root_url) {
            (Some(base), _) => base,
            (None, Some(root)) => format!("{root}{service_path}"),
            (None, None) => format!("{}{service_path}", with_slash(api.root_url().to_owned())),
        };
        let base_url = with_slash(base_url);
        let root_url = match root_url {
            Some(root) => root,
            None if !service_path.is_empty() && base_url.ends_with(service_path) => {
                base_url[..base_url.len() - service_path.len()].to_owned()
            }
            None => base_url.clone(),
        };
        let root_url = with_slash(root_url);
        let base = check_url(&base_url)?;
        let root = check_url(&root_url)?;

        let ua = self.user_agent.as_deref().unwrap_or(api.user_agent());
        let user_agent = HeaderValue::from_str(ua)
            .map_err(|_| Error::InvalidRequest("the user agent is not a valid header value".into()))?;

        let mut extra_roots = Vec::new();
        for certificate in &self.root_certificates {
            extra_roots.extend(crate::transport::parse_certificates(certificate)?);
        }
        let http = Transport::new(&TransportConfig {
            connect_timeout: self.connect_timeout,
            pool_idle_timeout: self.pool_idle_timeout,
            proxy: self.proxy,
            extra_roots,
        })
        .map_err(Error::Transport)?;

        let client = Client {
            inner: Arc::new(ClientInner {
                api,
                base_url,
                root_url,
                base,
                root,
                http,
                token_provider: self.token_provider,
                api_key: self.api_key,
                user_agent,
                timeout: self.timeout,
                retry: self.retry,
                mutation_lock: self.serialize_mutations.then(|| tokio::sync::Mutex::new(())),
                max_response_bytes: self.max_response_bytes,
            }),
        };
        Ok(client)
    }
}

fn with_slash(mut url: String) -> String {
    if !url.ends_with('/') {
        url.push('/');
    }
    url
}

fn check_url(url: &str) -> Result<url::Url> {
    match url::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.has_host() => Ok(u),
        _ => Err(Error::InvalidRequest(format!("{url:?} is not an absolute http or https URL"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static API: ApiInfo = ApiInfo::new("compute", "v1", "https://compute.googleapis.com/", "compute/v1/")
        .with_user_agent("google-compute-v1/0.1.0");

    #[test]
    fn urls() {
        let c = Client::builder(&API).build().unwrap();
        assert_eq!(c.base_url(), "https://compute.googleapis.com/compute/v1/");
        assert_eq!(c.root_url(), "https://compute.googleapis.com/");
        assert_eq!(c.resolve("projects/p"), "https://compute.googleapis.com/compute/v1/projects/p");
        assert_eq!(c.resolve("/upload/compute/v1/x"), "https://compute.googleapis.com/upload/compute/v1/x");

        let c = Client::builder(&API).base_url("http://127.0.0.1:9/compute/v1").build().unwrap();
        assert_eq!(c.base_url(), "http://127.0.0.1:9/compute/v1/");
        assert_eq!(c.root_url(), "http://127.0.0.1:9/");

        let c = Client::builder(&API).base_url("http://127.0.0.1:9").build().unwrap();
        assert_eq!(c.base_url(), "http://127.0.0.1:9/");
        assert_eq!(c.root_url(), "http://127.0.0.1:9/");

        let c = Client::builder(&API).root_url("http://127.0.0.1:9").build().unwrap();
        assert_eq!(c.base_url(), "http://127.0.0.1:9/compute/v1/");
        assert_eq!(c.root_url(), "http://127.0.0.1:9/");

        assert!(Client::builder(&API).base_url("not a url").build().is_err());
        assert!(Client::builder(&API).base_url("ftp://x/").build().is_err());
        assert!(Client::builder(&API).user_agent("a\nb").build().is_err());
    }

    #[test]
    fn debug_hides_credentials() {
        let c = Client::builder(&API)
            .api_key("SECRET-KEY")
            .token_provider(crate::auth::StaticToken::new("SECRET-TOKEN"))
            .build()
            .unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }
}
