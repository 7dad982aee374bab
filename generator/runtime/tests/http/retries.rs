//! Retries, time budgets, timeouts and mutation serialisation.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use discovery_runtime::for_generated_code::Call;
use discovery_runtime::{Client, Error, RetryPolicy};
use serde_json::{json, Value};

use crate::support::*;

fn unavailable() -> axum::response::Response {
    json(503, json!({"error": {"code": 503, "message": "try later", "status": "UNAVAILABLE"}}))
}

fn get(client: &Client) -> Call {
    let mut call = Call::new(client, &GET_PERSON);
    call.path_param("resourceName", "people/c1");
    call
}

#[tokio::test]
async fn get_is_retried_after_503_honouring_retry_after() {
    let server = fail_first(1, || with_header(unavailable(), "retry-after", "1")).await;
    let client = server.client().build().unwrap();
    let start = Instant::now();
    let v: Value = get(&client).send().await.unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(server.count(), 2);
    // The client's own backoff is at most 5 ms, so only Retry-After explains the wait.
    assert!(start.elapsed() >= Duration::from_millis(950), "{:?}", start.elapsed());
}

/// A server answering with `first` for the first `n` requests and 200 afterwards.
async fn fail_first(n: usize, first: fn() -> axum::response::Response) -> TestServer {
    let hits = Arc::new(AtomicUsize::new(0));
    serve(move |_| {
        let i = hits.fetch_add(1, Ordering::SeqCst);
        async move {
            if i < n {
                first()
            } else {
                json(200, json!({"ok": true}))
            }
        }
    })
    .await
}

#[tokio::test]
async fn retry_info_detail_is_honoured() {
    let server = fail_first(1, || {
        json(
            429,
            json!({"error": {"code": 429, "message": "slow down", "status": "RESOURCE_EXHAUSTED",
            "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "0.3s"}]}}),
        )
    })
    .await;
    let client = server.client().build().unwrap();
    let start = Instant::now();
    get(&client).send_empty().await.unwrap();
    assert_eq!(server.count(), 2);
    assert!(start.elapsed() >= Duration::from_millis(290), "{:?}", start.elapsed());
}

#[tokio::test]
async fn put_and_delete_style_methods_are_retried() {
    let server = fail_first(2, unavailable).await;
    let client = server.client().build().unwrap();
    let mut call = Call::new(&client, &UPDATE_GROUP);
    call.path_param("resourceName", "contactGroups/g1");
    call.json_body(&json!({"contactGroup": {"name": "n"}}));
    call.send_empty().await.unwrap();
    assert_eq!(server.count(), 3);
    let reqs = server.requests();
    assert!(reqs.iter().all(|r| r.method == "PUT" && r.body == reqs[0].body));
}

#[tokio::test]
async fn post_and_patch_are_not_retried_once_sent() {
    let server = fail_first(10, unavailable).await;
    let client = server.client().build().unwrap();
    let mut call = Call::new(&client, &CREATE_CONTACT);
    call.json_body(&json!({}));
    let err = call.send_empty().await.unwrap_err();
    assert_eq!(err.http_status(), Some(503));
    assert_eq!(server.count(), 1);

    let mut call = Call::new(&client, &UPDATE_CONTACT);
    call.path_param("resourceName", "people/c1");
    call.json_body(&json!({}));
    call.send_empty().await.unwrap_err();
    assert_eq!(server.count(), 2);
}

#[tokio::test]
async fn a_post_refused_by_a_rate_limit_is_retried() {
    let server = fail_first(1, || {
        json(429, json!({"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"}}))
    })
    .await;
    let client = server.client().build().unwrap();
    let mut call = Call::new(&client, &CREATE_CONTACT);
    call.json_body(&json!({"names": []}));
    call.send_empty().await.unwrap();
    assert_eq!(server.count(), 2, "429 means the service did not act on the request");
    let reqs = server.requests();
    assert_eq!(reqs[0].body, reqs[1].body);
}

#[tokio::test]
async fn attempts_are_bounded() {
    let server = fail_first(usize::MAX, unavailable).await;
    let client = server.client().retry_policy(fast_retries().max_attempts(3)).build().unwrap();
    let err = get(&client).send_empty().await.unwrap_err();
    assert_eq!(err.http_status(), Some(503));
    assert_eq!(server.count(), 3);

    // A per-call policy overrides the client's.
    let mut call = get(&client);
    call.set_retry_policy(RetryPolicy::none());
    call.send_empty().await.unwrap_err();
    assert_eq!(server.count(), 4);
}

#[tokio::test]
async fn time_budget_is_bounded() {
    // The server asks for a wait longer than the whole budget: give up at once.
    let server = fail_first(usize::MAX, || with_header(unavailable(), "retry-after", "30")).await;
    let client =
        server.client().retry_policy(fast_retries().total_timeout(Duration::from_millis(300))).build().unwrap();
    let start = Instant::now();
    let err = get(&client).send_empty().await.unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(2));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(30)));
    assert_eq!(server.count(), 1);

    // Backoffs stop once the budget is spent, long before the attempt limit.
    let server = fail_first(usize::MAX, unavailable).await;
    let policy = RetryPolicy::default()
        .max_attempts(1000)
        .initial_backoff(Duration::from_millis(40))
        .max_backoff(Duration::from_millis(40))
        .total_timeout(Duration::from_millis(400));
    let client = server.client().retry_policy(policy).build().unwrap();
    let start = Instant::now();
    get(&client).send_empty().await.unwrap_err();
    let elapsed = start.elapsed();
    assert!(elapsed <= Duration::from_millis(900), "{elapsed:?}");
    assert!(server.count() > 2 && server.count() < 1000, "{}", server.count());
}

/// A `Retry-After` of 0, a date already past, or a `RetryInfo` of 0 s is a minimum wait:
/// the backoff still applies, or a call would come back hundreds of times a second.
#[tokio::test]
async fn a_zero_or_past_retry_after_keeps_the_backoff() {
    let zero = || with_header(json(429, json!({"error": {"code": 429, "message": "slow"}})), "retry-after", "0");
    let past = || with_header(unavailable(), "retry-after", "Wed, 21 Oct 2015 07:28:00 GMT");
    let info = || {
        json(
            503,
            json!({"error": {"code": 503, "message": "later", "details": [
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "0s"}]}}),
        )
    };
    let answers: [fn() -> axum::response::Response; 3] = [zero, past, info];
    for answer in answers {
        let server = fail_first(usize::MAX, answer).await;
        let policy = RetryPolicy::default()
            .max_attempts(1000)
            .initial_backoff(Duration::from_millis(100))
            .max_backoff(Duration::from_millis(100))
            .total_timeout(Duration::from_millis(500));
        let client = server.client().retry_policy(policy).build().unwrap();
        get(&client).send_empty().await.unwrap_err();
        // Waits of 50 ms on average within 500 ms: about ten requests, not hundreds.
        assert!(server.count() < 60, "{} requests", server.count());
    }
}

async fn stalling_server() -> TestServer {
    serve(|_| async {
        tokio::time::sleep(Duration::from_secs(30)).await;
        json(200, json!({}))
    })
    .await
}

#[tokio::test]
async fn timeout_fires_against_a_stalling_server() {
    let server = stalling_server().await;
    let client = server.client().timeout(Duration::from_millis(200)).retry_policy(RetryPolicy::none()).build().unwrap();
    let start = Instant::now();
    let err = get(&client).send_empty().await.unwrap_err();
    assert!(matches!(err, Error::Timeout), "{err:?}");
    assert!(err.is_timeout() && err.is_retryable());
    assert!(start.elapsed() < Duration::from_secs(2));

    // Idempotent calls retry after a timeout; a per-call timeout overrides the client's.
    let client = server.client().retry_policy(fast_retries().max_attempts(2)).build().unwrap();
    let mut call = get(&client);
    call.set_timeout(Duration::from_millis(100));
    let start = Instant::now();
    assert!(call.send_empty().await.unwrap_err().is_timeout());
    assert!(start.elapsed() < Duration::from_secs(2));
    assert_eq!(server.count(), 3);

    // A POST that timed out may have been applied: no retry.
    let client = server.client().timeout(Duration::from_millis(100)).build().unwrap();
    let mut call = Call::new(&client, &CREATE_CONTACT);
    call.json_body(&json!({}));
    assert!(call.send_empty().await.unwrap_err().is_timeout());
    assert_eq!(server.count(), 4);
}

/// Records the largest number of requests in flight at once.
async fn concurrency_server() -> (TestServer, Arc<AtomicUsize>) {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let max = Arc::new(AtomicUsize::new(0));
    let (f, m) = (in_flight.clone(), max.clone());
    let server = serve(move |_| {
        let (f, m) = (f.clone(), m.clone());
        async move {
            let now = f.fetch_add(1, Ordering::SeqCst) + 1;
            m.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(150)).await;
            f.fetch_sub(1, Ordering::SeqCst);
            json(200, json!({}))
        }
    })
    .await;
    (server, max)
}

async fn two_at_once(client: &Client, make: fn(&Client) -> Call) {
    let a = tokio::spawn(make(client).send_empty());
    let b = tokio::spawn(make(client).send_empty());
    a.await.unwrap().unwrap();
    b.await.unwrap().unwrap();
}

fn create(client: &Client) -> Call {
    let mut call = Call::new(client, &CREATE_CONTACT);
    call.json_body(&json!({"names": []}));
    call
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutations_are_serialised_by_default() {
    let (server, max) = concurrency_server().await;
    let client = server.client().build().unwrap();
    two_at_once(&client, create).await;
    assert_eq!(server.count(), 2);
    assert_eq!(max.load(Ordering::SeqCst), 1);

    // Reads are not serialised.
    let (server, max) = concurrency_server().await;
    let client = server.client().build().unwrap();
    two_at_once(&client, get).await;
    assert_eq!(max.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutation_serialisation_can_be_turned_off() {
    let (server, max) = concurrency_server().await;
    let client = server.client().serialize_mutations(false).build().unwrap();
    two_at_once(&client, create).await;
    assert_eq!(server.count(), 2);
    assert_eq!(max.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mutation_lock_covers_retries() {
    // Each PUT fails twice before succeeding; with the lock held across retries the two
    // calls' attempts never interleave.
    let hits = Arc::new(AtomicUsize::new(0));
    let order = Arc::new(std::sync::Mutex::new(Vec::new()));
    let o = order.clone();
    let server = serve(move |req| {
        let i = hits.fetch_add(1, Ordering::SeqCst);
        o.lock().unwrap().push(req.path().to_owned());
        async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            if i % 3 < 2 {
                unavailable()
            } else {
                json(200, json!({}))
            }
        }
    })
    .await;
    let client = server.client().build().unwrap();
    let put = |name: &'static str| {
        let mut call = Call::new(&client, &UPDATE_GROUP);
        call.path_param("resourceName", name);
        call.json_body(&json!({}));
        tokio::spawn(call.send_empty())
    };
    let (a, b) = (put("contactGroups/a"), put("contactGroups/b"));
    a.await.unwrap().unwrap();
    b.await.unwrap().unwrap();
    let order = order.lock().unwrap().clone();
    assert_eq!(order.len(), 6);
    assert!(order[0..3].iter().all(|p| p == &order[0]), "{order:?}");
    assert!(order[3..6].iter().all(|p| p == &order[3]), "{order:?}");
}
