//! Listing: `pageToken` / `nextPageToken` paging and sync tokens, including
//! `EXPIRED_SYNC_TOKEN`.

use axum::http::Method;
use google_people_v1::types::ListConnectionsResponse;
use serde_json::json;

use crate::support::{client, PeopleServer};

#[tokio::test]
async fn connections_are_listed_across_pages_with_the_same_parameters() {
    let server = PeopleServer::start().await;
    let names = server.add_contacts(250, "Someone");
    let client = client(&server);

    let mut pages = client.people().connections().list("people/me", "names").page_size(100).by_page();
    let mut sizes = Vec::new();
    let mut listed = Vec::new();
    while let Some(page) = pages.try_next().await.unwrap() {
        sizes.push(page.connections.len());
        assert_eq!(page.total_items, Some(250));
        listed.extend(page.connections.into_iter().map(|p| p.resource_name.unwrap()));
    }
    assert_eq!(sizes, [100, 100, 50]);
    assert_eq!(listed, names, "every contact once, in order");

    let seen = server.requests_with(Method::GET);
    assert_eq!(seen.len(), 3);
    assert!(seen[0].query_values("pageToken").is_empty());
    for request in &seen[1..] {
        assert_eq!(request.query_values("pageToken").len(), 1);
        assert_eq!(request.query_values("personFields"), ["names"]);
        assert_eq!(request.query_values("pageSize"), ["100"]);
    }
}

#[tokio::test]
async fn a_page_token_with_other_parameters_is_refused() {
    let server = PeopleServer::start().await;
    server.add_contacts(3, "Someone");
    let client = client(&server);
    let first = client.people().connections().list("people/me", "names").page_size(2).send().await.unwrap();
    let token = first.next_page_token.unwrap();

    let err = client
        .people()
        .connections()
        .list("people/me", "emailAddresses")
        .page_size(2)
        .page_token(&token)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.service_error().unwrap().status.as_deref(), Some("INVALID_ARGUMENT"), "{err}");
    let second = client.people().connections().list("people/me", "names").page_size(2).page_token(&token).send().await;
    assert_eq!(second.unwrap().connections.len(), 1);
}

#[tokio::test]
async fn only_the_last_page_carries_the_sync_token_and_it_brings_only_changes() {
    let server = PeopleServer::start().await;
    let names = server.add_contacts(5, "Someone");
    let client = client(&server);

    let mut pages =
        client.people().connections().list("people/me", "names").page_size(2).request_sync_token(true).by_page();
    let mut all: Vec<ListConnectionsResponse> = Vec::new();
    while let Some(page) = pages.try_next().await.unwrap() {
        all.push(page);
    }
    assert_eq!(all.len(), 3);
    assert!(all[..2].iter().all(|p| p.next_sync_token.is_none()));
    let token = all[2].next_sync_token.clone().expect("a sync token on the last page");

    server.rival_write(&names[1], "names", json!([{"givenName": "Renamed"}]));
    server.rival_delete(&names[2]);
    let added = server.add_contact(json!({"names": [{"givenName": "Newcomer"}]}));

    let changes = client
        .people()
        .connections()
        .list("people/me", "names")
        .request_sync_token(true)
        .sync_token(&token)
        .send()
        .await
        .unwrap();
    let changed: Vec<&str> = changes.connections.iter().map(|p| p.resource_name.as_deref().unwrap()).collect();
    assert_eq!(changed, [names[1].as_str(), names[2].as_str(), added.as_str()]);
    assert_eq!(changes.connections[0].names[0].given_name.as_deref(), Some("Renamed"));
    assert_eq!(changes.connections[1].metadata.as_ref().unwrap().deleted, Some(true));
    let next = changes.next_sync_token.expect("a new sync token");

    let nothing = client.people().connections().list("people/me", "names").sync_token(&next).send().await.unwrap();
    assert!(nothing.connections.is_empty());
}

#[tokio::test]
async fn an_expired_sync_token_fails_with_reason_expired_sync_token() {
    let server = PeopleServer::start().await;
    server.add_contacts(2, "Someone");
    let client = client(&server);
    let full = client.people().connections().list("people/me", "names").request_sync_token(true).send().await.unwrap();
    let token = full.next_sync_token.unwrap();

    server.expire_sync_tokens();
    let err = client.people().connections().list("people/me", "names").sync_token(&token).send().await.unwrap_err();
    assert_eq!(err.http_status(), Some(400));
    assert_eq!(err.reason(), Some("EXPIRED_SYNC_TOKEN"));
    assert_eq!(err.service_error().unwrap().error_info_reason(), Some("EXPIRED_SYNC_TOKEN"));
    assert_eq!(server.requests_with(Method::GET).len(), 2, "a 400 is not retried");
}

#[tokio::test]
async fn contact_groups_are_listed_across_pages() {
    let server = PeopleServer::start().await;
    for name in ["A", "B", "C", "D", "E"] {
        server.add_group(name);
    }
    let client = client(&server);
    let mut groups = client.contact_groups().list().page_size(3).by_item();
    let mut listed = Vec::new();
    while let Some(group) = groups.try_next().await.unwrap() {
        listed.push(group.name.unwrap());
    }
    listed.sort();
    assert_eq!(listed, ["A", "B", "C", "D", "E", "myContacts", "starred"]);
    assert!(groups.last_page().unwrap().next_sync_token.is_some());
    assert_eq!(server.requests_with(Method::GET).len(), 3);
}
