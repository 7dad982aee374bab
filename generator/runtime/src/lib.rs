//! Runtime support for Rust clients generated from Google API Discovery documents.
//!
//! A generated crate (for example the People API v1 client) contains only what is specific
//! to its API: types, one small builder per method and a static description of every method
//! (`MethodInfo`). Everything that is the same for every Google API lives here, written and
//! tested once:
//!
//! * **Requests.** A `Call` (under every method builder) carries one method invocation: path parameters, query
//!   parameters, a JSON body, extra headers and per-call options. Path templates are expanded
//!   following RFC 6570 (`{var}` encodes `/`, `{+var}` keeps it), every value is checked
//!   against the Discovery document's `pattern` before anything is sent, and values that could
//!   reach another resource (`..` segments, `?`, `#`, `%`, control characters) are rejected or
//!   neutralised by encoding. Repeated query parameters are sent as `k=a&k=b`.
//! * **HTTP.** Requests go out through reqwest ([`HttpTransport`]): rustls with the `ring`
//!   provider and TLS records that fit in one TCP segment, HTTP/2 by ALPN with HTTP/1.1
//!   fallback, gzip (`Accept-Encoding: gzip`, a
//!   `User-Agent` ending in `(gzip)`, transparent decoding), pooled connections, proxies
//!   (`http`, `https`, SOCKS, the environment). Every request carries Google's client headers
//!   (`x-goog-api-client`, `x-goog-api-version` from the document, `x-goog-user-project`
//!   with [`ClientBuilder::quota_project`]). An application can pass its own
//!   `reqwest::Client`, a `reqwest-middleware` client or a test double, and serve many users
//!   through one HTTP client ([`Client::with_token_provider`]).
//! * **Responses and errors.** Successful JSON bodies are decoded by this crate's own reader
//!   (which follows serde_json's grammar and limits); everything else
//!   ends in the single [`Error`] type. Service errors keep the whole Google error envelope
//!   ([`ServiceError`]: HTTP status, `error.code`, `error.status`, `error.message`, legacy
//!   `errors[]` and typed `details` such as `ErrorInfo` and `RetryInfo`), and [`Error`] has
//!   predicates such as [`Error::is_conflict`], [`Error::is_failed_precondition`] and
//!   [`Error::reason`]. Non-JSON error bodies (an HTML page from a proxy) and undecodable
//!   success bodies keep an excerpt of the body.
//! * **Authentication.** A small async [`auth::TokenProvider`] trait (scopes in, bearer token
//!   out), a [`auth::StaticToken`] and an API key are built in; an adapter for `gcp_auth`
//!   (Application Default Credentials) sits behind the `gcp-auth` cargo feature. Tokens travel
//!   only in the `Authorization` header, never follow a redirect to another host, and never
//!   appear in `Debug` output, errors or traces; an API key is sent as the `key` query
//!   parameter and redacted everywhere else.
//! * **Reliability.** Idempotent methods are retried on 408, 429 and 5xx answers, timeouts
//!   and connection failures, with exponential backoff and full jitter, honouring
//!   `Retry-After` and `RetryInfo`, bounded by a number of attempts and a time budget
//!   ([`RetryPolicy`]); every retry, upload chunks included, goes through one loop.
//!   Non-idempotent methods are retried only when the service surely did nothing (no
//!   connection, or 429). Time always ends: each attempt has a timeout (60 s by default)
//!   and a call can have a deadline that also bounds its wait in the mutation queue.
//!   Mutations issued through one [`Client`] are sent one at a time by default, as Google
//!   recommends for write-heavy APIs such as People. Each call runs in a `tracing` span.
//! * **Paging.** [`PageStream`] and [`ItemStream`] follow `nextPageToken` across pages, as
//!   `futures_core::Stream`s or through their inherent `try_next` methods.
//! * **Media.** Uploads ([`Media`], [`Upload`]) stream from bytes, files or readers by the
//!   simple, multipart and resumable protocols (a resumable session survives failures and
//!   restarts, holding one chunk in memory); downloads stream as a [`ByteStream`] or into any
//!   `AsyncWrite`, resumed with `Range` after a failure.
//! * **Wire formats.** [`wire::int64`] sends 64-bit integers as JSON strings and accepts
//!   strings or numbers, at any depth of `Option`/`Vec`/map nesting; [`Bytes`] is the base64
//!   `format: byte` type; [`FieldMask`] is the comma-separated `google-fieldmask` type.
//!
//! # Example
//!
//! Applications use the typed builders of a generated crate. Underneath, each builder holds a
//! `Call`, which the runtime keeps (with the other items only generated code uses) in a
//! module hidden from these pages, `for_generated_code`; this is what a builder does:
//!
//! ```no_run
//! use discovery_runtime::{auth::StaticToken, ApiInfo, Client};
//! use discovery_runtime::for_generated_code::{Call, HttpMethod, MethodInfo, PathParam};
//!
//! static API: ApiInfo = ApiInfo::new("people", "v1", "https://people.googleapis.com/", "")
//!     .with_user_agent("google-people-v1/0.1.0");
//! static GET: MethodInfo = MethodInfo::new("people.people.get", HttpMethod::Get, "v1/{+resourceName}")
//!     .with_path_params(&[PathParam::new("resourceName", Some("^people/[^/]+$"))])
//!     .with_scopes(&["https://www.googleapis.com/auth/contacts.readonly"]);
//!
//! # async fn run() -> discovery_runtime::Result<()> {
//! let client = Client::builder(&API).token_provider(StaticToken::new("ya29...")).build()?;
//! let mut call = Call::new(&client, &GET);
//! call.path_param("resourceName", "people/me");
//! call.query("personFields", "names,emailAddresses");
//! let person: serde_json::Value = call.send().await?;
//! # let _ = person;
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]
// docs.rs (Cargo.toml sets `docsrs` there): label feature-gated items with their feature.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod auth;
mod call;
mod client;
/// Names the generator and generated code rely on; not for applications.
#[doc(hidden)]
pub mod contract;
mod download;
pub mod error;
mod extra;
mod info;
mod macros;
mod media;
mod paging;
mod path;
mod query;
mod reader;
mod retry;
mod transport;
mod types;
pub mod wire;
pub mod workflows;
mod writer;

pub use bytes;
pub use call::{Response, ResponseFuture};
pub use client::{Client, ClientBuilder, API_CLIENT_HEADER_VALUE, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT};
pub use download::ByteStream;
pub use error::{Error, Result, ServiceError, TransportError};
pub use info::ApiInfo;
pub use media::{Media, Upload, UploadProgress, CHUNK_GRANULARITY, DEFAULT_CHUNK_SIZE};
pub use paging::{ItemStream, Page, PageStream, MAX_EMPTY_PAGES};
/// The HTTP client crate the runtime sends through, for [`HttpTransport`] implementations
/// and [`ClientBuilder::http_client`].
pub use reqwest;
pub use retry::RetryPolicy;
/// The I/O traits of media: [`Media::from_reader`] reads an `AsyncRead`, a builder's
/// `download_to` writes to an `AsyncWrite`.
pub use tokio::io::{AsyncRead, AsyncWrite};
pub use transport::{HttpClientBuilder, HttpTransport};
pub use types::{Bytes, FieldMask};

/// The future returned by the sending methods of generated builders.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// What generated crates call and applications do not: the request every method builder
/// wraps ([`Call`](for_generated_code::Call)), the static descriptions of methods, the JSON
/// reader and writer of generated types, and what the runtime's macros expand to. Not part
/// of the supported API: it follows the generator, not semver.
#[doc(hidden)]
pub mod for_generated_code {
    pub use crate::call::Call;
    pub use crate::contract;
    pub use crate::extra::{member_index, Forced, Members};
    pub use crate::info::{HttpMethod, MediaUploadInfo, MethodInfo, PathParam};
    pub use crate::query::QueryValue;
    pub use crate::reader::{
        deserialize_via_value, from_str, read_object, read_object_into, read_object_push, read_object_some,
        DecodeError, FromJson, JsonObject, JsonReader, Serde,
    };
    pub use crate::wire::{deserialize_enum, member, JsonBody, ValueBody};
    pub use crate::writer::{to_vec, JsonWriter, ObjectWriter, ToJson};
    pub use serde;
    pub use serde_json;
}
