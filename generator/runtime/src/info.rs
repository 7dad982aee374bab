//! Static descriptions of an API and its methods, written by the generator as `static` items.

use std::fmt;

/// Facts about one API, taken from its Discovery document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApiInfo {
    /// The API's name, for example `people`.
    pub name: &'static str,
    /// The API's version, for example `v1`.
    pub version: &'static str,
    /// The root URL of the service, ending with `/`, for example
    /// `https://people.googleapis.com/`.
    pub root_url: &'static str,
    /// The path under the root URL that method paths are relative to: empty, or ending with
    /// `/` (for example `compute/v1/`).
    pub service_path: &'static str,
    /// The default `User-Agent` header, for example `google-people-v1/0.1.0`.
    pub user_agent: &'static str,
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
    /// The name used in the template, for example `resourceName`.
    pub name: &'static str,
    /// The regular expression from the Discovery document that every value must match,
    /// for example `^people/[^/]+$`.
    pub pattern: Option<&'static str>,
}

/// How a method accepts media uploads (the Discovery document's `mediaUpload`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MediaUploadInfo {
    /// Path for simple and multipart uploads. A path starting with `/` is relative to the
    /// root URL (as in Discovery documents), any other path to the base URL.
    pub simple_path: Option<&'static str>,
    /// Path for resumable uploads, with the same rules as `simple_path`.
    pub resumable_path: Option<&'static str>,
    /// Accepted media types, such as `image/*` or `*/*`. Empty means any type.
    pub accept: &'static [&'static str],
    /// Largest accepted upload in bytes, when the document gives one.
    pub max_size: Option<u64>,
}

/// Everything the runtime needs to know about one API method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MethodInfo {
    /// The method's Discovery id, for example `people.people.updateContact`.
    pub id: &'static str,
    /// The HTTP method.
    pub http_method: HttpMethod,
    /// The path template relative to the base URL, for example
    /// `v1/{+resourceName}:updateContact`.
    pub path: &'static str,
    /// The parameters of the path template, with their patterns.
    pub path_params: &'static [PathParam],
    /// OAuth scopes that authorise the method; any one of them is enough.
    pub scopes: &'static [&'static str],
    /// Upload protocols, for methods that accept media.
    pub media_upload: Option<&'static MediaUploadInfo>,
    /// Whether the method can return media with `alt=media`.
    pub supports_media_download: bool,
}
