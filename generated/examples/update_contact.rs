//! Changes a contact's given name without losing concurrent edits: read the latest version,
//! change it, write it with its etag, and start over when someone else wrote in between.
//!
//! ```sh
//! PEOPLE_ACCESS_TOKEN=ya29... cargo run -p google-people-v1 --example update_contact -- https://people.googleapis.com/ people/c123 Ada
//! # or against the test server (`cargo run -p google-people-v1-test-server -- --port 8080
//! # --seed generated/test-server/seed.json`):
//! cargo run -p google-people-v1 --example update_contact -- http://127.0.0.1:8080/ people/c1 Augusta
//! ```

use google_people_v1::workflows::{ReadModifyWrite, ReadModifyWriteError};
use google_people_v1::auth::StaticToken;
use google_people_v1::types::Person;
use google_people_v1::PeopleClient;

/// Sets the given name of the contact's (single) name, keeping the rest of it.
///
/// The read asks for `metadata`: it carries the contact source's etag, which
/// `updateContact` checks. On failure the error holds the person with the change applied.
pub async fn set_given_name(
    client: &PeopleClient,
    resource_name: &str,
    given_name: &str,
) -> Result<Person, ReadModifyWriteError<Person>> {
    ReadModifyWrite::new()
        .max_attempts(3)
        .run(
            || client.people().get(resource_name, "names,metadata").send(),
            // Applied to every fresh read, so a retry keeps what the other writer changed.
            |person| {
                let mut name = person.names.pop().unwrap_or_default();
                name.given_name = Some(given_name.to_owned());
                person.names = vec![name];
            },
            |person| client.people().update_contact(resource_name, person, "names").send(),
        )
        .await
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(base_url), Some(resource_name), Some(given_name)) = (args.next(), args.next(), args.next()) else {
        return Err("usage: update_contact BASE_URL RESOURCE_NAME GIVEN_NAME".into());
    };
    let token = std::env::var("PEOPLE_ACCESS_TOKEN").unwrap_or_else(|_| "local-test-token".into());
    let client = PeopleClient::builder().base_url(base_url).token_provider(StaticToken::new(token)).build()?;

    match set_given_name(&client, &resource_name, &given_name).await {
        Ok(person) => println!("updated, new etag {:?}", person.etag),
        Err(e) if e.is_conflict() => {
            eprintln!("{e}");
            eprintln!("not written, still pending: {:?}", e.unwritten().map(|p| &p.names));
            std::process::exit(2);
        }
        Err(e) => return Err(e.into()),
    }
    Ok(())
}
