//! The flows of google-people-v1's README — an update under etags, a batch update, a group
//! rename — written as an application would write them, against the public test server.
//!
//! It runs twice: here, in the workspace, and in CI as the test of a scratch application
//! outside the workspace that depends on the packaged crates through the README's
//! dependency lines (`cargo xtask package`), which is what shows that the packaged crates
//! are enough to write and test such an application.

use std::collections::BTreeMap;
use std::time::Duration;

use google_people_v1::auth::StaticToken;
use google_people_v1::types::{BatchUpdateContactsRequest, ContactGroup, Name, Person, UpdateContactGroupRequest};
use google_people_v1::workflows::{item_errors, BatchWriter, ReadModifyWrite};
use google_people_v1::{FieldMask, PeopleClient, RetryPolicy};
use google_people_v1_test_server::{Method, PeopleServer, Transient};
use serde_json::json;

fn client(server: &PeopleServer) -> PeopleClient {
    PeopleClient::builder()
        .base_url(server.url())
        .token_provider(StaticToken::new("readme-user"))
        .retry_policy(RetryPolicy::default().initial_backoff(Duration::from_millis(5)))
        .build()
        .unwrap()
}

#[tokio::test]
async fn update_under_etags_retries_after_a_rival_write() {
    let server = PeopleServer::start().await;
    let name = server.add_contact(json!({"names": [{"givenName": "Augusta", "familyName": "King"}]}));
    server.rival_write_before_next_update(&name, "nicknames", json!([{"value": "Countess"}]));
    let client = client(&server);

    // The README's "Updating a contact: etags and conflicts".
    let updated = ReadModifyWrite::new()
        .max_attempts(3)
        .run(
            || client.people().get(&name, "names,metadata").send(),
            |person| person.names = vec![Name { given_name: Some("Ada".into()), ..Default::default() }],
            |person| client.people().update_contact(&name, person, "names").send(),
        )
        .await
        .unwrap();

    assert_eq!(updated.names[0].given_name.as_deref(), Some("Ada"));
    assert_eq!(updated.names[0].display_name.as_deref(), Some("Ada"), "derived from the new name, not the old one");
    let statuses: Vec<u16> = server.requests_with(Method::PATCH).iter().map(|seen| seen.status).collect();
    assert_eq!(statuses, [400, 200], "the first write met the rival's etag, the second went through");
    let stored = server.contact(&name).unwrap();
    assert_eq!(stored["names"][0]["givenName"], "Ada");
    assert_eq!(stored["nicknames"][0]["value"], "Countess", "the rival's write is kept");
}

#[tokio::test]
async fn batch_update_writes_the_valid_contacts_and_names_the_stale_one() {
    let server = PeopleServer::start().await;
    let names = server.add_contacts(230, "Someone");
    let client = client(&server);
    let mut people = client.people().connections().list("people/me", "names,metadata").page_size(100).by_item();
    let mut changes = BTreeMap::new();
    while let Some(mut person) = people.try_next().await.unwrap() {
        person.names[0].family_name = Some("Imported".into());
        changes.insert(person.resource_name.clone().unwrap(), person);
    }
    assert_eq!(changes.len(), 230);
    // Written by someone else after the read: its etag is stale.
    server.rival_write(&names[7], "nicknames", json!([{"value": "moved"}]));
    // A 429 on the first batch: the client waits and sends it again.
    server.fail_next(Transient::RateLimited, 1, None);

    // The README's "Updating many contacts: batchUpdateContacts".
    let report = BatchWriter::new(200)
        .run(
            changes,
            |chunk: &[(String, Person)]| {
                let request = BatchUpdateContactsRequest {
                    contacts: chunk.iter().cloned().collect(),
                    update_mask: Some(FieldMask::from("names")),
                    read_mask: Some(FieldMask::new()),
                    ..Default::default()
                };
                client.people().batch_update_contacts(request).send()
            },
            item_errors,
        )
        .await;

    assert_eq!(report.written().count(), 229);
    let rejected: Vec<&String> = report.rejected().map(|(name, _)| name).collect();
    assert_eq!(rejected, [&names[7]]);
    assert_eq!(report.failed().count() + report.not_sent().count(), 0);
    // 200 refused whole for the stale contact, 199 again without it, then the last 30 (the
    // 429, answered before the body is read, is not counted).
    assert_eq!(server.batch_request_sizes(), [200, 199, 30]);
    assert_eq!(server.requests_with(Method::POST).len(), 4);
    assert_eq!(server.contact(&names[0]).unwrap()["names"][0]["familyName"], "Imported");
    assert!(server.contact(&names[7]).unwrap()["names"][0].get("familyName").is_none());
}

#[tokio::test]
async fn renaming_a_group_to_a_taken_name_is_a_409() {
    let server = PeopleServer::start().await;
    server.add_group("Book club");
    let chess = server.add_group("Chess");
    let client = client(&server);

    // The README's "Renaming a contact group: 409 on a taken name".
    let rename = |to: &str| UpdateContactGroupRequest {
        contact_group: Some(ContactGroup { name: Some(to.into()), ..Default::default() }),
        ..Default::default()
    };
    let taken = client.contact_groups().update(&chess, rename("Book club")).send().await.unwrap_err();
    assert!(taken.is_already_exists(), "{taken}");
    let renamed = client.contact_groups().update(&chess, rename("Go")).send().await.unwrap();
    assert_eq!(renamed.name.as_deref(), Some("Go"));
    assert_eq!(server.group(&chess).unwrap()["name"], "Go");
}
