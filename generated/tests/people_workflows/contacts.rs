//! `people.get` and `people.updateContact`: field masks, sources, etags and the 400 cases.

use axum::http::Method;
use google_people_v1::workflows::{ReadModifyWrite, ReadModifyWriteError};
use google_people_v1::types::{
    Biography, Birthday, ContactGroupMembership, EmailAddress, Gender, Membership, Name, Person, PersonMetadata,
    PhoneNumber, ReadSourceType, Source, SourceType,
};
use serde_json::json;

use crate::support::{client, PeopleServer};
use crate::{contact_source_etag, stored_given_name};

fn ada() -> serde_json::Value {
    json!({
        "names": [{"givenName": "Ada", "familyName": "Lovelace"}],
        "emailAddresses": [{"value": "ada@example.com"}],
        "phoneNumbers": [{"value": "+44 20 7946 0000"}],
    })
}

fn name(given: &str) -> Name {
    Name { given_name: Some(given.into()), ..Default::default() }
}

#[tokio::test]
async fn get_returns_exactly_the_masked_fields() {
    let server = PeopleServer::start().await;
    let ada = server.add_contact(ada());
    let person = client(&server).people().get(&ada, "names,emailAddresses").send().await.unwrap();

    assert_eq!(person.resource_name.as_deref(), Some(ada.as_str()));
    assert!(person.etag.is_some());
    assert_eq!(person.names[0].given_name.as_deref(), Some("Ada"));
    assert_eq!(person.email_addresses[0].value.as_deref(), Some("ada@example.com"));
    assert!(person.phone_numbers.is_empty(), "not in the mask");
    assert!(person.metadata.is_none(), "not in the mask");
    assert!(person.memberships.is_empty(), "not in the mask");
    let seen = server.requests().pop().unwrap();
    assert_eq!(seen.path, format!("/v1/{ada}"), "the resource name keeps its `/`");
    assert_eq!(seen.query_values("personFields"), ["names,emailAddresses"], "one comma-separated value");
}

#[tokio::test]
async fn update_person_fields_is_required_by_the_service() {
    let server = PeopleServer::start().await;
    let ada = server.add_contact(ada());
    let client = client(&server);
    let person = client.people().get(&ada, "names,metadata").send().await.unwrap();
    let err = client.people().update_contact(&ada, &person, "").send().await.unwrap_err();
    assert_eq!(err.service_error().unwrap().status.as_deref(), Some("INVALID_ARGUMENT"), "{err}");
    assert_eq!(server.contact(&ada).unwrap()["etag"], json!(person.etag), "nothing was written");
}

#[tokio::test]
async fn sources_travel_as_a_repeated_parameter() {
    let server = PeopleServer::start().await;
    let ada = server.add_contact(ada());
    let client = client(&server);

    let profile_only =
        client.people().get(&ada, "names").sources([ReadSourceType::Profile]).send().await.unwrap();
    assert!(profile_only.names.is_empty(), "contact data needs READ_SOURCE_TYPE_CONTACT");

    let both = client
        .people()
        .get(&ada, "names")
        .sources([ReadSourceType::Profile, ReadSourceType::Contact])
        .send()
        .await
        .unwrap();
    assert_eq!(both.names[0].given_name.as_deref(), Some("Ada"));
    let seen = server.requests_with(Method::GET).pop().unwrap();
    assert_eq!(seen.query_values("sources"), ["READ_SOURCE_TYPE_PROFILE", "READ_SOURCE_TYPE_CONTACT"]);
}

#[tokio::test]
async fn update_replaces_the_named_fields_and_leaves_the_others_untouched() {
    let server = PeopleServer::start().await;
    let ada = server.add_contact(ada());
    let client = client(&server);
    let mut person = client.people().get(&ada, "names,metadata").send().await.unwrap();

    person.names = vec![name("Augusta")];
    // Named in the mask but absent: cleared. Not named: ignored even though it is sent.
    person.email_addresses.clear();
    person.phone_numbers = vec![PhoneNumber { value: Some("+1 555 0100".into()), ..Default::default() }];
    let updated = client.people().update_contact(&ada, &person, "names,emailAddresses").send().await.unwrap();

    let stored = server.contact(&ada).unwrap();
    assert_eq!(stored_given_name(&stored), Some("Augusta"));
    assert_eq!(stored.pointer("/names/0/familyName"), None, "a named field is replaced as a whole");
    assert_eq!(stored.get("emailAddresses"), None);
    assert_eq!(stored["phoneNumbers"], json!([{"value": "+44 20 7946 0000"}]));
    // Without `personFields` the response carries everything.
    assert_eq!(updated.phone_numbers[0].value.as_deref(), Some("+44 20 7946 0000"));
    assert_eq!(updated.names[0].given_name.as_deref(), Some("Augusta"));
}

#[tokio::test]
async fn person_fields_restrict_the_update_response() {
    let server = PeopleServer::start().await;
    let ada = server.add_contact(ada());
    let client = client(&server);
    let mut person = client.people().get(&ada, "names,metadata").send().await.unwrap();
    person.names = vec![name("Augusta")];

    let updated =
        client.people().update_contact(&ada, &person, "names").person_fields("emailAddresses").send().await.unwrap();
    assert!(updated.names.is_empty());
    assert_eq!(updated.email_addresses.len(), 1);
    let seen = server.requests_with(Method::PATCH).pop().unwrap();
    assert_eq!(seen.query_values("updatePersonFields"), ["names"]);
    assert_eq!(seen.query_values("personFields"), ["emailAddresses"]);
}

#[tokio::test]
async fn update_without_a_contact_source_is_invalid_argument() {
    let server = PeopleServer::start().await;
    let ada = server.add_contact(ada());
    let client = client(&server);
    let read = client.people().get(&ada, "names,metadata").send().await.unwrap();
    let etag = contact_source_etag(&read).unwrap().to_owned();

    let no_metadata = Person { names: vec![name("Bea")], ..Default::default() };
    let profile_source = Person {
        names: vec![name("Bea")],
        metadata: Some(PersonMetadata {
            sources: vec![Source { r#type: Some(SourceType::Profile), etag: Some(etag), ..Default::default() }],
            ..Default::default()
        }),
        ..Default::default()
    };
    for person in [no_metadata, profile_source] {
        let err = client.people().update_contact(&ada, &person, "names").send().await.unwrap_err();
        assert_eq!(err.http_status(), Some(400), "{err}");
        assert_eq!(err.service_error().unwrap().status.as_deref(), Some("INVALID_ARGUMENT"));
        assert!(!err.is_failed_precondition());
    }
    assert_eq!(stored_given_name(&server.contact(&ada).unwrap()), Some("Ada"));
}

#[tokio::test]
async fn a_stale_etag_is_a_failed_precondition() {
    let server = PeopleServer::start().await;
    let ada = server.add_contact(ada());
    let client = client(&server);
    let mut person = client.people().get(&ada, "names,metadata").send().await.unwrap();
    server.rival_write(&ada, "names", json!([{"givenName": "Rival"}]));

    person.names = vec![name("Mine")];
    let err = client.people().update_contact(&ada, &person, "names").send().await.unwrap_err();
    assert_eq!(err.http_status(), Some(400));
    let service = err.service_error().unwrap();
    assert_eq!(service.status.as_deref(), Some("FAILED_PRECONDITION"));
    assert_eq!(service.errors[0].reason.as_deref(), Some("failedPrecondition"));
    assert_eq!(err.reason(), Some("failedPrecondition"));
    assert!(err.is_failed_precondition());
    assert_eq!(stored_given_name(&server.contact(&ada).unwrap()), Some("Rival"));
}

#[tokio::test]
async fn consecutive_updates_use_the_etag_of_the_previous_response() {
    let server = PeopleServer::start().await;
    let ada = server.add_contact(ada());
    let client = client(&server);
    let original = client.people().get(&ada, "names,metadata").send().await.unwrap();

    let mut first = original.clone();
    first.names = vec![name("First")];
    let after_first = client.people().update_contact(&ada, &first, "names").send().await.unwrap();
    assert_ne!(contact_source_etag(&after_first), contact_source_etag(&original), "every write changes the etag");
    assert_ne!(after_first.etag, original.etag);

    let mut second = after_first.clone();
    second.names = vec![name("Second")];
    let after_second = client.people().update_contact(&ada, &second, "names").send().await.unwrap();
    assert_eq!(after_second.names[0].given_name.as_deref(), Some("Second"));

    let mut replay = original.clone();
    replay.names = vec![name("Replay")];
    let err = client.people().update_contact(&ada, &replay, "names").send().await.unwrap_err();
    assert!(err.is_failed_precondition(), "{err}");
}

#[tokio::test]
async fn memberships_in_the_mask_need_a_contact_group_membership() {
    let server = PeopleServer::start().await;
    let ada = server.add_contact(ada());
    let friends = server.add_group("Friends");
    let client = client(&server);
    let mut person = client.people().get(&ada, "memberships,metadata").send().await.unwrap();

    person.memberships.clear();
    let err = client.people().update_contact(&ada, &person, "memberships").send().await.unwrap_err();
    assert_eq!(err.service_error().unwrap().status.as_deref(), Some("INVALID_ARGUMENT"), "{err}");

    person.memberships = vec![Membership {
        contact_group_membership: Some(ContactGroupMembership {
            contact_group_resource_name: Some(friends.clone()),
            ..Default::default()
        }),
        ..Default::default()
    }];
    client.people().update_contact(&ada, &person, "memberships").send().await.unwrap();
    let stored = server.contact(&ada).unwrap();
    assert_eq!(stored.pointer("/memberships/0/contactGroupMembership/contactGroupResourceName"), Some(&json!(friends)));
}

#[tokio::test]
async fn singleton_fields_take_one_value() {
    let server = PeopleServer::start().await;
    let ada = server.add_contact(ada());
    let client = client(&server);
    let read = client.people().get(&ada, "metadata").send().await.unwrap();

    let twice: [(&str, Person); 4] = [
        ("biographies", Person { biographies: vec![Biography::default(), Biography::default()], ..read.clone() }),
        ("birthdays", Person { birthdays: vec![Birthday::default(), Birthday::default()], ..read.clone() }),
        ("genders", Person { genders: vec![Gender::default(), Gender::default()], ..read.clone() }),
        ("names", Person { names: vec![name("One"), name("Two")], ..read.clone() }),
    ];
    for (field, person) in &twice {
        let err = client.people().update_contact(&ada, person, *field).send().await.unwrap_err();
        assert_eq!(err.service_error().unwrap().status.as_deref(), Some("INVALID_ARGUMENT"), "{field}: {err}");
    }
    // Several values of a field the mask does not name are not written, so they are no error.
    let emails_only = Person {
        names: vec![name("One"), name("Two")],
        email_addresses: vec![EmailAddress { value: Some("a@example.com".into()), ..Default::default() }],
        ..read.clone()
    };
    client.people().update_contact(&ada, &emails_only, "emailAddresses").send().await.unwrap();
    assert_eq!(stored_given_name(&server.contact(&ada).unwrap()), Some("Ada"));

    // Values of another source (a profile's, read with the contact and written back) are
    // not contact data: not counted, not stored.
    let read = client.people().get(&ada, "metadata").send().await.unwrap();
    let profile = |value: serde_json::Value| {
        let mut value = value;
        value["metadata"] = json!({"source": {"type": "PROFILE", "id": "p1"}});
        serde_json::from_value::<Name>(value).unwrap()
    };
    let with_profile = Person { names: vec![name("Contact"), profile(json!({"givenName": "Profile"}))], ..read.clone() };
    client.people().update_contact(&ada, &with_profile, "names").send().await.unwrap();
    let stored = server.contact(&ada).unwrap();
    assert_eq!(stored["names"].as_array().map(Vec::len), Some(1), "{stored}");
    assert_eq!(stored_given_name(&stored), Some("Contact"));
}

#[tokio::test]
async fn read_modify_write_merges_the_change_into_a_rivals_write() {
    let server = PeopleServer::start().await;
    let ada = server.add_contact(ada());
    let client = client(&server);
    let mut rival_done = false;

    let written = ReadModifyWrite::new()
        .run(
            || client.people().get(&ada, "names,metadata").send(),
            |person: &mut Person| {
                // Another client writes between our read and our write, once.
                if !std::mem::replace(&mut rival_done, true) {
                    server.rival_write(&ada, "phoneNumbers", json!([{"value": "+1 555 0199"}]));
                }
                person.names = vec![name("Mine")];
            },
            |person| client.people().update_contact(&ada, person, "names").send(),
        )
        .await
        .unwrap();

    assert_eq!(written.names[0].given_name.as_deref(), Some("Mine"));
    let stored = server.contact(&ada).unwrap();
    assert_eq!(stored_given_name(&stored), Some("Mine"));
    assert_eq!(stored["phoneNumbers"], json!([{"value": "+1 555 0199"}]), "the rival's change survives");
    let patches = server.requests_with(Method::PATCH);
    assert_eq!(patches.iter().map(|r| r.status).collect::<Vec<_>>(), [400, 200]);
    assert_eq!(server.requests_with(Method::GET).len(), 2, "read again after the conflict");
}

#[tokio::test]
async fn read_modify_write_gives_up_with_the_unwritten_person() {
    let server = PeopleServer::start().await;
    let ada = server.add_contact(ada());
    let client = client(&server);
    let mut rival_writes = 0;

    let err = ReadModifyWrite::new()
        .max_attempts(3)
        .run(
            || client.people().get(&ada, "names,metadata").send(),
            |person: &mut Person| {
                rival_writes += 1;
                server.rival_write(&ada, "nicknames", json!([{"value": format!("rival {rival_writes}")}]));
                person.names = vec![name("Mine")];
            },
            |person| client.people().update_contact(&ada, person, "names").send(),
        )
        .await
        .unwrap_err();

    assert!(err.is_conflict(), "{err}");
    assert_eq!(err.attempts(), 3);
    assert!(err.error().is_failed_precondition());
    assert_eq!(server.requests_with(Method::PATCH).len(), 3);
    let unwritten = err.into_unwritten().unwrap();
    assert_eq!(unwritten.names[0].given_name.as_deref(), Some("Mine"));
    assert_eq!(stored_given_name(&server.contact(&ada).unwrap()), Some("Ada"));
}

#[tokio::test]
async fn read_modify_write_does_not_repeat_an_invalid_update() {
    let server = PeopleServer::start().await;
    let ada = server.add_contact(ada());
    let client = client(&server);

    let err = ReadModifyWrite::new()
        .run(
            || client.people().get(&ada, "names,metadata").send(),
            |person: &mut Person| person.names = vec![name("One"), name("Two")],
            |person| client.people().update_contact(&ada, person, "names").send(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ReadModifyWriteError::Write { attempts: 1, .. }), "{err:?}");
    assert_eq!(server.requests_with(Method::PATCH).len(), 1);
}
