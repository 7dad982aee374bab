//! Renames a contact group, telling a name that is already taken (HTTP 409) apart from other
//! failures.
//!
//! ```sh
//! PEOPLE_ACCESS_TOKEN=ya29... cargo run -p google-people-v1 --example rename_group -- https://people.googleapis.com/ contactGroups/abc "Book club"
//! # or against the test server (`cargo run -p google-people-v1-test-server -- --port 8080
//! # --seed generated/test-server/seed.json`):
//! cargo run -p google-people-v1 --example rename_group -- http://127.0.0.1:8080/ contactGroups/chess Go
//! ```

use google_people_v1::auth::StaticToken;
use google_people_v1::types::{ContactGroup, UpdateContactGroupRequest};
use google_people_v1::{PeopleClient, Result};

/// How a rename ended, when the service answered.
#[derive(Debug)]
pub enum Renamed {
    /// The group as the service now has it.
    Done(Box<ContactGroup>),
    /// Another group of the user already has that name.
    NameTaken,
}

pub async fn rename_group(client: &PeopleClient, resource_name: &str, new_name: &str) -> Result<Renamed> {
    let request = UpdateContactGroupRequest {
        contact_group: Some(ContactGroup { name: Some(new_name.to_owned()), ..Default::default() }),
        // Left unset, `updateGroupFields` means `name` and `readGroupFields` means
        // `metadata,groupType,name`.
        ..Default::default()
    };
    match client.contact_groups().update(resource_name, &request).send().await {
        Ok(group) => Ok(Renamed::Done(Box::new(group))),
        Err(e) if e.is_conflict() && e.is_already_exists() => Ok(Renamed::NameTaken),
        Err(e) => Err(e),
    }
}

#[tokio::main]
async fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(base_url), Some(resource_name), Some(new_name)) = (args.next(), args.next(), args.next()) else {
        return Err("usage: rename_group BASE_URL RESOURCE_NAME NEW_NAME".into());
    };
    let token = std::env::var("PEOPLE_ACCESS_TOKEN").unwrap_or_else(|_| "local-test-token".into());
    let client = PeopleClient::builder().base_url(base_url).token_provider(StaticToken::new(token)).build()?;

    match rename_group(&client, &resource_name, &new_name).await? {
        Renamed::Done(group) => println!("renamed to {:?}", group.name),
        Renamed::NameTaken => println!("another group is already called {new_name:?}"),
    }
    Ok(())
}
