//! The connection layer as a server sees it: proxies (given to the builder or taken from
//! the environment), `CONNECT` tunnels, and what redirects do to the method and body.
//!
//! The servers are raw `TcpListener`s that record each request's head and body exactly as
//! they arrived. Hosts under `.invalid` cannot resolve, so a request for one that reaches
//! a server proves that it went through the proxy.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use discovery_runtime::auth::StaticToken;
use discovery_runtime::{ApiInfo, Call, Client, ClientBuilder, Error, HttpMethod, MethodInfo, PathParam, RetryPolicy};
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

mod raw_http;
use raw_http::{read_request, RawRequest};

static API: ApiInfo = ApiInfo {
    name: "transport",
    version: "v1",
    root_url: "https://api.example.invalid/",
    service_path: "",
    user_agent: "transport-test/0.1",
};

static GET: MethodInfo = MethodInfo {
    id: "transport.items.get",
    http_method: HttpMethod::Get,
    path: "v1/items/{item}",
    path_params: &[PathParam { name: "item", pattern: None }],
    scopes: &["https://www.googleapis.com/auth/transport"],
    media_upload: None,
    supports_media_download: false,
};

static CREATE: MethodInfo = MethodInfo {
    id: "transport.items.create",
    http_method: HttpMethod::Post,
    path: "v1/items",
    path_params: &[],
    scopes: &["https://www.googleapis.com/auth/transport"],
    media_upload: None,
    supports_media_download: false,
};

const TOKEN: &str = "ya29.transport-token";

/// A server answering each request with `answer(request, own port)`, then closing.
struct Server {
    port: u16,
    requests: Arc<Mutex<Vec<RawRequest>>>,
}

impl Server {
    async fn start(answer: fn(&RawRequest, u16) -> String) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let seen = seen.clone();
                tokio::spawn(async move {
                    if let Some(request) = read_request(&mut stream).await {
                        let reply = answer(&request, port);
                        seen.lock().unwrap().push(request);
                        let _ = stream.write_all(reply.as_bytes()).await;
                        let _ = stream.shutdown().await;
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

fn builder() -> ClientBuilder {
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
async fn only_http_proxies_are_accepted() {
    let client = builder().proxy("socks5://127.0.0.1:9").build().unwrap();
    let err = get(&client).await.unwrap_err();
    let Error::Transport(e) = &err else { panic!("expected a transport error, got {err:?}") };
    assert!(e.is_connect(), "{e}");
    assert!(e.to_string().contains("only http:// proxies are supported"), "{e}");
    // Nothing was sent, but trying again cannot help.
    assert!(!err.is_retryable(), "{e}");
}

/// The only test of this binary that touches the environment, which is read when a client
/// is built; the other tests name their proxy or have none.
#[tokio::test]
async fn environment_proxies_are_used_unless_the_builder_says_no() {
    let proxy = Server::start(ok_json).await;
    let direct = Server::start(ok_json).await;
    for var in ["NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "http_proxy"] {
        std::env::remove_var(var);
    }
    std::env::set_var("HTTP_PROXY", format!("http://127.0.0.1:{}", proxy.port));

    let through_env = builder().base_url(direct.url()).build().unwrap();
    let ignoring_env = builder().base_url(direct.url()).no_proxy().build().unwrap();
    std::env::set_var("NO_PROXY", "127.0.0.1");
    let excluded = builder().base_url(direct.url()).build().unwrap();
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
async fn redirects_keep_or_drop_the_method_and_body_by_status() {
    let server = Server::start(redirect_once).await;
    let client = builder().base_url(server.url()).build().unwrap();
    for (status, kept) in [("301", false), ("302", false), ("303", false), ("307", true), ("308", true)] {
        let mut call = Call::new(&client, &CREATE);
        call.query("status", status);
        call.json_body(&serde_json::json!({"name": "x"}));
        let landed: Value = call.send().await.unwrap();
        if kept {
            assert_eq!(landed["line"], "POST /landing HTTP/1.1", "{status}");
            assert_eq!(landed["body"], r#"{"name":"x"}"#, "{status}");
            assert_eq!(landed["contentType"], "application/json", "{status}");
        } else {
            assert_eq!(landed["line"], "GET /landing HTTP/1.1", "{status}");
            assert_eq!(landed["body"], "", "{status}");
            assert_eq!(landed["contentType"], Value::Null, "{status}");
        }
    }
    // Each status: the POST and the request that landed.
    assert_eq!(server.requests().len(), 10);
}
