//! Tokens and API keys stay out of URLs, `Debug`, errors and traces.
//!
//! A test binary of its own: the trace capture is a thread-local subscriber, and tracing
//! caches per call site whether anyone listens. Among the `http` tests, another thread
//! could register a call site while no subscriber exists and leave a stale "never" behind.

use std::fmt::{Debug, Write as _};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use discovery_runtime::auth::StaticToken;
use discovery_runtime::for_generated_code::Call;
use discovery_runtime::{Client, RetryPolicy};
use serde_json::json;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

use support::*;

// Shared with the `http` tests; this binary uses only part of it.
#[allow(dead_code)]
#[path = "http/support.rs"]
mod support;

const TOKEN: &str = "ya29.SECRET-TOKEN";
const KEY: &str = "AIzaSECRET-KEY";

/// Writes every span and event field it sees into one string.
#[derive(Clone, Default)]
struct Capture {
    out: Arc<Mutex<String>>,
    ids: Arc<AtomicU64>,
}

struct Writer<'a>(&'a Mutex<String>);

impl Visit for Writer<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        let _ = write!(self.0.lock().unwrap(), "{}={:?} ", field.name(), value);
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let _ = write!(self.out.lock().unwrap(), "\nspan {} ", span.metadata().name());
        span.record(&mut Writer(&self.out));
        Id::from_u64(self.ids.fetch_add(1, Ordering::Relaxed) + 1)
    }
    fn record(&self, _: &Id, values: &Record<'_>) {
        values.record(&mut Writer(&self.out));
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        self.out.lock().unwrap().push_str("\nevent ");
        event.record(&mut Writer(&self.out));
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

/// An error body quoting the request's URL and `Authorization` header with `.` and `a`
/// written as JSON escapes: unescaped, the text spells the token and the key again.
fn escaped_echo(uri: &str, headers: &http::HeaderMap) -> String {
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
    let spelled = format!("{uri} {authorization}").replace('.', "\\u002e").replace('a', "\\u0061");
    format!(r#"{{"error": {{"code": 400, "message": "echo: {spelled}", "errors": [{{"message": "{spelled}"}}]}}}}"#)
}

fn assert_clean(what: &str, text: &str) {
    assert!(!text.contains("SECRET"), "{what} leaks a secret: {text}");
}

#[tokio::test]
async fn secrets_never_leak() {
    let capture = Capture::default();
    let _trace = tracing::subscriber::set_default(capture.clone());
    // Tracing caches per call site whether anyone listens; a call site another test reached
    // before this thread-local subscriber existed would stay unheard without a rebuild.
    tracing::callsite::rebuild_interest_cache();

    // The server echoes the whole request line and headers in an HTML error page.
    let server = serve(|req| async move {
        let echo = format!("<html>{} {:?}</html>", req.uri, req.headers);
        if req.path().ends_with("/c404") {
            text(404, "text/html", echo)
        } else if req.path().ends_with("/cjson") {
            json(
                400,
                json!({"error": {"code": 400, "message": format!("bad request {}", req.uri),
                "errors": [{"message": format!("key {}", req.uri), "reason": "badRequest", "location": req.uri}]}}),
            )
        } else if req.path().ends_with("/cescaped") {
            // The echo spells the secrets with JSON escapes, as some encoders write them.
            text(400, "application/json", escaped_echo(&req.uri, &req.headers))
        } else if req.path().ends_with("/cbroken") {
            // The same, in a body that is not valid JSON (only an excerpt is kept).
            text(400, "application/json", format!("{} ...", escaped_echo(&req.uri, &req.headers)))
        } else if req.path().ends_with("/cundecodable") {
            text(200, "application/json", format!("[{} ...", escaped_echo(&req.uri, &req.headers)))
        } else {
            json(200, json!({}))
        }
    })
    .await;
    let client = server
        .client()
        .api_key(KEY)
        .token_provider(StaticToken::new(TOKEN))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    assert_clean("Client Debug", &format!("{client:?}"));
    assert_clean("StaticToken Debug", &format!("{:?}", StaticToken::new(TOKEN)));

    let mut call = Call::new(&client, &GET_PERSON);
    call.path_param("resourceName", "people/ok");
    assert_clean("Call Debug", &format!("{call:?}"));
    let mut manual = call.clone();
    manual.param("access_token", "SECRET-IN-PARAM");
    manual.header("x-goog-api-key", "SECRET-IN-HEADER");
    assert_clean("Call Debug with credentials as escape hatches", &format!("{manual:?}"));
    call.send_empty().await.unwrap();
    let req = &server.requests()[0];
    assert_eq!(req.query(), Some("key=AIzaSECRET-KEY"), "the key travels as key=");
    assert_eq!(req.header("authorization"), Some("Bearer ya29.SECRET-TOKEN"));

    for name in ["people/c404", "people/cjson", "people/cescaped", "people/cbroken", "people/cundecodable"] {
        let mut call = Call::new(&client, &GET_PERSON);
        call.path_param("resourceName", name);
        let err = call.send::<serde_json::Value>().await.unwrap_err();
        assert!(err.service_error().is_some() || matches!(err, discovery_runtime::Error::Decode { .. }), "{err:?}");
        assert_clean("error Display", &err.to_string());
        assert_clean("error Debug", &format!("{err:?}"));
    }

    // Transport errors never carry the URL.
    let addr = closed_port().await;
    let offline = Client::builder(&API)
        .base_url(format!("http://{addr}/"))
        .api_key(KEY)
        .token_provider(StaticToken::new(TOKEN))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let mut call = Call::new(&offline, &GET_PERSON);
    call.path_param("resourceName", "people/c1");
    let err = call.send_empty().await.unwrap_err();
    assert_clean("transport error Display", &err.to_string());
    assert_clean("transport error Debug", &format!("{err:?}"));
    let mut source = std::error::Error::source(&err);
    while let Some(s) = source {
        assert_clean("error source", &format!("{s} {s:?}"));
        source = s.source();
    }

    let traced = capture.out.lock().unwrap().clone();
    assert!(traced.contains("method=\"people.people.get\""), "{traced}");
    assert!(traced.contains("http.status=404"), "{traced}");
    assert!(traced.contains("attempt=1"), "{traced}");
    assert!(traced.contains("latency_ms="), "{traced}");
    assert_clean("traces", &traced);
}
