//! Loopback test servers and a test API.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Router;
use discovery_runtime::for_generated_code::{HttpMethod, MediaUploadInfo, MethodInfo, PathParam};
use discovery_runtime::{ApiInfo, Client, ClientBuilder, RetryPolicy};

pub static API: ApiInfo =
    ApiInfo::new("people", "v1", "https://people.example.invalid/", "").with_user_agent("google-people-v1/0.1.0");

const RESOURCE_NAME: &[PathParam] = &[PathParam::new("resourceName", Some("^people/[^/]+$"))];

pub static GET_PERSON: MethodInfo = MethodInfo::new("people.people.get", HttpMethod::Get, "v1/{+resourceName}")
    .with_path_params(RESOURCE_NAME)
    .with_scopes(&["https://www.googleapis.com/auth/contacts", "https://www.googleapis.com/auth/contacts.readonly"]);

pub static UPDATE_CONTACT: MethodInfo =
    MethodInfo::new("people.people.updateContact", HttpMethod::Patch, "v1/{+resourceName}:updateContact")
        .with_path_params(RESOURCE_NAME)
        .with_scopes(&["https://www.googleapis.com/auth/contacts"]);

pub static CREATE_CONTACT: MethodInfo =
    MethodInfo::new("people.people.createContact", HttpMethod::Post, "v1/people:createContact")
        .with_scopes(&["https://www.googleapis.com/auth/contacts"]);

pub static UPDATE_GROUP: MethodInfo =
    MethodInfo::new("people.contactGroups.update", HttpMethod::Put, "v1/{+resourceName}")
        .with_path_params(&[PathParam::new("resourceName", Some("^contactGroups/[^/]+$"))])
        .with_scopes(&["https://www.googleapis.com/auth/contacts"]);

pub static LIST_CONNECTIONS: MethodInfo =
    MethodInfo::new("people.people.connections.list", HttpMethod::Get, "v1/{+resourceName}/connections")
        .with_path_params(RESOURCE_NAME)
        .with_scopes(&["https://www.googleapis.com/auth/contacts.readonly"]);

/// A method whose path uses simple expansion.
pub static GET_OBJECT: MethodInfo = MethodInfo::new("storage.objects.get", HttpMethod::Get, "b/{bucket}/o/{object}")
    .with_path_params(&[PathParam::new("bucket", None), PathParam::new("object", None)])
    .with_scopes(&["https://www.googleapis.com/auth/devstorage.read_only"])
    .with_media_download();

pub static UPLOAD_INFO: MediaUploadInfo = MediaUploadInfo::new()
    .with_simple_path("/upload/storage/v1/b/{bucket}/o")
    .with_resumable_path("/upload/storage/v1/b/{bucket}/o")
    .with_accept(&["text/*", "application/octet-stream"])
    .with_max_size(4 * 1024 * 1024);

pub static INSERT_OBJECT: MethodInfo = MethodInfo::new("storage.objects.insert", HttpMethod::Post, "b/{bucket}/o")
    .with_path_params(&[PathParam::new("bucket", None)])
    .with_scopes(&["https://www.googleapis.com/auth/devstorage.read_write"])
    .with_media_upload(&UPLOAD_INFO);

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub uri: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn path(&self) -> &str {
        self.uri.split('?').next().unwrap_or("")
    }

    pub fn query(&self) -> Option<&str> {
        self.uri.split_once('?').map(|(_, q)| q)
    }
}

pub struct TestServer {
    pub addr: SocketAddr,
    pub log: Arc<Mutex<Vec<Recorded>>>,
}

impl TestServer {
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.log.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.log.lock().unwrap().len()
    }

    /// A client for this server with fast retries.
    pub fn client(&self) -> ClientBuilder {
        Client::builder(&API).base_url(self.url()).retry_policy(fast_retries())
    }
}

pub fn fast_retries() -> RetryPolicy {
    RetryPolicy::default().initial_backoff(Duration::from_millis(1)).max_backoff(Duration::from_millis(5))
}

/// Serves every request with `handler`, recording it first.
pub async fn serve<F, Fut>(handler: F) -> TestServer
where
    F: Fn(Recorded) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response> + Send + 'static,
{
    let log = Arc::new(Mutex::new(Vec::new()));
    let handler = Arc::new(handler);
    let log2 = log.clone();
    let app = Router::new().fallback(move |req: Request| {
        let handler = handler.clone();
        let log = log2.clone();
        async move {
            let (parts, body) = req.into_parts();
            let body = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
            let rec = Recorded {
                method: parts.method.to_string(),
                uri: parts.uri.to_string(),
                headers: parts.headers,
                body: body.to_vec(),
            };
            log.lock().unwrap().push(rec.clone());
            handler(rec).await
        }
    });
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    TestServer { addr, log }
}

pub fn json(status: u16, body: serde_json::Value) -> Response {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap())
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

pub fn text(status: u16, content_type: &str, body: impl Into<String>) -> Response {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap())
        .header("content-type", content_type)
        .body(Body::from(body.into()))
        .unwrap()
}

pub fn with_header(mut resp: Response, name: &'static str, value: &str) -> Response {
    resp.headers_mut().insert(name, value.parse().unwrap());
    resp
}

/// An address where nothing listens.
pub async fn closed_port() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    addr
}
