//! Every People API method over real HTTP, against a recording axum server on loopback.
//!
//! One table row per Discovery method: the call made through the public builder API, and
//! the request the server must see (HTTP method, raw path, query pairs, JSON body) plus a
//! realistic reply that must decode into typed fields. Further tests cover the Google error
//! envelope, retries with `Retry-After`, paging, mutation serialisation and path pattern
//! checks. Each test starts its own server on `127.0.0.1:0`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::Request;
use axum::http::HeaderMap;
use axum::response::Response;
use futures_util::TryStreamExt;
use google_people_v1::auth::StaticToken;
use google_people_v1::types::{
    BatchCreateContactsRequest, BatchDeleteContactsRequest, BatchUpdateContactsRequest, ContactGroup, ContactToCreate,
    CopyOtherContactToMyContactsGroupRequest, CreateContactGroupRequest, DirectoryMergeSourceType as Merge,
    DirectorySourceType as Dir, EmailAddress, GroupClientData, ModifyContactGroupMembersRequest, Name,
    PeopleConnectionsListSortOrder, Person, PersonFields, PersonMetadata, ReadSourceType as Read, Source, SourceType,
    UpdateContactGroupRequest, UpdateContactPhotoRequest,
};
use google_people_v1::{Error, PeopleClient, RetryPolicy};
use serde_json::{json, Value};

const TOKEN: &str = "ya29.a0AfB_test-token-0123456789";

// ---------------------------------------------------------------------------------------
// The recording server
// ---------------------------------------------------------------------------------------

/// One request as the server received it: the path and query are raw (still encoded).
#[derive(Clone, Debug)]
struct Recorded {
    method: String,
    path: String,
    raw_query: String,
    headers: HeaderMap,
    body: Vec<u8>,
    at: Instant,
}

impl Recorded {
    /// The decoded query pairs, in the order they were sent.
    fn query(&self) -> Vec<(String, String)> {
        self.raw_query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (percent_decode(k), percent_decode(v))
            })
            .collect()
    }

    fn param(&self, name: &str) -> Vec<String> {
        self.query().into_iter().filter(|(k, _)| k == name).map(|(_, v)| v).collect()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().expect("header is not text"))
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("request body is not JSON")
    }
}

/// Form decoding as Google's front end does it (`+` is a space), so a client that sent a raw
/// `+` for a plus sign would be caught.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap_or_else(|_| panic!("bad escape in {s:?}")));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).expect("query is not UTF-8")
}

/// What the server answers, after an optional delay (to make requests overlap).
struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    delay: Duration,
}

impl Reply {
    fn json(status: u16, body: Value) -> Self {
        let headers = vec![("content-type", "application/json; charset=UTF-8".to_owned())];
        Reply { status, headers, body: body.to_string().into_bytes(), delay: Duration::ZERO }
    }

    fn html(status: u16, page: String) -> Self {
        let headers = vec![("content-type", "text/html; charset=UTF-8".to_owned())];
        Reply { status, headers, body: page.into_bytes(), delay: Duration::ZERO }
    }

    fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.to_owned()));
        self
    }

    fn delay(mut self, d: Duration) -> Self {
        self.delay = d;
        self
    }
}

/// A loopback server that records every request and answers through a responder, which
/// gets the request's index (0 for the first) so it can script retries and pages.
struct Server {
    base_url: String,
    log: Arc<Mutex<Vec<Recorded>>>,
    max_in_flight: Arc<AtomicUsize>,
}

impl Server {
    async fn start(responder: impl Fn(usize, &Recorded) -> Reply + Send + Sync + 'static) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}/", listener.local_addr().unwrap());
        let log: Arc<Mutex<Vec<Recorded>>> = Arc::default();
        let max_in_flight: Arc<AtomicUsize> = Arc::default();
        let in_flight: Arc<AtomicUsize> = Arc::default();
        let responder = Arc::new(responder);
        let (log2, max2) = (log.clone(), max_in_flight.clone());
        let handler = move |req: Request| {
            let (log, max, in_flight, responder) = (log2.clone(), max2.clone(), in_flight.clone(), responder.clone());
            async move {
                let (parts, body) = req.into_parts();
                let body = axum::body::to_bytes(body, usize::MAX).await.unwrap().to_vec();
                let rec = Recorded {
                    method: parts.method.to_string(),
                    path: parts.uri.path().to_owned(),
                    raw_query: parts.uri.query().unwrap_or_default().to_owned(),
                    headers: parts.headers,
                    body,
                    at: Instant::now(),
                };
                let reply = {
                    let mut log = log.lock().unwrap();
                    log.push(rec.clone());
                    responder(log.len() - 1, &rec)
                };
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                max.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(reply.delay).await;
                in_flight.fetch_sub(1, Ordering::SeqCst);
                let mut resp = Response::builder().status(reply.status);
                for (name, value) in reply.headers {
                    resp = resp.header(name, value);
                }
                resp.body(Body::from(reply.body)).unwrap()
            }
        };
        let app = axum::Router::new().fallback(handler);
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Server { base_url, log, max_in_flight }
    }

    /// Answers every request with `200` and `body`.
    async fn canned(body: Value) -> Server {
        Server::start(move |_, _| Reply::json(200, body.clone())).await
    }

    fn requests(&self) -> Vec<Recorded> {
        self.log.lock().unwrap().clone()
    }

    fn only_request(&self) -> Recorded {
        let mut all = self.requests();
        assert_eq!(all.len(), 1, "expected exactly one request, got {all:#?}");
        all.remove(0)
    }

    /// A client as a user builds one; retries are fast so tests stay fast.
    fn client(&self) -> PeopleClient {
        PeopleClient::builder()
            .base_url(&self.base_url)
            .token_provider(StaticToken::new(TOKEN))
            .retry_policy(fast_retries())
            .build()
            .unwrap()
    }
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy::default()
        .max_attempts(3)
        .initial_backoff(Duration::from_millis(1))
        .max_backoff(Duration::from_millis(5))
        .total_timeout(Duration::from_secs(5))
}

fn assert_standard_headers(req: &Recorded, what: &str) {
    let bearer = format!("Bearer {TOKEN}");
    assert_eq!(req.header("authorization"), Some(bearer.as_str()), "{what}: Authorization");
    let ua = format!("google-people-v1/{} (gzip)", env!("CARGO_PKG_VERSION"));
    assert_eq!(req.header("user-agent"), Some(ua.as_str()), "{what}: User-Agent");
    assert_eq!(req.header("accept-encoding"), Some("gzip"), "{what}: Accept-Encoding");
    let api_client = req.header("x-goog-api-client").unwrap_or_default();
    assert!(api_client.starts_with("gl-rust/") && api_client.contains(" gdcl/"), "{what}: {api_client}");
    // People has no apiVersion.
    assert_eq!(req.header("x-goog-api-version"), None, "{what}: x-goog-api-version");
}

// ---------------------------------------------------------------------------------------
// Realistic payloads
// ---------------------------------------------------------------------------------------

fn person(resource_name: &str, given: &str, family: &str, email: &str) -> Value {
    let id = resource_name.rsplit('/').next().unwrap();
    let src = json!({"type": "CONTACT", "id": id});
    json!({
        "resourceName": resource_name,
        "etag": "%EgUBAi43PRoEAQIFByIMR0xxZ2x6aE5aS1E9",
        "metadata": {
            "sources": [{"type": "CONTACT", "id": id, "etag": "#AbCdEf0gHiJ=", "updateTime": "2025-11-17T09:21:44.054001Z"}],
            "objectType": "PERSON"
        },
        "names": [{
            "metadata": {"primary": true, "source": src},
            "displayName": format!("{given} {family}"), "familyName": family, "givenName": given,
            "displayNameLastFirst": format!("{family}, {given}"), "unstructuredName": format!("{given} {family}")
        }],
        "emailAddresses": [{
            "metadata": {"primary": true, "source": src},
            "value": email, "type": "work", "formattedType": "Work"
        }],
        "memberships": [{
            "metadata": {"source": src},
            "contactGroupMembership": {"contactGroupId": "myContacts", "contactGroupResourceName": "contactGroups/myContacts"}
        }]
    })
}

fn ada() -> Value {
    person("people/c123", "Ada", "Lovelace", "ada@example.com")
}

fn other_contact() -> Value {
    json!({
        "resourceName": "otherContacts/c77",
        "etag": "%EgMBAi4aBAECBQciDFZQeVh2SGhwS1E9",
        "metadata": {"sources": [{"type": "OTHER_CONTACT", "id": "c77"}]},
        "names": [{"metadata": {"primary": true, "source": {"type": "OTHER_CONTACT", "id": "c77"}}, "displayName": "Grace Hopper", "givenName": "Grace"}],
        "emailAddresses": [{"metadata": {"primary": true, "source": {"type": "OTHER_CONTACT", "id": "c77"}}, "value": "grace@example.org"}]
    })
}

fn directory_person() -> Value {
    json!({
        "resourceName": "people/104729834",
        "etag": "%EgUBAgMuNxoEAQIFByIMdHFiV0ZpY2pIaUE9",
        "metadata": {"sources": [{
            "type": "DOMAIN_PROFILE", "id": "104729834", "etag": "#pQe2ZZcXc=",
            "profileMetadata": {"objectType": "PERSON", "userTypes": ["GOOGLE_USER", "GOOGLE_APPS_USER"]}
        }]},
        "names": [{"metadata": {"primary": true, "source": {"type": "DOMAIN_PROFILE", "id": "104729834"}}, "displayName": "Ada Byron", "givenName": "Ada"}],
        "emailAddresses": [{"metadata": {"primary": true, "verified": true, "source": {"type": "DOMAIN_PROFILE", "id": "104729834"}}, "value": "ada@corp.example"}]
    })
}

fn group(resource_name: &str, name: &str) -> Value {
    json!({
        "resourceName": resource_name,
        "etag": "WZ0QvF4cZ5s=",
        "metadata": {"updateTime": "2025-11-17T08:00:00.123Z"},
        "groupType": "USER_CONTACT_GROUP",
        "name": name,
        "formattedName": name,
        "memberCount": 2,
        "clientData": [{"key": "color", "value": "red"}]
    })
}

fn my_contacts() -> Value {
    json!({
        "resourceName": "contactGroups/myContacts",
        "etag": "2oVh1e8aCUI=",
        "metadata": {"updateTime": "2025-11-16T21:03:11.902Z"},
        "groupType": "SYSTEM_CONTACT_GROUP",
        "name": "myContacts",
        "formattedName": "My Contacts",
        "memberResourceNames": ["people/c123", "people/c456"],
        "memberCount": 412
    })
}

/// The contact a user sends to `updateContact`: etag and contact source from a prior read.
fn edited_contact() -> Person {
    Person {
        resource_name: Some("people/c123".into()),
        etag: Some("%EgUBAi43PRoEAQIFByIMR0xxZ2x6aE5aS1E9".into()),
        metadata: Some(PersonMetadata {
            sources: vec![Source {
                r#type: Some(SourceType::Contact),
                id: Some("c123".into()),
                etag: Some("#AbCdEf0gHiJ=".into()),
                ..Default::default()
            }],
            ..Default::default()
        }),
        names: vec![Name { given_name: Some("Ada".into()), family_name: Some("King".into()), ..Default::default() }],
        email_addresses: vec![EmailAddress {
            value: Some("ada@example.com".into()),
            r#type: Some("work".into()),
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// `edited_contact()` as it must appear on the wire.
fn edited_contact_json() -> Value {
    json!({
        "resourceName": "people/c123",
        "etag": "%EgUBAi43PRoEAQIFByIMR0xxZ2x6aE5aS1E9",
        "metadata": {"sources": [{"type": "CONTACT", "id": "c123", "etag": "#AbCdEf0gHiJ="}]},
        "names": [{"givenName": "Ada", "familyName": "King"}],
        "emailAddresses": [{"value": "ada@example.com", "type": "work"}]
    })
}

fn new_contact() -> Person {
    Person {
        names: vec![Name {
            given_name: Some("Grace".into()),
            family_name: Some("Hopper".into()),
            ..Default::default()
        }],
        email_addresses: vec![EmailAddress { value: Some("grace@example.org".into()), ..Default::default() }],
        ..Default::default()
    }
}

fn new_contact_json() -> Value {
    json!({"names": [{"givenName": "Grace", "familyName": "Hopper"}], "emailAddresses": [{"value": "grace@example.org"}]})
}

// ---------------------------------------------------------------------------------------
// The method table
// ---------------------------------------------------------------------------------------

/// A decoded reply, re-encoded, plus its `Debug` text (which shows any JSON member that did
/// not land in a typed field, since those go to the `extra` maps or `UnknownValue`).
struct Decoded {
    json: Value,
    debug: String,
}

type Sent = Pin<Box<dyn Future<Output = google_people_v1::Result<Decoded>> + Send>>;

fn decoded<T: serde::Serialize + Debug>(
    call: impl Future<Output = google_people_v1::Result<T>> + Send + 'static,
) -> Sent {
    Box::pin(
        async move { call.await.map(|t| Decoded { json: serde_json::to_value(&t).unwrap(), debug: format!("{t:?}") }) },
    )
}

struct Case {
    /// The Discovery method id.
    id: &'static str,
    http: &'static str,
    /// The raw path the server must see.
    path: &'static str,
    /// Every decoded query pair; order matters only among values of the same name.
    query: &'static [(&'static str, &'static str)],
    /// Substrings the raw query must contain (encoding and adjacency of repeated values).
    raw: &'static [&'static str],
    body: Option<Value>,
    reply: Value,
    send: fn(PeopleClient) -> Sent,
}

fn cases() -> Vec<Case> {
    const CONTACT: &str = "READ_SOURCE_TYPE_CONTACT";
    const PROFILE: &str = "READ_SOURCE_TYPE_PROFILE";
    vec![
        Case {
            id: "people.contactGroups.batchGet",
            http: "GET",
            path: "/v1/contactGroups:batchGet",
            query: &[
                ("resourceNames", "contactGroups/myContacts"),
                ("resourceNames", "contactGroups/gone"),
                ("groupFields", "name,memberCount"),
                ("maxMembers", "25"),
            ],
            raw: &["resourceNames=contactGroups%2FmyContacts&resourceNames=contactGroups%2Fgone"],
            body: None,
            reply: json!({"responses": [
                {"requestedResourceName": "contactGroups/myContacts", "contactGroup": my_contacts(), "status": {}},
                {"requestedResourceName": "contactGroups/gone", "status": {"code": 5, "message": "Contact group not found."}}
            ]}),
            send: |c| {
                decoded(
                    c.contact_groups()
                        .batch_get(["contactGroups/myContacts", "contactGroups/gone"])
                        .group_fields("name,memberCount")
                        .max_members(25)
                        .send(),
                )
            },
        },
        Case {
            id: "people.contactGroups.create",
            http: "POST",
            path: "/v1/contactGroups",
            // A standard parameter set through the per-call options.
            query: &[("quotaUser", "user-7")],
            raw: &[],
            body: Some(json!({
                "contactGroup": {"name": "Climbing", "clientData": [{"key": "color", "value": "red"}]},
                "readGroupFields": "name,groupType,clientData"
            })),
            reply: group("contactGroups/5e1f", "Climbing"),
            send: |c| {
                let req = CreateContactGroupRequest {
                    contact_group: Some(ContactGroup {
                        name: Some("Climbing".into()),
                        client_data: vec![GroupClientData {
                            key: Some("color".into()),
                            value: Some("red".into()),
                            ..Default::default()
                        }],
                        ..Default::default()
                    }),
                    read_group_fields: Some("name,groupType,clientData".into()),
                    ..Default::default()
                };
                decoded(c.contact_groups().create(req).quota_user("user-7").send())
            },
        },
        Case {
            id: "people.contactGroups.delete",
            http: "DELETE",
            path: "/v1/contactGroups/5e1f",
            query: &[("deleteContacts", "true")],
            raw: &[],
            body: None,
            reply: json!({}),
            send: |c| decoded(c.contact_groups().delete("contactGroups/5e1f").delete_contacts(true).send()),
        },
        Case {
            id: "people.contactGroups.get",
            http: "GET",
            path: "/v1/contactGroups/myContacts",
            query: &[("groupFields", "name,memberCount,groupType"), ("maxMembers", "2")],
            raw: &[],
            body: None,
            reply: my_contacts(),
            send: |c| {
                decoded(
                    c.contact_groups()
                        .get("contactGroups/myContacts")
                        .group_fields("name,memberCount,groupType")
                        .max_members(2)
                        .send(),
                )
            },
        },
        Case {
            id: "people.contactGroups.list",
            http: "GET",
            path: "/v1/contactGroups",
            query: &[
                ("groupFields", "name"),
                ("pageSize", "50"),
                ("pageToken", "CAEQAA"),
                ("syncToken", "EgYIgN2PyAY="),
            ],
            raw: &[],
            body: None,
            reply: json!({
                "contactGroups": [my_contacts(), group("contactGroups/5e1f", "Climbing")],
                "totalItems": 2,
                "nextSyncToken": "EgYIyN2PyAY="
            }),
            send: |c| {
                decoded(
                    c.contact_groups()
                        .list()
                        .group_fields("name")
                        .page_size(50)
                        .page_token("CAEQAA")
                        .sync_token("EgYIgN2PyAY=")
                        .send(),
                )
            },
        },
        Case {
            id: "people.contactGroups.update",
            http: "PUT",
            path: "/v1/contactGroups/5e1f",
            query: &[],
            raw: &[],
            body: Some(json!({
                "contactGroup": {"resourceName": "contactGroups/5e1f", "etag": "WZ0QvF4cZ5s=", "name": "Bouldering"},
                "updateGroupFields": "name",
                "readGroupFields": "name,clientData"
            })),
            reply: group("contactGroups/5e1f", "Bouldering"),
            send: |c| {
                let req = UpdateContactGroupRequest {
                    contact_group: Some(ContactGroup {
                        resource_name: Some("contactGroups/5e1f".into()),
                        etag: Some("WZ0QvF4cZ5s=".into()),
                        name: Some("Bouldering".into()),
                        ..Default::default()
                    }),
                    update_group_fields: Some("name".into()),
                    read_group_fields: Some("name,clientData".into()),
                    ..Default::default()
                };
                // By reference: the body is borrowed, as the crate README promises.
                decoded(c.contact_groups().update("contactGroups/5e1f", &req).send())
            },
        },
        Case {
            id: "people.contactGroups.members.modify",
            http: "POST",
            path: "/v1/contactGroups/5e1f/members:modify",
            query: &[],
            raw: &[],
            body: Some(
                json!({"resourceNamesToAdd": ["people/c1", "people/c2"], "resourceNamesToRemove": ["people/c3"]}),
            ),
            reply: json!({"notFoundResourceNames": ["people/c2"], "canNotRemoveLastContactGroupResourceNames": ["people/c3"]}),
            send: |c| {
                let req = ModifyContactGroupMembersRequest {
                    resource_names_to_add: vec!["people/c1".into(), "people/c2".into()],
                    resource_names_to_remove: vec!["people/c3".into()],
                    ..Default::default()
                };
                decoded(c.contact_groups().members().modify("contactGroups/5e1f", req).send())
            },
        },
        Case {
            id: "people.otherContacts.copyOtherContactToMyContactsGroup",
            http: "POST",
            path: "/v1/otherContacts/c77:copyOtherContactToMyContactsGroup",
            query: &[],
            raw: &[],
            body: Some(
                json!({"copyMask": "names,emailAddresses,phoneNumbers", "readMask": "names", "sources": [CONTACT]}),
            ),
            reply: person("people/c88", "Grace", "Hopper", "grace@example.org"),
            send: |c| {
                let req = CopyOtherContactToMyContactsGroupRequest {
                    copy_mask: Some("names,emailAddresses,phoneNumbers".into()),
                    read_mask: Some("names".into()),
                    sources: vec![Read::Contact],
                    ..Default::default()
                };
                decoded(c.other_contacts().copy_other_contact_to_my_contacts_group("otherContacts/c77", req).send())
            },
        },
        Case {
            id: "people.otherContacts.list",
            http: "GET",
            path: "/v1/otherContacts",
            query: &[
                ("readMask", "names,emailAddresses"),
                ("pageSize", "100"),
                ("pageToken", "CAIQAA"),
                ("requestSyncToken", "true"),
                ("sources", CONTACT),
                ("sources", PROFILE),
                ("syncToken", "EgsIkQ"),
            ],
            raw: &["sources=READ_SOURCE_TYPE_CONTACT&sources=READ_SOURCE_TYPE_PROFILE"],
            body: None,
            reply: json!({"otherContacts": [other_contact()], "nextPageToken": "CAMQAA", "totalSize": 31}),
            send: |c| {
                decoded(
                    c.other_contacts()
                        .list("names,emailAddresses")
                        .page_size(100)
                        .page_token("CAIQAA")
                        .request_sync_token(true)
                        .sources([Read::Contact, Read::Profile])
                        .sync_token("EgsIkQ")
                        .send(),
                )
            },
        },
        Case {
            id: "people.otherContacts.search",
            http: "GET",
            path: "/v1/otherContacts:search",
            query: &[("query", "grace h+"), ("readMask", "names,emailAddresses"), ("pageSize", "5")],
            // A space is %20 and a plus sign %2B: never a raw `+`, which means a space.
            raw: &["query=grace%20h%2B"],
            body: None,
            reply: json!({"results": [{"person": other_contact()}]}),
            send: |c| decoded(c.other_contacts().search("grace h+", "names,emailAddresses").page_size(5).send()),
        },
        Case {
            id: "people.people.batchCreateContacts",
            http: "POST",
            path: "/v1/people:batchCreateContacts",
            query: &[],
            raw: &[],
            body: Some(json!({
                "contacts": [{"contactPerson": new_contact_json()}],
                "readMask": "names,emailAddresses",
                "sources": [CONTACT]
            })),
            reply: json!({"createdPeople": [{
                "requestedResourceName": "people/c901",
                "status": {},
                "person": person("people/c901", "Grace", "Hopper", "grace@example.org")
            }]}),
            send: |c| {
                let req = BatchCreateContactsRequest {
                    contacts: vec![ContactToCreate { contact_person: Some(new_contact()), ..Default::default() }],
                    read_mask: Some([PersonFields::Names, PersonFields::EmailAddresses].into()),
                    sources: vec![Read::Contact],
                    ..Default::default()
                };
                decoded(c.people().batch_create_contacts(req).send())
            },
        },
        Case {
            id: "people.people.batchDeleteContacts",
            http: "POST",
            path: "/v1/people:batchDeleteContacts",
            query: &[],
            raw: &[],
            body: Some(json!({"resourceNames": ["people/c1", "people/c2"]})),
            reply: json!({}),
            send: |c| {
                let req = BatchDeleteContactsRequest {
                    resource_names: vec!["people/c1".into(), "people/c2".into()],
                    ..Default::default()
                };
                decoded(c.people().batch_delete_contacts(req).send())
            },
        },
        Case {
            id: "people.people.batchUpdateContacts",
            http: "POST",
            path: "/v1/people:batchUpdateContacts",
            query: &[],
            raw: &[],
            body: Some(json!({
                "contacts": {"people/c123": edited_contact_json()},
                "updateMask": "names,emailAddresses",
                "readMask": "names,emailAddresses,metadata",
                "sources": [CONTACT]
            })),
            reply: json!({"updateResult": {"people/c123": {"requestedResourceName": "people/c123", "status": {}, "person": ada()}}}),
            send: |c| {
                let req = BatchUpdateContactsRequest {
                    contacts: BTreeMap::from([("people/c123".to_owned(), edited_contact())]),
                    update_mask: Some("names,emailAddresses".into()),
                    read_mask: Some("names,emailAddresses,metadata".into()),
                    sources: vec![Read::Contact],
                    ..Default::default()
                };
                decoded(c.people().batch_update_contacts(req).send())
            },
        },
        Case {
            id: "people.people.createContact",
            http: "POST",
            path: "/v1/people:createContact",
            query: &[("personFields", "names,emailAddresses"), ("sources", CONTACT)],
            raw: &[],
            body: Some(new_contact_json()),
            reply: person("people/c901", "Grace", "Hopper", "grace@example.org"),
            send: |c| {
                decoded(
                    c.people().create_contact(new_contact(), "names,emailAddresses").sources([Read::Contact]).send(),
                )
            },
        },
        Case {
            id: "people.people.deleteContact",
            http: "DELETE",
            path: "/v1/people/c123:deleteContact",
            query: &[],
            raw: &[],
            body: None,
            reply: json!({}),
            send: |c| decoded(c.people().delete_contact("people/c123").send()),
        },
        Case {
            id: "people.people.deleteContactPhoto",
            http: "DELETE",
            path: "/v1/people/c123:deleteContactPhoto",
            query: &[("personFields", "photos"), ("sources", CONTACT)],
            raw: &[],
            body: None,
            reply: json!({"person": {
                "resourceName": "people/c123",
                "etag": "%EgQBAi43GgQBAgUHIgxTd2pCRk1sMWZ5bz0=",
                "photos": [{"metadata": {"primary": true, "source": {"type": "CONTACT", "id": "c123"}}, "url": "https://lh3.googleusercontent.com/cm/AOLgnxyz", "default": true}]
            }}),
            send: |c| {
                decoded(
                    c.people()
                        .delete_contact_photo("people/c123")
                        .person_fields("photos")
                        .sources([Read::Contact])
                        .send(),
                )
            },
        },
        Case {
            id: "people.people.get",
            http: "GET",
            path: "/v1/people/c123",
            query: &[
                ("personFields", "names,emailAddresses"),
                ("requestMask.includeField", "person.names"),
                ("sources", PROFILE),
                ("sources", CONTACT),
            ],
            raw: &["sources=READ_SOURCE_TYPE_PROFILE&sources=READ_SOURCE_TYPE_CONTACT"],
            body: None,
            reply: ada(),
            send: |c| {
                decoded(
                    c.people()
                        .get("people/c123", [PersonFields::Names, PersonFields::EmailAddresses])
                        .request_mask_include_field("person.names")
                        .sources([Read::Profile, Read::Contact])
                        .send(),
                )
            },
        },
        Case {
            id: "people.people.getBatchGet",
            http: "GET",
            path: "/v1/people:batchGet",
            query: &[
                ("personFields", "names"),
                ("resourceNames", "people/me"),
                ("resourceNames", "people/c123"),
                ("sources", PROFILE),
            ],
            raw: &["resourceNames=people%2Fme&resourceNames=people%2Fc123"],
            body: None,
            reply: json!({"responses": [
                {"requestedResourceName": "people/me", "status": {}, "person": person("people/104729834", "Ada", "Byron", "ada@corp.example")},
                {"requestedResourceName": "people/c123", "status": {}, "person": ada()}
            ]}),
            send: |c| {
                decoded(c.people().get_batch_get("names", ["people/me", "people/c123"]).sources([Read::Profile]).send())
            },
        },
        Case {
            id: "people.people.listDirectoryPeople",
            http: "GET",
            path: "/v1/people:listDirectoryPeople",
            query: &[
                ("readMask", "names,emailAddresses"),
                ("sources", "DIRECTORY_SOURCE_TYPE_DOMAIN_PROFILE"),
                ("sources", "DIRECTORY_SOURCE_TYPE_DOMAIN_CONTACT"),
                ("mergeSources", "DIRECTORY_MERGE_SOURCE_TYPE_CONTACT"),
                ("pageSize", "200"),
                ("pageToken", "GgYKBAgB"),
                ("requestSyncToken", "true"),
                ("syncToken", "CPDx"),
            ],
            raw: &["sources=DIRECTORY_SOURCE_TYPE_DOMAIN_PROFILE&sources=DIRECTORY_SOURCE_TYPE_DOMAIN_CONTACT"],
            body: None,
            reply: json!({"people": [directory_person()], "nextPageToken": "GgYKBAgC"}),
            send: |c| {
                decoded(
                    c.people()
                        .list_directory_people("names,emailAddresses", [Dir::DomainProfile, Dir::DomainContact])
                        .merge_sources([Merge::Contact])
                        .page_size(200)
                        .page_token("GgYKBAgB")
                        .request_sync_token(true)
                        .sync_token("CPDx")
                        .send(),
                )
            },
        },
        Case {
            id: "people.people.searchContacts",
            http: "GET",
            path: "/v1/people:searchContacts",
            query: &[("query", "ada"), ("readMask", "names,emailAddresses"), ("pageSize", "10"), ("sources", CONTACT)],
            raw: &[],
            body: None,
            reply: json!({"results": [{"person": ada()}]}),
            send: |c| {
                decoded(
                    c.people()
                        .search_contacts("ada", "names,emailAddresses")
                        .page_size(10)
                        .sources([Read::Contact])
                        .send(),
                )
            },
        },
        Case {
            id: "people.people.searchDirectoryPeople",
            http: "GET",
            path: "/v1/people:searchDirectoryPeople",
            query: &[
                ("query", "ada@corp"),
                ("readMask", "names"),
                ("sources", "DIRECTORY_SOURCE_TYPE_DOMAIN_PROFILE"),
                ("mergeSources", "DIRECTORY_MERGE_SOURCE_TYPE_CONTACT"),
                ("pageSize", "20"),
                ("pageToken", "Gg0K"),
            ],
            raw: &["query=ada%40corp"],
            body: None,
            reply: json!({"people": [directory_person()], "nextPageToken": "Gg4K", "totalSize": 3}),
            send: |c| {
                decoded(
                    c.people()
                        .search_directory_people("ada@corp", "names", [Dir::DomainProfile])
                        .merge_sources([Merge::Contact])
                        .page_size(20)
                        .page_token("Gg0K")
                        .send(),
                )
            },
        },
        Case {
            id: "people.people.updateContact",
            http: "PATCH",
            path: "/v1/people/c123:updateContact",
            query: &[
                ("updatePersonFields", "names,emailAddresses"),
                ("personFields", "names,emailAddresses,metadata"),
                ("sources", CONTACT),
                ("sources", PROFILE),
            ],
            raw: &["sources=READ_SOURCE_TYPE_CONTACT&sources=READ_SOURCE_TYPE_PROFILE"],
            body: Some(edited_contact_json()),
            reply: ada(),
            send: |c| {
                let change = edited_contact();
                decoded(async move {
                    c.people()
                        .update_contact("people/c123", &change, "names,emailAddresses")
                        .person_fields("names,emailAddresses,metadata")
                        .sources([Read::Contact, Read::Profile])
                        .send()
                        .await
                })
            },
        },
        Case {
            id: "people.people.updateContactPhoto",
            http: "PATCH",
            path: "/v1/people/c123:updateContactPhoto",
            query: &[],
            raw: &[],
            // The eight-byte PNG signature, base64 with padding.
            body: Some(json!({"photoBytes": "iVBORw0KGgo=", "personFields": "photos", "sources": [CONTACT]})),
            reply: json!({"person": {
                "resourceName": "people/c123",
                "etag": "%EgQBAi43GgQBAgUHIgxZbkVhNGJUUVRoTT0=",
                "photos": [{"metadata": {"primary": true, "source": {"type": "CONTACT", "id": "c123"}}, "url": "https://lh3.googleusercontent.com/cm/AOLgnabc"}]
            }}),
            send: |c| {
                let req = UpdateContactPhotoRequest {
                    photo_bytes: Some(b"\x89PNG\r\n\x1a\n".to_vec().into()),
                    person_fields: Some("photos".into()),
                    sources: vec![Read::Contact],
                    ..Default::default()
                };
                decoded(c.people().update_contact_photo("people/c123", req).send())
            },
        },
        Case {
            id: "people.people.connections.list",
            http: "GET",
            path: "/v1/people/me/connections",
            query: &[
                ("personFields", "names,emailAddresses"),
                ("pageSize", "2"),
                ("pageToken", "GhoKBg"),
                ("requestMask.includeField", "person.names"),
                ("requestSyncToken", "true"),
                ("sortOrder", "LAST_MODIFIED_DESCENDING"),
                ("sources", CONTACT),
                ("syncToken", "EgYI9"),
            ],
            raw: &[],
            body: None,
            reply: json!({
                "connections": [ada(), person("people/c456", "Charles", "Babbage", "charles@example.com")],
                "nextPageToken": "GhoKBh",
                "totalItems": 412,
                "totalPeople": 412
            }),
            send: |c| {
                decoded(
                    c.people()
                        .connections()
                        .list("people/me", "names,emailAddresses")
                        .page_size(2)
                        .page_token("GhoKBg")
                        .request_mask_include_field("person.names")
                        .request_sync_token(true)
                        .sort_order(PeopleConnectionsListSortOrder::LastModifiedDescending)
                        .sources([Read::Contact])
                        .sync_token("EgYI9")
                        .send(),
                )
            },
        },
    ]
}

/// Sorts by name only (stably), so the comparison ignores the order of parameters but not
/// the order of a repeated parameter's values.
fn by_name(mut pairs: Vec<(String, String)>) -> Vec<(String, String)> {
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    pairs
}

async fn run_case(case: Case) {
    let id = case.id;
    let server = Server::canned(case.reply.clone()).await;
    let decoded = (case.send)(server.client()).await.unwrap_or_else(|e| panic!("{id}: call failed: {e}"));

    let req = server.only_request();
    assert_eq!(req.method, case.http, "{id}: HTTP method");
    assert_eq!(req.path, case.path, "{id}: raw path");
    let expected: Vec<(String, String)> = case.query.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    assert_eq!(by_name(req.query()), by_name(expected), "{id}: query (raw: {})", req.raw_query);
    for fragment in case.raw {
        assert!(req.raw_query.contains(fragment), "{id}: raw query {:?} lacks {fragment:?}", req.raw_query);
    }
    match &case.body {
        Some(body) => {
            assert_eq!(req.json(), *body, "{id}: JSON body");
            assert_eq!(req.header("content-type"), Some("application/json"), "{id}: Content-Type");
        }
        None => assert!(req.body.is_empty(), "{id}: unexpected body {:?}", String::from_utf8_lossy(&req.body)),
    }
    assert_standard_headers(&req, id);

    assert_eq!(decoded.json, case.reply, "{id}: the decoded reply does not re-encode to what was sent");
    assert!(!decoded.debug.contains("extra: {\""), "{id}: a reply member missed its typed field: {}", decoded.debug);
    assert!(!decoded.debug.contains("UnknownValue("), "{id}: an enum value was not recognised: {}", decoded.debug);
}

#[tokio::test]
async fn every_method_sends_the_exact_request_and_decodes_the_reply() {
    // Each case in its own task, so one failure does not hide the others.
    let tasks: Vec<_> = cases().into_iter().map(|case| (case.id, tokio::spawn(run_case(case)))).collect();
    let mut failed = Vec::new();
    for (id, task) in tasks {
        if task.await.is_err() {
            failed.push(id);
        }
    }
    assert!(failed.is_empty(), "failing methods (panics above): {failed:?}");
}

fn discovery_methods(resources: &Value, out: &mut Vec<Value>) {
    for resource in resources.as_object().into_iter().flat_map(|m| m.values()) {
        out.extend(resource["methods"].as_object().into_iter().flat_map(|m| m.values().cloned()));
        discovery_methods(&resource["resources"], out);
    }
}

#[test]
fn the_table_covers_every_method_of_the_discovery_document() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../discovery/people.v1.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut methods = Vec::new();
    discovery_methods(&doc["resources"], &mut methods);
    let table = cases();

    let doc_ids: BTreeSet<&str> = methods.iter().map(|m| m["id"].as_str().unwrap()).collect();
    let table_ids: BTreeSet<&str> = table.iter().map(|c| c.id).collect();
    assert_eq!(table_ids.len(), table.len(), "a method has two rows");
    let missing: Vec<_> = doc_ids.difference(&table_ids).collect();
    let stale: Vec<_> = table_ids.difference(&doc_ids).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "methods without a row: {missing:?}; rows without a method: {stale:?}"
    );
    assert_eq!(doc_ids.len(), 24, "people-api.md promises 24 methods");

    // The rows agree with the document's HTTP method, path template and parameter pattern.
    for m in &methods {
        let case = table.iter().find(|c| c.id == m["id"]).unwrap();
        assert_eq!(case.http, m["httpMethod"], "{}", case.id);
        let template = m["path"].as_str().unwrap();
        let path = case.path.strip_prefix('/').unwrap();
        match template.split_once("{+resourceName}") {
            None => assert_eq!(path, template, "{}", case.id),
            Some((before, after)) => {
                let value = path.strip_prefix(before).and_then(|p| p.strip_suffix(after));
                let value = value.unwrap_or_else(|| panic!("{}: {path} does not fit {template}", case.id));
                // Every People pattern has the form `^collection/[^/]+$`.
                let pattern = m["parameters"]["resourceName"]["pattern"].as_str().unwrap();
                let collection = pattern.strip_prefix('^').and_then(|p| p.strip_suffix("/[^/]+$")).unwrap();
                let id = value.strip_prefix(collection).and_then(|v| v.strip_prefix('/'));
                assert!(id.is_some_and(|id| !id.is_empty() && !id.contains('/')), "{}: {value} vs {pattern}", case.id);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn stale_etag_on_update_contact_is_a_failed_precondition() {
    let envelope = json!({"error": {
        "code": 400,
        "message": "Request person.etag is different than the current person.etag. Clear local cache and get the latest person.",
        "status": "FAILED_PRECONDITION",
        "errors": [{"message": "Request person.etag is different than the current person.etag.", "domain": "global", "reason": "failedPrecondition"}]
    }});
    let server = Server::start(move |_, _| Reply::json(400, envelope.clone())).await;
    let err =
        server.client().people().update_contact("people/c123", edited_contact(), "names").send().await.unwrap_err();

    assert!(err.is_failed_precondition(), "{err:?}");
    assert_eq!(err.reason(), Some("failedPrecondition"));
    assert_eq!(err.http_status(), Some(400));
    assert!(!err.is_retryable() && !err.is_not_found() && !err.is_conflict());
    let service = err.service_error().unwrap();
    assert_eq!(service.code, Some(400));
    assert_eq!(service.status.as_deref(), Some("FAILED_PRECONDITION"));
    assert!(service.message.starts_with("Request person.etag is different"));
    assert_eq!(service.errors[0].domain.as_deref(), Some("global"));
    assert!(service.body_excerpt.is_empty(), "a JSON envelope needs no excerpt");
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn expired_sync_token_carries_error_info_details() {
    let envelope = json!({"error": {
        "code": 400,
        "message": "Sync token is expired. Clear local cache and retry call without the sync token.",
        "status": "FAILED_PRECONDITION",
        "errors": [{"message": "Sync token is expired.", "domain": "global", "reason": "failedPrecondition"}],
        "details": [{
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "EXPIRED_SYNC_TOKEN",
            "domain": "people.googleapis.com",
            "metadata": {"service": "people.googleapis.com", "method": "google.people.v1.PeopleService.ListConnections"}
        }]
    }});
    let server = Server::start(move |_, _| Reply::json(400, envelope.clone())).await;
    let err =
        server.client().people().connections().list("people/me", "names").sync_token("old").send().await.unwrap_err();

    assert!(err.is_failed_precondition(), "{err:?}");
    // The ErrorInfo reason wins over the legacy one.
    assert_eq!(err.reason(), Some("EXPIRED_SYNC_TOKEN"));
    let service = err.service_error().unwrap();
    assert_eq!(service.errors[0].reason.as_deref(), Some("failedPrecondition"));
    let metadata = service.error_info_metadata().unwrap();
    assert_eq!(metadata["method"], "google.people.v1.PeopleService.ListConnections");
    // `ErrorDetail` is not re-exported by google_people_v1; it is only reachable through the
    // runtime crate (see the report).
    use discovery_runtime::error::ErrorDetail;
    match &service.details[..] {
        [ErrorDetail::ErrorInfo { reason, domain, metadata }] => {
            assert_eq!((reason.as_str(), domain.as_str()), ("EXPIRED_SYNC_TOKEN", "people.googleapis.com"));
            assert_eq!(metadata.len(), 2);
        }
        other => panic!("details: {other:?}"),
    }
    assert!(err.to_string().contains("EXPIRED_SYNC_TOKEN"), "{err}");
    // A 400 is not transient: the GET is not repeated.
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn missing_person_is_not_found() {
    let envelope = json!({"error": {"code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND"}});
    let server = Server::start(move |_, _| Reply::json(404, envelope.clone())).await;
    let err = server.client().people().get("people/c404", "names").send().await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert!(!err.is_conflict() && !err.is_failed_precondition() && !err.is_retryable());
    assert_eq!(err.service_error().unwrap().message, "Requested entity was not found.");
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn duplicate_group_name_is_a_conflict_and_not_retried() {
    let envelope =
        json!({"error": {"code": 409, "message": "Contact group name already exists.", "status": "ALREADY_EXISTS"}});
    let server = Server::start(move |_, _| Reply::json(409, envelope.clone())).await;
    let client = server.client();
    let group = ContactGroup { name: Some("Climbing".into()), ..Default::default() };

    let create = CreateContactGroupRequest { contact_group: Some(group.clone()), ..Default::default() };
    let err = client.contact_groups().create(&create).send().await.unwrap_err();
    assert!(err.is_conflict() && err.is_already_exists(), "{err:?}");
    assert_eq!(err.http_status(), Some(409));

    // PUT is idempotent, yet a 409 is not transient either.
    let update = UpdateContactGroupRequest { contact_group: Some(group), ..Default::default() };
    let err = client.contact_groups().update("contactGroups/5e1f", &update).send().await.unwrap_err();
    assert!(err.is_conflict(), "{err:?}");
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn html_502_from_a_proxy_is_a_clear_service_error() {
    let page = format!(
        "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1><p>The proxy \
         could not reach the upstream server.</p>{}</body></html>",
        "<!-- padding -->".repeat(64)
    );
    let server = Server::start(move |_, _| Reply::html(502, page.clone())).await;
    let err = server
        .client()
        .people()
        .get("people/c123", "names")
        .retry_policy(fast_retries().max_attempts(2))
        .send()
        .await
        .unwrap_err();

    let service = err.service_error().unwrap_or_else(|| panic!("not a service error: {err:?}"));
    assert_eq!(service.http_status, 502);
    assert_eq!((service.code, service.status.as_deref()), (None, None));
    assert_eq!(service.message, "Bad Gateway", "the reason phrase; Display adds the status once");
    assert!(service.body_excerpt.starts_with("<!DOCTYPE html><html><head><title>502 Bad Gateway"), "{service:?}");
    assert!(service.body_excerpt.len() <= 512, "the excerpt is bounded: {}", service.body_excerpt.len());
    let shown = err.to_string();
    assert!(shown.contains("502") && shown.contains("Bad Gateway") && shown.contains("<title>"), "{shown}");
    // 502 is transient and GET idempotent: both allowed attempts were made.
    assert!(err.is_retryable());
    assert_eq!(server.requests().len(), 2);
}

// ---------------------------------------------------------------------------------------
// Retries
// ---------------------------------------------------------------------------------------

fn unavailable() -> Value {
    json!({"error": {"code": 503, "message": "The service is currently unavailable.", "status": "UNAVAILABLE"}})
}

#[tokio::test]
async fn get_is_retried_after_503_and_waits_as_told_by_retry_after() {
    let server = Server::start(|i, _| match i {
        0 => Reply::json(503, unavailable()).header("retry-after", "1"),
        _ => Reply::json(200, ada()),
    })
    .await;
    let started = Instant::now();
    let person = server.client().people().get("people/c123", "names").send().await.unwrap();
    let elapsed = started.elapsed();
    assert_eq!(person.names[0].given_name.as_deref(), Some("Ada"));

    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    // The policy's own backoff is at most 5 ms: only `Retry-After: 1` explains a 1 s gap.
    let gap = reqs[1].at - reqs[0].at;
    assert!(gap >= Duration::from_millis(950) && gap < Duration::from_secs(3), "gap {gap:?}");
    assert!(elapsed >= Duration::from_millis(950), "elapsed {elapsed:?}");
    // The retry is the same request.
    assert_eq!(
        (reqs[1].path.as_str(), reqs[1].raw_query.as_str()),
        (reqs[0].path.as_str(), reqs[0].raw_query.as_str())
    );
    assert_standard_headers(&reqs[1], "retry");
}

#[tokio::test]
async fn get_is_retried_after_the_delay_of_a_retry_info_detail() {
    // Sub-second waits come only through RetryInfo, as Retry-After counts whole seconds.
    let server = Server::start(|i, _| match i {
        0 => {
            let mut body = unavailable();
            body["error"]["details"] =
                json!([{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "0.300s"}]);
            Reply::json(503, body)
        }
        _ => Reply::json(200, my_contacts()),
    })
    .await;
    let group = server.client().contact_groups().get("contactGroups/myContacts").send().await.unwrap();
    assert_eq!(group.member_count, Some(412));
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    let gap = reqs[1].at - reqs[0].at;
    assert!(gap >= Duration::from_millis(290) && gap < Duration::from_millis(2000), "gap {gap:?}");
}

#[tokio::test]
async fn patch_update_contact_is_not_retried_after_a_503() {
    let server = Server::start(|_, _| Reply::json(503, unavailable()).header("retry-after", "0")).await;
    let err =
        server.client().people().update_contact("people/c123", edited_contact(), "names").send().await.unwrap_err();
    assert_eq!(err.http_status(), Some(503));
    // Transient, but the PATCH reached the server: repeating it is the caller's decision.
    assert!(err.is_retryable());
    assert_eq!(server.requests().len(), 1, "a sent PATCH must not be repeated");
}

// ---------------------------------------------------------------------------------------
// Paging
// ---------------------------------------------------------------------------------------

/// Three pages of connections (2 + 2 + 1) chained by `nextPageToken`; the last page has the
/// sync token.
async fn three_page_server() -> Server {
    Server::start(|_, req| {
        let token = req.param("pageToken");
        let p = |n: u32| person(&format!("people/c{n}"), &format!("Given{n}"), "Family", &format!("p{n}@example.com"));
        let page = match token.iter().map(String::as_str).collect::<Vec<_>>()[..] {
            [] => json!({"connections": [p(1), p(2)], "nextPageToken": "page-2", "totalItems": 5}),
            ["page-2"] => json!({"connections": [p(3), p(4)], "nextPageToken": "page-3", "totalItems": 5}),
            ["page-3"] => json!({"connections": [p(5)], "totalItems": 5, "nextSyncToken": "sync-after-5"}),
            _ => {
                return Reply::json(
                    400,
                    json!({"error": {"code": 400, "message": "bad page token", "status": "INVALID_ARGUMENT"}}),
                )
            }
        };
        Reply::json(200, page)
    })
    .await
}

fn assert_three_page_requests(server: &Server) {
    let reqs = server.requests();
    let tokens: Vec<Vec<String>> = reqs.iter().map(|r| r.param("pageToken")).collect();
    assert_eq!(tokens, [vec![], vec!["page-2".to_owned()], vec!["page-3".to_owned()]]);
    for r in &reqs {
        assert_eq!(r.path, "/v1/people/me/connections");
        // Every page repeats the other parameters, as the API requires.
        assert_eq!(r.param("personFields"), ["names"]);
        assert_eq!(r.param("pageSize"), ["2"]);
        assert_eq!(r.param("requestSyncToken"), ["true"]);
        assert_standard_headers(r, "page");
    }
}

#[tokio::test]
async fn connections_by_page_follows_next_page_token() {
    let server = three_page_server().await;
    let list = server.client().people().connections().list("people/me", "names").page_size(2).request_sync_token(true);
    // Through the `Stream` implementation.
    let pages: Vec<_> = list.by_page().try_collect().await.unwrap();
    let names: Vec<Vec<&str>> =
        pages.iter().map(|p| p.connections.iter().map(|c| c.resource_name.as_deref().unwrap()).collect()).collect();
    assert_eq!(names, [vec!["people/c1", "people/c2"], vec!["people/c3", "people/c4"], vec!["people/c5"]]);
    assert_eq!(pages[2].next_sync_token.as_deref(), Some("sync-after-5"));
    assert!(pages[..2].iter().all(|p| p.next_sync_token.is_none()));
    assert_three_page_requests(&server);
}

#[tokio::test]
async fn connections_by_item_keeps_the_last_page_and_its_sync_token() {
    let server = three_page_server().await;
    let mut items = server
        .client()
        .people()
        .connections()
        .list("people/me", "names")
        .page_size(2)
        .request_sync_token(true)
        .by_item();
    let mut seen = Vec::new();
    while let Some(person) = items.try_next().await.unwrap() {
        seen.push(person.names[0].given_name.clone().unwrap());
    }
    assert_eq!(seen, ["Given1", "Given2", "Given3", "Given4", "Given5"]);
    let last = items.last_page().expect("the last page is kept");
    assert_eq!(last.next_sync_token.as_deref(), Some("sync-after-5"));
    assert_eq!(last.total_items, Some(5));
    assert!(last.connections.is_empty(), "the items were handed out, not kept twice");
    assert!(items.try_next().await.unwrap().is_none(), "the stream stays finished");
    assert_three_page_requests(&server);
}

// ---------------------------------------------------------------------------------------
// Mutation ordering
// ---------------------------------------------------------------------------------------

/// Two `updateContact` calls started together through one client; returns the largest
/// number of requests the server had in flight. Each reply is held 250 ms, ample time for
/// the second request to arrive on loopback when nothing holds it back.
async fn concurrent_updates(serialize: bool) -> (usize, Vec<Recorded>) {
    let server = Server::start(|_, _| Reply::json(200, ada()).delay(Duration::from_millis(250))).await;
    let client = PeopleClient::builder()
        .base_url(&server.base_url)
        .token_provider(StaticToken::new(TOKEN))
        .retry_policy(fast_retries())
        .serialize_mutations(serialize)
        .build()
        .unwrap();
    let mut second = edited_contact();
    second.resource_name = Some("people/c456".into());
    let (a, b) = tokio::join!(
        client.people().update_contact("people/c123", edited_contact(), "names").send(),
        client.clone().people().update_contact("people/c456", second, "names").send(),
    );
    a.unwrap();
    b.unwrap();
    (server.max_in_flight.load(Ordering::SeqCst), server.requests())
}

#[tokio::test]
async fn concurrent_mutations_through_one_client_never_overlap() {
    let (max, reqs) = concurrent_updates(true).await;
    assert_eq!(reqs.len(), 2);
    assert_eq!(max, 1, "two mutations were in flight at once");
    let gap = reqs[1].at - reqs[0].at;
    assert!(gap >= Duration::from_millis(240), "the second started {gap:?} after the first");
}

#[tokio::test]
async fn without_serialisation_mutations_overlap() {
    let (max, reqs) = concurrent_updates(false).await;
    assert_eq!(reqs.len(), 2);
    assert_eq!(max, 2, "serialize_mutations(false) should let both run at once");
}

// ---------------------------------------------------------------------------------------
// Path parameters
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn path_parameters_failing_their_pattern_are_never_sent() {
    let server = Server::canned(ada()).await;
    let c = server.client();
    let attempts: Vec<(&str, google_people_v1::Result<()>)> = vec![
        ("people/../contactGroups/x", c.people().get("people/../contactGroups/x", "names").send().await.map(drop)),
        ("contactGroups/x", c.people().get("contactGroups/x", "names").send().await.map(drop)),
        (
            "people/c1/extra",
            c.people().update_contact("people/c1/extra", edited_contact(), "names").send().await.map(drop),
        ),
        ("people/c1", c.contact_groups().get("people/c1").send().await.map(drop)),
        (
            "people/c1",
            c.other_contacts()
                .copy_other_contact_to_my_contacts_group(
                    "people/c1",
                    CopyOtherContactToMyContactsGroupRequest::default(),
                )
                .send()
                .await
                .map(drop),
        ),
    ];
    for (value, result) in attempts {
        let err = result.expect_err(value);
        assert!(
            matches!(&err, Error::InvalidPathParameter { name: "resourceName", value: v, .. } if v == value),
            "{value}: {err:?}"
        );
        assert!(err.to_string().contains("resourceName"), "{err}");
    }
    assert!(server.requests().is_empty(), "the server saw {:#?}", server.requests());
}

#[tokio::test]
async fn reserved_expansion_keeps_slashes_but_not_query_or_escape_characters() {
    let server = Server::canned(ada()).await;
    let c = server.client();
    for value in ["people/c1?personFields=photos", "people/%2e%2e", "people/c1#frag"] {
        c.people().get(value, "names").send().await.unwrap();
    }
    let reqs = server.requests();
    let paths: Vec<&str> = reqs.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(paths, ["/v1/people/c1%3FpersonFields=photos", "/v1/people/%252e%252e", "/v1/people/c1%23frag"]);
    assert!(reqs.iter().all(|r| r.raw_query == "personFields=names"), "{reqs:#?}");
}

// ---------------------------------------------------------------------------------------
// Empty values and nulls: sent exactly when asked for, and kept on read-modify-write
// ---------------------------------------------------------------------------------------

/// `key` of `object`: `None` when absent, `Some(value)` (maybe `null`) when present.
fn member<'a>(object: &'a Value, key: &str) -> Option<&'a Value> {
    object.as_object().expect("an object").get(key)
}

#[tokio::test]
async fn empty_values_and_nulls_are_sent_exactly_when_asked_for() {
    let server = Server::canned(ada()).await;
    let client = server.client();

    // Top level: `emailAddresses: []` and `etag: null`; nested: `names[0].metadata: null`
    // and `metadata.sources: []`. Everything else empty stays out.
    let mut person = Person { names: vec![Name { given_name: Some("Ada".into()), ..Default::default() }], ..Default::default() };
    person.extra.send_empty("emailAddresses");
    person.extra.send_null("etag");
    person.names[0].extra.send_null("metadata");
    let mut metadata = PersonMetadata::default();
    metadata.extra.send_empty("sources");
    person.metadata = Some(metadata);
    client.people().update_contact("people/c123", &person, "names,emailAddresses").send().await.unwrap();

    // A top-level map: `contacts: {}`.
    let mut batch = BatchUpdateContactsRequest { update_mask: Some("names".into()), ..Default::default() };
    batch.extra.send_empty("contacts");
    let _ = client.people().batch_update_contacts(&batch).send().await;

    let requests = server.requests();
    let sent = requests[0].json();
    assert_eq!(member(&sent, "emailAddresses"), Some(&json!([])));
    assert_eq!(member(&sent, "etag"), Some(&Value::Null));
    assert_eq!(member(&sent["names"][0], "metadata"), Some(&Value::Null));
    assert_eq!(member(&sent["metadata"], "sources"), Some(&json!([])));
    for untouched in ["phoneNumbers", "biographies", "resourceName", "memberships"] {
        assert_eq!(member(&sent, untouched), None, "{untouched}");
    }
    assert_eq!(member(&sent["names"][0], "familyName"), None);
    assert_eq!(sent, json!({"emailAddresses": [], "etag": null, "metadata": {"sources": []}, "names": [{"givenName": "Ada", "metadata": null}]}));
    let batch_sent = requests[1].json();
    assert_eq!(batch_sent, json!({"contacts": {}, "updateMask": "names"}));

    // The serde writer says the same, byte for byte.
    assert_eq!(serde_json::to_vec(&person).unwrap(), requests[0].body);
    assert_eq!(serde_json::to_vec(&batch).unwrap(), requests[1].body);

    // Without the requests, the same values send nothing for the empty fields.
    let plain = Person { names: vec![Name { given_name: Some("Ada".into()), ..Default::default() }], ..Default::default() };
    assert_eq!(serde_json::to_value(&plain).unwrap(), json!({"names": [{"givenName": "Ada"}]}));
}

#[tokio::test]
async fn read_modify_write_keeps_empty_members_and_sends_what_was_emptied() {
    let mut stored = ada();
    stored["biographies"] = json!([]);
    stored["urls"] = json!([]);
    stored["nicknames"] = Value::Null;
    stored["names"][0]["middleName"] = Value::Null;
    let server = Server::start(move |i, _| Reply::json(200, if i == 0 { stored.clone() } else { ada() })).await;
    let client = server.client();

    let mut person = client.people().get("people/c123", "names,emailAddresses,biographies,urls,nicknames").send().await.unwrap();
    assert!(person.biographies.is_empty() && person.nicknames.is_empty());
    // The change: a new given name, and no email addresses any more.
    person.names[0].given_name = Some("Augusta".into());
    person.email_addresses.clear();
    client.people().update_contact("people/c123", &person, "names,emailAddresses").send().await.unwrap();

    let sent = server.requests()[1].json();
    assert_eq!(sent["names"][0]["givenName"], "Augusta");
    assert_eq!(member(&sent, "emailAddresses"), Some(&json!([])), "emptied, so sent empty");
    assert_eq!(member(&sent, "biographies"), Some(&json!([])), "read empty, written empty");
    assert_eq!(member(&sent, "urls"), Some(&json!([])));
    assert_eq!(member(&sent, "nicknames"), Some(&Value::Null), "read null, written null");
    assert_eq!(member(&sent["names"][0], "middleName"), Some(&Value::Null));
    assert_eq!(member(&sent, "phoneNumbers"), None, "never present, never sent");

    // `omit_absent_members` forgets it all.
    person.extra.omit_absent_members();
    let value = serde_json::to_value(&person).unwrap();
    assert_eq!(member(&value, "biographies"), None);
    assert_eq!(member(&value, "emailAddresses"), None);
}
