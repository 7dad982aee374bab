//! Reads one contact and lists the first page of the user's contacts.
//!
//! ```sh
//! PEOPLE_ACCESS_TOKEN=ya29... cargo run -p google-people-v1 --example quickstart -- https://people.googleapis.com/ people/c123
//! # or against the test server (`cargo run -p google-people-v1-test-server -- --port 8080
//! # --seed generated/test-server/seed.json`):
//! cargo run -p google-people-v1 --example quickstart -- http://127.0.0.1:8080/ people/c1
//! ```
//!
//! The first argument is the base URL (a test server's works too), the second a contact's
//! resource name. The token comes from `PEOPLE_ACCESS_TOKEN`.

use google_people_v1::auth::StaticToken;
use google_people_v1::types::Person;
use google_people_v1::{PeopleClient, Result};

/// The contact's names and email addresses, and the display names of the first ten
/// contacts.
pub async fn run(client: &PeopleClient, resource_name: &str) -> Result<(Person, Vec<String>)> {
    let person = client.people().get(resource_name, "names,emailAddresses").send().await?;
    let page = client.people().connections().list("people/me", "names").page_size(10).send().await?;
    let first_names = page.connections.iter().filter_map(|p| p.names.first()?.given_name.clone()).collect();
    Ok((person, first_names))
}

#[tokio::main]
async fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(base_url), Some(resource_name)) = (args.next(), args.next()) else {
        return Err("usage: quickstart BASE_URL RESOURCE_NAME".into());
    };
    let token = std::env::var("PEOPLE_ACCESS_TOKEN").unwrap_or_else(|_| "local-test-token".into());
    let client = PeopleClient::builder().base_url(base_url).token_provider(StaticToken::new(token)).build()?;

    let (person, first_names) = run(&client, &resource_name).await?;
    println!("{resource_name}: {:?}", person.names.first().and_then(|n| n.display_name.as_ref()));
    println!("first contacts: {}", first_names.join(", "));
    Ok(())
}
