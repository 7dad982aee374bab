//! The client shared by every call of one API, and its builder.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use http::header::{HeaderMap, HeaderName, HeaderValue, USER_AGENT};

use crate::auth::TokenProvider;
use crate::error::{Error, Result};
use crate::info::ApiInfo;
use crate::retry::RetryPolicy;
use crate::transport::{FirstContact, HttpSettings, HttpTransport, ProxyConfig, Roots};

/// `x-goog-api-client`: the language runtime and this library, as Google's own clients
/// name theirs (`gl-python/3.11.7 gdcl/2.202.0`). `gdcl` is the token Google's Discovery
/// based clients use; its version here is this crate's.
pub const API_CLIENT_HEADER_VALUE: &str =
    concat!("gl-rust/", env!("DISCOVERY_RUNTIME_RUSTC_VERSION"), " gdcl/", env!("CARGO_PKG_VERSION"));

pub(crate) const X_GOOG_API_CLIENT: HeaderName = HeaderName::from_static("x-goog-api-client");
pub(crate) const X_GOOG_API_VERSION: HeaderName = HeaderName::from_static("x-goog-api-version");
pub(crate) const X_GOOG_USER_PROJECT: HeaderName = HeaderName::from_static("x-goog-user-project");

/// The default of [`ClientBuilder::timeout`]: 60 s per attempt, as Google's Python client.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// The default of [`ClientBuilder::max_response_bytes`]: 256 MiB.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 256 << 20;

/// A handle to one API for one user: base URL, HTTP client, credentials and defaults.
///
/// Cloning is cheap and clones share everything, including the mutation queue (see
/// [`ClientBuilder::serialize_mutations`]). [`with_token_provider`](Client::with_token_provider)
/// makes a client for another user that shares the HTTP client and the settings but has
/// its own credentials and its own mutation queue.
#[derive(Clone)]
pub struct Client {
    pub(crate) shared: Arc<Shared>,
    pub(crate) user: Arc<User>,
}

/// What every user's client of one configuration shares.
pub(crate) struct Shared {
    pub(crate) api: &'static ApiInfo,
    /// Base URL for method paths; always ends with `/`.
    pub(crate) base_url: String,
    /// Root URL for paths that start with `/` (media uploads); always ends with `/`.
    pub(crate) root_url: String,
    /// `base_url` and `root_url` parsed, so that each request parses only its path and query.
    pub(crate) base: url::Url,
    pub(crate) root: url::Url,
    pub(crate) http: Arc<dyn HttpTransport>,
    /// Sent with every request: `User-Agent`, `x-goog-api-client`, `x-goog-api-version`,
    /// `x-goog-user-project` and the builder's default headers.
    pub(crate) headers: HeaderMap,
    pub(crate) api_key: Option<String>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) deadline: Option<Duration>,
    pub(crate) retry: RetryPolicy,
    pub(crate) serialize_mutations: bool,
    /// Largest response body read into memory.
    pub(crate) max_response_bytes: u64,
    /// The first-connection gate, when the runtime made the HTTP client (and so hears of its
    /// connections); an application's own client goes without.
    pub(crate) first_contact: Option<Arc<FirstContact>>,
}

/// What belongs to one user: credentials and the queue of their mutations.
pub(crate) struct User {
    pub(crate) token_provider: Option<Arc<dyn TokenProvider>>,
    pub(crate) mutation_queue: Option<Arc<tokio::sync::Mutex<()>>>,
}

/// A place in a user's mutation queue, held until dropped.
pub(crate) type QueueGuard = tokio::sync::OwnedMutexGuard<()>;

impl User {
    fn new(token_provider: Option<Arc<dyn TokenProvider>>, serialize_mutations: bool) -> Arc<User> {
        Arc::new(User {
            token_provider,
            mutation_queue: serialize_mutations.then(|| Arc::new(tokio::sync::Mutex::new(()))),
        })
    }
}

impl Client {
    /// Starts configuring a client for `api`.
    pub fn builder(api: &'static ApiInfo) -> ClientBuilder<Client> {
        ClientBuilder::new(api)
    }

    /// A client for another user: the same HTTP client (one connection pool, one TLS set-up),
    /// settings and URLs, with `provider`'s tokens and a mutation queue of its own, so that
    /// one user's writes never wait for another's. Cheap: one small allocation.
    ///
    /// A service acting for many users builds one client and derives one per user:
    ///
    /// ```
    /// # use discovery_runtime::{auth::StaticToken, ApiInfo, Client};
    /// # static API: ApiInfo = ApiInfo::new("people", "v1", "https://people.googleapis.com/", "");
    /// let shared = Client::builder(&API).build()?;
    /// let alice = shared.with_token_provider(StaticToken::new("ya29.alice"));
    /// let bob = shared.with_token_provider(StaticToken::new("ya29.bob"));
    /// # let _ = (alice, bob);
    /// # Ok::<(), discovery_runtime::Error>(())
    /// ```
    pub fn with_token_provider(&self, provider: impl TokenProvider + 'static) -> Client {
        Client {
            shared: self.shared.clone(),
            user: User::new(Some(Arc::new(provider)), self.shared.serialize_mutations),
        }
    }

    /// Waits for this user's earlier mutations when `mutation` and mutations are
    /// serialised; the guard keeps later ones waiting until it is dropped. The wait ends at
    /// the deadline.
    pub(crate) async fn enter_mutation_queue(
        &self,
        mutation: bool,
        deadline: &crate::retry::Deadline,
    ) -> Result<Option<QueueGuard>> {
        match (&self.user.mutation_queue, mutation) {
            (Some(queue), true) => deadline.bound(queue.clone().lock_owned()).await.map(Some).inspect_err(|_| {
                tracing::debug!("the deadline passed while waiting for earlier mutations");
            }),
            _ => Ok(None),
        }
    }

    /// The API this client calls.
    pub fn api(&self) -> &'static ApiInfo {
        self.shared.api
    }

    /// The URL that method paths are relative to, ending with `/`.
    pub fn base_url(&self) -> &str {
        &self.shared.base_url
    }

    /// The URL that media upload paths (those starting with `/`) are relative to, ending with
    /// `/`.
    pub fn root_url(&self) -> &str {
        &self.shared.root_url
    }

    /// The default retry policy of calls made with this client.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.shared.retry
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
        let s = &self.shared;
        match path.strip_prefix('/') {
            Some(rooted) => (&s.root_url, &s.root, rooted),
            None => (&s.base_url, &s.base, path),
        }
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.shared;
        f.debug_struct("Client")
            .field("api", &format_args!("{}:{}", s.api.name(), s.api.version()))
            .field("base_url", &s.base_url)
            .field("token_provider", &self.user.token_provider.as_ref().map(|_| "<set>"))
            .field("api_key", &s.api_key.as_ref().map(|_| "<redacted>"))
            .field("timeout", &s.timeout)
            .field("deadline", &s.deadline)
            .field("retry", &s.retry)
            .field("serialize_mutations", &s.serialize_mutations)
            .field("max_response_bytes", &s.max_response_bytes)
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
    quota_project: Option<String>,
    default_headers: Vec<(String, String)>,
    timeout: Option<Duration>,
    deadline: Option<Duration>,
    retry: RetryPolicy,
    serialize_mutations: bool,
    max_response_bytes: u64,
    http: Option<Arc<dyn HttpTransport>>,
    http_settings: HttpSettings,
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
            .field("deadline", &self.deadline)
            .field("retry", &self.retry)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("http_client", &self.http.as_ref().map(|_| "<given>"))
            .finish_non_exhaustive()
    }
}

impl<C: From<Client>> ClientBuilder<C> {
    /// A builder with the defaults: the document's URLs and user agent, no credentials, a
    /// [`DEFAULT_TIMEOUT`] per attempt and no deadline, [`RetryPolicy::default`], mutations
    /// serialised, response bodies up to [`DEFAULT_MAX_RESPONSE_BYTES`], and an HTTP client
    /// of its own (see [`http_client`](Self::http_client)).
    pub fn new(api: &'static ApiInfo) -> Self {
        ClientBuilder {
            api,
            base_url: None,
            root_url: None,
            token_provider: None,
            api_key: None,
            user_agent: None,
            quota_project: None,
            default_headers: Vec::new(),
            timeout: Some(DEFAULT_TIMEOUT),
            deadline: None,
            retry: RetryPolicy::default(),
            serialize_mutations: true,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            http: None,
            http_settings: HttpSettings::default(),
            _client: PhantomData,
        }
    }

    /// Overrides the base URL (root URL plus service path), for example to reach a test
    /// server. A missing trailing `/` is added.
    ///
    /// Method paths are relative to the base URL; media upload paths, which Discovery
    /// documents give relative to the root URL (`upload/...`), are resolved against this URL
    /// with the service path removed from its end when present, unless
    /// [`root_url`](Self::root_url) is also set. For an API whose service path is not empty
    /// (`compute/v1/`), [`root_url`](Self::root_url) is usually what a test server needs.
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
    /// `Debug` output, errors or traces. A call that sets `key` itself (a method parameter of
    /// that name, or `param("key", ..)`) sends its own value instead: a URL carries one `key`.
    /// (Google's Python client keeps its `developerKey` in that case; the call's value is
    /// taken here because it is the more specific, as a call's headers replace the client's.)
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Replaces the product part of the `User-Agent` header (by default the generated
    /// crate's name and version). ` (gzip)` is always appended: Google's servers compress
    /// responses only for user agents that say so.
    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.user_agent = Some(ua.into());
        self
    }

    /// Bills quota and charges to this Google Cloud project (`x-goog-user-project`) rather
    /// than to the project of the credentials.
    pub fn quota_project(mut self, project: impl Into<String>) -> Self {
        self.quota_project = Some(project.into());
        self
    }

    /// Sends this header with every request (a method builder's own `.header(..)`
    /// of the same name replaces it). Repeat for several; an invalid name or value fails
    /// [`build`](Self::build).
    pub fn default_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.default_headers.push((name.into(), value.into()));
        self
    }

    /// Limits each attempt: sending the request and reading the whole response (for
    /// downloads, until the response headers arrive, and then each wait for the next chunk
    /// of the body; for media uploads, which may take any time on a slow link, the time
    /// without the body moving, then the wait for the answer). [`DEFAULT_TIMEOUT`] (60 s, as
    /// Google's Python client's socket timeout) by default. An attempt that times out fails
    /// with [`Error::Timeout`], retried for idempotent methods. The call's deadline
    /// ([`deadline`](Self::deadline)) bounds the whole call, uploads included.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = Some(d);
        self
    }

    /// Lets attempts run as long as they take. Calls then end only at their
    /// [`deadline`](Self::deadline), if they have one, so a server that never answers
    /// blocks the call, and with [`serialize_mutations`](Self::serialize_mutations), every
    /// later mutation of the client.
    pub fn no_timeout(mut self) -> Self {
        self.timeout = None;
        self
    }

    /// Gives every call a deadline, `d` after it starts: the wait for the client's earlier
    /// mutations, each attempt and each wait between attempts all end by then, with
    /// [`Error::Timeout`]. None by default (each attempt is still bounded by
    /// [`timeout`](Self::timeout) and the retries by the [`RetryPolicy`]). Builders override
    /// it per call with `.deadline(d)`.
    ///
    /// With mutations serialised, a write stuck on an unanswering server delays the client's
    /// later writes by at most their own deadlines.
    pub fn deadline(mut self, d: Duration) -> Self {
        self.deadline = Some(d);
        self
    }

    /// Sets the default retry policy of calls.
    pub fn retry_policy(mut self, p: RetryPolicy) -> Self {
        self.retry = p;
        self
    }

    /// When on (the default), mutations (every method but `GET` and `HEAD`) made through
    /// this client and its clones are sent one at a time: each holds the client's mutation
    /// queue from its first attempt to its last, retries and upload chunks included. Google
    /// recommends this for APIs such as People, where parallel writes for one user raise
    /// latency and failure rates. Clients for other users
    /// ([`Client::with_token_provider`]) have queues of their own.
    pub fn serialize_mutations(mut self, on: bool) -> Self {
        self.serialize_mutations = on;
        self
    }

    /// Limits the size of a response body read into memory (everything but downloads, which
    /// stream), counted after gzip decoding. A successful response with a larger body,
    /// announced or actually sent, fails with [`Error::ResponseTooLarge`] as soon as that is
    /// known; an error response is cut at the limit, and at 1 MiB at most (only its start is
    /// kept anyway). The default, [`DEFAULT_MAX_RESPONSE_BYTES`], keeps a hostile or broken
    /// server from exhausting memory while leaving room for any real JSON response.
    ///
    /// Decoding is bounded too, whatever this limit: the items of a response's arrays and
    /// maps may take 32 MiB plus 16 bytes per byte of the body (a page of a thousand large
    /// objects takes a few megabytes), so that megabytes of `{},{},…` cannot become
    /// gigabytes of empty objects; beyond that the response is an [`Error::Decode`].
    pub fn max_response_bytes(mut self, limit: u64) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// Sends the requests through the application's own reqwest client: its connection
    /// pool, TLS settings and proxies, shared with the rest of the application. Build it
    /// with gzip on (reqwest's default when its `gzip` feature is compiled, as this crate
    /// asks), and preferably with redirects limited the way this crate limits its own:
    /// [`HttpClientBuilder`](crate::HttpClientBuilder) makes such a client. It also writes
    /// TLS records that fit in a TCP segment, and leaves a request that an HTTP/2 server
    /// refused unprocessed to this crate's retry loop; a client of reqwest's defaults writes
    /// 16 KiB records and first retries such a request itself.
    ///
    /// This crate compiles reqwest's rustls support without a bundled crypto provider (it
    /// brings `ring` itself, so that no C crypto library is built). A client built with
    /// `reqwest::Client::new()` or `reqwest::Client::builder()` then needs one: enable a
    /// TLS feature of reqwest in the application (`rustls` brings aws-lc, with post-quantum
    /// key exchange, which ring lacks), install a process-wide provider first
    /// (`rustls::crypto::aws_lc_rs::default_provider().install_default()`; rustls 0.23.48
    /// deprecates ring's), or use [`HttpClientBuilder`](crate::HttpClientBuilder).
    ///
    /// The connection settings of this builder ([`proxy`](Self::proxy),
    /// [`no_proxy`](Self::no_proxy), [`add_root_certificate`](Self::add_root_certificate),
    /// [`use_os_trust_store`](Self::use_os_trust_store),
    /// [`connect_timeout`](Self::connect_timeout),
    /// [`pool_idle_timeout`](Self::pool_idle_timeout)) configure the client the builder
    /// makes; [`build`](Self::build) fails when they are combined with this.
    pub fn http_client(self, client: reqwest::Client) -> Self {
        self.transport(client)
    }

    /// Sends the requests through `transport`: a `reqwest-middleware` client (with this
    /// crate's `reqwest-middleware` feature), a test double, or anything implementing
    /// [`HttpTransport`]. The same rules as [`http_client`](Self::http_client) apply.
    pub fn transport(mut self, transport: impl HttpTransport) -> Self {
        self.http = Some(Arc::new(transport));
        self
    }

    /// Limits establishing a connection (TCP, and TLS with it). A connection that times
    /// out is an [`Error::Transport`] for which [`Error::is_timeout`] is true, and may be
    /// retried even for mutations, since nothing was sent.
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.http_settings.connect_timeout = Some(d);
        self
    }

    /// Closes pooled keep-alive connections that stayed idle this long (90 s by default;
    /// proxies, NAT and load balancers drop idle connections without closing them).
    pub fn pool_idle_timeout(mut self, d: Duration) -> Self {
        self.http_settings.pool_idle_timeout = Some(d);
        self
    }

    /// Sends every request through this proxy, whatever the environment says: `http://`,
    /// `https://` (TLS to the proxy) or `socks5://`/`socks5h://`, with `user:password@` for
    /// basic authentication. `https` URLs go through a `CONNECT` tunnel, `http` URLs as
    /// absolute-form requests to the proxy.
    ///
    /// By default the proxies of the environment are used, read when the client is built:
    /// `HTTPS_PROXY` for `https` URLs, `HTTP_PROXY` for `http` URLs (ignored in CGI programs,
    /// where a request header can set it), `ALL_PROXY` for both, `NO_PROXY` for the hosts
    /// and domains that are reached directly, each also in lowercase. A proxy URL that does
    /// not parse fails [`build`](Self::build).
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.http_settings.proxy = ProxyConfig::All(url.into());
        self
    }

    /// Connects directly, ignoring the proxy variables of the environment.
    pub fn no_proxy(mut self) -> Self {
        self.http_settings.proxy = ProxyConfig::None;
        self
    }

    /// Trusts this certificate authority as well as the roots (Mozilla's, from the
    /// `webpki-roots` crate, unless [`use_os_trust_store`](Self::use_os_trust_store)): for a
    /// company proxy that inspects TLS, a private endpoint or a test server with its own
    /// certificate. DER bytes or PEM text, which may hold several certificates;
    /// [`build`](Self::build) fails with [`Error::InvalidRequest`] when they do not parse.
    pub fn add_root_certificate(mut self, certificate: impl Into<Vec<u8>>) -> Self {
        self.http_settings.extra_roots.push(certificate.into());
        self
    }

    /// Checks server certificates against the operating system's trust store (read when
    /// the client is built) instead of the roots compiled into this crate: for machines
    /// whose administrators add or remove authorities there. [`build`](Self::build) fails
    /// when the store holds no usable certificate.
    pub fn use_os_trust_store(mut self) -> Self {
        self.http_settings.roots = Roots::Os;
        self
    }

    /// Builds the client.
    ///
    /// Fails with [`Error::InvalidRequest`] when a URL is not an absolute `http`/`https` URL,
    /// a header (user agent, quota project, default header) is not valid, a root certificate
    /// or the proxy URL does not parse, or connection settings were given along with an
    /// HTTP client of the application's; with [`Error::Transport`] when TLS cannot be set up.
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
            quota_project: self.quota_project,
            default_headers: self.default_headers,
            timeout: self.timeout,
            deadline: self.deadline,
            retry: self.retry,
            serialize_mutations: self.serialize_mutations,
            max_response_bytes: self.max_response_bytes,
            http: self.http,
            http_settings: self.http_settings,
            _client: PhantomData,
        }
    }
}

impl ClientBuilder<Client> {
    fn build_client(self) -> Result<Client> {
        let api = self.api;
        // A directory, as the base URL always ends in `/`: a document's `svc/v1` is `svc/v1/`.
        let service_path = match api.service_path().trim_start_matches('/') {
            "" => String::new(),
            path => with_slash(path.to_owned()),
        };
        let root_url = self.root_url.map(with_slash);
        let base_url = match (self.base_url.map(with_slash), &root_url) {
            (Some(base), _) => base,
            (None, Some(root)) => format!("{root}{service_path}"),
            (None, None) => format!("{}{service_path}", with_slash(api.root_url().to_owned())),
        };
        let base_url = with_slash(base_url);
        let root_url = match root_url {
            Some(root) => root,
            None => match base_url.strip_suffix(service_path.as_str()) {
                Some(root) if !service_path.is_empty() => root.to_owned(),
                _ => base_url.clone(),
            },
        };
        let root_url = with_slash(root_url);
        let base = check_url(&base_url)?;
        let root = check_url(&root_url)?;

        let headers =
            default_headers(api, self.user_agent.as_deref(), self.quota_project.as_deref(), &self.default_headers)?;
        let mut first_contact = None;
        let http: Arc<dyn HttpTransport> = match self.http {
            Some(http) if !self.http_settings.is_default() => {
                let _ = http;
                return Err(Error::InvalidRequest(
                    "connection settings (proxy, roots, connect or pool timeouts) apply to the HTTP client the \
                     builder makes, not to one given with `http_client` or `transport`: configure that one instead"
                        .into(),
                ));
            }
            Some(http) => http,
            None => {
                let gate = Arc::new(FirstContact::default());
                first_contact = Some(gate.clone());
                Arc::new(self.http_settings.build(Some(gate))?)
            }
        };

        Ok(Client {
            shared: Arc::new(Shared {
                api,
                base_url,
                root_url,
                base,
                root,
                http,
                headers,
                api_key: self.api_key,
                timeout: self.timeout,
                deadline: self.deadline,
                retry: self.retry,
                serialize_mutations: self.serialize_mutations,
                max_response_bytes: self.max_response_bytes,
                first_contact,
            }),
            user: User::new(self.token_provider, self.serialize_mutations),
        })
    }
}

/// The headers every request of a client carries.
fn default_headers(
    api: &ApiInfo,
    user_agent: Option<&str>,
    quota_project: Option<&str>,
    extra: &[(String, String)],
) -> Result<HeaderMap> {
    let invalid = |what: &str| Error::InvalidRequest(format!("{what} is not a valid header value"));
    let mut headers = HeaderMap::new();
    // Google's performance guide: responses are compressed for user agents containing
    // "gzip" that accept it (reqwest sends `Accept-Encoding: gzip` and decodes).
    let product = user_agent.unwrap_or(api.user_agent());
    let ua = HeaderValue::from_str(&format!("{product} (gzip)")).map_err(|_| invalid("the user agent"))?;
    headers.insert(USER_AGENT, ua);
    headers.insert(X_GOOG_API_CLIENT, HeaderValue::from_static(API_CLIENT_HEADER_VALUE));
    if let Some(version) = api.api_version() {
        headers.insert(X_GOOG_API_VERSION, HeaderValue::from_str(version).map_err(|_| invalid("the API version"))?);
    }
    if let Some(project) = quota_project {
        headers.insert(X_GOOG_USER_PROJECT, HeaderValue::from_str(project).map_err(|_| invalid("the quota project"))?);
    }
    // A default header replaces the built-in one of the same name.
    merge_headers(&mut headers, extra)?;
    Ok(headers)
}

/// Adds headers given by the application (client-wide or per call) to `headers`: a name
/// given replaces what `headers` had under it, and given again it adds a value. The values
/// are marked sensitive, since callers may pass credentials, which keeps them out of any
/// `Debug` output.
pub(crate) fn merge_headers(headers: &mut HeaderMap, given: &[(String, String)]) -> Result<()> {
    let mut replaced: Vec<HeaderName> = Vec::new();
    for (name, value) in given {
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| Error::InvalidRequest(format!("invalid header name {name:?}")))?;
        let mut value = HeaderValue::from_str(value)
            .map_err(|_| Error::InvalidRequest(format!("the value of header `{name}` is not a valid header value")))?;
        value.set_sensitive(true);
        if replaced.contains(&header) {
            headers.append(header, value);
        } else {
            headers.insert(header.clone(), value);
            replaced.push(header);
        }
    }
    Ok(())
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
        .with_user_agent("google-compute-v1/0.1.0")
        .with_api_version("2026-11-01");

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

        // A service path without its final `/` is the same directory.
        static NO_SLASH: ApiInfo = ApiInfo::new("svc", "v1", "https://svc.example.com/", "svc/v1");
        let c = Client::builder(&NO_SLASH).build().unwrap();
        assert_eq!((c.base_url(), c.root_url()), ("https://svc.example.com/svc/v1/", "https://svc.example.com/"));
        assert_eq!(c.resolve("/upload/svc/v1/x"), "https://svc.example.com/upload/svc/v1/x");
        let c = Client::builder(&NO_SLASH).base_url("http://127.0.0.1:9/svc/v1").build().unwrap();
        assert_eq!(c.root_url(), "http://127.0.0.1:9/");

        assert!(Client::builder(&API).base_url("not a url").build().is_err());
        assert!(Client::builder(&API).base_url("ftp://x/").build().is_err());
        assert!(Client::builder(&API).user_agent("a\nb").build().is_err());
        assert!(Client::builder(&API).quota_project("a\nb").build().is_err());
        assert!(Client::builder(&API).default_header("bad name", "v").build().is_err());
        assert!(Client::builder(&API).proxy("not a url").build().is_err());
    }

    #[test]
    fn every_request_carries_googles_headers() {
        let c = Client::builder(&API)
            .quota_project("billing-project")
            .default_header("x-extra", "1")
            .default_header("x-extra", "2")
            .build()
            .unwrap();
        let h = &c.shared.headers;
        assert_eq!(h["user-agent"], "google-compute-v1/0.1.0 (gzip)");
        assert_eq!(h["x-goog-api-version"], "2026-11-01");
        assert_eq!(h["x-goog-user-project"], "billing-project");
        assert_eq!(h.get_all("x-extra").iter().collect::<Vec<_>>(), ["1", "2"]);
        let client = h["x-goog-api-client"].to_str().unwrap();
        let (rust, library) = client.split_once(' ').unwrap();
        let rust_version = rust.strip_prefix("gl-rust/").unwrap();
        assert!(rust_version.split('.').count() >= 3 && rust_version.split('.').all(|p| !p.is_empty()), "{client}");
        assert_eq!(library, concat!("gdcl/", env!("CARGO_PKG_VERSION")));
        let custom = Client::builder(&API).user_agent("my-app/2").build().unwrap();
        assert_eq!(custom.shared.headers["user-agent"], "my-app/2 (gzip)");
    }

    #[test]
    fn connection_settings_do_not_combine_with_an_applications_http_client() {
        let own = crate::HttpClientBuilder::new().build().unwrap();
        let err = Client::builder(&API).http_client(own.clone()).no_proxy().build().unwrap_err();
        assert!(matches!(&err, Error::InvalidRequest(m) if m.contains("http_client")), "{err}");
        assert!(Client::builder(&API).http_client(own).timeout(Duration::from_secs(1)).build().is_ok());
    }

    #[test]
    fn clients_for_other_users_share_everything_but_credentials_and_queue() {
        let shared = Client::builder(&API).build().unwrap();
        let alice = shared.with_token_provider(crate::auth::StaticToken::new("ya29.alice"));
        assert!(Arc::ptr_eq(&shared.shared, &alice.shared));
        assert!(!Arc::ptr_eq(&shared.user, &alice.user));
        assert!(alice.user.mutation_queue.is_some() && alice.user.token_provider.is_some());
        let clone = alice.clone();
        assert!(Arc::ptr_eq(&clone.user, &alice.user), "clones share the queue");
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
