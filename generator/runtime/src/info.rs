//! Static descriptions of an API and its methods, written by the generator as `static` items.

use std::fmt;

/// Facts about one API, taken from its Discovery document.
///
/// Built with [`ApiInfo::new`] and the `const` setters, so that a generated crate's
/// `static API` keeps compiling when the runtime learns something new about APIs.
///
/// ```
/// use discovery_runtime::ApiInfo;
///
/// static API: ApiInfo = ApiInfo::new("compute", "v1", "https://compute.googleapis.com/", "compute/v1/")
///     .with_user_agent("google-compute-v1/0.1.0")
///     .with_api_version("2026-11-01");
/// assert_eq!(API.service_path(), "compute/v1/");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApiInfo {
    name: &'static str,
    version: &'static str,
    root_url: &'static str,
    service_path: &'static str,
    user_agent: &'static str,
    api_version: Option<&'static str>,
}

impl ApiInfo {
    /// An API named `name` (for example `people`) at `version` (`v1`), served under
    /// `root_url` (ending with `/`) and `service_path` (empty, or ending with `/`). Its
    /// `User-Agent` is `discovery-runtime/VERSION` until [`with_user_agent`](Self::with_user_agent)
    /// says otherwise.
    pub const fn new(
        name: &'static str,
        version: &'static str,
        root_url: &'static str,
        service_path: &'static str,
    ) -> Self {
        ApiInfo {
            name,
            version,
            root_url,
            service_path,
            user_agent: concat!("discovery-runtime/", env!("CARGO_PKG_VERSION")),
            api_version: None,
        }
    }

    /// Sets the default `User-Agent` header (generated crates use their own name and
    /// version, for example `google-people-v1/0.1.0`).
    pub const fn with_user_agent(mut self, user_agent: &'static str) -> Self {
        self.user_agent = user_agent;
        self
    }

    /// Sets the document's `apiVersion`, sent as the `x-goog-api-version` header of every
    /// call, as Google's own clients do.
    ///
    /// # Panics
    ///
    /// When `api_version` is not visible ASCII (spaces and tabs allowed): in a generated
    /// constant, a compile error.
    pub const fn with_api_version(mut self, api_version: &'static str) -> Self {
        assert_header_text(api_version);
        self.api_version = Some(api_version);
        self
    }

    /// The API's name, for example `people`.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The API's version, for example `v1`.
    pub const fn version(&self) -> &'static str {
        self.version
    }

    /// The root URL of the service, ending with `/`, for example
    /// `https://people.googleapis.com/`.
    pub const fn root_url(&self) -> &'static str {
        self.root_url
    }

    /// The path under the root URL that method paths are relative to: empty, or ending with
    /// `/` (for example `compute/v1/`).
    pub const fn service_path(&self) -> &'static str {
        self.service_path
    }

    /// The default `User-Agent` header.
    pub const fn user_agent(&self) -> &'static str {
        self.user_agent
    }

    /// The document's `apiVersion`, when it has one (sent as `x-goog-api-version`).
    pub const fn api_version(&self) -> Option<&'static str> {
        self.api_version
    }
}

/// The HTTP method of an API method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HttpMethod {
    /// `GET`.
    Get,
    /// `HEAD`.
    Head,
    /// `POST`.
    Post,
    /// `PUT`.
    Put,
    /// `PATCH`.
    Patch,
    /// `DELETE`.
    Delete,
}

impl HttpMethod {
    /// The method's name as sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Head => "HEAD",
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Patch => "PATCH",
            HttpMethod::Delete => "DELETE",
        }
    }

    /// Whether sending the request twice has the same effect as sending it once (RFC 9110),
    /// which is what makes a retry after an ambiguous failure safe.
    pub fn is_idempotent(self) -> bool {
        matches!(self, HttpMethod::Get | HttpMethod::Head | HttpMethod::Put | HttpMethod::Delete)
    }

    /// Whether the method changes state on the server (anything but `GET` and `HEAD`).
    pub fn is_mutation(self) -> bool {
        !matches!(self, HttpMethod::Get | HttpMethod::Head)
    }

    pub(crate) fn to_http(self) -> http::Method {
        match self {
            HttpMethod::Get => http::Method::GET,
            HttpMethod::Head => http::Method::HEAD,
            HttpMethod::Post => http::Method::POST,
            HttpMethod::Put => http::Method::PUT,
            HttpMethod::Patch => http::Method::PATCH,
            HttpMethod::Delete => http::Method::DELETE,
        }
    }
}

impl fmt::Display for HttpMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parameter that appears in a method's path template.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PathParam {
    name: &'static str,
    pattern: Option<&'static str>,
    /// Whether `pattern` is of the form checked without a regex engine, decided once here
    /// (in constant evaluation, for generated code) rather than on every request.
    segments_form: bool,
}

impl PathParam {
    /// The parameter `name` of the template (for example `resourceName`), whose every value
    /// must match `pattern`, the Discovery document's regular expression (for example
    /// `^people/[^/]+$`), when there is one.
    ///
    /// # Panics
    ///
    /// Without this crate's `regex` feature, when `pattern` is not of the form
    /// [`is_segments_pattern`](crate::contract::is_segments_pattern) accepts. Generated code
    /// calls this in constants, where that is a compile error; generated manifests enable the
    /// feature when their document needs it.
    pub const fn new(name: &'static str, pattern: Option<&'static str>) -> Self {
        let segments_form = match pattern {
            Some(pattern) => crate::contract::is_segments_pattern(pattern),
            None => false,
        };
        #[cfg(not(any(feature = "regex", test)))]
        assert!(
            pattern.is_none() || segments_form,
            "this path parameter pattern needs the `regex` feature of discovery-runtime"
        );
        PathParam { name, pattern, segments_form }
    }

    /// The name used in the template.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The pattern every value must match.
    pub const fn pattern(&self) -> Option<&'static str> {
        self.pattern
    }

    /// Whether [`pattern`](Self::pattern) is of the form
    /// [`is_segments_pattern`](crate::contract::is_segments_pattern) accepts.
    pub(crate) const fn has_segments_pattern(&self) -> bool {
        self.segments_form
    }
}

/// How a method accepts media uploads (the Discovery document's `mediaUpload`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MediaUploadInfo {
    simple_path: Option<&'static str>,
    resumable_path: Option<&'static str>,
    accept: &'static [&'static str],
    max_size: Option<u64>,
}

impl MediaUploadInfo {
    /// Uploads of any media type and size, with no protocol yet: add them with
    /// [`with_simple_path`](Self::with_simple_path) and
    /// [`with_resumable_path`](Self::with_resumable_path).
    pub const fn new() -> Self {
        MediaUploadInfo { simple_path: None, resumable_path: None, accept: &[], max_size: None }
    }

    /// The path of simple and multipart uploads. A path starting with `/` is relative to the
    /// root URL (as in Discovery documents), any other path to the base URL.
    pub const fn with_simple_path(mut self, path: &'static str) -> Self {
        self.simple_path = Some(path);
        self
    }

    /// The path the document gives for resumable uploads (same rules as
    /// [`with_simple_path`](Self::with_simple_path)).
    pub const fn with_resumable_path(mut self, path: &'static str) -> Self {
        self.resumable_path = Some(path);
        self
    }

    /// The accepted media types, such as `image/*` or `*/*` (empty: any type).
    pub const fn with_accept(mut self, accept: &'static [&'static str]) -> Self {
        self.accept = accept;
        self
    }

    /// The largest accepted upload, in bytes.
    pub const fn with_max_size(mut self, bytes: u64) -> Self {
        self.max_size = Some(bytes);
        self
    }

    /// The path of simple and multipart uploads, if the method has them.
    pub const fn simple_path(&self) -> Option<&'static str> {
        self.simple_path
    }

    /// The path the document gives for resumable uploads, if the method has them.
    pub const fn resumable_path(&self) -> Option<&'static str> {
        self.resumable_path
    }

    /// The accepted media types; empty means any type.
    pub const fn accept(&self) -> &'static [&'static str] {
        self.accept
    }

    /// The largest accepted upload in bytes, when the document gives one.
    pub const fn max_size(&self) -> Option<u64> {
        self.max_size
    }
}

impl Default for MediaUploadInfo {
    fn default() -> Self {
        Self::new()
    }
}

/// Everything the runtime needs to know about one API method.
///
/// Built with [`MethodInfo::new`] and the `const` setters, so that generated crates keep
/// compiling when the runtime learns something new about methods.
///
/// ```
/// use discovery_runtime::for_generated_code::{HttpMethod, MethodInfo, PathParam};
///
/// const GET: MethodInfo = MethodInfo::new("people.people.get", HttpMethod::Get, "v1/{+resourceName}")
///     .with_path_params(&[PathParam::new("resourceName", Some("^people/[^/]+$"))])
///     .with_scopes(&["https://www.googleapis.com/auth/contacts.readonly"]);
/// assert!(!GET.http_method().is_mutation());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MethodInfo {
    id: &'static str,
    http_method: HttpMethod,
    path: &'static str,
    path_params: &'static [PathParam],
    scopes: &'static [&'static str],
    media_upload: Option<&'static MediaUploadInfo>,
    media_download: bool,
    json_response: bool,
    api_version: Option<&'static str>,
}

impl MethodInfo {
    /// The method `id` (its Discovery id, for example `people.people.updateContact`), sent
    /// with `http_method` to `path`, a template relative to the base URL (for example
    /// `v1/{+resourceName}:updateContact`). It has no path parameters, scopes or media
    /// until the setters add them, and answers with JSON unless
    /// [`without_response_body`](Self::without_response_body) says otherwise.
    pub const fn new(id: &'static str, http_method: HttpMethod, path: &'static str) -> Self {
        MethodInfo {
            id,
            http_method,
            path,
            path_params: &[],
            scopes: &[],
            media_upload: None,
            media_download: false,
            json_response: true,
            api_version: None,
        }
    }

    /// The parameters of the path template, with their patterns.
    pub const fn with_path_params(mut self, params: &'static [PathParam]) -> Self {
        self.path_params = params;
        self
    }

    /// The OAuth scopes that authorise the method; any one of them is enough.
    pub const fn with_scopes(mut self, scopes: &'static [&'static str]) -> Self {
        self.scopes = scopes;
        self
    }

    /// The method accepts media uploads.
    pub const fn with_media_upload(mut self, upload: &'static MediaUploadInfo) -> Self {
        self.media_upload = Some(upload);
        self
    }

    /// The method can return media with `alt=media`.
    pub const fn with_media_download(mut self) -> Self {
        self.media_download = true;
        self
    }

    /// The method's response has no body (the document names no response type), so its
    /// requests accept any media type rather than asking for JSON.
    pub const fn without_response_body(mut self) -> Self {
        self.json_response = false;
        self
    }

    /// Sets the method's own `apiVersion` (sent as `x-goog-api-version`), when it differs
    /// from the API's ([`ApiInfo::with_api_version`]).
    ///
    /// # Panics
    ///
    /// As [`ApiInfo::with_api_version`].
    pub const fn with_api_version(mut self, api_version: &'static str) -> Self {
        assert_header_text(api_version);
        self.api_version = Some(api_version);
        self
    }

    /// The method's Discovery id.
    pub const fn id(&self) -> &'static str {
        self.id
    }

    /// The HTTP method.
    pub const fn http_method(&self) -> HttpMethod {
        self.http_method
    }

    /// The path template relative to the base URL.
    pub const fn path(&self) -> &'static str {
        self.path
    }

    /// The parameters of the path template.
    pub const fn path_params(&self) -> &'static [PathParam] {
        self.path_params
    }

    /// The OAuth scopes that authorise the method.
    pub const fn scopes(&self) -> &'static [&'static str] {
        self.scopes
    }

    /// How the method accepts media uploads, if it does.
    pub const fn media_upload(&self) -> Option<&'static MediaUploadInfo> {
        self.media_upload
    }

    /// Whether the method can return media with `alt=media`.
    pub const fn supports_media_download(&self) -> bool {
        self.media_download
    }

    /// The method's own `apiVersion`, when it differs from the API's.
    pub const fn api_version(&self) -> Option<&'static str> {
        self.api_version
    }

    /// Whether the method answers with a JSON body.
    pub const fn has_json_response(&self) -> bool {
        self.json_response
    }
}

/// Refuses what `HeaderValue::from_static` would panic on when the value is sent: checked
/// when the (const) info is made, so that a generated constant that breaks the rule does not
/// compile, rather than every call panicking.
const fn assert_header_text(text: &str) {
    assert!(
        crate::contract::is_static_header_text(text),
        "apiVersion is sent as the x-goog-api-version header: only visible ASCII, spaces and tabs"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_api_version_that_is_a_header_value_is_taken() {
        const API: ApiInfo = ApiInfo::new("a", "v1", "https://a.example/", "").with_api_version("2024-01-01 beta\t2");
        assert_eq!(API.api_version(), Some("2024-01-01 beta\t2"));
    }

    #[test]
    #[should_panic(expected = "x-goog-api-version")]
    fn an_api_version_that_is_not_a_header_value_is_refused() {
        let _ = MethodInfo::new("a.b", HttpMethod::Get, "v1/b").with_api_version("2024-01-01 é");
    }
}
