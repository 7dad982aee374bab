//! Sets a user-defined field on every contact, with as many `batchUpdateContacts` requests as
//! the 200-contact limit needs, and reports per contact whether it was written.
//!
//! ```sh
//! PEOPLE_ACCESS_TOKEN=ya29... cargo run -p google-people-v1 --example batch_update -- https://people.googleapis.com/ imported-from crm
//! # or against the test server (`cargo run -p google-people-v1-test-server -- --port 8080
//! # --seed generated/test-server/seed.json`):
//! cargo run -p google-people-v1 --example batch_update -- http://127.0.0.1:8080/ imported-from crm
//! ```

use std::collections::BTreeMap;

use google_people_v1::workflows::{item_errors, BatchReport, BatchWriter};
use google_people_v1::auth::StaticToken;
use google_people_v1::types::{BatchUpdateContactsRequest, BatchUpdateContactsResponse, Person, UserDefined};
use google_people_v1::{FieldMask, PeopleClient, Result};

/// The most contacts `people.batchUpdateContacts` takes per request.
pub const BATCH_UPDATE_LIMIT: usize = 200;

/// Every contact of the user, with its user-defined fields and its etag (in `metadata`).
pub async fn all_contacts(client: &PeopleClient) -> Result<Vec<Person>> {
    let mut contacts = Vec::new();
    let mut stream = client.people().connections().list("people/me", "userDefined,metadata").page_size(1000).by_item();
    while let Some(person) = stream.try_next().await? {
        contacts.push(person);
    }
    Ok(contacts)
}

/// Writes `changes` (resource name to the person to write, etag included) with
/// `update_mask`, 200 contacts per request, and accounts for every resource name.
pub async fn write_contacts(
    client: &PeopleClient,
    changes: BTreeMap<String, Person>,
    update_mask: &str,
) -> BatchReport<String, BatchUpdateContactsResponse> {
    BatchWriter::new(BATCH_UPDATE_LIMIT)
        .run(
            changes,
            |chunk: &[(String, Person)]| {
                let request = BatchUpdateContactsRequest {
                    contacts: chunk.iter().cloned().collect(),
                    update_mask: Some(FieldMask::from(update_mask)),
                    // Empty: skip the read after the write, nothing is needed back.
                    read_mask: Some(FieldMask::new()),
                    ..Default::default()
                };
                client.people().batch_update_contacts(request).send()
            },
            // Google refuses an invalid batch as a whole; the contacts to blame are read
            // from its error, or isolated by splitting the request when it names none.
            item_errors,
        )
        .await
}

/// Sets the user-defined field `key` to `value` on every contact.
pub async fn tag_all_contacts(
    client: &PeopleClient,
    key: &str,
    value: &str,
) -> Result<BatchReport<String, BatchUpdateContactsResponse>> {
    let mut changes = BTreeMap::new();
    for mut person in all_contacts(client).await? {
        let Some(name) = person.resource_name.clone() else { continue };
        person.user_defined.retain(|field| field.key.as_deref() != Some(key));
        person.user_defined.push(UserDefined {
            key: Some(key.to_owned()),
            value: Some(value.to_owned()),
            ..Default::default()
        });
        changes.insert(name, person);
    }
    Ok(write_contacts(client, changes, "userDefined").await)
}

#[tokio::main]
async fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(base_url), Some(key), Some(value)) = (args.next(), args.next(), args.next()) else {
        return Err("usage: batch_update BASE_URL KEY VALUE".into());
    };
    let token = std::env::var("PEOPLE_ACCESS_TOKEN").unwrap_or_else(|_| "local-test-token".into());
    let client = PeopleClient::builder().base_url(base_url).token_provider(StaticToken::new(token)).build()?;

    let report = tag_all_contacts(&client, &key, &value).await?;
    println!("{} written in {} request(s)", report.written().count(), report.requests_sent);
    for (name, why) in report.rejected() {
        println!("rejected {name}: {why}");
    }
    for (name, error) in report.failed() {
        println!("failed {name}: {error}");
    }
    for name in report.not_sent() {
        println!("not sent {name}");
    }
    Ok(())
}
