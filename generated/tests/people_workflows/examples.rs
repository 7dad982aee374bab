//! The programs in `examples/` against the test server.
//!
//! Each example keeps its logic in public functions and its `main` to argument parsing and
//! printing. The example files are compiled into this test as modules and their functions
//! called with a client pointed at the test server: that runs the examples' own code, with
//! no binaries to build and start (`cargo test` still builds the example binaries, which
//! checks their `main`s compile).

use std::collections::BTreeMap;

use axum::http::Method;
use google_people_v1::types::Person;
use serde_json::json;

use crate::stored_given_name;
use crate::support::{client, PeopleServer};

#[allow(dead_code)]
#[path = "../../examples/quickstart.rs"]
pub mod quickstart;

#[allow(dead_code)]
#[path = "../../examples/update_contact.rs"]
pub mod update_contact;

#[allow(dead_code)]
#[path = "../../examples/batch_update.rs"]
pub mod batch_update;

#[allow(dead_code)]
#[path = "../../examples/rename_group.rs"]
pub mod rename_group;

#[allow(dead_code)]
#[path = "../../examples/sync_contacts.rs"]
pub mod sync_contacts;

#[tokio::test]
async fn quickstart_reads_a_contact_and_a_page_of_connections() {
    let server = PeopleServer::start().await;
    let ada =
        server.add_contact(json!({"names": [{"givenName": "Ada"}], "emailAddresses": [{"value": "ada@example.com"}]}));
    server.add_contacts(12, "Other");

    let (person, first_names) = quickstart::run(&client(&server), &ada).await.unwrap();
    assert_eq!(person.email_addresses[0].value.as_deref(), Some("ada@example.com"));
    assert_eq!(first_names.len(), 10);
    assert_eq!(first_names[0], "Ada");
}

#[tokio::test]
async fn update_contact_survives_a_rival_write() {
    let server = PeopleServer::start().await;
    let ada = server.add_contact(json!({"names": [{"givenName": "Ada", "familyName": "Lovelace"}]}));
    server.rival_write_before_next_update(&ada, "phoneNumbers", json!([{"value": "+1 555 0100"}]));

    let updated = update_contact::set_given_name(&client(&server), &ada, "Augusta").await.unwrap();
    assert_eq!(updated.names[0].given_name.as_deref(), Some("Augusta"));
    assert_eq!(updated.names[0].family_name.as_deref(), Some("Lovelace"), "the rest of the name is kept");
    let statuses: Vec<u16> = server.requests_with(Method::PATCH).iter().map(|r| r.status).collect();
    assert_eq!(statuses, [400, 200], "the first write met the rival's etag");
    let stored = server.contact(&ada).unwrap();
    assert_eq!(stored_given_name(&stored), Some("Augusta"));
    assert_eq!(stored["phoneNumbers"][0]["value"], "+1 555 0100");
}

#[tokio::test]
async fn batch_update_tags_every_contact_across_requests() {
    let server = PeopleServer::start().await;
    let names = server.add_contacts(230, "Someone");
    server.rival_write(&names[0], "userDefined", json!([{"key": "team", "value": "blue"}]));

    let report = batch_update::tag_all_contacts(&client(&server), "imported-from", "crm").await.unwrap();
    assert!(report.all_written(), "{report:?}");
    assert_eq!(report.outcomes.len(), 230);
    assert_eq!(server.batch_request_sizes(), [200, 30]);
    let first = server.contact(&names[0]).unwrap();
    assert_eq!(
        first["userDefined"],
        json!([{"key": "team", "value": "blue"}, {"key": "imported-from", "value": "crm"}]),
        "existing fields are kept"
    );
}

#[tokio::test]
async fn rename_group_tells_a_taken_name_apart() {
    let server = PeopleServer::start().await;
    let friends = server.add_group("Friends");
    server.add_group("Family");
    let client = client(&server);

    match rename_group::rename_group(&client, &friends, "Family").await.unwrap() {
        rename_group::Renamed::NameTaken => {}
        other => panic!("expected NameTaken, got {other:?}"),
    }
    assert_eq!(server.group(&friends).unwrap()["name"], "Friends");

    match rename_group::rename_group(&client, &friends, "Book club").await.unwrap() {
        rename_group::Renamed::Done(group) => assert_eq!(group.name.as_deref(), Some("Book club")),
        other => panic!("expected Done, got {other:?}"),
    }
    assert_eq!(server.group(&friends).unwrap()["name"], "Book club");
}

#[tokio::test]
async fn sync_contacts_goes_incremental_and_falls_back_when_the_token_expired() {
    let server = PeopleServer::start().await;
    let names = server.add_contacts(150, "Someone");
    let client = client(&server);

    let full = sync_contacts::sync(&client, None).await.unwrap();
    assert!(full.full);
    assert_eq!(full.people.len(), 150, "all pages");
    let token = full.next_sync_token.expect("a sync token on the last page");

    server.rival_write(&names[3], "names", json!([{"givenName": "Renamed"}]));
    server.rival_delete(&names[4]);
    let added = server.add_contact(json!({"names": [{"givenName": "Newcomer"}]}));
    let changes = sync_contacts::sync(&client, Some(&token)).await.unwrap();
    assert!(!changes.full);
    let by_name: BTreeMap<String, Person> =
        changes.people.into_iter().map(|p| (p.resource_name.clone().unwrap(), p)).collect();
    assert_eq!(by_name.keys().collect::<Vec<_>>(), [&names[3], &names[4], &added]);
    assert_eq!(by_name[&names[4]].metadata.as_ref().unwrap().deleted, Some(true));
    let next = changes.next_sync_token.unwrap();

    server.expire_sync_tokens();
    let fallback = sync_contacts::sync(&client, Some(&next)).await.unwrap();
    assert!(fallback.full);
    assert_eq!(fallback.people.len(), 150, "149 left after the delete, plus the newcomer");
    assert!(fallback.next_sync_token.is_some());
}
