//! The People types against realistic JSON: decode, re-encode, and lose nothing.

use google_people_v1::types::{
    ContactGroup, ContactGroupGroupType, Person, PersonFields, ReadSourceType, SourceType,
    UpdateContactPhotoRequest,
};
use google_people_v1::FieldMask;
use serde_json::{json, Value};

fn person_json() -> Value {
    json!({
        "resourceName": "people/c7142462727258425368",
        "etag": "%EigBAgMEBQYHCAkKCwwNDg8QERITFBUWFxkfISIjJCUmJy40NTc9Pj9AGgQBAgUHIgxVRlF5cGxOSHBjST0=",
        "metadata": {
            "sources": [
                {"type": "CONTACT", "id": "6319f4b38d6a4a18", "etag": "#4+pQe2ZZcXc=", "updateTime": "2025-11-17T09:21:44.054001Z"}
            ],
            "objectType": "PERSON"
        },
        "names": [{
            "metadata": {"primary": true, "source": {"type": "CONTACT", "id": "6319f4b38d6a4a18"}},
            "displayName": "Ada Lovelace", "familyName": "Lovelace", "givenName": "Ada",
            "displayNameLastFirst": "Lovelace, Ada", "unstructuredName": "Ada Lovelace"
        }],
        "emailAddresses": [
            {"metadata": {"primary": true, "source": {"type": "CONTACT", "id": "6319f4b38d6a4a18"}},
             "value": "ada@example.com", "type": "work", "formattedType": "Work"},
            {"metadata": {"source": {"type": "CONTACT", "id": "6319f4b38d6a4a18"}}, "value": "ada@home.example"}
        ],
        "memberships": [
            {"metadata": {"source": {"type": "CONTACT", "id": "6319f4b38d6a4a18"}},
             "contactGroupMembership": {"contactGroupId": "myContacts", "contactGroupResourceName": "contactGroups/myContacts"}}
        ],
        "birthdays": [{"date": {"year": 1815, "month": 12, "day": 10}, "text": "12/10/1815"}]
    })
}

#[test]
fn person_round_trips_exactly() {
    let original = person_json();
    let person: Person = serde_json::from_value(original.clone()).unwrap();
    assert_eq!(person.names[0].given_name.as_deref(), Some("Ada"));
    assert_eq!(person.email_addresses.len(), 2);
    let sources = &person.metadata.as_ref().unwrap().sources;
    assert_eq!(sources[0].etag.as_deref(), Some("#4+pQe2ZZcXc="));
    assert_eq!(sources[0].r#type, Some(SourceType::Contact));
    let membership = person.memberships[0].contact_group_membership.as_ref().unwrap();
    assert_eq!(membership.contact_group_resource_name.as_deref(), Some("contactGroups/myContacts"));
    assert_eq!(person.birthdays[0].date.as_ref().unwrap().year, Some(1815));
    assert_eq!(serde_json::to_value(&person).unwrap(), original);
}

#[test]
fn unknown_members_and_enum_values_survive_a_read_modify_write() {
    let mut original = person_json();
    original["futureField"] = json!({"nested": [1, 2, 3]});
    original["names"][0]["pronunciation"] = json!("AY-da");
    original["metadata"]["sources"][0]["type"] = json!("A_SOURCE_TYPE_FROM_THE_FUTURE");
    let mut person: Person = serde_json::from_value(original.clone()).unwrap();
    assert_eq!(
        person.metadata.as_ref().unwrap().sources[0].r#type,
        Some(SourceType::UnknownValue("A_SOURCE_TYPE_FROM_THE_FUTURE".into()))
    );
    person.names[0].given_name = Some("Augusta Ada".into());
    let written = serde_json::to_value(&person).unwrap();
    assert_eq!(written["futureField"], original["futureField"]);
    assert_eq!(written["names"][0]["pronunciation"], "AY-da");
    assert_eq!(written["names"][0]["givenName"], "Augusta Ada");
    assert_eq!(written["metadata"]["sources"][0]["type"], "A_SOURCE_TYPE_FROM_THE_FUTURE");
}

#[test]
fn absent_fields_are_not_sent() {
    let person = Person { etag: Some("e1".into()), ..Default::default() };
    assert_eq!(serde_json::to_value(&person).unwrap(), json!({"etag": "e1"}));
}

#[test]
fn contact_group_round_trips() {
    let original = json!({
        "resourceName": "contactGroups/4c1b0e4f8d1f2a3b",
        "etag": "NZYbk1ToDeM=",
        "metadata": {"updateTime": "2025-11-17T10:00:00.000Z"},
        "groupType": "USER_CONTACT_GROUP",
        "name": "Friends",
        "formattedName": "Friends",
        "memberResourceNames": ["people/c1", "people/c2"],
        "memberCount": 2,
        "clientData": [{"key": "app", "value": "42"}]
    });
    let group: ContactGroup = serde_json::from_value(original.clone()).unwrap();
    assert_eq!(group.group_type, Some(ContactGroupGroupType::UserContactGroup));
    assert_eq!(group.member_count, Some(2));
    assert_eq!(serde_json::to_value(&group).unwrap(), original);
}

#[test]
fn bytes_are_base64_and_enums_are_their_wire_names() {
    let request = UpdateContactPhotoRequest { photo_bytes: Some(vec![0xff, 0xfe, 0x00].into()), ..Default::default() };
    let json = serde_json::to_value(&request).unwrap();
    assert_eq!(json, json!({"photoBytes": "//4A"}));
    let url_safe: UpdateContactPhotoRequest = serde_json::from_value(json!({"photoBytes": "__4A"})).unwrap();
    assert_eq!(url_safe.photo_bytes, request.photo_bytes);
    assert_eq!(ReadSourceType::Contact.as_str(), "READ_SOURCE_TYPE_CONTACT");
    assert_eq!(serde_json::to_value(ReadSourceType::Profile).unwrap(), "READ_SOURCE_TYPE_PROFILE");
}

#[test]
fn typed_field_masks_spell_the_wire_names() {
    let mask = FieldMask::from([PersonFields::Names, PersonFields::EmailAddresses]);
    assert_eq!(mask.to_string(), "names,emailAddresses");
}

/// The client reads responses with the runtime's reader and writes request bodies with its
/// writer; both must agree with the serde implementations applications use.
#[test]
fn the_client_reader_and_writer_agree_with_serde() {
    use google_people_v1::types::BatchUpdateContactsRequest;

    let mut original = person_json();
    original["futureField"] = json!({"nested": [1, 2.5, "three", null]});
    original["names"][0]["givenName"] = json!("A\"da\\ \u{1} é \u{1F600}");
    let text = serde_json::to_string_pretty(&original).unwrap();
    let read: Person = discovery_runtime::for_generated_code::from_str(&text).unwrap();
    let via_serde: Person = serde_json::from_str(&text).unwrap();
    assert_eq!(read, via_serde);
    assert_eq!(discovery_runtime::for_generated_code::to_vec(&read), serde_json::to_vec(&read).unwrap());
    assert_eq!(serde_json::from_slice::<Value>(&discovery_runtime::for_generated_code::to_vec(&read)).unwrap(), original);

    let batch = BatchUpdateContactsRequest {
        contacts: [("people/c1".to_owned(), read.clone())].into(),
        update_mask: Some(FieldMask::from("names")),
        ..Default::default()
    };
    assert_eq!(discovery_runtime::for_generated_code::to_vec(&batch), serde_json::to_vec(&batch).unwrap());
    let photo = UpdateContactPhotoRequest {
        photo_bytes: Some(vec![0xfb, 0xff, 0x00].into()),
        ..Default::default()
    };
    assert_eq!(discovery_runtime::for_generated_code::to_vec(&photo), serde_json::to_vec(&photo).unwrap());
}
