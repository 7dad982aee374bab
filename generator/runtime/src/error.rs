//! The one error type of generated clients, and the Google error envelope.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use http::HeaderMap;
use serde_json::Value;

use crate::auth::AuthError;
pub use crate::transport::TransportError;

/// The result type of every fallible operation in generated clients.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Longest body excerpt kept in errors.
pub(crate) const EXCERPT_LEN: usize = 512;

/// Everything that can go wrong when calling an API.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request could not be sent or the response could not be read (DNS, connection,
    /// TLS, proxy, reset, refused redirect...). The URL is never part of the message, since it
    /// may carry an API key.
    #[error("transport error: {0}")]
    Transport(#[source] TransportError),
    /// An attempt took longer than its timeout
    /// ([`ClientBuilder::timeout`](crate::ClientBuilder::timeout), 60 s by default), or the
    /// call went past its deadline ([`ClientBuilder::deadline`](crate::ClientBuilder::deadline)),
    /// waiting for earlier mutations included.
    #[error("the request timed out")]
    Timeout,
    /// The server answered with success but the body could not be decoded.
    #[error("could not decode the response (HTTP {status}): {message}")]
    Decode {
        /// HTTP status of the response.
        status: u16,
        /// What the decoder reported.
        message: String,
        /// The start of the body (at most 512 bytes, lossily converted to UTF-8).
        body_excerpt: String,
    },
    /// The service answered with an error.
    #[error("{0}")]
    Service(Box<ServiceError>),
    /// No token could be obtained.
    #[error("authentication failed: {0}")]
    Auth(#[source] AuthError),
    /// A path parameter does not match the pattern given by the Discovery document. Nothing
    /// was sent.
    #[error("path parameter `{name}` value {value:?} does not match the pattern `{pattern}`")]
    InvalidPathParameter {
        /// The parameter's name in the path template.
        name: &'static str,
        /// The rejected value.
        value: String,
        /// The pattern it had to match.
        pattern: &'static str,
    },
    /// The request could not be built or can never be sent as it is (missing or unsafe path
    /// parameter, body that could not be serialised, invalid header, a URL longer than the
    /// HTTP stack accepts, media that the method does not accept...). Nothing was sent, and
    /// it is never retried.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// A media upload could not be completed (for example the server gave no resumable
    /// session, or kept failing while a resumable upload was resumed).
    #[error("media upload failed: {0}")]
    Upload(String),
    /// A successful response's body is larger than
    /// [`ClientBuilder::max_response_bytes`](crate::ClientBuilder::max_response_bytes)
    /// allows. Reading stopped at the limit, so memory stays bounded.
    #[error("the response body is larger than the limit of {limit} bytes (HTTP {status})")]
    ResponseTooLarge {
        /// HTTP status of the response.
        status: u16,
        /// The limit, in bytes.
        limit: u64,
    },
    /// The server broke the API's protocol (for example a page token that repeats forever,
    /// or an unreadable `Range` header).
    #[error("unexpected response from the server: {0}")]
    Protocol(String),
}

impl Error {
    /// The HTTP status of the response that caused the error, if there was one.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Error::Service(e) => Some(e.http_status),
            Error::Decode { status, .. } | Error::ResponseTooLarge { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The service error, when the service answered with one.
    pub fn service_error(&self) -> Option<&ServiceError> {
        match self {
            Error::Service(e) => Some(e),
            _ => None,
        }
    }

    /// The machine-readable reason: the `ErrorInfo` detail's reason, else the first legacy
    /// `errors[].reason`.
    pub fn reason(&self) -> Option<&str> {
        self.service_error().and_then(ServiceError::reason)
    }

    /// HTTP 404 or status `NOT_FOUND`.
    pub fn is_not_found(&self) -> bool {
        self.service_error().is_some_and(|e| e.http_status == 404 || e.status.as_deref() == Some("NOT_FOUND"))
    }

    /// HTTP 409: the request conflicts with the current state (duplicate name, concurrent
    /// change).
    pub fn is_conflict(&self) -> bool {
        self.service_error().is_some_and(|e| e.http_status == 409)
    }

    /// Status `ALREADY_EXISTS` or legacy reason `alreadyExists` / `duplicate`.
    pub fn is_already_exists(&self) -> bool {
        self.service_error().is_some_and(|e| {
            e.status.as_deref() == Some("ALREADY_EXISTS") || e.has_legacy_reason(&["alreadyExists", "duplicate"])
        })
    }

    /// Status `FAILED_PRECONDITION`, reason `failedPrecondition` or `conditionNotMet`, or
    /// HTTP 412: typically an etag that no longer matches, so re-read, merge and retry.
    pub fn is_failed_precondition(&self) -> bool {
        self.service_error().is_some_and(|e| {
            e.http_status == 412
                || e.status.as_deref() == Some("FAILED_PRECONDITION")
                || e.has_legacy_reason(&["failedPrecondition", "conditionNotMet"])
                || e.reason() == Some("FAILED_PRECONDITION")
        })
    }

    /// HTTP 429, status `RESOURCE_EXHAUSTED`, or a rate-limit reason (including the legacy
    /// 403 `rateLimitExceeded` / `userRateLimitExceeded`).
    pub fn is_rate_limited(&self) -> bool {
        self.service_error().is_some_and(ServiceError::is_rate_limited)
    }

    /// Whether trying again later may succeed: timeouts, connection failures, HTTP 408,
    /// 429, 500, 502, 503, 504 and rate-limit reasons. Says nothing about whether repeating
    /// the request is safe (only idempotent methods are retried after any transient failure).
    pub fn is_retryable(&self) -> bool {
        crate::retry::is_transient(self)
    }

    /// Whether the error is a timeout: of an attempt, or of connecting (a
    /// [`ClientBuilder::connect_timeout`](crate::ClientBuilder::connect_timeout), which stays an
    /// [`Error::Transport`] because it proves nothing was sent).
    pub fn is_timeout(&self) -> bool {
        match self {
            Error::Timeout => true,
            Error::Transport(e) => e.is_timeout(),
            _ => false,
        }
    }

    /// How long the server asked to wait before trying again (`Retry-After` or `RetryInfo`).
    pub fn retry_after(&self) -> Option<Duration> {
        self.service_error().and_then(|e| e.retry_after)
    }
}

impl Error {
    /// A failure to read or write local media (a file, a reader, a writer).
    pub(crate) fn from_io(e: std::io::Error) -> Self {
        Error::Upload(format!("media input or output failed: {e}"))
    }

    /// A failure of the HTTP layer: [`Error::InvalidRequest`] when the request can never be
    /// sent as it is (nothing was sent, and retrying cannot help), else
    /// [`Error::Transport`].
    pub(crate) fn from_transport(e: TransportError) -> Self {
        if e.is_unsendable() {
            Error::InvalidRequest(e.to_string())
        } else {
            Error::Transport(e)
        }
    }
}

impl From<AuthError> for Error {
    fn from(e: AuthError) -> Self {
        Error::Auth(e)
    }
}

impl From<ServiceError> for Error {
    fn from(e: ServiceError) -> Self {
        Error::Service(Box::new(e))
    }
}

/// An error answer from the service, following Google's JSON error envelope
/// (`{"error": {"code", "message", "status", "errors", "details"}}`).
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct ServiceError {
    /// The HTTP status code of the response.
    pub http_status: u16,
    /// `error.code`, usually equal to the HTTP status.
    pub code: Option<i64>,
    /// `error.status`, the canonical code such as `FAILED_PRECONDITION` or `NOT_FOUND`.
    pub status: Option<String>,
    /// `error.message`, or a description of the HTTP status when the body had none.
    pub message: String,
    /// The legacy `error.errors` list.
    pub errors: Vec<LegacyError>,
    /// The typed `error.details` list.
    pub details: Vec<ErrorDetail>,
    /// How long to wait before retrying, from `Retry-After` or a `RetryInfo` detail.
    pub retry_after: Option<Duration>,
    /// The start of the body (at most 512 bytes) when it was not a JSON error envelope, for
    /// example an HTML page from a proxy; empty otherwise.
    pub body_excerpt: String,
}

/// One entry of the legacy `error.errors` list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LegacyError {
    /// Human-readable message.
    pub message: String,
    /// Error domain, such as `global` or `usageLimits`.
    pub domain: Option<String>,
    /// Machine-readable reason, such as `failedPrecondition` or `rateLimitExceeded`.
    pub reason: Option<String>,
    /// Where the error is, such as a parameter name.
    pub location: Option<String>,
    /// What `location` names, such as `parameter` or `header`.
    pub location_type: Option<String>,
}

/// One typed entry of `error.details`, chosen by its `@type`.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ErrorDetail {
    /// `google.rpc.ErrorInfo`: the machine-readable cause.
    ErrorInfo {
        /// The reason, such as `EXPIRED_SYNC_TOKEN` or `RATE_LIMIT_EXCEEDED`.
        reason: String,
        /// The domain, such as `people.googleapis.com`.
        domain: String,
        /// Further facts about the error.
        metadata: BTreeMap<String, String>,
    },
    /// `google.rpc.RetryInfo`: when to try again.
    RetryInfo {
        /// How long to wait.
        retry_delay: Duration,
    },
    /// `google.rpc.BadRequest`: which request fields are invalid.
    BadRequest {
        /// One entry per invalid field.
        field_violations: Vec<FieldViolation>,
    },
    /// `google.rpc.QuotaFailure`: which quota was exceeded.
    QuotaFailure {
        /// One entry per exceeded quota.
        violations: Vec<QuotaViolation>,
    },
    /// `google.rpc.LocalizedMessage`: a message for end users.
    LocalizedMessage {
        /// The locale, such as `en-US`.
        locale: String,
        /// The message.
        message: String,
    },
    /// Any other detail, kept as JSON.
    Other(Value),
}

/// One invalid field of a `BadRequest` detail.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FieldViolation {
    /// Path to the field, such as `person.names[0].givenName`.
    pub field: String,
    /// Why it is invalid.
    pub description: String,
}

/// One exceeded quota of a `QuotaFailure` detail.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct QuotaViolation {
    /// What the quota applies to, such as `project:123`.
    pub subject: String,
    /// Which quota was exceeded.
    pub description: String,
}

impl ServiceError {
    /// Builds a service error from a raw HTTP response. Never fails: bodies that are not a
    /// Google error envelope keep an excerpt in [`ServiceError::body_excerpt`].
    pub fn from_response(http_status: u16, headers: &HeaderMap, body: &[u8]) -> Self {
        let mut err = ServiceError { http_status, ..ServiceError::default() };
        let parsed = serde_json::from_slice::<Value>(body).ok();
        let envelope = parsed.as_ref().and_then(|v| v.get("error"));
        match envelope {
            Some(Value::Object(obj)) => {
                err.code = obj.get("code").and_then(json_i64);
                err.status = obj.get("status").and_then(json_string);
                err.message = obj.get("message").and_then(json_string).unwrap_or_default();
                if let Some(Value::Array(list)) = obj.get("errors") {
                    err.errors = list.iter().filter_map(LegacyError::parse).collect();
                }
                if let Some(Value::Array(list)) = obj.get("details") {
                    err.details = list.iter().map(ErrorDetail::parse).collect();
                }
            }
            // OAuth endpoints answer `{"error": "invalid_grant", "error_description": ...}`.
            Some(Value::String(code)) => {
                err.status = Some(code.clone());
                err.message = parsed
                    .as_ref()
                    .and_then(|v| v.get("error_description"))
                    .and_then(json_string)
                    .unwrap_or_else(|| code.clone());
            }
            _ => err.body_excerpt = excerpt(body),
        }
        if err.message.is_empty() {
            err.message = status_text(http_status);
        }
        err.retry_after = crate::retry::retry_after_header(headers).or_else(|| {
            err.details.iter().find_map(|d| match d {
                ErrorDetail::RetryInfo { retry_delay } => Some(*retry_delay),
                _ => None,
            })
        });
        err
    }

    /// The `ErrorInfo` detail's reason, else the first legacy `errors[].reason`.
    pub fn reason(&self) -> Option<&str> {
        self.error_info_reason().or_else(|| self.errors.iter().find_map(|e| e.reason.as_deref()))
    }

    /// The reason of the `ErrorInfo` detail, if any.
    pub fn error_info_reason(&self) -> Option<&str> {
        self.details.iter().find_map(|d| match d {
            ErrorDetail::ErrorInfo { reason, .. } => Some(reason.as_str()),
            _ => None,
        })
    }

    /// The `ErrorInfo` detail's metadata, if any.
    pub fn error_info_metadata(&self) -> Option<&BTreeMap<String, String>> {
        self.details.iter().find_map(|d| match d {
            ErrorDetail::ErrorInfo { metadata, .. } => Some(metadata),
            _ => None,
        })
    }

    /// The field violations of the `BadRequest` detail, if any.
    pub fn field_violations(&self) -> &[FieldViolation] {
        self.details
            .iter()
            .find_map(|d| match d {
                ErrorDetail::BadRequest { field_violations } => Some(field_violations.as_slice()),
                _ => None,
            })
            .unwrap_or(&[])
    }

    fn has_legacy_reason(&self, reasons: &[&str]) -> bool {
        self.errors.iter().any(|e| e.reason.as_deref().is_some_and(|r| reasons.contains(&r)))
    }

    pub(crate) fn is_rate_limited(&self) -> bool {
        self.http_status == 429
            || self.status.as_deref() == Some("RESOURCE_EXHAUSTED")
            || self.error_info_reason() == Some("RATE_LIMIT_EXCEEDED")
            || self.has_legacy_reason(&["rateLimitExceeded", "userRateLimitExceeded"])
    }
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}", self.http_status)?;
        if let Some(status) = &self.status {
            f.write_str(" ")?;
            write_server_text(f, status, DISPLAYED_MESSAGE_CHARS)?;
        }
        f.write_str(": ")?;
        write_server_text(f, &self.message, DISPLAYED_MESSAGE_CHARS)?;
        if let Some(reason) = self.reason() {
            f.write_str(" (reason: ")?;
            write_server_text(f, reason, DISPLAYED_MESSAGE_CHARS)?;
            f.write_str(")")?;
        }
        if !self.body_excerpt.is_empty() {
            let short: String = self.body_excerpt.chars().take(120).collect();
            write!(f, " (body: {short:?})")?;
        }
        Ok(())
    }
}

/// How much of a server's message `Display` shows; the field keeps all of it.
pub(crate) const DISPLAYED_MESSAGE_CHARS: usize = 1000;

/// Writes text a server chose into a message that ends up in logs: at most `max` characters,
/// and control characters escaped (`\n`, `\u{1b}`), so that an answer can neither forge log
/// lines nor send terminal escapes.
pub(crate) fn write_server_text(f: &mut fmt::Formatter<'_>, text: &str, max: usize) -> fmt::Result {
    use fmt::Write as _;
    for (i, c) in text.chars().enumerate() {
        if i == max {
            return f.write_str("…");
        }
        if c.is_control() {
            write!(f, "{}", c.escape_default())?;
        } else {
            f.write_char(c)?;
        }
    }
    Ok(())
}

impl LegacyError {
    /// An entry of `error.errors`, if it is an object. Read by hand rather than derived: it
    /// is the runtime's only use of serde's derive, which would otherwise be compiled in
    /// every application's build for it.
    fn parse(value: &Value) -> Option<LegacyError> {
        let entry = value.as_object()?;
        let text = |key: &str| entry.get(key).and_then(json_string);
        Some(LegacyError {
            message: text("message").unwrap_or_default(),
            domain: text("domain"),
            reason: text("reason"),
            location: text("location"),
            location_type: text("locationType"),
        })
    }
}

impl ErrorDetail {
    fn parse(value: &Value) -> ErrorDetail {
        let kind = value.get("@type").and_then(Value::as_str).map(|t| t.rsplit('/').next().unwrap_or(t)).unwrap_or("");
        let text = |key: &str| value.get(key).and_then(json_string).unwrap_or_default();
        match kind {
            "google.rpc.ErrorInfo" => ErrorDetail::ErrorInfo {
                reason: text("reason"),
                domain: text("domain"),
                metadata: value
                    .get("metadata")
                    .and_then(Value::as_object)
                    .map(|m| m.iter().filter_map(|(k, v)| json_string(v).map(|v| (k.clone(), v))).collect())
                    .unwrap_or_default(),
            },
            "google.rpc.RetryInfo" => match value.get("retryDelay").and_then(parse_proto_duration) {
                Some(retry_delay) => ErrorDetail::RetryInfo { retry_delay },
                None => ErrorDetail::Other(value.clone()),
            },
            "google.rpc.BadRequest" => ErrorDetail::BadRequest {
                field_violations: objects(value, "fieldViolations")
                    .map(|v| FieldViolation {
                        field: v.get("field").and_then(json_string).unwrap_or_default(),
                        description: v.get("description").and_then(json_string).unwrap_or_default(),
                    })
                    .collect(),
            },
            "google.rpc.QuotaFailure" => ErrorDetail::QuotaFailure {
                violations: objects(value, "violations")
                    .map(|v| QuotaViolation {
                        subject: v.get("subject").and_then(json_string).unwrap_or_default(),
                        description: v.get("description").and_then(json_string).unwrap_or_default(),
                    })
                    .collect(),
            },
            "google.rpc.LocalizedMessage" => {
                ErrorDetail::LocalizedMessage { locale: text("locale"), message: text("message") }
            }
            _ => ErrorDetail::Other(value.clone()),
        }
    }
}

fn objects<'a>(value: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    value.get(key).and_then(Value::as_array).into_iter().flatten()
}

fn json_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn json_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Parses a protobuf JSON duration: `"1.5s"`, or the older `{"seconds": 1, "nanos": 0}`. A
/// delay too long to represent is [`Duration::MAX`] (the retry loop then stops at once, as for
/// such a `Retry-After`), not read as zero or ignored; a negative or unreadable one is `None`.
fn parse_proto_duration(v: &Value) -> Option<Duration> {
    match v {
        Value::String(s) => {
            let secs: f64 = s.strip_suffix('s')?.trim().parse().ok()?;
            saturating_secs(secs)
        }
        Value::Object(o) => {
            let secs = match o.get("seconds") {
                None | Some(Value::Null) => 0.0,
                Some(Value::Number(n)) => n.as_f64()?,
                Some(Value::String(s)) => s.trim().parse().ok()?,
                Some(_) => return None,
            };
            let nanos = o.get("nanos").and_then(json_i64).unwrap_or(0);
            let nanos = u32::try_from(nanos).ok().filter(|n| *n < 1_000_000_000)?;
            // Whole seconds as given (an f64 is exact up to 2^53, far beyond any real delay).
            saturating_secs(secs.trunc())?.checked_add(Duration::from_nanos(nanos.into())).or(Some(Duration::MAX))
        }
        _ => None,
    }
}

fn saturating_secs(secs: f64) -> Option<Duration> {
    if secs.is_nan() || secs < 0.0 {
        return None;
    }
    Some(Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX))
}

/// The first [`EXCERPT_LEN`] bytes of a body as text, cut at a character boundary.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(EXCERPT_LEN)]).into_owned();
    // A multi-byte character cut at the limit decodes as U+FFFD; drop it.
    if body.len() > EXCERPT_LEN {
        text.trim_end_matches('\u{FFFD}').to_owned()
    } else {
        text
    }
}

pub(crate) fn redact_in(text: &mut String, secret: &str) {
    if !secret.is_empty() && text.contains(secret) {
        *text = text.replace(secret, "<redacted>");
    }
}

/// The message of an error whose body says nothing usable: the status's reason phrase
/// (`Display` already starts with `HTTP {status}`).
fn status_text(status: u16) -> String {
    match http::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()) {
        Some(reason) => reason.to_owned(),
        None => "no error message in the response".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_bounds_and_escapes_what_the_server_wrote() {
        let mut e =
            ServiceError { http_status: 400, message: "line\nforged: \u{1b}[31mred".into(), ..Default::default() };
        assert_eq!(e.to_string(), "HTTP 400: line\\nforged: \\u{1b}[31mred");
        e.status = Some("INVALID\nforged".into());
        assert!(e.to_string().starts_with("HTTP 400 INVALID\\nforged: "), "{e}");
        let item = crate::workflows::ItemError {
            status: Some("A\rB".into()),
            reason: Some("\u{1b}[2J".into()),
            ..crate::workflows::ItemError::new("x\ny")
        };
        assert_eq!(item.to_string(), "A\\rB: x\\ny (reason: \\u{1b}[2J)");
        e.message = "é".repeat(5000);
        let shown = e.to_string();
        assert_eq!(shown.chars().filter(|c| *c == 'é').count(), DISPLAYED_MESSAGE_CHARS);
        assert!(shown.ends_with('…'), "{shown}");
        assert_eq!(e.message.chars().count(), 5000, "the field keeps the whole message");
    }

    #[test]
    fn proto_durations() {
        assert_eq!(parse_proto_duration(&Value::from("1.5s")), Some(Duration::from_millis(1500)));
        assert_eq!(parse_proto_duration(&serde_json::json!({"seconds": 2, "nanos": 5})), Some(Duration::new(2, 5)));
        assert_eq!(parse_proto_duration(&Value::from("-1s")), None);
        assert_eq!(parse_proto_duration(&Value::from("abc")), None);
        // Too long to represent: the longest wait, which ends the retries, never zero.
        let huge = serde_json::json!({"seconds": "18446744073709551615", "nanos": 999_999_999});
        assert_eq!(parse_proto_duration(&huge), Some(Duration::MAX));
        assert_eq!(parse_proto_duration(&serde_json::json!({"seconds": 1e300})), Some(Duration::MAX));
        assert_eq!(parse_proto_duration(&Value::from("1e308s")), Some(Duration::MAX));
        assert_eq!(parse_proto_duration(&Value::from("infs")), Some(Duration::MAX));
        assert_eq!(parse_proto_duration(&serde_json::json!({"seconds": -5})), None);
        assert_eq!(parse_proto_duration(&serde_json::json!({"seconds": "x"})), None);
        assert_eq!(parse_proto_duration(&serde_json::json!({"nanos": 5})), Some(Duration::from_nanos(5)));
    }

    #[test]
    fn excerpt_is_bounded_and_cut_on_char_boundary() {
        let body = "é".repeat(400);
        let e = excerpt(body.as_bytes());
        assert!(e.len() <= EXCERPT_LEN);
        assert!(!e.contains('\u{FFFD}'));
        assert_eq!(excerpt(b"short"), "short");
    }

    #[test]
    fn legacy_errors_keep_every_object_entry_and_what_can_be_read_of_it() {
        let body = br#"{"error": {"code": 403, "message": "m", "errors": [
            {"message": "Rate Limit Exceeded", "domain": "usageLimits", "reason": "rateLimitExceeded",
             "location": "q", "locationType": "parameter", "extra": [1]},
            {"reason": 7, "message": null},
            "not an object"
        ]}}"#;
        let e = ServiceError::from_response(403, &HeaderMap::new(), body);
        assert_eq!(e.errors.len(), 2, "{:?}", e.errors);
        let first = &e.errors[0];
        assert_eq!(first.message, "Rate Limit Exceeded");
        assert_eq!(first.domain.as_deref(), Some("usageLimits"));
        assert_eq!(first.location.as_deref(), Some("q"));
        assert_eq!(first.location_type.as_deref(), Some("parameter"));
        assert!(e.is_rate_limited());
        // A value of another type than documented is still read as text, and a null as absent.
        assert_eq!(e.errors[1].reason.as_deref(), Some("7"));
        assert_eq!(e.errors[1].message, "");
    }

    #[test]
    fn oauth_style_error() {
        let e = ServiceError::from_response(
            400,
            &HeaderMap::new(),
            br#"{"error":"invalid_grant","error_description":"Bad Request"}"#,
        );
        assert_eq!(e.status.as_deref(), Some("invalid_grant"));
        assert_eq!(e.message, "Bad Request");
    }

    #[test]
    fn empty_body_gets_status_text() {
        let e = ServiceError::from_response(503, &HeaderMap::new(), b"");
        assert_eq!(e.message, "Service Unavailable");
        assert!(e.to_string().starts_with("HTTP 503: Service Unavailable"), "{e}");
    }

    mod hostile_values {
        use super::*;
        use proptest::prelude::*;

        /// Error bodies a server could send: arbitrary bytes, and envelopes whose fields
        /// (codes, retry delays, details) hold anything.
        fn body() -> impl Strategy<Value = Vec<u8>> {
            let delay = prop_oneof!["[-+0-9.eE]{0,30}s?", any::<i64>().prop_map(|n| format!("{n}s"))];
            let envelope = (any::<i64>(), delay, any::<i64>(), any::<i64>(), "[ -~]{0,20}").prop_map(
                |(code, delay, seconds, nanos, text)| {
                    serde_json::json!({"error": {"code": code, "message": text, "status": text, "errors": [{"reason": text}],
                        "details": [
                            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay},
                            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": {"seconds": seconds, "nanos": nanos}},
                            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": text, "metadata": {"k": code}},
                            {"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [{"field": text}]}
                        ]}})
                    .to_string()
                    .into_bytes()
                },
            );
            prop_oneof![proptest::collection::vec(any::<u8>(), 0..200), envelope]
        }

        proptest! {
            #[test]
            fn any_status_headers_and_body_make_an_error_without_panicking(
                status in any::<u16>(),
                retry_after in proptest::collection::vec(any::<u8>(), 0..40),
                body in body(),
            ) {
                let mut headers = HeaderMap::new();
                if let Ok(value) = http::HeaderValue::from_bytes(&retry_after) {
                    headers.insert(http::header::RETRY_AFTER, value);
                }
                let err = Error::from(ServiceError::from_response(status, &headers, &body));
                let _ = (err.to_string(), format!("{err:?}"), err.is_retryable(), err.retry_after(), err.reason());
                prop_assert_eq!(err.http_status(), Some(status));
            }
        }
    }
}
