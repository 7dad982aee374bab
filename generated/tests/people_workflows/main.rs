//! End-to-end: the generated People client and the runtime's workflow helpers against the
//! in-memory People server, over HTTP on loopback, one rule of `people-api.md` per test.

#[path = "../support/mod.rs"]
mod support;

mod batch;
mod contacts;
mod examples;
mod groups;
mod listing;
mod reliability;

use google_people_v1::types::{Person, SourceType};

/// The etag of the person's contact source, the one `updateContact` checks.
fn contact_source_etag(person: &Person) -> Option<&str> {
    let sources = &person.metadata.as_ref()?.sources;
    sources.iter().find(|s| s.r#type == Some(SourceType::Contact))?.etag.as_deref()
}

/// The given name of the first name of a person as the server stores it.
fn stored_given_name(stored: &serde_json::Value) -> Option<&str> {
    stored.pointer("/names/0/givenName")?.as_str()
}
