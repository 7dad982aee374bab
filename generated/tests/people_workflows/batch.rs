//! `people.batchUpdateContacts`: the 200-contact limit, all-or-nothing validation with
//! per-contact error details, `readMask`, and the batch helper over many requests.

use std::collections::BTreeMap;
use std::time::Duration;

use google_people_v1::workflows::{item_errors, item_errors_from_details, BatchWriter, ItemOutcome};
use google_people_v1::types::{BatchUpdateContactsRequest, Name, Person};
use google_people_v1::FieldMask;
use serde_json::json;

use crate::support::{builder, client, PeopleServer, BATCH_LIMIT};
use crate::{contact_source_etag, stored_given_name};

fn renamed(person: &Person, given: &str) -> Person {
    Person { names: vec![Name { given_name: Some(given.into()), ..Default::default() }], ..person.clone() }
}

/// Every contact as the client reads it (names and etag), by resource name.
async fn read_all(client: &google_people_v1::PeopleClient) -> BTreeMap<String, Person> {
    let mut stream = client.people().connections().list("people/me", "names,metadata").page_size(1000).by_item();
    let mut people = BTreeMap::new();
    while let Some(person) = stream.try_next().await.unwrap() {
        people.insert(person.resource_name.clone().unwrap(), person);
    }
    people
}

fn request(contacts: BTreeMap<String, Person>, read_mask: &str) -> BatchUpdateContactsRequest {
    BatchUpdateContactsRequest {
        contacts,
        update_mask: Some(FieldMask::from("names")),
        read_mask: Some(FieldMask::from(read_mask)),
        ..Default::default()
    }
}

#[tokio::test]
async fn more_than_200_contacts_in_one_request_is_rejected_as_a_whole() {
    let server = PeopleServer::start().await;
    server.add_contacts(BATCH_LIMIT + 1, "Old");
    let client = client(&server);
    let changes: BTreeMap<String, Person> =
        read_all(&client).await.iter().map(|(n, p)| (n.clone(), renamed(p, "New"))).collect();

    let err = client.people().batch_update_contacts(request(changes.clone(), "")).send().await.unwrap_err();
    assert_eq!(err.service_error().unwrap().status.as_deref(), Some("INVALID_ARGUMENT"), "{err}");
    assert!(item_errors_from_details(&err, "contactErrors").is_empty(), "no contact is to blame");
    assert!(changes.keys().all(|n| stored_given_name(&server.contact(n).unwrap()).unwrap().starts_with("Old")));

    let at_limit: BTreeMap<String, Person> = changes.into_iter().take(BATCH_LIMIT).collect();
    client.people().batch_update_contacts(request(at_limit, "")).send().await.unwrap();
    assert_eq!(server.batch_request_sizes(), [BATCH_LIMIT + 1, BATCH_LIMIT]);
}

#[tokio::test]
async fn a_batch_needs_an_update_mask() {
    let server = PeopleServer::start().await;
    server.add_contacts(2, "Old");
    let client = client(&server);
    let changes: BTreeMap<String, Person> =
        read_all(&client).await.iter().map(|(n, p)| (n.clone(), renamed(p, "New"))).collect();
    let request = BatchUpdateContactsRequest { update_mask: None, ..request(changes.clone(), "") };
    let err = client.people().batch_update_contacts(request).send().await.unwrap_err();
    assert_eq!(err.service_error().unwrap().status.as_deref(), Some("INVALID_ARGUMENT"), "{err}");
    assert!(changes.keys().all(|n| stored_given_name(&server.contact(n).unwrap()).unwrap().starts_with("Old")));
}

#[tokio::test]
async fn an_invalid_contact_fails_the_batch_which_writes_nothing_and_names_it() {
    let server = PeopleServer::start().await;
    let names = server.add_contacts(5, "Old");
    let client = client(&server);
    let read = read_all(&client).await;
    server.rival_write(&names[2], "nicknames", json!([{"value": "changed meanwhile"}]));

    let changes = read.iter().map(|(n, p)| (n.clone(), renamed(p, "New"))).collect();
    let err = client.people().batch_update_contacts(request(changes, "")).send().await.unwrap_err();

    assert_eq!(err.http_status(), Some(400));
    let rejected = item_errors_from_details(&err, "contactErrors");
    assert_eq!(rejected.keys().collect::<Vec<_>>(), [&names[2]]);
    assert_eq!(rejected[&names[2]].status.as_deref(), Some("FAILED_PRECONDITION"));
    for name in &names {
        assert!(stored_given_name(&server.contact(name).unwrap()).unwrap().starts_with("Old"), "{name} was written");
    }
}

#[tokio::test]
async fn an_empty_read_mask_brings_no_person_data_back() {
    let server = PeopleServer::start().await;
    server.add_contacts(3, "Old");
    let client = client(&server);
    let read = read_all(&client).await;

    let changes: BTreeMap<String, Person> = read.iter().map(|(n, p)| (n.clone(), renamed(p, "New"))).collect();
    let response = client.people().batch_update_contacts(request(changes, "")).send().await.unwrap();
    assert!(response.update_result.is_empty());

    let read = read_all(&client).await;
    let changes: BTreeMap<String, Person> = read.iter().map(|(n, p)| (n.clone(), renamed(p, "Newer"))).collect();
    let response = client.people().batch_update_contacts(request(changes, "names")).send().await.unwrap();
    assert_eq!(response.update_result.len(), 3);
    for (name, result) in &response.update_result {
        let person = result.person.as_ref().unwrap();
        assert_eq!(person.resource_name.as_ref(), Some(name));
        assert_eq!(person.names[0].given_name.as_deref(), Some("Newer"));
        assert!(person.memberships.is_empty(), "only the read mask's fields come back");
    }
}

#[tokio::test]
async fn a_batch_of_450_with_3_invalid_contacts_writes_447_and_names_the_3() {
    let server = PeopleServer::start().await;
    let names = server.add_contacts(450, "Old");
    let client = client(&server);
    let read = read_all(&client).await;
    assert_eq!(read.len(), 450);

    let mut changes: BTreeMap<String, Person> = read.iter().map(|(n, p)| (n.clone(), renamed(p, "New"))).collect();
    // One per kind of per-contact failure, spread over the requests.
    let stale = &names[10];
    let sourceless = &names[250];
    let two_names = &names[440];
    server.rival_write(stale, "nicknames", json!([{"value": "changed meanwhile"}]));
    changes.get_mut(sourceless).unwrap().metadata = None;
    changes.get_mut(two_names).unwrap().names.push(Name { given_name: Some("Second".into()), ..Default::default() });

    let report = crate::examples::batch_update::write_contacts(&client, changes, "names").await;

    assert_eq!(report.outcomes.len(), 450, "every resource name is accounted for");
    assert_eq!(report.written().count(), 447);
    let rejected: BTreeMap<&String, Option<&str>> =
        report.rejected().map(|(name, e)| (name, e.status.as_deref())).collect();
    let expected = BTreeMap::from([
        (stale, Some("FAILED_PRECONDITION")),
        (sourceless, Some("INVALID_ARGUMENT")),
        (two_names, Some("INVALID_ARGUMENT")),
    ]);
    assert_eq!(rejected, expected);

    for name in &names {
        let given = stored_given_name(&server.contact(name).unwrap()).unwrap().to_owned();
        let should_be_written = !expected.contains_key(name);
        assert_eq!(given == "New", should_be_written, "{name}: {given}");
    }
    let sizes = server.batch_request_sizes();
    assert!(sizes.iter().all(|s| *s <= BATCH_LIMIT), "{sizes:?}");
    assert_eq!(sizes.iter().filter(|s| **s == BATCH_LIMIT).count(), 2, "{sizes:?}");
    assert_eq!(report.requests_sent, sizes.len());
}

/// Whatever shape the refusal takes, the 447 valid contacts are written and the 3 invalid
/// ones reported with the service's reason; with an error that names no contact, the
/// writer isolates them by splitting requests, in at most 50 requests in all.
#[tokio::test]
async fn every_refusal_shape_writes_the_valid_contacts_and_reports_each_invalid_one() {
    use crate::support::BatchErrorShape as Shape;
    for shape in [Shape::KeyedMap, Shape::ListByName, Shape::ListByIndex, Shape::FieldViolations, Shape::Unnamed] {
        let server = PeopleServer::start().await;
        server.set_batch_error_shape(shape);
        let names = server.add_contacts(450, "Old");
        let client = client(&server);
        let read = read_all(&client).await;
        let mut changes: BTreeMap<String, Person> = read.iter().map(|(n, p)| (n.clone(), renamed(p, "New"))).collect();
        let (stale, sourceless, two_names) = (&names[3], &names[199], &names[200]);
        server.rival_write(stale, "nicknames", json!([{"value": "changed meanwhile"}]));
        changes.get_mut(sourceless).unwrap().metadata = None;
        changes.get_mut(two_names).unwrap().names.push(Name { given_name: Some("Second".into()), ..Default::default() });

        let report = crate::examples::batch_update::write_contacts(&client, changes, "names").await;

        assert_eq!(report.outcomes.len(), 450, "{shape:?}: every resource name is accounted for");
        assert_eq!(report.written().count(), 447, "{shape:?}");
        let rejected: BTreeMap<&String, (Option<&str>, &str)> =
            report.rejected().map(|(name, e)| (name, (e.status.as_deref(), e.message.as_str()))).collect();
        assert_eq!(rejected.len(), 3, "{shape:?}: {rejected:?}");
        assert!(rejected[stale].1.contains("etag"), "{shape:?}: {:?}", rejected[stale]);
        assert!(rejected[sourceless].1.contains("source"), "{shape:?}: {:?}", rejected[sourceless]);
        assert!(rejected[two_names].1.contains("name"), "{shape:?}: {:?}", rejected[two_names]);
        if shape != Shape::FieldViolations {
            assert_eq!(rejected[stale].0, Some("FAILED_PRECONDITION"), "{shape:?}");
        }
        for name in &names {
            let written = stored_given_name(&server.contact(name).unwrap()) == Some("New");
            assert_eq!(written, !rejected.contains_key(name), "{shape:?}: {name}");
        }
        let sizes = server.batch_request_sizes();
        assert_eq!(report.requests_sent, sizes.len(), "{shape:?}");
        assert!(report.requests_sent <= 50, "{shape:?}: {} requests", report.requests_sent);
        assert_eq!(report.isolation_requests > 0, shape == Shape::Unnamed, "{shape:?}");
    }
}

#[tokio::test]
async fn a_request_that_fails_as_a_whole_stops_the_batch_and_the_rest_is_reported_not_sent() {
    let server = PeopleServer::start().await;
    server.add_contacts(450, "Old");
    // The second request outlives the client's timeout: a transport-level failure.
    server.delay_batch_request(2, Duration::from_secs(5));
    let client = builder(&server).timeout(Duration::from_millis(300)).build().unwrap();
    let read = read_all(&client).await;
    let changes: BTreeMap<String, Person> = read.iter().map(|(n, p)| (n.clone(), renamed(p, "New"))).collect();

    let report = BatchWriter::new(BATCH_LIMIT)
        .run(
            changes,
            |chunk: &[(String, Person)]| {
                client.people().batch_update_contacts(request(chunk.iter().cloned().collect(), "")).send()
            },
            item_errors,
        )
        .await;

    assert_eq!(report.outcomes.len(), 450);
    assert_eq!(report.written().count(), 200);
    let failed: Vec<_> = report.failed().collect();
    assert_eq!(failed.len(), 200);
    assert!(failed.iter().all(|(_, e)| e.is_timeout()), "{}", failed[0].1);
    assert_eq!(report.not_sent().count(), 50);
    assert!(report.outcomes.values().all(|o| !matches!(o, ItemOutcome::Rejected(_))));
    assert_eq!(server.batch_request_sizes(), [200, 200], "nothing is sent after the failure, nor retried");
    // The written ones really are.
    for name in report.written() {
        assert_eq!(stored_given_name(&server.contact(name).unwrap()), Some("New"));
    }
    for name in report.not_sent() {
        assert!(stored_given_name(&server.contact(name).unwrap()).unwrap().starts_with("Old"));
    }
}

#[tokio::test]
async fn batch_written_contacts_carry_fresh_etags() {
    let server = PeopleServer::start().await;
    let names = server.add_contacts(2, "Old");
    let client = client(&server);
    let before = read_all(&client).await;
    let changes = before.iter().map(|(n, p)| (n.clone(), renamed(p, "New"))).collect();
    client.people().batch_update_contacts(request(changes, "")).send().await.unwrap();
    let after = read_all(&client).await;
    for name in &names {
        assert_ne!(contact_source_etag(&before[name]), contact_source_etag(&after[name]));
    }
}
