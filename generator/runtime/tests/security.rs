//! Security properties checked on the wire, with a raw server that records the exact
//! request line and headers the client sends:
//!
//! - path parameters that try to leave their template (`..`, `?`, `#`, `%2e%2e`, CR/LF,
//!   backslashes, a leading `/`, Unicode) are rejected before sending or encoded so that
//!   the request reaches the intended resource;
//! - query values cannot add parameters;
//! - the bearer token and the API key never appear in `Debug` or `Display` output, error
//!   chains, traces or `log` records (captured with `tracing-subscriber` at TRACE level,
//!   span events included) across successes, retries, timeouts, redirects and errors; the
//!   token never appears in a URL, and the key only as the `key` query parameter.
//!
//! `tests/http/secrets.rs` checks the basics with a minimal subscriber; this file goes to
//! the wire and through every path that formats an error or an event.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use discovery_runtime::auth::{StaticToken, TokenFuture, TokenProvider};
use discovery_runtime::for_generated_code::{Call, HttpMethod, MethodInfo, PathParam};
use discovery_runtime::{ApiInfo, Client, Error, RetryPolicy};
use serde_json::Value;
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::util::SubscriberInitExt;

mod raw_http;

static API: ApiInfo =
    ApiInfo::new("people", "v1", "https://people.example.invalid/", "svc/v1/").with_user_agent("security-test/0.1");

/// People's `people.get`: `{+resourceName}` checked against a pattern.
static GET_PERSON: MethodInfo = MethodInfo::new("people.people.get", HttpMethod::Get, "v1/{+resourceName}")
    .with_path_params(&[PathParam::new("resourceName", Some("^people/[^/]+$"))])
    .with_scopes(&["https://www.googleapis.com/auth/contacts"])
    .with_media_download();

/// Reserved expansion without a pattern: only the runtime's own checks apply.
static GET_FREE: MethodInfo = MethodInfo::new("t.things.get", HttpMethod::Get, "v1/{+name}:get")
    .with_path_params(&[PathParam::new("name", None)]);

/// Simple expansion without a pattern.
static GET_ITEM: MethodInfo = MethodInfo::new("t.items.get", HttpMethod::Get, "v1/items/{item}/view")
    .with_path_params(&[PathParam::new("item", None)]);

/// A template that starts with its variable, as IAM methods do (`{+resource}:getIamPolicy`).
static GET_IAM: MethodInfo = MethodInfo::new("t.getIamPolicy", HttpMethod::Get, "{+resource}:getIamPolicy")
    .with_path_params(&[PathParam::new("resource", None)]);

/// The request the server gets for `value` in `method`'s only path parameter: its
/// request line, or `None` when the client refused to send it.
async fn request_line(server: &raw::Server, method: &'static MethodInfo, value: &str) -> Option<String> {
    let client = Client::builder(&API).root_url(server.url()).retry_policy(RetryPolicy::none()).build().unwrap();
    let before = server.count();
    let mut call = Call::new(&client, method);
    call.path_param(method.path_params()[0].name(), value);
    match call.send_empty().await {
        Ok(()) => {
            let requests = server.requests();
            assert_eq!(requests.len(), before + 1);
            let request = requests.last().unwrap();
            // Whatever the value, the request goes to this server.
            assert_eq!(request.header("host"), Some(server.addr.to_string().as_str()), "{value:?}");
            Some(request.request_line().to_owned())
        }
        Err(err) => {
            assert!(matches!(err, Error::InvalidPathParameter { .. } | Error::InvalidRequest(_)), "{value:?}: {err:?}");
            assert_eq!(server.count(), before, "{value:?} was rejected but sent anyway");
            None
        }
    }
}

fn line(target: &str) -> Option<String> {
    Some(format!("GET {target} HTTP/1.1"))
}

/// The tests of this file run one at a time. `secrets_never_leak` installs a thread-local
/// subscriber, and tracing caches per call site whether anyone listens: a call site first
/// reached by another test's thread at the same moment can stay cached as unheard, and the
/// span of the call then goes missing from the capture (seen once in CI).
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test]
async fn path_parameters_stay_inside_their_template() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let server = raw::start(|_| raw::ok("{}")).await;
    let cases: &[(&'static MethodInfo, &str, Option<String>)] = &[
        // The pattern refuses other collections and extra segments.
        (&GET_PERSON, "people/../contactGroups/x", None),
        (&GET_PERSON, "people/c1/..", None),
        (&GET_PERSON, "contactGroups/x", None),
        (&GET_PERSON, "people/", None),
        // Values that match the pattern are encoded so that they stay one resource name.
        (&GET_PERSON, "people/c1?x=1", line("/svc/v1/v1/people/c1%3Fx=1")),
        (&GET_PERSON, "people/c1#f", line("/svc/v1/v1/people/c1%23f")),
        (&GET_PERSON, "people/%2e%2e", line("/svc/v1/v1/people/%252e%252e")),
        (&GET_PERSON, "people/..%2fadmin", line("/svc/v1/v1/people/..%252fadmin")),
        (&GET_PERSON, "people/c1\r\nHost: evil", line("/svc/v1/v1/people/c1%0D%0AHost:%20evil")),
        // A space could split the request line.
        (&GET_PERSON, "people/c1 HTTP/1.1", None),
        (&GET_PERSON, "people/c1 HTTP", line("/svc/v1/v1/people/c1%20HTTP")),
        (&GET_PERSON, "people/é日本🦀", line("/svc/v1/v1/people/%C3%A9%E6%97%A5%E6%9C%AC%F0%9F%A6%80")),
        (&GET_PERSON, "people/\u{0}\u{7f}", line("/svc/v1/v1/people/%00%7F")),
        (&GET_PERSON, "people/．．", line("/svc/v1/v1/people/%EF%BC%8E%EF%BC%8E")),
        // Without a pattern, dot segments are refused and everything else is encoded.
        (&GET_FREE, "..", None),
        (&GET_FREE, "a/../../admin", None),
        (&GET_FREE, "a/./b", None),
        (&GET_FREE, "", None),
        (&GET_FREE, "%2e%2e/admin", line("/svc/v1/v1/%252e%252e/admin:get")),
        // URL parsers treat `\` as `/`: encoded, it cannot make a dot segment.
        (&GET_FREE, "..\\admin", line("/svc/v1/v1/..%5Cadmin:get")),
        (&GET_FREE, "a//b", line("/svc/v1/v1/a//b:get")),
        (&GET_ITEM, "..", None),
        (&GET_ITEM, "../admin", line("/svc/v1/v1/items/..%2Fadmin/view")),
        (&GET_ITEM, "a?b#c", line("/svc/v1/v1/items/a%3Fb%23c/view")),
        // A value starting with `/` does not reach the root: only a template decides that.
        (&GET_IAM, "/admin", line("/svc/v1//admin:getIamPolicy")),
        (&GET_IAM, "//evil.example/x", line("/svc/v1///evil.example/x:getIamPolicy")),
        (&GET_IAM, "http://evil.example/x", line("/svc/v1/http://evil.example/x:getIamPolicy")),
    ];
    for (method, value, expected) in cases {
        let got = request_line(&server, method, value).await;
        assert_eq!(&got, expected, "{} {value:?}", method.id());
    }
}

#[tokio::test]
async fn query_values_cannot_add_parameters() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let server = raw::start(|_| raw::ok("{}")).await;
    let client = Client::builder(&API).root_url(server.url()).api_key("AIzaKEY").build().unwrap();
    let mut call = Call::new(&client, &GET_PERSON);
    call.path_param("resourceName", "people/me");
    call.query("personFields", "names&key=stolen#frag");
    call.query("sources", "a\r\nX-Injected: 1");
    call.param("x=1&y", "2&z=3");
    call.send_empty().await.unwrap();
    let request = &server.requests()[0];
    assert_eq!(
        request.request_line(),
        "GET /svc/v1/v1/people/me?personFields=names%26key%3Dstolen%23frag&sources=a%0D%0AX-Injected%3A%201\
         &x%3D1%26y=2%26z%3D3&key=AIzaKEY HTTP/1.1"
    );
    assert_eq!(request.header("x-injected"), None);
}

const TOKEN: &str = "ya29.TOKEN-c2VjcmV0";
const KEY: &str = "AIzaKEY-c2VjcmV0";
/// Part of both secrets: finding it anywhere means part of one leaked.
const SECRET: &str = "c2VjcmV0";

/// The server behind `secrets_never_leak`: what it answers depends on the path, and it
/// echoes the request (with its key and token) wherever an answer can carry text.
fn echoing(request: &raw::Request) -> raw::Answer {
    let echo = request.head.replace("\r\n", " | ");
    let path = request.request_line().split(' ').nth(1).unwrap_or("").to_owned();
    let json_echo = serde_json::to_string(&echo).unwrap();
    if path.contains("/ok") {
        raw::ok(r#"{"name":"ok"}"#)
    } else if path.contains("/flaky") && request.number < 2 {
        raw::response("503 Service Unavailable", "text/html", &format!("<h1>down</h1>{echo}"))
    } else if path.contains("/flaky") {
        raw::ok("{}")
    } else if path.contains("/html200") {
        raw::response("200 OK", "text/html", &format!("<html>{echo}</html>"))
    } else if path.contains("/typed200") {
        // A JSON value of the wrong type: serde's message quotes it.
        raw::ok(&format!(r#"{{"count":{json_echo}}}"#))
    } else if path.contains("/envelope") {
        raw::response(
            "401 Unauthorized",
            "application/json",
            &format!(
                r#"{{"error":{{"code":401,"message":{json_echo},"status":"UNAUTHENTICATED","errors":[{{"message":{json_echo},"reason":"authError","location":{json_echo}}}],"details":[{{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"X","domain":"d","metadata":{{"echo":{json_echo}}}}},{{"@type":"x","v":{json_echo}}}]}}}}"#
            ),
        )
    } else if path.contains("/redirect") {
        let port = path.split("port=").nth(1).unwrap_or("1").split('&').next().unwrap_or("1").to_owned();
        raw::redirect(&format!("http://localhost:{port}/landing"))
    } else if path.contains("/slow") {
        raw::stall()
    } else {
        raw::response("404 Not Found", "text/plain", &echo)
    }
}

/// A token provider that hands out the token, and a broken one.
struct Provider(&'static str);

impl TokenProvider for Provider {
    fn token<'a>(&'a self, _scopes: &'a [String]) -> TokenFuture<'a> {
        let token = self.0.to_owned();
        Box::pin(async move { Ok(token) })
    }
}

#[tokio::test]
async fn secrets_never_leak() {
    let _serial = ONE_AT_A_TIME.lock().await;
    // Everything the runtime and its HTTP stack trace or log, formatted as text.
    let captured = Arc::new(Mutex::new(Vec::<u8>::new()));
    let writer = captured.clone();
    let _trace = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(FmtSpan::FULL)
        .with_writer(move || Capture(writer.clone()))
        .finish()
        .set_default();
    tracing::callsite::rebuild_interest_cache();

    let server = raw::start(echoing).await;
    let landing = raw::start(|_| raw::ok("{}")).await;
    let client = Client::builder(&API)
        .root_url(server.url())
        .api_key(KEY)
        .token_provider(StaticToken::new(TOKEN))
        .timeout(Duration::from_millis(300))
        .retry_policy(RetryPolicy::default().max_attempts(3).initial_backoff(Duration::from_millis(1)))
        .build()
        .unwrap();
    let mut shown = vec![format!("{client:?}"), format!("{client:#?}"), format!("{:?}", StaticToken::new(TOKEN))];
    let mut errors = Vec::new();

    let call = |name: &str| {
        let mut call = Call::new(&client, &GET_PERSON);
        call.path_param("resourceName", format!("people/{name}"));
        call
    };
    let mut ok = call("ok");
    ok.param("access_token", TOKEN);
    ok.header("x-goog-api-key", KEY);
    shown.push(format!("{ok:?}"));
    let response = call("ok").send_with_response::<Value>().await.unwrap();
    shown.push(format!("{:?}", response.body));
    call("flaky").send_empty().await.unwrap(); // two 503s, then 200
    for name in ["html200", "typed200"] {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Typed {
            count: u32,
        }
        errors.push(call(name).send::<discovery_runtime::for_generated_code::Serde<Typed>>().await.unwrap_err());
    }
    for name in ["envelope", "missing", "slow"] {
        errors.push(call(name).send::<Value>().await.unwrap_err());
    }
    errors.push(call("missing").download().await.unwrap_err());
    let mut redirected = call("redirect");
    redirected.query("port", landing.addr.port().to_string());
    redirected.send_empty().await.unwrap();
    let offline = Client::builder(&API)
        .root_url(format!("http://{}/", raw::closed_port().await))
        .api_key(KEY)
        .token_provider(StaticToken::new(TOKEN))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let mut call_offline = Call::new(&offline, &GET_PERSON);
    call_offline.path_param("resourceName", "people/c1");
    errors.push(call_offline.send_empty().await.unwrap_err());
    // A token that cannot be sent in a header: the error says so without quoting it.
    let broken =
        Client::builder(&API).root_url(server.url()).token_provider(Provider("ya29.TOKEN-c2VjcmV0\n")).build().unwrap();
    let mut call_broken = Call::new(&broken, &GET_PERSON);
    call_broken.path_param("resourceName", "people/c1");
    errors.push(call_broken.send_empty().await.unwrap_err());

    assert!(matches!(errors[0], Error::Decode { .. }), "{:?}", errors[0]);
    assert!(matches!(errors[1], Error::Decode { .. }), "{:?}", errors[1]);
    assert_eq!(errors[2].http_status(), Some(401));
    assert!(matches!(errors[4], Error::Timeout), "{:?}", errors[4]);
    assert!(matches!(errors[6], Error::Transport(_)), "{:?}", errors[6]);
    assert!(matches!(errors[7], Error::Auth(_)), "{:?}", errors[7]);
    for err in &errors {
        shown.push(format!("{err} | {err:?} | {err:#?}"));
        let mut source = std::error::Error::source(err);
        while let Some(s) = source {
            shown.push(format!("{s} | {s:?}"));
            source = s.source();
        }
        if let Some(service) = err.service_error() {
            shown.push(format!("{service} {service:?} {:?}", service.reason()));
        }
    }

    // The secrets reached the server, where they belong: the token in the Authorization
    // header only, the key in the `key` query parameter only.
    let requests = server.requests();
    assert!(requests.len() >= 10, "{}", requests.len());
    for request in requests.iter().filter(|r| r.header("authorization").is_some()) {
        assert_eq!(request.header("authorization"), Some(format!("Bearer {TOKEN}").as_str()));
        let target = request.request_line();
        assert!(target.contains(&format!("key={KEY}")), "{target}");
        assert_eq!(target.matches(SECRET).count(), 1, "{target}");
        assert!(!target.contains("TOKEN"), "the token is in the URL: {target}");
        let headers = request.head.split_once("\r\n").unwrap().1;
        assert_eq!(headers.matches(SECRET).count(), 1, "{headers}");
    }
    // The redirect went to another host: neither secret followed.
    let landed = &landing.requests()[0];
    assert!(!landed.head.contains(SECRET), "{}", landed.head);

    let traced = String::from_utf8(captured.lock().unwrap().clone()).unwrap();
    assert!(traced.contains("people.people.get") && traced.contains("attempt"), "nothing traced: {traced}");
    assert!(traced.contains("retrying"), "the retries were not traced: {traced}");
    for (i, text) in shown.iter().chain([&traced]).enumerate() {
        assert!(!text.contains(SECRET), "output {i} leaks a secret: {text}");
        assert!(!text.contains("TOKEN") && !text.contains("AIzaKEY"), "output {i} leaks a secret: {text}");
    }
}

/// A `tracing-subscriber` writer into a shared buffer.
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A loopback server that records each request's raw head and answers with whatever the
/// script returns, closing the connection after each answer.
mod raw {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;

    use crate::raw_http::{read_request, RawRequest};

    /// A request as it arrived, with how many requests for the same path came before it.
    #[derive(Clone, Debug)]
    pub struct Request {
        raw: RawRequest,
        pub number: usize,
    }

    impl std::ops::Deref for Request {
        type Target = RawRequest;

        fn deref(&self) -> &RawRequest {
            &self.raw
        }
    }

    pub struct Server {
        pub addr: std::net::SocketAddr,
        requests: Arc<Mutex<Vec<Request>>>,
    }

    impl Server {
        pub fn url(&self) -> String {
            format!("http://{}/", self.addr)
        }

        pub fn count(&self) -> usize {
            self.requests.lock().unwrap().len()
        }

        pub fn requests(&self) -> Vec<Request> {
            self.requests.lock().unwrap().clone()
        }
    }

    /// Bytes to send; `None` holds the connection open without answering.
    pub type Answer = Option<Vec<u8>>;

    pub fn response(status: &str, content_type: &str, body: &str) -> Answer {
        Some(
            format!(
                "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            )
            .into_bytes(),
        )
    }

    pub fn ok(json: &str) -> Answer {
        response("200 OK", "application/json", json)
    }

    pub fn redirect(location: &str) -> Answer {
        Some(
            format!("HTTP/1.1 307 Temporary Redirect\r\nlocation: {location}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .into_bytes(),
        )
    }

    pub fn stall() -> Answer {
        None
    }

    pub async fn start(script: impl Fn(&Request) -> Answer + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let server = Server { addr: listener.local_addr().unwrap(), requests: Arc::default() };
        let requests = server.requests.clone();
        let script = Arc::new(script);
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let (requests, script) = (requests.clone(), script.clone());
                tokio::spawn(async move {
                    let Some(raw) = read_request(&mut stream).await else { return };
                    let request = {
                        let mut log = requests.lock().unwrap();
                        let path = raw.head.split(' ').nth(1).unwrap_or("").split('?').next().unwrap_or("").to_owned();
                        let number = log
                            .iter()
                            .filter(|r: &&Request| {
                                r.head.split(' ').nth(1).unwrap_or("").split('?').next() == Some(&path)
                            })
                            .count();
                        let request = Request { raw, number };
                        log.push(request.clone());
                        request
                    };
                    match script(&request) {
                        Some(bytes) => {
                            let _ = stream.write_all(&bytes).await;
                            let _ = stream.shutdown().await;
                        }
                        None => tokio::time::sleep(Duration::from_secs(120)).await,
                    }
                });
            }
        });
        server
    }

    /// An address where nothing listens.
    pub async fn closed_port() -> std::net::SocketAddr {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        listener.local_addr().unwrap()
    }
}
