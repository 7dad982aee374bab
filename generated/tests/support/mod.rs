//! Shared by the People end-to-end tests: clients pointed at the test server (the public
//! `google-people-v1-test-server` crate).

#![allow(dead_code)]

use std::time::Duration;

use discovery_runtime::ClientBuilder;
use google_people_v1::auth::StaticToken;
use google_people_v1::{PeopleClient, RetryPolicy};

pub use google_people_v1_test_server::{BatchErrorShape, PeopleServer, Transient, BATCH_LIMIT};

/// The user the default client acts for; the server tracks concurrency per bearer token.
pub const USER: &str = "test-user";

/// Retries fast enough for tests: the backoffs are a few milliseconds, `Retry-After` still
/// wins when the server sends it.
pub fn fast_retries() -> RetryPolicy {
    RetryPolicy::default()
        .max_attempts(3)
        .initial_backoff(Duration::from_millis(2))
        .max_backoff(Duration::from_millis(10))
        .total_timeout(Duration::from_secs(10))
}

/// A client builder pointed at `server`, acting for [`USER`], with [`fast_retries`].
pub fn builder(server: &PeopleServer) -> ClientBuilder<PeopleClient> {
    PeopleClient::builder().base_url(server.url()).token_provider(StaticToken::new(USER)).retry_policy(fast_retries())
}

pub fn client(server: &PeopleServer) -> PeopleClient {
    builder(server).build().unwrap()
}
