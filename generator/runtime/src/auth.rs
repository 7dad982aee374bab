//! Authentication: where bearer tokens come from.
//!
//! A [`TokenProvider`] turns the scopes a method needs into a bearer token. The runtime asks
//! for a token before every attempt, so providers should cache tokens and refresh them shortly
//! before they expire. The token is sent only in the `Authorization` header.
//!
//! API keys need no provider: see [`ClientBuilder::api_key`](crate::ClientBuilder::api_key).

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// The future returned by [`TokenProvider::token`].
pub type TokenFuture<'a> = Pin<Box<dyn Future<Output = Result<String, AuthError>> + Send + 'a>>;

/// A source of OAuth 2.0 bearer tokens.
///
/// `scopes` are the scopes that authorise the method being called: any one of them is
/// enough, so a provider that mints tokens per scope set may pick among them. Providers that
/// hold user credentials usually ignore them.
///
/// The trait is object safe and needs no macro crate: implement it by boxing an `async`
/// block.
///
/// ```
/// use discovery_runtime::auth::{AuthError, TokenFuture, TokenProvider};
///
/// struct FromEnv;
///
/// impl TokenProvider for FromEnv {
///     fn token<'a>(&'a self, _scopes: &'a [String]) -> TokenFuture<'a> {
///         Box::pin(async {
///             std::env::var("ACCESS_TOKEN").map_err(|e| AuthError::with_source("ACCESS_TOKEN is not set", e))
///         })
///     }
/// }
/// ```
pub trait TokenProvider: Send + Sync + 'static {
    /// Returns a bearer token valid for `scopes`, without the `Bearer ` prefix.
    fn token<'a>(&'a self, scopes: &'a [String]) -> TokenFuture<'a>;

    /// Called when the service refused `token` with HTTP 401 (revoked, or expired earlier
    /// than the provider thought). A provider that can get a new one forgets `token` and
    /// returns `true`: the runtime then asks for a token again and repeats the request,
    /// once. The default returns `false`, and the 401 is the call's answer.
    fn invalidate(&self, token: &str) -> bool {
        let _ = token;
        false
    }
}

impl<T: TokenProvider + ?Sized> TokenProvider for Arc<T> {
    fn token<'a>(&'a self, scopes: &'a [String]) -> TokenFuture<'a> {
        (**self).token(scopes)
    }

    fn invalidate(&self, token: &str) -> bool {
        (**self).invalidate(token)
    }
}

impl<T: TokenProvider + ?Sized> TokenProvider for Box<T> {
    fn token<'a>(&'a self, scopes: &'a [String]) -> TokenFuture<'a> {
        (**self).token(scopes)
    }

    fn invalidate(&self, token: &str) -> bool {
        (**self).invalidate(token)
    }
}

/// A fixed bearer token, for scripts, tests and tokens obtained elsewhere.
///
/// Its `Debug` output never shows the token.
#[derive(Clone)]
pub struct StaticToken {
    token: String,
}

impl StaticToken {
    /// Wraps a bearer token (without the `Bearer ` prefix).
    pub fn new(token: impl Into<String>) -> Self {
        StaticToken { token: token.into() }
    }
}

impl fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticToken").field("token", &"<redacted>").finish()
    }
}

impl TokenProvider for StaticToken {
    fn token<'a>(&'a self, _scopes: &'a [String]) -> TokenFuture<'a> {
        let token = self.token.clone();
        Box::pin(async move { Ok(token) })
    }
}

/// A failure to obtain a token.
///
/// Providers must not put the token or other secrets in the message.
pub struct AuthError {
    message: String,
    source: Option<Box<dyn StdError + Send + Sync + 'static>>,
}

impl AuthError {
    /// An error with a message only.
    pub fn new(message: impl Into<String>) -> Self {
        AuthError { message: message.into(), source: None }
    }

    /// An error with a message and the underlying cause.
    pub fn with_source(
        message: impl Into<String>,
        source: impl Into<Box<dyn StdError + Send + Sync + 'static>>,
    ) -> Self {
        AuthError { message: message.into(), source: Some(source.into()) }
    }

    /// The error's message, without its cause.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Debug for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("AuthError");
        d.field("message", &self.message);
        if let Some(source) = &self.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for AuthError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn StdError + 'static))
    }
}

#[cfg(feature = "gcp-auth")]
pub use gcp::GcpAuth;

/// The crate behind [`GcpAuth`], for [`GcpAuth::from_provider`] and its own types, at the
/// version this crate uses.
#[cfg(feature = "gcp-auth")]
pub use gcp_auth;

#[cfg(feature = "gcp-auth")]
mod gcp {
    use super::{AuthError, TokenFuture, TokenProvider};
    use std::fmt;
    use std::sync::Arc;

    /// Tokens from the [`gcp_auth`] crate: Application Default Credentials (a service
    /// account key named by `GOOGLE_APPLICATION_CREDENTIALS`, `gcloud` user credentials, or
    /// the metadata server on Google Cloud).
    ///
    /// Available with the `gcp-auth` cargo feature. `gcp_auth` caches and refreshes tokens.
    #[derive(Clone)]
    pub struct GcpAuth {
        provider: Arc<dyn gcp_auth::TokenProvider>,
    }

    impl GcpAuth {
        /// Finds Application Default Credentials.
        pub async fn new() -> Result<Self, AuthError> {
            let provider = gcp_auth::provider()
                .await
                .map_err(|e| AuthError::with_source("no Application Default Credentials found", e))?;
            Ok(GcpAuth { provider })
        }

        /// Uses an already configured `gcp_auth` provider.
        pub fn from_provider(provider: Arc<dyn gcp_auth::TokenProvider>) -> Self {
            GcpAuth { provider }
        }
    }

    impl fmt::Debug for GcpAuth {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("GcpAuth").finish_non_exhaustive()
        }
    }

    impl TokenProvider for GcpAuth {
        fn token<'a>(&'a self, scopes: &'a [String]) -> TokenFuture<'a> {
            Box::pin(async move {
                let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
                let token = self
                    .provider
                    .token(&scopes)
                    .await
                    .map_err(|e| AuthError::with_source("gcp_auth could not provide a token", e))?;
                Ok(token.as_str().to_owned())
            })
        }
    }
}
