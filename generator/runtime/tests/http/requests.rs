//! What reaches the server: paths, queries, bodies, headers, scopes, redirects.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use discovery_runtime::auth::{AuthError, StaticToken, TokenFuture, TokenProvider};
use discovery_runtime::for_generated_code::Call;
use discovery_runtime::{call_options, Error, FieldMask};
use serde_json::{json, Value};

use crate::support::*;

#[tokio::test]
async fn reserved_expansion_and_query_encoding_on_the_wire() {
    let server = serve(|_| async { json(200, json!({"resourceName": "people/c1"})) }).await;
    let client = server.client().build().unwrap();

    let mut call = Call::new(&client, &GET_PERSON);
    call.path_param("resourceName", "people/c1");
    call.query("personFields", FieldMask::from(["names", "emailAddresses"]));
    call.query_repeated("sources", ["READ_SOURCE_TYPE_CONTACT", "READ_SOURCE_TYPE_PROFILE"]);
    call.query("requestSyncToken", true);
    call.query("pageSize", 9_007_199_254_740_993i64);
    call.query("q", "a b&c=d/é");
    let person: Value = call.send().await.unwrap();
    assert_eq!(person["resourceName"], "people/c1");

    let req = &server.requests()[0];
    assert_eq!(req.method, "GET");
    assert_eq!(req.path(), "/v1/people/c1");
    assert_eq!(
        req.query().unwrap(),
        "personFields=names%2CemailAddresses\
         &sources=READ_SOURCE_TYPE_CONTACT&sources=READ_SOURCE_TYPE_PROFILE\
         &requestSyncToken=true&pageSize=9007199254740993&q=a%20b%26c%3Dd%2F%C3%A9"
    );
    assert_eq!(req.header("user-agent"), Some("google-people-v1/0.1.0 (gzip)"));
    assert_eq!(req.header("accept-encoding"), Some("gzip"));
    assert_eq!(req.header("accept"), Some("application/json"));
    let api_client = req.header("x-goog-api-client").unwrap();
    assert!(api_client.starts_with("gl-rust/1.") && api_client.contains(" gdcl/"), "{api_client}");
    assert_eq!(req.header("x-goog-api-version"), None, "the API has no apiVersion");
    assert_eq!(req.header("authorization"), None);
}

#[tokio::test]
async fn query_replaces_and_param_appends() {
    let server = serve(|_| async { json(200, json!({})) }).await;
    let client = server.client().build().unwrap();
    let mut call = Call::new(&client, &GET_PERSON);
    call.path_param("resourceName", "people/me");
    call.query("personFields", "names");
    call.query("personFields", "urls");
    call.query_repeated("sources", ["A", "B"]);
    call.query_repeated("sources", ["C"]);
    call.param("x", "1");
    call.param("x", "2");
    call.send_empty().await.unwrap();
    assert_eq!(server.requests()[0].query().unwrap(), "personFields=urls&sources=C&x=1&x=2");
}

#[tokio::test]
async fn simple_expansion_encodes_slashes() {
    let server = serve(|_| async { json(200, json!({})) }).await;
    let client = server.client().build().unwrap();
    let mut call = Call::new(&client, &GET_OBJECT);
    call.path_param("bucket", "my bucket");
    call.path_param("object", "dir/file?.txt");
    call.send_empty().await.unwrap();
    assert_eq!(server.requests()[0].path(), "/b/my%20bucket/o/dir%2Ffile%3F.txt");
}

#[tokio::test]
async fn escape_attempts_stay_inside_the_resource() {
    let server = serve(|_| async { json(200, json!({})) }).await;
    let client = server.client().build().unwrap();
    let cases = [
        ("people/c1?x=1", Some("/v1/people/c1%3Fx=1")),
        ("people/c1#f", Some("/v1/people/c1%23f")),
        ("people/%2e%2e", Some("/v1/people/%252e%252e")),
        ("people/c1\r\nX-Evil: 1", Some("/v1/people/c1%0D%0AX-Evil:%201")),
        ("people/../contactGroups/x", None),
        ("people/..", None),
        ("contactGroups/x", None),
        ("", None),
    ];
    for (value, expected) in cases {
        let before = server.count();
        let mut call = Call::new(&client, &GET_PERSON);
        call.path_param("resourceName", value);
        let result = call.send_empty().await;
        match expected {
            Some(path) => {
                result.unwrap();
                let req = server.requests().pop().unwrap();
                assert_eq!(req.path(), path, "{value:?}");
                assert_eq!(req.query(), None, "{value:?} smuggled a query");
                assert!(req.header("x-evil").is_none());
            }
            None => {
                let err = result.unwrap_err();
                assert!(
                    matches!(err, Error::InvalidPathParameter { name: "resourceName", .. } | Error::InvalidRequest(_)),
                    "{value:?}: {err:?}"
                );
                assert_eq!(server.count(), before, "{value:?} was sent");
            }
        }
    }
}

#[tokio::test]
async fn pattern_mismatch_is_reported_before_sending() {
    let server = serve(|_| async { json(200, json!({})) }).await;
    let client = server.client().build().unwrap();
    let mut call = Call::new(&client, &UPDATE_GROUP);
    call.path_param("resourceName", "people/c1");
    call.json_body(&json!({"contactGroup": {"name": "x"}}));
    let err = call.send_empty().await.unwrap_err();
    match &err {
        Error::InvalidPathParameter { name, value, pattern } => {
            assert_eq!(*name, "resourceName");
            assert_eq!(value, "people/c1");
            assert_eq!(*pattern, "^contactGroups/[^/]+$");
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("resourceName"));
    assert_eq!(server.count(), 0);

    let call = Call::new(&client, &UPDATE_GROUP);
    let err = call.send_empty().await.unwrap_err();
    assert!(matches!(&err, Error::InvalidRequest(m) if m.contains("resourceName")), "{err}");
    assert_eq!(server.count(), 0);
}

#[tokio::test]
async fn json_body_and_headers() {
    let server = serve(|req| async move {
        let body: Value = serde_json::from_slice(&req.body).unwrap();
        json(200, body)
    })
    .await;
    let client = server.client().user_agent("my-app/1.0").build().unwrap();
    let mut call = Call::new(&client, &UPDATE_CONTACT);
    call.path_param("resourceName", "people/c1");
    call.query("updatePersonFields", "names");
    call.json_body(&json!({"etag": "e1", "names": [{"givenName": "Ada"}]}));
    call.header("x-goog-request-reason", "test");
    let echoed: Value = call.send().await.unwrap();
    assert_eq!(echoed["names"][0]["givenName"], "Ada");
    let req = &server.requests()[0];
    assert_eq!(req.method, "PATCH");
    assert_eq!(req.path(), "/v1/people/c1:updateContact");
    assert_eq!(req.header("content-type"), Some("application/json"));
    assert_eq!(req.header("x-goog-request-reason"), Some("test"));
    assert_eq!(req.header("user-agent"), Some("my-app/1.0 (gzip)"));
}

#[tokio::test]
async fn build_errors_surface_at_send_without_sending() {
    let server = serve(|_| async { json(200, json!({})) }).await;
    let client = server.client().build().unwrap();

    let mut call = Call::new(&client, &CREATE_CONTACT);
    // serde_json refuses maps whose keys are not strings.
    call.json_body(&HashMap::from([((1, 2), 3)]));
    let err = call.send_empty().await.unwrap_err();
    assert!(matches!(&err, Error::InvalidRequest(m) if m.contains("serialised")), "{err}");

    let mut call = Call::new(&client, &CREATE_CONTACT);
    call.header("bad header", "v");
    assert!(matches!(call.send_empty().await, Err(Error::InvalidRequest(_))));

    let mut call = Call::new(&client, &CREATE_CONTACT);
    call.header("x-ok", "line\nbreak");
    assert!(matches!(call.send_empty().await, Err(Error::InvalidRequest(_))));

    assert_eq!(server.count(), 0);
}

#[tokio::test]
async fn responses_decode_including_empty_bodies() {
    let server = serve(|req| async move {
        match req.path() {
            "/v1/people/empty" => text(200, "application/json", ""),
            "/v1/people/nocontent" => text(204, "application/json", ""),
            _ => with_header(json(200, json!({"etag": "x"})), "x-custom", "yes"),
        }
    })
    .await;
    let client = server.client().build().unwrap();
    let call = |name: &str| {
        let mut c = Call::new(&client, &GET_PERSON);
        c.path_param("resourceName", name.to_owned());
        c
    };

    use discovery_runtime::for_generated_code::Serde;
    #[derive(serde::Deserialize, Debug, Default, PartialEq)]
    struct Empty {}
    #[derive(serde::Deserialize, Debug)]
    struct Tagged {
        etag: String,
    }

    call("people/empty").send::<()>().await.unwrap();
    // Types that refuse `null` read an empty body as `{}`.
    assert_eq!(call("people/empty").send::<Serde<Empty>>().await.unwrap().0, Empty {});
    assert_eq!(call("people/nocontent").send::<Option<Value>>().await.unwrap(), None);
    call("people/nocontent").send_empty().await.unwrap();

    let resp = call("people/full").send_with_response::<Serde<Tagged>>().await.unwrap();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.headers.get("x-custom").unwrap(), "yes");
    assert_eq!(resp.body.0.etag, "x");
}

struct RecordingProvider(Arc<Mutex<Vec<Vec<String>>>>);

impl TokenProvider for RecordingProvider {
    fn token<'a>(&'a self, scopes: &'a [String]) -> TokenFuture<'a> {
        self.0.lock().unwrap().push(scopes.to_vec());
        Box::pin(async { Ok("tok-123".to_owned()) })
    }
}

#[tokio::test]
async fn bearer_token_with_the_method_scopes() {
    let server = serve(|_| async { json(200, json!({})) }).await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let client = server.client().token_provider(RecordingProvider(seen.clone())).build().unwrap();

    let mut call = Call::new(&client, &GET_PERSON);
    call.path_param("resourceName", "people/me");
    call.send_empty().await.unwrap();

    let mut call = Call::new(&client, &GET_PERSON);
    call.path_param("resourceName", "people/me");
    call.add_scope("https://www.googleapis.com/auth/contacts.readonly");
    call.send_empty().await.unwrap();

    let reqs = server.requests();
    assert_eq!(reqs[0].header("authorization"), Some("Bearer tok-123"));
    assert!(!reqs[0].uri.contains("tok-123"));
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0], GET_PERSON.scopes());
    assert_eq!(seen[1], ["https://www.googleapis.com/auth/contacts.readonly"]);
}

struct FailingProvider;

impl TokenProvider for FailingProvider {
    fn token<'a>(&'a self, _scopes: &'a [String]) -> TokenFuture<'a> {
        Box::pin(async { Err(AuthError::new("no credentials configured")) })
    }
}

#[tokio::test]
async fn provider_failure_is_an_auth_error_and_nothing_is_sent() {
    let server = serve(|_| async { json(200, json!({})) }).await;
    let client = server.client().token_provider(FailingProvider).build().unwrap();
    let mut call = Call::new(&client, &GET_PERSON);
    call.path_param("resourceName", "people/me");
    let err = call.send_empty().await.unwrap_err();
    assert!(matches!(err, Error::Auth(_)), "{err:?}");
    assert!(!err.is_retryable());
    assert_eq!(server.count(), 0);
}

#[tokio::test]
async fn authorization_does_not_follow_a_redirect_to_another_host() {
    // 127.0.0.1 and localhost are different hosts to the redirect logic.
    let other = serve(|_| async { json(200, json!({"landed": true})) }).await;
    let target = format!("http://localhost:{}/landing", other.addr.port());
    let first = serve(move |req| {
        let target = target.clone();
        async move {
            if req.path().starts_with("/v1/people/elsewhere") {
                with_header(text(307, "text/plain", ""), "location", &target)
            } else if req.path().starts_with("/v1/people/here") {
                with_header(text(307, "text/plain", ""), "location", "/same-host")
            } else {
                json(200, json!({"landed": true}))
            }
        }
    })
    .await;
    let client = first.client().token_provider(StaticToken::new("secret-token")).build().unwrap();

    let mut call = Call::new(&client, &GET_PERSON);
    call.path_param("resourceName", "people/elsewhere");
    let v: Value = call.send().await.unwrap();
    assert_eq!(v["landed"], true);
    let landed = other.requests();
    assert_eq!(landed.len(), 1);
    assert_eq!(landed[0].path(), "/landing");
    assert_eq!(landed[0].header("authorization"), None);

    // Within the same host the header stays, so the check above can fail.
    let mut call = Call::new(&client, &GET_PERSON);
    call.path_param("resourceName", "people/here");
    call.send_empty().await.unwrap();
    let reqs = first.requests();
    let same = reqs.iter().find(|r| r.path() == "/same-host").unwrap();
    assert_eq!(same.header("authorization"), Some("Bearer secret-token"));
}

pub struct GetPerson {
    call: Call,
}

call_options!(GetPerson);

#[tokio::test]
async fn call_options_macro_sets_standard_parameters() {
    let server = serve(|_| async { json(200, json!({})) }).await;
    let client = server.client().build().unwrap();
    let mut call = Call::new(&client, &GET_PERSON);
    call.path_param("resourceName", "people/me");
    let builder = GetPerson { call }
        .fields("names")
        .quota_user("u1")
        .param("prettyPrint", "false")
        .header("x-h", "v")
        .add_scope("s1")
        .retry_policy(discovery_runtime::RetryPolicy::none())
        .timeout(std::time::Duration::from_secs(5));
    builder.call.send_empty().await.unwrap();
    let req = &server.requests()[0];
    assert_eq!(req.query().unwrap(), "fields=names&quotaUser=u1&prettyPrint=false");
    assert_eq!(req.header("x-h"), Some("v"));
}

#[test]
fn futures_are_send_and_unpin() {
    // Send + 'static: they can be spawned; Unpin: they can be polled from `select!` or a
    // hand-written future without pinning them first.
    fn assert_send<T: Send + 'static>(_: T) {}
    fn assert_unpin<T: std::future::Future + Send + Unpin + 'static>(_: T) {}
    let client = discovery_runtime::Client::builder(&API).build().unwrap();
    let call = Call::new(&client, &GET_PERSON);
    assert_unpin(call.clone().send::<Value>());
    assert_unpin(call.clone().send_empty());
    assert_unpin(call.clone().send_with_response::<Value>());
    assert_send(call.clone().download());
    assert_send(
        call.upload::<Value>(discovery_runtime::Media::new("text/plain", "x"), discovery_runtime::Upload::simple()),
    );
}

#[tokio::test]
async fn bodyless_mutations_send_a_zero_content_length() {
    // Google front ends answer 411 to a POST without Content-Length.
    let server = serve(|_| async { json(200, json!({})) }).await;
    let client = server.client().build().unwrap();
    Call::new(&client, &CREATE_CONTACT).send_empty().await.unwrap();
    let req = &server.requests()[0];
    assert_eq!(req.method, "POST");
    assert_eq!(req.header("content-length"), Some("0"));
    assert_eq!(req.header("content-type"), None);
}

#[test]
fn errors_are_send_sync_static() {
    fn check<T: std::error::Error + Send + Sync + 'static>() {}
    check::<Error>();
    check::<AuthError>();
}
