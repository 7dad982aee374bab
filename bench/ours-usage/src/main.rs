//! updateContact, batchUpdateContacts, contactGroups.update and connections.list through the
//! generated crate, against the base URL given as the first argument (default: a closed port).
use google_people_v1::auth::StaticToken;
use google_people_v1::types::{
    BatchUpdateContactsRequest, ContactGroup, Person, ReadSourceType, UpdateContactGroupRequest,
};
use google_people_v1::PeopleClient;
use std::collections::BTreeMap;

#[tokio::main]
async fn main() {
    let base = std::env::args().nth(1).unwrap_or_else(|| "http://127.0.0.1:9/".into());
    let client = PeopleClient::builder()
        .base_url(base)
        .token_provider(StaticToken::new("token"))
        .build()
        .expect("client");

    let person = Person { etag: Some("e1".into()), ..Default::default() };
    let updated = client
        .people()
        .update_contact("people/c1", &person, "names")
        .sources([ReadSourceType::Contact])
        .send()
        .await;
    println!("updateContact: {:?}", updated.map(|p| p.resource_name));

    let batch = BatchUpdateContactsRequest {
        contacts: BTreeMap::from([("people/c1".to_string(), person)]),
        update_mask: Some("names".into()),
        read_mask: Some("names".into()),
        ..Default::default()
    };
    let batched = client.people().batch_update_contacts(&batch).send().await;
    println!("batchUpdateContacts: {:?}", batched.map(|r| r.update_result.len()));

    let group = UpdateContactGroupRequest {
        contact_group: Some(ContactGroup { name: Some("Friends".into()), ..Default::default() }),
        ..Default::default()
    };
    let renamed = client.contact_groups().update("contactGroups/g1", &group).send().await;
    println!("contactGroups.update: {:?}", renamed.map(|g| g.name));

    let listed = client
        .people()
        .connections()
        .list("people/me", "names")
        .page_size(100)
        .send()
        .await;
    println!("connections.list: {:?}", listed.map(|r| r.total_items));
}
