//! Transient failures (429, 503 with `Retry-After`), which calls are retried, and mutations
//! of one user sent one at a time.

use std::time::{Duration, Instant};

use axum::http::Method;
use google_people_v1::types::{BatchUpdateContactsRequest, Name, Person};
use google_people_v1::{FieldMask, PeopleClient};
use serde_json::json;

use crate::stored_given_name;
use crate::support::{builder, client, PeopleServer, Transient, USER};

#[tokio::test]
async fn a_read_is_retried_after_429_waiting_as_retry_after_says() {
    let server = PeopleServer::start().await;
    let ada = server.add_contact(json!({"names": [{"givenName": "Ada"}]}));
    server.fail_next(Transient::RateLimited, 1, Some(1));

    let start = Instant::now();
    let person = client(&server).people().get(&ada, "names").send().await.unwrap();
    assert_eq!(person.names[0].given_name.as_deref(), Some("Ada"));
    // The client's own backoff is at most 10 ms: only Retry-After explains the wait.
    assert!(start.elapsed() >= Duration::from_millis(950), "{:?}", start.elapsed());
    let statuses: Vec<u16> = server.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [429, 200]);
}

#[tokio::test]
async fn a_read_is_retried_after_503_until_the_attempts_run_out() {
    let server = PeopleServer::start().await;
    let ada = server.add_contact(json!({"names": [{"givenName": "Ada"}]}));
    let client = client(&server);

    server.fail_next(Transient::Unavailable, 2, Some(0));
    client.people().get(&ada, "names").send().await.unwrap();
    assert_eq!(server.requests().len(), 3);

    // Three attempts in the tests' policy: the third 503 is the answer.
    server.fail_next(Transient::Unavailable, 3, Some(0));
    let err = client.people().get(&ada, "names").send().await.unwrap_err();
    assert_eq!(err.http_status(), Some(503));
    assert!(err.is_retryable());
    assert_eq!(server.requests().len(), 6);
}

#[tokio::test]
async fn an_update_is_not_retried_after_503() {
    let server = PeopleServer::start().await;
    let ada = server.add_contact(json!({"names": [{"givenName": "Ada"}]}));
    let client = client(&server);
    let mut person = client.people().get(&ada, "names,metadata").send().await.unwrap();
    person.names = vec![Name { given_name: Some("Augusta".into()), ..Default::default() }];

    server.fail_next(Transient::Unavailable, 1, Some(0));
    let err = client.people().update_contact(&ada, &person, "names").send().await.unwrap_err();
    assert_eq!(err.http_status(), Some(503));
    assert_eq!(server.requests_with(Method::PATCH).len(), 1, "a PATCH may have been applied: not repeated blindly");
    assert_eq!(stored_given_name(&server.contact(&ada).unwrap()), Some("Ada"));
}

#[tokio::test]
async fn a_batch_update_is_not_retried_after_429_and_the_wait_is_reported() {
    let server = PeopleServer::start().await;
    let ada = server.add_contact(json!({"names": [{"givenName": "Ada"}]}));
    let client = client(&server);
    let person = client.people().get(&ada, "names,metadata").send().await.unwrap();
    let request = BatchUpdateContactsRequest {
        contacts: [(ada.clone(), person)].into(),
        update_mask: Some(FieldMask::from("names")),
        ..Default::default()
    };

    server.fail_next(Transient::RateLimited, 1, Some(30));
    let err = client.people().batch_update_contacts(&request).send().await.unwrap_err();
    assert!(err.is_rate_limited(), "{err}");
    assert_eq!(err.reason(), Some("RATE_LIMIT_EXCEEDED"));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(30)));
    assert_eq!(server.requests_with(Method::POST).len(), 1);
}

#[tokio::test]
async fn a_group_update_is_a_put_and_is_retried() {
    let server = PeopleServer::start().await;
    let friends = server.add_group("Friends");
    let request = google_people_v1::types::UpdateContactGroupRequest {
        contact_group: Some(google_people_v1::types::ContactGroup { name: Some("Pals".into()), ..Default::default() }),
        ..Default::default()
    };
    server.fail_next(Transient::Unavailable, 1, Some(0));
    client(&server).contact_groups().update(&friends, &request).send().await.unwrap();
    let statuses: Vec<u16> = server.requests_with(Method::PUT).iter().map(|r| r.status).collect();
    assert_eq!(statuses, [503, 200], "PUT is idempotent");
}

/// Two tasks updating their own contact `rounds` times each through clones of `client`.
async fn two_concurrent_writers(server: &PeopleServer, client: &PeopleClient, rounds: usize) {
    let mut tasks = Vec::new();
    for writer in ["Left", "Right"] {
        let contact = server.add_contact(json!({"names": [{"givenName": writer}]}));
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            for round in 0..rounds {
                let mut person = client.people().get(&contact, "names,metadata").send().await.unwrap();
                person.names = vec![Name { given_name: Some(format!("{writer} {round}")), ..Default::default() }];
                let person: Person = client.people().update_contact(&contact, &person, "names").send().await.unwrap();
                assert_eq!(person.names[0].given_name.as_deref(), Some(format!("{writer} {round}").as_str()));
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_tasks_sharing_a_client_never_have_two_mutations_in_flight() {
    let server = PeopleServer::start().await;
    // Each mutation waits up to this long for company: any overlap would be caught.
    server.hold_mutations(Duration::from_millis(200));
    two_concurrent_writers(&server, &client(&server), 2).await;
    assert_eq!(server.requests_with(Method::PATCH).len(), 4);
    assert_eq!(server.max_mutations_in_flight(USER), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_serialisation_the_mutations_of_concurrent_tasks_overlap() {
    let server = PeopleServer::start().await;
    // Released as soon as the second mutation arrives, so the test does not wait this long.
    server.hold_mutations(Duration::from_secs(5));
    let client = builder(&server).serialize_mutations(false).build().unwrap();
    let start = Instant::now();
    two_concurrent_writers(&server, &client, 1).await;
    assert_eq!(server.max_mutations_in_flight(USER), 2);
    assert!(start.elapsed() < Duration::from_secs(4), "the held mutations met: {:?}", start.elapsed());
}

#[tokio::test]
async fn every_request_carries_the_bearer_token() {
    let server = PeopleServer::start().await;
    let ada = server.add_contact(json!({"names": [{"givenName": "Ada"}]}));
    client(&server).people().get(&ada, "names").send().await.unwrap();
    assert_eq!(server.requests()[0].user.as_deref(), Some(USER));

    let anonymous = PeopleClient::builder().base_url(server.url()).build().unwrap();
    let err = anonymous.people().get(&ada, "names").send().await.unwrap_err();
    assert_eq!(err.http_status(), Some(401));
    assert_eq!(err.service_error().unwrap().status.as_deref(), Some("UNAUTHENTICATED"));
}
