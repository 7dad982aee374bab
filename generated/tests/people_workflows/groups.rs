//! `contactGroups.create` and `contactGroups.update`: unique names (409 ALREADY_EXISTS) and
//! the default field masks.

use google_people_v1::types::{
    ContactGroup, ContactGroupGroupType, CreateContactGroupRequest, GroupClientData, UpdateContactGroupRequest,
};
use google_people_v1::FieldMask;
use serde_json::json;

use crate::support::{client, PeopleServer};

fn named(name: &str) -> ContactGroup {
    ContactGroup { name: Some(name.into()), ..Default::default() }
}

fn client_data(key: &str, value: &str) -> Vec<GroupClientData> {
    vec![GroupClientData { key: Some(key.into()), value: Some(value.into()), ..Default::default() }]
}

fn assert_already_exists(err: &google_people_v1::Error) {
    assert_eq!(err.http_status(), Some(409), "{err}");
    assert_eq!(err.service_error().unwrap().status.as_deref(), Some("ALREADY_EXISTS"));
    assert!(err.is_conflict());
    assert!(err.is_already_exists());
}

#[tokio::test]
async fn creating_a_group_with_a_taken_name_is_409_already_exists() {
    let server = PeopleServer::start().await;
    let client = client(&server);
    let create = |name: &str| CreateContactGroupRequest { contact_group: Some(named(name)), ..Default::default() };

    let friends = client.contact_groups().create(create("Friends")).send().await.unwrap();
    assert_eq!(friends.name.as_deref(), Some("Friends"));
    assert_eq!(friends.group_type, Some(ContactGroupGroupType::UserContactGroup));

    let err = client.contact_groups().create(create("Friends")).send().await.unwrap_err();
    assert_already_exists(&err);
    let groups = client.contact_groups().list().send().await.unwrap();
    let named_friends = groups.contact_groups.iter().filter(|g| g.name.as_deref() == Some("Friends")).count();
    assert_eq!(named_friends, 1);
}

#[tokio::test]
async fn renaming_a_group_to_a_taken_name_is_409_and_changes_nothing() {
    let server = PeopleServer::start().await;
    let friends = server.add_group("Friends");
    server.add_group("Family");
    let client = client(&server);

    let request = UpdateContactGroupRequest { contact_group: Some(named("Family")), ..Default::default() };
    let err = client.contact_groups().update(&friends, &request).send().await.unwrap_err();
    assert_already_exists(&err);
    assert_eq!(server.group(&friends).unwrap()["name"], "Friends");

    // Its own name is not a duplicate.
    let request = UpdateContactGroupRequest { contact_group: Some(named("Friends")), ..Default::default() };
    client.contact_groups().update(&friends, &request).send().await.unwrap();
}

#[tokio::test]
async fn update_defaults_to_writing_the_name_and_reading_metadata_group_type_and_name() {
    let server = PeopleServer::start().await;
    let friends = server.add_group("Friends");
    let client = client(&server);

    let request = UpdateContactGroupRequest {
        contact_group: Some(ContactGroup { client_data: client_data("colour", "green"), ..named("Pals") }),
        ..Default::default()
    };
    let updated = client.contact_groups().update(&friends, &request).send().await.unwrap();

    let stored = server.group(&friends).unwrap();
    assert_eq!(stored["name"], "Pals");
    assert_eq!(stored.get("clientData"), None, "clientData is not in the default update mask");
    assert_eq!(updated.name.as_deref(), Some("Pals"));
    assert_eq!(updated.group_type, Some(ContactGroupGroupType::UserContactGroup));
    assert!(updated.metadata.is_some());
    assert_eq!(updated.member_count, None, "memberCount is not in the default read mask");
    assert!(updated.client_data.is_empty());
    assert_ne!(updated.etag.as_deref(), None);
}

#[tokio::test]
async fn update_honours_explicit_update_and_read_masks() {
    let server = PeopleServer::start().await;
    let friends = server.add_group("Friends");
    server.add_contact(json!({"names": [{"givenName": "Ada"}],
        "memberships": [{"contactGroupMembership": {"contactGroupResourceName": friends}}]}));
    let client = client(&server);

    let request = UpdateContactGroupRequest {
        contact_group: Some(ContactGroup { client_data: client_data("colour", "green"), ..named("Ignored") }),
        update_group_fields: Some(FieldMask::from("clientData")),
        read_group_fields: Some(FieldMask::from("clientData,memberCount")),
        ..Default::default()
    };
    let updated = client.contact_groups().update(&friends, &request).send().await.unwrap();

    let stored = server.group(&friends).unwrap();
    assert_eq!(stored["name"], "Friends", "name is not in the update mask");
    assert_eq!(stored["clientData"], json!([{"key": "colour", "value": "green"}]));
    assert_eq!(updated.client_data, client_data("colour", "green"));
    assert_eq!(updated.member_count, Some(1));
    assert_eq!(updated.name, None);
    assert_eq!(updated.group_type, None);
}

#[tokio::test]
async fn a_group_update_with_a_stale_etag_is_a_failed_precondition() {
    let server = PeopleServer::start().await;
    let friends = server.add_group("Friends");
    let client = client(&server);
    let read = client.contact_groups().get(&friends).send().await.unwrap();

    let rename = |name: &str, from: &ContactGroup| UpdateContactGroupRequest {
        contact_group: Some(ContactGroup { name: Some(name.into()), ..from.clone() }),
        ..Default::default()
    };
    let renamed = client.contact_groups().update(&friends, rename("Pals", &read)).send().await.unwrap();
    assert_ne!(renamed.etag, read.etag, "every write changes the etag");

    let err = client.contact_groups().update(&friends, rename("Chums", &read)).send().await.unwrap_err();
    assert!(err.is_failed_precondition(), "{err}");
    assert_eq!(server.group(&friends).unwrap()["name"], "Pals");
}
