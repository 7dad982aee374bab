//! Paging across `nextPageToken`.

use discovery_runtime::for_generated_code::Call;
use discovery_runtime::wire::Extra;
use discovery_runtime::{Client, Error, ItemStream, Page, PageStream};
use futures_util::StreamExt;
use serde_json::json;

use crate::support::*;

// Shaped as a generated crate shapes them.
#[derive(Debug, Default)]
struct ListConnectionsResponse {
    connections: Vec<Person>,
    next_page_token: Option<String>,
    next_sync_token: Option<String>,
    total_items: Option<i32>,
    extra: Extra,
}

discovery_runtime::json_object!(
    ListConnectionsResponse,
    extra {
        connections: "connections",
        next_page_token: "nextPageToken",
        next_sync_token: "nextSyncToken",
        total_items: "totalItems",
    }
);

#[derive(Debug, Default, Clone, PartialEq)]
struct Person {
    resource_name: Option<String>,
    extra: Extra,
}

discovery_runtime::json_object!(Person, extra { resource_name: "resourceName" });

impl Page for ListConnectionsResponse {
    type Item = Person;
    fn next_page_token(&self) -> Option<&str> {
        self.next_page_token.as_deref()
    }
    fn take_items(&mut self) -> Vec<Person> {
        std::mem::take(&mut self.connections)
    }
}

/// Three pages of two people; the last one carries the sync token.
async fn three_pages() -> TestServer {
    serve(|req| async move {
        let token =
            req.query().unwrap_or("").split('&').find_map(|kv| kv.strip_prefix("pageToken=")).map(str::to_owned);
        let people =
            |a: u32| json!([{"resourceName": format!("people/c{a}")}, {"resourceName": format!("people/c{}", a + 1)}]);
        match token.as_deref() {
            None => json(200, json!({"connections": people(1), "nextPageToken": "p2", "totalItems": 6})),
            Some("p2") => json(200, json!({"connections": people(3), "nextPageToken": "p3", "totalItems": 6})),
            Some("p3") => json(
                200,
                json!({"connections": people(5), "nextPageToken": "", "nextSyncToken": "sync-1", "totalItems": 6}),
            ),
            Some(_) => json(400, json!({"error": {"code": 400, "message": "bad token"}})),
        }
    })
    .await
}

fn list(client: &Client) -> Call {
    let mut call = Call::new(client, &LIST_CONNECTIONS);
    call.path_param("resourceName", "people/me");
    call.query("personFields", "names");
    call.query("requestSyncToken", true);
    call
}

#[tokio::test]
async fn pages_follow_next_page_token() {
    let server = three_pages().await;
    let client = server.client().build().unwrap();
    let mut pages = PageStream::<ListConnectionsResponse>::new(list(&client));
    let mut seen = Vec::new();
    while let Some(page) = pages.try_next().await.unwrap() {
        seen.push(page.connections.len());
    }
    assert_eq!(seen, [2, 2, 2]);
    assert!(pages.try_next().await.unwrap().is_none());
    let queries: Vec<String> = server.requests().iter().map(|r| r.query().unwrap().to_owned()).collect();
    assert_eq!(
        queries,
        [
            "personFields=names&requestSyncToken=true",
            "personFields=names&requestSyncToken=true&pageToken=p2",
            "personFields=names&requestSyncToken=true&pageToken=p3",
        ]
    );
}

#[tokio::test]
async fn items_span_pages_and_last_page_keeps_the_sync_token() {
    let server = three_pages().await;
    let client = server.client().build().unwrap();
    let mut items = ItemStream::<ListConnectionsResponse>::new(list(&client));
    assert!(items.last_page().is_none());
    let mut names = Vec::new();
    while let Some(person) = items.try_next().await.unwrap() {
        names.push(person.resource_name.unwrap());
    }
    assert_eq!(names, ["people/c1", "people/c2", "people/c3", "people/c4", "people/c5", "people/c6"]);
    let last = items.last_page().unwrap();
    assert_eq!(last.next_sync_token.as_deref(), Some("sync-1"));
    assert!(last.connections.is_empty());
    assert_eq!(last.total_items, Some(6));
    assert_eq!(server.count(), 3);
}

#[tokio::test]
async fn streams_work_with_combinators() {
    let server = three_pages().await;
    let client = server.client().build().unwrap();
    let pages: Vec<_> = PageStream::<ListConnectionsResponse>::new(list(&client)).collect().await;
    assert_eq!(pages.len(), 3);
    assert!(pages.iter().all(Result::is_ok));

    let first_three: Vec<Person> =
        ItemStream::<ListConnectionsResponse>::new(list(&client)).take(3).map(Result::unwrap).collect().await;
    assert_eq!(first_three.len(), 3);
    // Only the pages needed for three items were fetched.
    assert_eq!(server.count(), 3 + 2);
}

#[tokio::test]
async fn an_error_ends_the_stream() {
    let server = serve(|req| async move {
        if req.uri.contains("pageToken") {
            json(403, json!({"error": {"code": 403, "message": "denied", "status": "PERMISSION_DENIED"}}))
        } else {
            json(200, json!({"connections": [{"resourceName": "people/c1"}], "nextPageToken": "p2"}))
        }
    })
    .await;
    let client = server.client().build().unwrap();
    let mut items = ItemStream::<ListConnectionsResponse>::new(list(&client));
    assert!(items.try_next().await.unwrap().is_some());
    assert_eq!(items.try_next().await.unwrap_err().http_status(), Some(403));
    assert!(items.try_next().await.unwrap().is_none());
}

#[tokio::test]
async fn a_repeated_page_token_is_an_error_not_a_loop() {
    let server = serve(|_| async { json(200, json!({"connections": [], "nextPageToken": "same"})) }).await;
    let client = server.client().build().unwrap();
    let mut pages = PageStream::<ListConnectionsResponse>::new(list(&client));
    assert!(pages.try_next().await.unwrap().is_some());
    let err = pages.try_next().await.unwrap_err();
    assert!(matches!(err, Error::Protocol(_)), "{err:?}");
    assert!(pages.try_next().await.unwrap().is_none());
    assert_eq!(server.count(), 2);
}

/// The page token of the request `req` asks for, if any.
fn page_token(req: &Recorded) -> Option<String> {
    req.query().unwrap_or("").split('&').find_map(|kv| kv.strip_prefix("pageToken=")).map(str::to_owned)
}

#[tokio::test]
async fn a_cycle_of_page_tokens_is_an_error_not_a_loop() {
    // a → b → c → a: each token differs from the one before, so only a memory of every
    // token followed finds the cycle.
    let server = serve(|req| async move {
        let next = match page_token(&req).as_deref() {
            None => "a",
            Some("a") => "b",
            Some("b") => "c",
            Some(_) => "a",
        };
        json(200, json!({"connections": [{"resourceName": "people/c1"}], "nextPageToken": next}))
    })
    .await;
    let client = server.client().build().unwrap();
    let mut pages = PageStream::<ListConnectionsResponse>::new(list(&client));
    for _ in 0..3 {
        assert!(pages.try_next().await.unwrap().is_some());
    }
    let err = pages.try_next().await.unwrap_err();
    assert!(matches!(&err, Error::Protocol(m) if m.contains("\"a\"")), "{err:?}");
    assert!(pages.try_next().await.unwrap().is_none());
    assert_eq!(server.count(), 4, "the first page (pointing to a), a, b, and c, which points to a again");
}

#[tokio::test]
async fn endless_empty_pages_end_an_item_stream() {
    // Fresh tokens, never an item: without a bound, one `try_next` would never return.
    let server = serve(|req| async move {
        let n: u32 = page_token(&req).and_then(|t| t.parse().ok()).unwrap_or(0);
        json(200, json!({"connections": [], "nextPageToken": (n + 1).to_string()}))
    })
    .await;
    let client = server.client().build().unwrap();
    let mut items = ItemStream::<ListConnectionsResponse>::new(list(&client));
    let err = items.try_next().await.unwrap_err();
    assert!(matches!(err, Error::Protocol(_)), "{err:?}");
    assert!(items.try_next().await.unwrap().is_none());
    assert_eq!(server.count(), discovery_runtime::MAX_EMPTY_PAGES as usize);
}

#[tokio::test]
async fn empty_pages_before_items_are_followed() {
    // Three empty pages, then an item: legitimate, as a filtered scan answers.
    let server = serve(|req| async move {
        let n: u32 = page_token(&req).and_then(|t| t.parse().ok()).unwrap_or(0);
        if n < 3 {
            json(200, json!({"connections": [], "nextPageToken": (n + 1).to_string()}))
        } else {
            json(200, json!({"connections": [{"resourceName": "people/c9"}]}))
        }
    })
    .await;
    let client = server.client().build().unwrap();
    let mut items = ItemStream::<ListConnectionsResponse>::new(list(&client));
    assert_eq!(items.try_next().await.unwrap().unwrap().resource_name.as_deref(), Some("people/c9"));
    assert!(items.try_next().await.unwrap().is_none());
}
