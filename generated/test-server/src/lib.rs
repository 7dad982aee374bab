#![doc = include_str!("../README.md")]
//!
//! # Behaviour
//!
//! The server follows Google's documentation of the People API and answers in Google's
//! error envelope (HTTP status, `error.status`, `error.message`, legacy `errors[].reason`,
//! typed `details`). It works on raw JSON (`serde_json::Value`) and never on a client's
//! types, so a client bug cannot hide behind the same bug in a shared type. State lives in
//! memory, one server per test; the port is chosen by the OS unless [`PeopleServer::bind`]
//! is given one.
//!
//! What it serves (paths under `/v1/`):
//! `people/{id}` GET, `people/{id}:updateContact` PATCH, `people/{id}:deleteContact` DELETE,
//! `people:createContact` POST, `people:batchUpdateContacts` POST,
//! `people/me/connections` GET, `contactGroups` GET and POST, `contactGroups/{id}` GET and PUT.
//! Anything else is a 404 in the Google error envelope.
//!
//! Decisions where Google's documentation leaves room:
//! * Every write bumps one server-wide sequence number; etags (the person's `etag` and its
//!   contact source's `metadata.sources[].etag`) and sync tokens derive from it, so an etag
//!   changes on every write.
//! * `updateContact` checks, in order: the masks, that the contact exists (404), that
//!   `person.metadata.sources` holds a CONTACT source (400 INVALID_ARGUMENT; a source without
//!   an etag too), the etag (400 FAILED_PRECONDITION, reason `failedPrecondition`), then the
//!   content: `memberships` in the mask needs a contact-group membership, and biographies,
//!   birthdays, genders and names take at most one value of the contact source (400
//!   INVALID_ARGUMENT). Values tagged with another source (`metadata.source.type` other
//!   than `CONTACT`, a profile's read with the contact) are not contact data: neither
//!   counted nor stored. Masked fields absent or empty in the body are cleared; fields
//!   outside the mask are ignored.
//! * Person reads always carry `resourceName` and `etag`; `metadata` (with the contact
//!   source and its etag) only when the mask names it or there is no mask. With `sources`
//!   lacking `READ_SOURCE_TYPE_CONTACT` no contact data comes back.
//! * `batchUpdateContacts` is all-or-nothing, as Google's is on validation errors: more than
//!   [`BATCH_LIMIT`] contacts fails the request as a whole, and any invalid contact fails the
//!   request with a detail naming the failing contacts (in the shape
//!   [`PeopleServer::set_batch_error_shape`] chose) and writes nothing. A missing `readMask`
//!   is treated like an empty one.
//! * `contactGroups.update` also checks `contactGroup.etag` when one is sent (400
//!   FAILED_PRECONDITION) and refuses system groups. Duplicate names (409 ALREADY_EXISTS)
//!   are compared exactly, against every other group.
//! * Page tokens remember the listing's parameters and a page token sent with different
//!   parameters is a 400, as Google documents. Sync tokens are kept per issue; an expired one
//!   (see [`PeopleServer::expire_sync_tokens`]) is a 400 FAILED_PRECONDITION with ErrorInfo
//!   reason `EXPIRED_SYNC_TOKEN`. Incremental syncs return contacts changed since the token,
//!   deleted ones as `{"metadata": {"deleted": true}}`.
//! * Every request needs a bearer token, any token: it names the user, and concurrency is
//!   tracked per user.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod service;

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use service::Inner;

/// The HTTP method of a [`Seen`] request (the `http` crate's, as axum and reqwest use).
pub use axum::http::Method;

/// The most contacts `batchUpdateContacts` takes in one request.
pub const BATCH_LIMIT: usize = 200;

/// A transient failure the server can be told to answer with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transient {
    /// 429 RESOURCE_EXHAUSTED, reason `RATE_LIMIT_EXCEEDED`.
    RateLimited,
    /// 503 UNAVAILABLE.
    Unavailable,
}

/// One request as the server received it.
#[derive(Clone, Debug)]
pub struct Seen {
    /// `GET`, `POST`, ...
    pub method: Method,
    /// The path exactly as sent, not percent-decoded.
    pub path: String,
    /// The query parameters, decoded, in the order sent.
    pub query: Vec<(String, String)>,
    /// The bearer token of the `Authorization` header, which names the user.
    pub user: Option<String>,
    /// The HTTP status the server answered with.
    pub status: u16,
}

impl Seen {
    /// The values of the query parameter `name`, in the order sent.
    pub fn query_values(&self, name: &str) -> Vec<&str> {
        self.query.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
    }
}

/// A running server. Clones share it; it serves until the Tokio runtime it was started on
/// shuts down.
#[derive(Clone)]
pub struct PeopleServer {
    addr: SocketAddr,
    shared: Arc<Inner>,
}

impl fmt::Debug for PeopleServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PeopleServer").field("url", &self.url()).finish_non_exhaustive()
    }
}

/// How a refused `batchUpdateContacts` names its invalid contacts. Google documents only
/// that the error carries `BatchUpdateContactsErrorDetails`, "a list of errors corresponding
/// to each contact", not its JSON; these are the shapes a client has to be ready for, and one
/// that names nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BatchErrorShape {
    /// `{"contactErrors": {"people/c1": {"code": 9, "message": "..."}}}`
    #[default]
    KeyedMap,
    /// `{"errors": [{"resourceName": "people/c1", "status": {...}}]}`
    ListByName,
    /// `{"errors": [{"contactIndex": 3, "code": 9, "message": "..."}]}`: the index of the
    /// contact in the request's `contacts` map (sorted by resource name).
    ListByIndex,
    /// A `google.rpc.BadRequest` detail: `{"field": "contacts[people/c1]", "description": ...}`
    FieldViolations,
    /// No detail naming contacts: the message of the only invalid contact, or a count.
    Unnamed,
}

/// The resource names [`PeopleServer::seed`] created, in the seed's order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Seeded {
    /// `contactGroups/...`
    pub groups: Vec<String>,
    /// `people/...`
    pub contacts: Vec<String>,
}

/// Why a seed was refused; nothing of it was stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeedError(String);

impl fmt::Display for SeedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SeedError {}

impl PeopleServer {
    /// Starts a server on `127.0.0.1`, on a port the OS chooses, with the system groups
    /// `contactGroups/myContacts` and `contactGroups/starred` and no contacts.
    ///
    /// # Panics
    ///
    /// When no loopback port can be bound, or outside a Tokio runtime.
    pub async fn start() -> PeopleServer {
        match PeopleServer::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await {
            Ok(server) => server,
            Err(err) => panic!("cannot start the People test server on loopback: {err}"),
        }
    }

    /// Starts a server listening on `addr` (port 0: one the OS chooses), like
    /// [`start`](Self::start) otherwise.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime.
    pub async fn bind(addr: SocketAddr) -> std::io::Result<PeopleServer> {
        let shared = Arc::new(Inner::new());
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let app = service::router(shared.clone());
        tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, app).await {
                eprintln!("People test server on {addr} stopped: {err}");
            }
        });
        Ok(PeopleServer { addr, shared })
    }

    /// The base URL to give the client: `http://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    // -- seeding -----------------------------------------------------------------------

    /// Adds a contact holding the contact fields of `person` (a People `Person` as JSON) and
    /// a `myContacts` membership unless it names its own; returns its resource name, the
    /// person's `resourceName` when it has one.
    ///
    /// # Panics
    ///
    /// When `person` is not a valid contact (see [`seed`](Self::seed)).
    pub fn add_contact(&self, person: Value) -> String {
        let added = self.shared.state().add_contact(&person);
        added.unwrap_or_else(|err| panic!("{err}"))
    }

    /// Adds `count` contacts named `{prefix} {i}`; returns their resource names in order.
    pub fn add_contacts(&self, count: usize, prefix: &str) -> Vec<String> {
        (0..count).map(|i| self.add_contact(json!({"names": [{"givenName": format!("{prefix} {i}")}]}))).collect()
    }

    /// Adds a user contact group named `name`; returns its resource name.
    ///
    /// # Panics
    ///
    /// When another group already has that name.
    pub fn add_group(&self, name: &str) -> String {
        let added = self.shared.state().add_group(&json!({ "name": name }));
        added.unwrap_or_else(|err| panic!("{err}"))
    }

    /// Adds the groups, then the contacts, of a seed:
    ///
    /// ```json
    /// {
    ///   "groups": [{"resourceName": "contactGroups/bookClub", "name": "Book club"}],
    ///   "contacts": [
    ///     {"resourceName": "people/c1", "names": [{"givenName": "Ada"}],
    ///      "memberships": [{"contactGroupMembership": {"contactGroupResourceName": "contactGroups/bookClub"}}]}
    ///   ]
    /// }
    /// ```
    ///
    /// Both lists are optional. A group needs a `name` (unique) and may carry `clientData`;
    /// a contact is a People `Person` whose updatable fields (`names`, `emailAddresses`, ...)
    /// are lists, at most one value for `names`, `birthdays`, `genders` and `biographies`.
    /// Resource names are chosen by the server when left out. Either everything is added or,
    /// on the first invalid entry, nothing.
    pub fn seed(&self, seed: &Value) -> Result<Seeded, SeedError> {
        let seed = seed.as_object().ok_or_else(|| SeedError("a seed is a JSON object".into()))?;
        if let Some(unknown) = seed.keys().find(|key| !["groups", "contacts"].contains(&key.as_str())) {
            return Err(SeedError(format!("unknown seed member `{unknown}` (expected `groups` and `contacts`)")));
        }
        let list = |key: &str| -> Result<Vec<Value>, SeedError> {
            match seed.get(key) {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(Value::Array(items)) => Ok(items.clone()),
                Some(_) => Err(SeedError(format!("`{key}` must be a list"))),
            }
        };
        let (groups, contacts) = (list("groups")?, list("contacts")?);
        let mut state = self.shared.state();
        // Seeded into a copy, kept only when every entry was valid.
        let mut draft = state.clone();
        let mut seeded = Seeded::default();
        for (index, group) in groups.iter().enumerate() {
            let name = draft.add_group(group).map_err(|err| SeedError(format!("groups[{index}]: {err}")))?;
            seeded.groups.push(name);
        }
        for (index, person) in contacts.iter().enumerate() {
            let name = draft.add_contact(person).map_err(|err| SeedError(format!("contacts[{index}]: {err}")))?;
            seeded.contacts.push(name);
        }
        *state = draft;
        Ok(seeded)
    }

    // -- inspecting --------------------------------------------------------------------

    /// The contact as stored, with every field and its metadata; `None` when unknown.
    /// A deleted contact is `{"resourceName", "etag", "metadata": {"deleted": true, ...}}`.
    pub fn contact(&self, name: &str) -> Option<Value> {
        self.shared.state().stored_contact(name)
    }

    /// The resource names of the contacts that are not deleted, in order of creation.
    pub fn contact_names(&self) -> Vec<String> {
        self.shared.state().live_contact_names()
    }

    /// The current etag of the contact's CONTACT source, the one `updateContact` checks;
    /// `None` when the contact is unknown.
    pub fn source_etag(&self, name: &str) -> Option<String> {
        self.shared.state().contact_source_etag(name)
    }

    /// The group as stored, with every field; `None` when unknown.
    pub fn group(&self, name: &str) -> Option<Value> {
        self.shared.state().stored_group(name)
    }

    /// Every request received so far, in order of arrival.
    pub fn requests(&self) -> Vec<Seen> {
        self.shared.log.lock().unwrap().clone()
    }

    /// The requests received with this HTTP method.
    pub fn requests_with(&self, method: Method) -> Vec<Seen> {
        self.requests().into_iter().filter(|r| r.method == method).collect()
    }

    /// The number of contacts in each `batchUpdateContacts` request received, in order of
    /// arrival (answered or not).
    pub fn batch_request_sizes(&self) -> Vec<usize> {
        self.shared.batch_requests.lock().unwrap().clone()
    }

    /// The most mutations (requests other than `GET` and `HEAD`) of `user`, the bearer
    /// token, the server has had in flight at once.
    pub fn max_mutations_in_flight(&self, user: &str) -> usize {
        self.shared.max_mutations_in_flight(user)
    }

    // -- faults and races --------------------------------------------------------------

    /// Answers the next `times` requests, whatever they are, with `kind`, with a
    /// `Retry-After` header of `retry_after_secs` when given.
    pub fn fail_next(&self, kind: Transient, times: usize, retry_after_secs: Option<u64>) {
        let mut injected = self.shared.injected.lock().unwrap();
        injected.extend(std::iter::repeat_n((kind, retry_after_secs), times));
    }

    /// Another client's write: replaces `field` of the contact with `value` and changes its
    /// etag, so that a person read before fails `updateContact` with FAILED_PRECONDITION.
    ///
    /// # Panics
    ///
    /// When the contact is unknown.
    pub fn rival_write(&self, name: &str, field: &str, value: Value) {
        self.shared.state().rival_write(name, field, value);
    }

    /// Another client's write made when the next `updateContact` of the contact arrives,
    /// after the caller read it: that update meets a changed etag.
    pub fn rival_write_before_next_update(&self, name: &str, field: &str, value: Value) {
        self.shared.state().queue_rival_write(name, field, value);
    }

    /// Deletes a contact as another client would.
    ///
    /// # Panics
    ///
    /// When the contact is unknown or already deleted.
    pub fn rival_delete(&self, name: &str) {
        if !self.shared.state().rival_delete(name) {
            panic!("no contact {name} to delete");
        }
    }

    /// Makes every sync token issued so far expired.
    pub fn expire_sync_tokens(&self) {
        self.shared.state().expire_sync_tokens();
    }

    /// Makes each mutation wait up to `hold` for a second mutation of the same user to
    /// arrive, so that two mutations sent in parallel are sure to be seen in flight together,
    /// while mutations sent one at a time each wait the full `hold`.
    pub fn hold_mutations(&self, hold: Duration) {
        *self.shared.mutation_hold.lock().unwrap() = Some(hold);
    }

    /// Makes refused `batchUpdateContacts` requests name their invalid contacts in `shape`.
    pub fn set_batch_error_shape(&self, shape: BatchErrorShape) {
        self.shared.state().batch_error_shape = shape;
    }

    /// Delays the `nth` (from 1) `batchUpdateContacts` request by `delay` before it is
    /// handled, so that a client timeout fails it.
    pub fn delay_batch_request(&self, nth: usize, delay: Duration) {
        self.shared.batch_delays.lock().unwrap().insert(nth, delay);
    }
}
