//! Service errors, non-JSON error bodies and decode errors.

use std::time::Duration;

use discovery_runtime::error::{ErrorDetail, FieldViolation};
use discovery_runtime::for_generated_code::Call;
use discovery_runtime::{Client, Error, RetryPolicy};
use serde_json::{json, Value};

use crate::support::*;

fn etag_mismatch() -> Value {
    json!({"error": {
        "code": 400,
        "message": "Request person.etag is different than the current person.etag. Clear local cache and get the latest person.",
        "status": "FAILED_PRECONDITION",
        "errors": [{
            "message": "Request person.etag is different than the current person.etag.",
            "domain": "global",
            "reason": "failedPrecondition"
        }],
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "ETAG_MISMATCH",
                "domain": "people.googleapis.com",
                "metadata": {"service": "people.googleapis.com", "method": "UpdateContact"}
            },
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "2.5s"},
            {
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [{"field": "person.etag", "description": "stale"}]
            },
            {"@type": "type.googleapis.com/google.rpc.Help", "links": []}
        ]
    }})
}

async fn fails_with(resp: fn() -> axum::response::Response) -> Error {
    let server = serve(move |_| async move { resp() }).await;
    let client = server.client().retry_policy(RetryPolicy::none()).build().unwrap();
    let mut call = Call::new(&client, &UPDATE_CONTACT);
    call.path_param("resourceName", "people/c1");
    call.json_body(&json!({}));
    call.send::<Value>().await.unwrap_err()
}

#[tokio::test]
async fn people_error_envelope_is_parsed() {
    let err = fails_with(|| json(400, etag_mismatch())).await;
    let se = err.service_error().expect("a service error");
    assert_eq!(se.http_status, 400);
    assert_eq!(se.code, Some(400));
    assert_eq!(se.status.as_deref(), Some("FAILED_PRECONDITION"));
    assert!(se.message.starts_with("Request person.etag is different"));
    assert_eq!(se.errors.len(), 1);
    assert_eq!(se.errors[0].reason.as_deref(), Some("failedPrecondition"));
    assert_eq!(se.errors[0].domain.as_deref(), Some("global"));
    assert_eq!(se.details.len(), 4);
    match &se.details[0] {
        ErrorDetail::ErrorInfo { reason, domain, metadata } => {
            assert_eq!(reason, "ETAG_MISMATCH");
            assert_eq!(domain, "people.googleapis.com");
            assert_eq!(metadata["method"], "UpdateContact");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(se.details[1], ErrorDetail::RetryInfo { retry_delay: Duration::from_millis(2500) });
    assert_eq!(se.field_violations().len(), 1);
    let FieldViolation { field, description, .. } = &se.field_violations()[0];
    assert_eq!((field.as_str(), description.as_str()), ("person.etag", "stale"));
    assert!(matches!(se.details[3], ErrorDetail::Other(_)));
    assert_eq!(se.retry_after, Some(Duration::from_millis(2500)));
    assert!(se.body_excerpt.is_empty());

    assert_eq!(err.http_status(), Some(400));
    assert_eq!(err.reason(), Some("ETAG_MISMATCH"));
    assert!(err.is_failed_precondition());
    assert!(!err.is_conflict());
    assert!(!err.is_not_found());
    assert!(!err.is_rate_limited());
    assert!(!err.is_retryable());
    assert!(!err.is_timeout());
    let shown = err.to_string();
    assert!(shown.contains("HTTP 400") && shown.contains("FAILED_PRECONDITION"), "{shown}");
}

#[tokio::test]
async fn legacy_reason_is_used_without_error_info() {
    let err = fails_with(|| {
        json(400, json!({"error": {"code": 400, "message": "m", "errors": [{"message": "m", "reason": "failedPrecondition"}]}}))
    })
    .await;
    assert_eq!(err.reason(), Some("failedPrecondition"));
    assert!(err.is_failed_precondition());
}

#[tokio::test]
async fn duplicate_group_name_is_a_conflict() {
    let err = fails_with(|| {
        json(409, json!({"error": {"code": 409, "message": "Contact group name already exists.", "status": "ALREADY_EXISTS"}}))
    })
    .await;
    assert!(err.is_conflict());
    assert!(err.is_already_exists());
    assert!(!err.is_failed_precondition());
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn not_found_and_rate_limit_predicates() {
    let err = fails_with(|| {
        json(404, json!({"error": {"code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND"}}))
    })
    .await;
    assert!(err.is_not_found());
    assert!(!err.is_rate_limited());

    let err = fails_with(|| {
        with_header(
            json(429, json!({"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED",
                "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "RATE_LIMIT_EXCEEDED", "domain": "googleapis.com"}]}})),
            "retry-after",
            "7",
        )
    })
    .await;
    assert!(err.is_rate_limited());
    assert!(err.is_retryable());
    assert_eq!(err.reason(), Some("RATE_LIMIT_EXCEEDED"));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));

    let err = fails_with(|| json(412, json!({"error": {"code": 412, "message": "Precondition Failed"}}))).await;
    assert!(err.is_failed_precondition());
}

#[tokio::test]
async fn html_error_page_from_a_proxy() {
    let err =
        fails_with(|| text(502, "text/html", "<html><body><h1>502 Bad Gateway</h1>upstream gone</body></html>")).await;
    let se = err.service_error().expect("a service error");
    assert_eq!(se.http_status, 502);
    assert_eq!(se.message, "Bad Gateway");
    assert!(err.to_string().starts_with("HTTP 502: Bad Gateway"), "the status is said once: {err}");
    assert!(se.body_excerpt.contains("<h1>502 Bad Gateway</h1>"));
    assert!(se.status.is_none() && se.errors.is_empty() && se.details.is_empty());
    assert!(err.is_retryable());
    assert!(err.to_string().contains("upstream gone"), "{err}");
}

#[tokio::test]
async fn long_error_body_is_cut_to_an_excerpt() {
    let err = fails_with(|| text(500, "text/plain", "x".repeat(10_000))).await;
    assert_eq!(err.service_error().unwrap().body_excerpt.len(), 512);
}

#[tokio::test]
async fn undecodable_success_body_keeps_status_and_excerpt() {
    let server = serve(|_| async { text(200, "application/json", "{\"names\": [oops]}") }).await;
    let client = server.client().build().unwrap();
    let mut call = Call::new(&client, &GET_PERSON);
    call.path_param("resourceName", "people/c1");
    let err = call.send::<Value>().await.unwrap_err();
    match &err {
        Error::Decode { status, message, body_excerpt } => {
            assert_eq!(*status, 200);
            assert!(!message.is_empty());
            assert_eq!(body_excerpt, "{\"names\": [oops]}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(err.http_status(), Some(200));

    use discovery_runtime::for_generated_code::Serde;
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Strict {
        count: u32,
    }
    let server = serve(|_| async { json(200, json!({"count": "many"})) }).await;
    let client = server.client().build().unwrap();
    let mut call = Call::new(&client, &GET_PERSON);
    call.path_param("resourceName", "people/c1");
    let err = call.send::<Serde<Strict>>().await.unwrap_err();
    assert!(matches!(&err, Error::Decode { body_excerpt, .. } if body_excerpt.contains("many")), "{err:?}");
}

#[tokio::test]
async fn transport_errors_are_typed() {
    let addr = closed_port().await;
    let client =
        Client::builder(&API).base_url(format!("http://{addr}/")).retry_policy(RetryPolicy::none()).build().unwrap();
    let mut call = Call::new(&client, &GET_PERSON);
    call.path_param("resourceName", "people/c1");
    let err = call.send_empty().await.unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(err.http_status(), None);
}

#[tokio::test]
async fn an_error_body_is_read_up_to_one_mebibyte() {
    // The message comes after the padding: found in a body under the limit, not in one over it.
    fn padded(pad: usize) -> axum::response::Response {
        json(500, json!({"error": {"code": 500, "pad": "x".repeat(pad), "message": "late"}}))
    }
    let err = fails_with(|| padded(1000 << 10)).await;
    assert_eq!(err.service_error().unwrap().message, "late");
    let err = fails_with(|| padded(1100 << 10)).await;
    let se = err.service_error().unwrap();
    assert_eq!(se.message, "Internal Server Error", "the body was cut, so not parsed: {se:?}");
    assert!(se.body_excerpt.starts_with("{\"error\""), "{se:?}");
}

#[tokio::test]
async fn a_retry_delay_too_long_to_represent_ends_the_retries() {
    let server = serve(|_| async {
        json(
            503,
            json!({"error": {"code": 503, "message": "busy", "details": [{
                "@type": "type.googleapis.com/google.rpc.RetryInfo",
                "retryDelay": {"seconds": "18446744073709551615", "nanos": 999999999}
            }]}}),
        )
    })
    .await;
    let client = server.client().build().unwrap();
    let mut call = Call::new(&client, &GET_PERSON);
    call.path_param("resourceName", "people/c1");
    let err = call.send::<Value>().await.unwrap_err();
    assert_eq!(err.http_status(), Some(503), "{err}");
    assert_eq!(server.count(), 1, "asked to wait longer than any budget: not retried");
}

/// Credentials a call passes as query parameters (`key`, `access_token`) are scrubbed from
/// errors as the client's own key is, in the percent-encoded form the server receives and
/// decoded; and a call's own `key` replaces the client's API key: a URL carries one `key`.
#[tokio::test]
async fn credentials_passed_as_parameters_stay_out_of_errors() {
    let server = serve(|req| async move {
        if req.path().ends_with("/ok") {
            return json(200, json!({}));
        }
        let decoded = percent_encoding::percent_decode_str(&req.uri).decode_utf8_lossy().into_owned();
        json(400, json!({"error": {"code": 400, "message": format!("bad request {} ({decoded})", req.uri)}}))
    })
    .await;
    let client = server.client().api_key("AIzaCLIENT-SECRET").retry_policy(RetryPolicy::none()).build().unwrap();

    let mut call = Call::new(&client, &GET_PERSON);
    call.path_param("resourceName", "people/ok");
    call.param("key", "AIzaOWN-SECRET/KEY");
    call.send_empty().await.unwrap();
    assert_eq!(
        server.requests()[0].query(),
        Some("key=AIzaOWN-SECRET%2FKEY"),
        "the call's own key replaces the client's"
    );

    let mut call = Call::new(&client, &GET_PERSON);
    call.path_param("resourceName", "people/fails");
    call.param("key", "AIzaOWN-SECRET/KEY");
    call.param("access_token", "ya29.PARAM-SECRET");
    let err = call.send::<Value>().await.unwrap_err();
    let message = err.service_error().expect("a service error").message.clone();
    assert!(message.starts_with("bad request /v1/people/fails?key=<redacted>&access_token=<redacted> ("), "{message}");
    for shown in [err.to_string(), format!("{err:?}")] {
        assert!(!shown.contains("SECRET"), "a credential passed as a parameter leaks: {shown}");
    }
}
