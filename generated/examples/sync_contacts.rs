//! Lists every contact across pages, then fetches only what changed since, falling back to a
//! full sync when the sync token has expired.
//!
//! ```sh
//! PEOPLE_ACCESS_TOKEN=ya29... cargo run -p google-people-v1 --example sync_contacts -- https://people.googleapis.com/ [SYNC_TOKEN]
//! # or against the test server (`cargo run -p google-people-v1-test-server -- --port 8080
//! # --seed generated/test-server/seed.json`):
//! cargo run -p google-people-v1 --example sync_contacts -- http://127.0.0.1:8080/
//! ```

use google_people_v1::auth::StaticToken;
use google_people_v1::types::Person;
use google_people_v1::{PeopleClient, Result};

/// What one sync brought.
#[derive(Debug)]
pub struct Synced {
    /// Every contact on a full sync; on an incremental one the contacts changed since the
    /// token, deleted ones with `metadata.deleted` set.
    pub people: Vec<Person>,
    /// Whether this was a full sync (no token given, or the given one had expired).
    pub full: bool,
    /// The token to pass next time.
    pub next_sync_token: Option<String>,
}

/// One pass over the connections: every page, and the sync token from the last one.
async fn list(client: &PeopleClient, sync_token: Option<&str>) -> Result<(Vec<Person>, Option<String>)> {
    let mut call = client
        .people()
        .connections()
        .list("people/me", "names,emailAddresses,metadata")
        .page_size(100)
        .request_sync_token(true);
    if let Some(token) = sync_token {
        call = call.sync_token(token);
    }
    let mut stream = call.by_item();
    let mut people = Vec::new();
    while let Some(person) = stream.try_next().await? {
        people.push(person);
    }
    let next_sync_token = stream.last_page().and_then(|page| page.next_sync_token.clone());
    Ok((people, next_sync_token))
}

pub async fn sync(client: &PeopleClient, sync_token: Option<&str>) -> Result<Synced> {
    if let Some(token) = sync_token {
        match list(client, Some(token)).await {
            Ok((people, next_sync_token)) => return Ok(Synced { people, full: false, next_sync_token }),
            // Sync tokens expire (after 7 days at Google): start over with a full sync.
            Err(e) if e.reason() == Some("EXPIRED_SYNC_TOKEN") => {}
            Err(e) => return Err(e),
        }
    }
    let (people, next_sync_token) = list(client, None).await?;
    Ok(Synced { people, full: true, next_sync_token })
}

#[tokio::main]
async fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let Some(base_url) = args.next() else {
        return Err("usage: sync_contacts BASE_URL [SYNC_TOKEN]".into());
    };
    let sync_token = args.next();
    let token = std::env::var("PEOPLE_ACCESS_TOKEN").unwrap_or_else(|_| "local-test-token".into());
    let client = PeopleClient::builder().base_url(base_url).token_provider(StaticToken::new(token)).build()?;

    let synced = sync(&client, sync_token.as_deref()).await?;
    let kind = if synced.full { "full" } else { "incremental" };
    println!("{kind} sync: {} contact(s)", synced.people.len());
    for person in &synced.people {
        let deleted = person.metadata.as_ref().and_then(|m| m.deleted).unwrap_or(false);
        let name = person.names.first().and_then(|n| n.display_name.clone().or(n.given_name.clone()));
        println!(
            "{} {:?}{}",
            person.resource_name.as_deref().unwrap_or("?"),
            name,
            if deleted { " (deleted)" } else { "" }
        );
    }
    println!("next sync token: {:?}", synced.next_sync_token);
    Ok(())
}
