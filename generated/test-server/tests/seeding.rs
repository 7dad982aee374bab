//! Seeds: what they accept, and that a refused one leaves the server as it was.

use google_people_v1_test_server::PeopleServer;
use serde_json::json;

#[tokio::test]
async fn a_seed_keeps_resource_names_and_links_memberships() {
    let server = PeopleServer::start().await;
    let seeded = server
        .seed(&json!({
            "groups": [{"resourceName": "contactGroups/family", "name": "Family"}, {"name": "Work"}],
            "contacts": [
                {"resourceName": "people/c1", "names": [{"givenName": "Ada"}],
                 "memberships": [{"contactGroupMembership": {"contactGroupResourceName": "contactGroups/family"}}]},
                {"names": [{"givenName": "Grace"}]}
            ]
        }))
        .unwrap();
    assert_eq!(seeded.groups[0], "contactGroups/family");
    assert!(seeded.groups[1].starts_with("contactGroups/") && seeded.groups[1] != seeded.groups[0]);
    assert_eq!(seeded.contacts[0], "people/c1");
    assert_eq!(server.contact_names(), seeded.contacts);

    let ada = server.contact("people/c1").unwrap();
    let membership = &ada["memberships"][0]["contactGroupMembership"];
    assert_eq!(membership["contactGroupId"], "family", "filled in from the resource name");
    // Without memberships of its own, a contact is in myContacts.
    let grace = server.contact(&seeded.contacts[1]).unwrap();
    assert_eq!(
        grace["memberships"][0]["contactGroupMembership"]["contactGroupResourceName"],
        "contactGroups/myContacts"
    );
    assert_eq!(server.group("contactGroups/family").unwrap()["memberCount"], 1);
    // Names chosen later by the server do not collide with seeded ones.
    let next = server.add_contact(json!({"names": [{"givenName": "Alan"}]}));
    assert!(!seeded.contacts.contains(&next));
}

#[tokio::test]
async fn a_refused_seed_changes_nothing() {
    let server = PeopleServer::start().await;
    let cases = [
        (json!([]), "a seed is a JSON object"),
        (json!({"people": []}), "unknown seed member `people`"),
        (json!({"contacts": {}}), "`contacts` must be a list"),
        (json!({"groups": [{"name": "A"}, {"name": "A"}]}), "groups[1]: Contact group name \"A\" already exists"),
        (json!({"groups": [{"name": "myContacts"}]}), "groups[0]: Contact group name \"myContacts\" already exists"),
        (json!({"groups": [{"resourceName": "groups/x", "name": "X"}]}), "groups[0]: Invalid resource name"),
        (json!({"contacts": [{"names": "Ada"}]}), "contacts[0]: Invalid value at 'person.names'"),
        (
            json!({"contacts": [{"resourceName": "people/c1"}, {"resourceName": "people/c1"}]}),
            "contacts[1]: people/c1 already exists",
        ),
        (
            json!({"contacts": [{"memberships": [{"contactGroupMembership": {"contactGroupResourceName": "contactGroups/nope"}}]}]}),
            "contacts[0]: membership of an unknown group contactGroups/nope",
        ),
    ];
    for (seed, expected) in cases {
        let err = server.seed(&seed).unwrap_err().to_string();
        assert!(err.starts_with(expected), "{seed}: {err}");
    }
    assert!(server.contact_names().is_empty());
    assert!(server.contact("people/c1").is_none());
    assert!(server.group("contactGroups/x").is_none());
    // Only the system groups.
    let seeded = server.seed(&json!({"groups": [{"name": "A"}]})).unwrap();
    assert_eq!(seeded.groups.len(), 1);
}
