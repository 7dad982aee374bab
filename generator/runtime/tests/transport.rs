//! The connection layer as a server sees it: proxies (given to the builder or taken from
//! the environment), `CONNECT` tunnels, and what redirects do to the method and body.
//!
//! The servers are raw `TcpListener`s that record each request's head and body exactly as
//! they arrived. Hosts under `.invalid` cannot resolve, so a request for one that reaches
//! a server proves that it went through the proxy.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use discovery_runtime::auth::StaticToken;
use discovery_runtime::for_generated_code::{Call, HttpMethod, MethodInfo, PathParam};
use discovery_runtime::{ApiInfo, Client, ClientBuilder, Error, RetryPolicy};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

mod loopback_tls;
mod raw_http;
use loopback_tls::CERT_DER;
use raw_http::{read_request, RawRequest};

static API: ApiInfo =
    ApiInfo::new("transport", "v1", "https://api.example.invalid/", "").with_user_agent("transport-test/0.1");

static GET: MethodInfo = MethodInfo::new("transport.items.get", HttpMethod::Get, "v1/items/{item}")
    .with_path_params(&[PathParam::new("item", None)])
    .with_scopes(&["https://www.googleapis.com/auth/transport"]);

static CREATE: MethodInfo = MethodInfo::new("transport.items.create", HttpMethod::Post, "v1/items")
    .with_scopes(&["https://www.googleapis.com/auth/transport"]);

static PATCH: MethodInfo = MethodInfo::new("transport.items.patch", HttpMethod::Patch, "v1/items")
    .with_scopes(&["https://www.googleapis.com/auth/transport"]);

const TOKEN: &str = "ya29.transport-token";

/// `loopback_tls::CERT_DER` in PEM.
const CERT_PEM: &[u8] = include_bytes!("data/cert.pem");

/// A server answering each request with `answer(request, own port)`, then closing.
struct Server {
    port: u16,
    requests: Arc<Mutex<Vec<RawRequest>>>,
}

impl Server {
    async fn start(answer: fn(&RawRequest, u16) -> String) -> Server {
        Server::listen(answer, None).await
    }

    /// The same over TLS, with the certificate of `tests/data` (for `localhost`).
    async fn start_tls(answer: fn(&RawRequest, u16) -> String) -> Server {
        Server::listen(answer, Some(loopback_tls::acceptor(&[]))).await
    }

    async fn listen(answer: fn(&RawRequest, u16) -> String, tls: Option<tokio_rustls::TlsAcceptor>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let seen = seen.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    match tls {
                        None => serve_one(stream, port, answer, &seen).await,
                        // A client that does not trust the certificate gives up here.
                        Some(tls) => {
                            if let Ok(stream) = tls.accept(stream).await {
                                serve_one(stream, port, answer, &seen).await;
                            }
                        }
                    }
                });
            }
        });
        Server { port, requests }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    fn requests(&self) -> Vec<RawRequest> {
        self.requests.lock().unwrap().clone()
    }
}

async fn serve_one(
    mut stream: impl AsyncRead + AsyncWrite + Unpin,
    port: u16,
    answer: fn(&RawRequest, u16) -> String,
    seen: &Mutex<Vec<RawRequest>>,
) {
    if let Some(request) = read_request(&mut stream).await {
        let reply = answer(&request, port);
        seen.lock().unwrap().push(request);
        let _ = stream.write_all(reply.as_bytes()).await;
        let _ = stream.shutdown().await;
    }
}

fn reply(status: &str, headers: &[(&str, &str)], body: &str) -> String {
    let mut out = format!("HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n", body.len());
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(body);
    out
}

fn ok_json(_: &RawRequest, _: u16) -> String {
    reply("200 OK", &[("content-type", "application/json")], r#"{"ok":true}"#)
}

/// A client builder that ignores the environment: one test of this binary sets proxy
/// variables, and tests run concurrently.
fn builder() -> ClientBuilder {
    env_builder().no_proxy()
}

fn env_builder() -> ClientBuilder {
    Client::builder(&API).token_provider(StaticToken::new(TOKEN)).retry_policy(RetryPolicy::none())
}

async fn get(client: &Client) -> discovery_runtime::Result<Value> {
    let mut call = Call::new(client, &GET);
    call.path_param("item", "a");
    tokio::time::timeout(Duration::from_secs(20), call.send::<Value>()).await.expect("the client hung")
}

#[tokio::test]
async fn http_urls_go_to_the_proxy_in_absolute_form_with_its_credentials() {
    let proxy = Server::start(ok_json).await;
    let client = builder()
        .base_url("http://api.example.invalid/")
        .proxy(format!("http://proxy%20user:s3cret@127.0.0.1:{}", proxy.port))
        .build()
        .unwrap();
    assert_eq!(get(&client).await.unwrap()["ok"], true);

    let requests = proxy.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.request_line(), "GET http://api.example.invalid/v1/items/a HTTP/1.1");
    assert_eq!(request.header("host"), Some("api.example.invalid"));
    // base64("proxy user:s3cret")
    assert_eq!(request.header("proxy-authorization"), Some("Basic cHJveHkgdXNlcjpzM2NyZXQ="));
    assert_eq!(request.header("authorization"), Some(format!("Bearer {TOKEN}").as_str()));
}

#[tokio::test]
async fn https_urls_are_tunnelled_and_the_tunnel_carries_only_the_proxy_credentials() {
    // A proxy that refuses every tunnel.
    let proxy = Server::start(|_, _| reply("403 Forbidden", &[], "")).await;
    let client = builder().proxy(format!("http://user:pw@127.0.0.1:{}", proxy.port)).build().unwrap();
    let err = get(&client).await.unwrap_err();
    match &err {
        Error::Transport(e) => assert!(e.is_connect(), "{e}"),
        other => panic!("expected a transport error, got {other:?}"),
    }

    let requests = proxy.requests();
    assert_eq!(requests.len(), 1);
    let connect = &requests[0];
    assert_eq!(connect.request_line(), "CONNECT api.example.invalid:443 HTTP/1.1");
    assert_eq!(connect.header("proxy-authorization"), Some("Basic dXNlcjpwdw=="));
    // The API's own credentials and path stay inside the tunnel.
    assert!(!connect.head.contains(TOKEN), "{}", connect.head);
    assert!(!connect.head.contains("/v1/items"), "{}", connect.head);
}

#[tokio::test]
async fn https_proxies_are_reached_over_tls() {
    let proxy = Server::start_tls(ok_json).await;
    let client = builder()
        .base_url("http://api.example.invalid/")
        .proxy(format!("https://user:pw@localhost:{}", proxy.port))
        .add_root_certificate(CERT_PEM)
        .build()
        .unwrap();
    assert_eq!(get(&client).await.unwrap()["ok"], true);
    let requests = proxy.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].request_line(), "GET http://api.example.invalid/v1/items/a HTTP/1.1");
    assert_eq!(requests[0].header("proxy-authorization"), Some("Basic dXNlcjpwdw=="));
}

/// A SOCKS5 proxy (RFC 1928) with username and password (RFC 1929) that records where it
/// was asked to connect, then answers the tunnelled HTTP request itself.
async fn socks5_proxy() -> (u16, Arc<Mutex<Vec<String>>>) {
    use tokio::io::AsyncReadExt;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let mut greeting = [0u8; 2];
                stream.read_exact(&mut greeting).await?;
                let mut methods = vec![0u8; usize::from(greeting[1])];
                stream.read_exact(&mut methods).await?;
                assert!(methods.contains(&2), "the client offers username/password");
                stream.write_all(&[5, 2]).await?;
                let mut auth = [0u8; 2];
                stream.read_exact(&mut auth).await?;
                let mut user = vec![0u8; usize::from(auth[1])];
                stream.read_exact(&mut user).await?;
                let mut len = [0u8; 1];
                stream.read_exact(&mut len).await?;
                let mut password = vec![0u8; usize::from(len[0])];
                stream.read_exact(&mut password).await?;
                log.lock().unwrap().push(format!(
                    "auth {}:{}",
                    String::from_utf8_lossy(&user),
                    String::from_utf8_lossy(&password)
                ));
                stream.write_all(&[1, 0]).await?;
                let mut request = [0u8; 4];
                stream.read_exact(&mut request).await?;
                let host = match request[3] {
                    3 => {
                        stream.read_exact(&mut len).await?;
                        let mut name = vec![0u8; usize::from(len[0])];
                        stream.read_exact(&mut name).await?;
                        String::from_utf8_lossy(&name).into_owned()
                    }
                    1 => {
                        let mut ip = [0u8; 4];
                        stream.read_exact(&mut ip).await?;
                        std::net::Ipv4Addr::from(ip).to_string()
                    }
                    other => panic!("address type {other}"),
                };
                let mut target_port = [0u8; 2];
                stream.read_exact(&mut target_port).await?;
                log.lock().unwrap().push(format!("connect {host}:{}", u16::from_be_bytes(target_port)));
                stream.write_all(&[5, 0, 0, 1, 0, 0, 0, 0, 0, 0]).await?;
                let request = read_request(&mut stream).await.expect("a request through the tunnel");
                log.lock().unwrap().push(request.request_line().to_owned());
                stream.write_all(ok_json(&request, port).as_bytes()).await?;
                stream.shutdown().await
            });
        }
    });
    (port, seen)
}

#[tokio::test]
async fn socks5_proxies_carry_the_connection_and_resolve_names_with_socks5h() {
    let (port, seen) = socks5_proxy().await;
    let client = builder()
        .base_url("http://api.example.invalid/")
        .proxy(format!("socks5h://user:pw@127.0.0.1:{port}"))
        .build()
        .unwrap();
    assert_eq!(get(&client).await.unwrap()["ok"], true);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen, ["auth user:pw", "connect api.example.invalid:80", "GET /v1/items/a HTTP/1.1"]);
}

#[tokio::test]
async fn proxy_urls_that_cannot_be_used_fail_the_build() {
    for bad in ["ftp://127.0.0.1:21", "not a url"] {
        let err = builder().proxy(bad).build().unwrap_err();
        assert!(matches!(&err, Error::InvalidRequest(m) if m.contains("proxy")), "{bad}: {err:?}");
    }
}

/// The only test of this binary that touches the environment, which is read when a client
/// is built; the other tests use `builder()`, which ignores it.
#[tokio::test]
async fn environment_proxies_are_used_unless_the_builder_says_no() {
    let proxy = Server::start(ok_json).await;
    let direct = Server::start(ok_json).await;
    for var in ["NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "http_proxy"] {
        std::env::remove_var(var);
    }
    std::env::set_var("HTTP_PROXY", format!("http://127.0.0.1:{}", proxy.port));

    let through_env = env_builder().base_url(direct.url()).build().unwrap();
    let ignoring_env = env_builder().base_url(direct.url()).no_proxy().build().unwrap();
    std::env::set_var("NO_PROXY", "127.0.0.1");
    let excluded = env_builder().base_url(direct.url()).build().unwrap();
    std::env::remove_var("HTTP_PROXY");
    std::env::remove_var("NO_PROXY");

    get(&through_env).await.unwrap();
    assert_eq!(proxy.requests().len(), 1);
    assert_eq!(proxy.requests()[0].request_line(), format!("GET {}v1/items/a HTTP/1.1", direct.url()));
    assert_eq!(direct.requests().len(), 0);

    get(&ignoring_env).await.unwrap();
    get(&excluded).await.unwrap();
    assert_eq!(proxy.requests().len(), 1, "no_proxy() and NO_PROXY go direct");
    assert_eq!(direct.requests().len(), 2);
    assert_eq!(direct.requests()[0].request_line(), "GET /v1/items/a HTTP/1.1");
}

/// Redirects to `/landing` with the status given in the `status` query parameter, and
/// answers `/landing` with what it received.
fn redirect_once(request: &RawRequest, _: u16) -> String {
    let line = request.request_line();
    if line.contains("/landing") {
        let body = serde_json::json!({
            "line": line,
            "contentType": request.header("content-type"),
            "body": String::from_utf8_lossy(&request.body),
        });
        return reply("200 OK", &[("content-type", "application/json")], &body.to_string());
    }
    let status = line.split("status=").nth(1).and_then(|s| s.get(..3)).unwrap_or("302");
    reply(&format!("{status} Moved"), &[("location", "/landing")], "")
}

#[tokio::test]
async fn a_redirect_is_followed_only_when_it_keeps_the_method_and_body() {
    let server = Server::start(redirect_once).await;
    let client = builder().base_url(server.url()).build().unwrap();
    // reqwest would send the POST again as a GET without its body after a 301, 302 or 303, and
    // any write after a 303; the write would then "succeed" with the answer to that GET.
    let cases = [
        (&CREATE, "POST", "301", false),
        (&CREATE, "POST", "302", false),
        (&CREATE, "POST", "303", false),
        (&CREATE, "POST", "307", true),
        (&CREATE, "POST", "308", true),
        (&PATCH, "PATCH", "301", true),
        (&PATCH, "PATCH", "302", true),
        (&PATCH, "PATCH", "303", false),
    ];
    let mut expected_requests = 0;
    for (method, name, status, followed) in cases {
        let mut call = Call::new(&client, method);
        call.query("status", status);
        call.json_body(&serde_json::json!({"name": "x"}));
        let result = call.send::<Value>().await;
        if followed {
            let landed = result.unwrap();
            assert_eq!(landed["line"], format!("{name} /landing HTTP/1.1"), "{name} {status}");
            assert_eq!(landed["body"], r#"{"name":"x"}"#, "{name} {status}");
            assert_eq!(landed["contentType"], "application/json", "{name} {status}");
            expected_requests += 2;
        } else {
            let err = result.unwrap_err();
            let Error::Transport(e) = &err else { panic!("{name} {status}: expected a refused redirect, got {err:?}") };
            assert!(e.is_redirect(), "{name} {status}: {e}");
            assert!(e.to_string().contains("GET"), "{name} {status}: {e}");
            expected_requests += 1;
        }
        assert_eq!(server.requests().len(), expected_requests, "{name} {status}: sent once, not retried");
    }
    // A GET follows a 302 (a download may be redirected to where its bytes are).
    let mut call = Call::new(&client, &GET);
    call.path_param("item", "a");
    call.query("status", "302");
    let landed: Value = call.send().await.unwrap();
    assert_eq!(landed["line"], "GET /landing HTTP/1.1");
}

#[tokio::test]
async fn https_works_with_a_trusted_certificate_and_only_then() {
    let server = Server::start_tls(ok_json).await;
    let url = format!("https://localhost:{}/", server.port);

    let untrusting = builder().base_url(&url).build().unwrap();
    let err = get(&untrusting).await.unwrap_err();
    let Error::Transport(e) = &err else { panic!("expected a transport error, got {err:?}") };
    assert!(e.is_connect(), "{e}");
    assert!(e.to_string().contains("certificate"), "{e}");
    assert!(server.requests().is_empty());

    for certificate in [CERT_DER, CERT_PEM] {
        let trusting = builder().base_url(&url).add_root_certificate(certificate).build().unwrap();
        assert_eq!(get(&trusting).await.unwrap()["ok"], true);
    }
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].request_line(), "GET /v1/items/a HTTP/1.1");
    assert_eq!(requests[0].header("authorization"), Some(format!("Bearer {TOKEN}").as_str()));
}

#[tokio::test]
async fn certificates_that_do_not_parse_fail_the_build() {
    for bad in [
        &b"not a certificate"[..],
        b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        b"\x30\x03\x02\x01",
    ] {
        let err = builder().add_root_certificate(bad).build().unwrap_err();
        assert!(matches!(&err, Error::InvalidRequest(m) if m.contains("root certificate")), "{err:?}");
    }
}

/// Redirects every request to the plain server whose port is in the `to` query parameter.
fn downgrade(request: &RawRequest, _: u16) -> String {
    let port = request.request_line().split("to=").nth(1).and_then(|s| s.split([' ', '&']).next()).unwrap_or("9");
    reply("302 Found", &[("location", &format!("http://127.0.0.1:{port}/landing"))], "")
}

#[tokio::test]
async fn a_redirect_from_https_to_http_is_refused_before_anything_is_sent() {
    let secure = Server::start_tls(downgrade).await;
    let plain = Server::start(ok_json).await;
    let client = builder()
        .base_url(format!("https://localhost:{}/", secure.port))
        .api_key("AIza-transport-key")
        .add_root_certificate(CERT_DER)
        .build()
        .unwrap();
    let mut call = Call::new(&client, &GET);
    call.path_param("item", "a");
    call.query("to", plain.port.to_string());
    let err = call.send::<Value>().await.unwrap_err();
    let Error::Transport(e) = &err else { panic!("expected a transport error, got {err:?}") };
    assert!(e.is_redirect(), "{e}");
    assert!(!err.is_retryable());
    assert_eq!(secure.requests().len(), 1);
    assert!(plain.requests().is_empty(), "the key and token would have gone out in clear text");
}
