//! Everything behind [`PeopleServer`](crate::PeopleServer): the state, the routes and the
//! checks each method makes, in Google's order.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State as Shared;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use axum::Router;
use serde_json::{json, Map, Value};

use crate::{BatchErrorShape, Seen, Transient, BATCH_LIMIT};

/// Fields `updatePersonFields` and `updateMask` accept.
const UPDATE_FIELDS: &[&str] = &[
    "addresses",
    "biographies",
    "birthdays",
    "calendarUrls",
    "clientData",
    "emailAddresses",
    "events",
    "externalIds",
    "genders",
    "imClients",
    "interests",
    "locales",
    "locations",
    "memberships",
    "miscKeywords",
    "names",
    "nicknames",
    "occupations",
    "organizations",
    "phoneNumbers",
    "relations",
    "sipAddresses",
    "urls",
    "userDefined",
];

/// Fields `personFields` and `readMask` accept: the updatable ones and the read-only ones.
const READ_ONLY_FIELDS: &[&str] = &["ageRanges", "coverPhotos", "metadata", "photos", "skills"];

/// Fields a contact source holds at most one value of.
const SINGLETONS: &[&str] = &["biographies", "birthdays", "genders", "names"];

const READ_SOURCES: &[&str] = &[
    "READ_SOURCE_TYPE_UNSPECIFIED",
    "READ_SOURCE_TYPE_PROFILE",
    "READ_SOURCE_TYPE_CONTACT",
    "READ_SOURCE_TYPE_DOMAIN_CONTACT",
    "READ_SOURCE_TYPE_OTHER_CONTACT",
];

const GROUP_READ_FIELDS: &[&str] = &["clientData", "groupType", "memberCount", "metadata", "name"];
const GROUP_UPDATE_FIELDS: &[&str] = &["clientData", "name"];

/// What a server's handle and its request handlers share.
pub(crate) struct Inner {
    state: Mutex<State>,
    flights: Mutex<HashMap<String, Flight>>,
    /// Woken whenever a user has two mutations in flight, so that held mutations go on.
    company: tokio::sync::Notify,
    /// How long a mutation waits for a second one of its user before going on; `None`: no wait.
    pub(crate) mutation_hold: Mutex<Option<Duration>>,
    pub(crate) log: Mutex<Vec<Seen>>,
    pub(crate) injected: Mutex<VecDeque<(Transient, Option<u64>)>>,
    pub(crate) batch_delays: Mutex<BTreeMap<usize, Duration>>,
    pub(crate) batch_requests: Mutex<Vec<usize>>,
}

/// The routes: every request goes to one handler, which dispatches on method and path as
/// Google's resource names need (`people/c1:updateContact` is not a path axum can match).
pub(crate) fn router(shared: Arc<Inner>) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

#[derive(Default)]
struct Flight {
    now: usize,
    max: usize,
}

#[derive(Clone)]
pub(crate) struct State {
    /// Bumped by every write; the source of etags and sync tokens.
    seq: u64,
    pub(crate) batch_error_shape: BatchErrorShape,
    next_id: u64,
    contacts: BTreeMap<String, Contact>,
    groups: BTreeMap<String, Group>,
    cursors: HashMap<String, Cursor>,
    sync_tokens: HashMap<String, SyncToken>,
    next_token: u64,
    /// Writes of another client, each made just before the next `updateContact` of its contact.
    rivals_in_waiting: Vec<(String, String, Value)>,
}

#[derive(Clone)]
struct Contact {
    id: String,
    /// Contact fields, by name; only non-empty arrays are kept.
    data: Map<String, Value>,
    created_seq: u64,
    etag_seq: u64,
    changed_seq: u64,
    deleted: bool,
}

#[derive(Clone)]
struct Group {
    name: String,
    client_data: Option<Value>,
    system: bool,
    etag_seq: u64,
    changed_seq: u64,
}

/// Where a listing stands between two pages.
#[derive(Clone)]
struct Cursor {
    kind: ListKind,
    params: String,
    names: Vec<String>,
    offset: usize,
    /// The sequence number when the listing started: its sync token.
    started_at: u64,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum ListKind {
    Connections,
    Groups,
}

#[derive(Clone)]
struct SyncToken {
    kind: ListKind,
    seq: u64,
    expired: bool,
}

/// An error answer in Google's JSON envelope.
#[derive(Debug)]
struct ApiError {
    http: u16,
    status: &'static str,
    message: String,
    details: Vec<Value>,
    retry_after: Option<u64>,
}

type Handled = Result<Value, ApiError>;

/// The error of a `batchUpdateContacts` with invalid contacts, in `shape`.
fn batch_failure(shape: BatchErrorShape, failures: Vec<(usize, &String, ApiError)>) -> ApiError {
    const DETAILS: &str = "type.googleapis.com/google.people.v1.BatchUpdateContactsErrorDetails";
    let summary = || ApiError::invalid(format!("{} contact(s) in the request are invalid.", failures.len()));
    match shape {
        BatchErrorShape::KeyedMap => {
            let map: Map<String, Value> = failures.iter().map(|(_, n, e)| ((*n).clone(), e.as_status())).collect();
            summary().with_detail(json!({"@type": DETAILS, "contactErrors": map}))
        }
        BatchErrorShape::ListByName => {
            let list: Vec<Value> =
                failures.iter().map(|(_, n, e)| json!({"resourceName": n, "status": e.as_status()})).collect();
            summary().with_detail(json!({"@type": DETAILS, "errors": list}))
        }
        BatchErrorShape::ListByIndex => {
            let list: Vec<Value> = failures
                .iter()
                .map(|(i, _, e)| {
                    let mut status = e.as_status();
                    status["contactIndex"] = json!(i);
                    status
                })
                .collect();
            summary().with_detail(json!({"@type": DETAILS, "errors": list}))
        }
        BatchErrorShape::FieldViolations => {
            let list: Vec<Value> = failures
                .iter()
                .map(|(_, n, e)| json!({"field": format!("contacts[{n}]"), "description": e.message}))
                .collect();
            summary()
                .with_detail(json!({"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": list}))
        }
        BatchErrorShape::Unnamed => match <[_; 1]>::try_from(failures) {
            Ok([(_, _, only)]) => ApiError { details: Vec::new(), ..only },
            Err(many) => ApiError::invalid(format!("{} contact(s) in the request are invalid.", many.len())),
        },
    }
}

impl ApiError {
    fn new(http: u16, status: &'static str, message: impl Into<String>) -> Self {
        ApiError { http, status, message: message.into(), details: Vec::new(), retry_after: None }
    }

    fn invalid(message: impl Into<String>) -> Self {
        Self::new(400, "INVALID_ARGUMENT", message)
    }

    fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, "NOT_FOUND", message)
    }

    fn failed_precondition(message: impl Into<String>) -> Self {
        Self::new(400, "FAILED_PRECONDITION", message)
    }

    fn with_detail(mut self, detail: Value) -> Self {
        self.details.push(detail);
        self
    }

    fn legacy_reason(&self) -> &'static str {
        match self.status {
            "INVALID_ARGUMENT" => "badRequest",
            "FAILED_PRECONDITION" => "failedPrecondition",
            "NOT_FOUND" => "notFound",
            "ALREADY_EXISTS" => "duplicate",
            "RESOURCE_EXHAUSTED" => "rateLimitExceeded",
            "UNAVAILABLE" => "backendError",
            "UNAUTHENTICATED" => "authError",
            _ => "unknown",
        }
    }

    /// The `google.rpc.Status` of one failing item of a batch.
    fn as_status(&self) -> Value {
        json!({"code": grpc_code(self.status), "message": self.message})
    }

    fn into_response(self) -> Response {
        let body = json!({"error": {
            "code": self.http,
            "message": self.message,
            "status": self.status,
            "errors": [{"message": self.message, "domain": "global", "reason": self.legacy_reason()}],
            "details": self.details,
        }});
        let mut response = json_response(self.http, &body);
        if let Some(secs) = self.retry_after {
            response.headers_mut().insert("retry-after", secs.to_string().parse().unwrap());
        }
        response
    }
}

fn grpc_code(status: &str) -> i64 {
    match status {
        "INVALID_ARGUMENT" => 3,
        "NOT_FOUND" => 5,
        "ALREADY_EXISTS" => 6,
        "RESOURCE_EXHAUSTED" => 8,
        "FAILED_PRECONDITION" => 9,
        "UNAVAILABLE" => 14,
        "UNAUTHENTICATED" => 16,
        _ => 2,
    }
}

fn error_info(reason: &str) -> Value {
    json!({"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason, "domain": "people.googleapis.com"})
}

fn json_response(status: u16, body: &Value) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", "application/json; charset=UTF-8")
        .body(Body::from(body.to_string()))
        .unwrap()
}

/// Ends the in-flight count of one mutation, however its handler ends.
struct FlightGuard {
    shared: Arc<Inner>,
    user: String,
}

impl Drop for FlightGuard {
    fn drop(&mut self) {
        if let Some(flight) = self.shared.flights.lock().unwrap().get_mut(&self.user) {
            flight.now -= 1;
        }
    }
}

impl Inner {
    /// The state of a new server: the system groups `myContacts` and `starred`, no contacts.
    pub(crate) fn new() -> Inner {
        let mut state = State {
            seq: 0,
            batch_error_shape: BatchErrorShape::default(),
            next_id: 1000,
            contacts: BTreeMap::new(),
            groups: BTreeMap::new(),
            cursors: HashMap::new(),
            sync_tokens: HashMap::new(),
            next_token: 0,
            rivals_in_waiting: Vec::new(),
        };
        for system in ["myContacts", "starred"] {
            let seq = state.bump();
            state.groups.insert(
                format!("contactGroups/{system}"),
                Group { name: system.into(), client_data: None, system: true, etag_seq: seq, changed_seq: seq },
            );
        }
        Inner {
            state: Mutex::new(state),
            flights: Mutex::default(),
            company: tokio::sync::Notify::new(),
            mutation_hold: Mutex::new(None),
            log: Mutex::default(),
            injected: Mutex::default(),
            batch_delays: Mutex::default(),
            batch_requests: Mutex::default(),
        }
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    pub(crate) fn max_mutations_in_flight(&self, user: &str) -> usize {
        self.flights.lock().unwrap().get(user).map_or(0, |f| f.max)
    }

    async fn enter_mutation(self: &Arc<Self>, user: &str) -> FlightGuard {
        let hold = *self.mutation_hold.lock().unwrap();
        // Registered before counting, so a second mutation arriving right after is not missed.
        let company = self.company.notified();
        let mut company = std::pin::pin!(company);
        company.as_mut().enable();
        let now = {
            let mut flights = self.flights.lock().unwrap();
            let flight = flights.entry(user.to_owned()).or_default();
            flight.now += 1;
            flight.max = flight.max.max(flight.now);
            flight.now
        };
        let guard = FlightGuard { shared: self.clone(), user: user.to_owned() };
        if now >= 2 {
            self.company.notify_waiters();
        } else if let Some(hold) = hold {
            let _ = tokio::time::timeout(hold, company).await;
        }
        guard
    }
}

async fn handle(
    Shared(shared): Shared<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let query: Vec<(String, String)> =
        uri.query().map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default();
    let user = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let path = uri.path().to_owned();
    let response = respond(&shared, &method, &path, &query, &headers, user.as_deref(), &body).await;
    shared.log.lock().unwrap().push(Seen { method, path, query, user, status: response.status().as_u16() });
    response
}

async fn respond(
    shared: &Arc<Inner>,
    method: &Method,
    path: &str,
    query: &[(String, String)],
    headers: &HeaderMap,
    user: Option<&str>,
    body: &[u8],
) -> Response {
    let Some(user) = user else {
        return ApiError::new(401, "UNAUTHENTICATED", "Request is missing required authentication credential.")
            .into_response();
    };
    let injected = shared.injected.lock().unwrap().pop_front();
    if let Some((kind, retry_after)) = injected {
        let mut error = match kind {
            Transient::RateLimited => {
                ApiError::new(429, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'Read requests'.")
                    .with_detail(error_info("RATE_LIMIT_EXCEEDED"))
            }
            Transient::Unavailable => ApiError::new(503, "UNAVAILABLE", "The service is currently unavailable."),
        };
        error.retry_after = retry_after;
        return error.into_response();
    }
    let is_batch = method == Method::POST && path == "/v1/people:batchUpdateContacts";
    if is_batch {
        let sent: Option<Value> = serde_json::from_slice(body).ok();
        let size = sent.as_ref().and_then(|b| b.get("contacts")).and_then(Value::as_object).map_or(0, Map::len);
        let nth = {
            let mut sizes = shared.batch_requests.lock().unwrap();
            sizes.push(size);
            sizes.len()
        };
        let delay = shared.batch_delays.lock().unwrap().get(&nth).copied();
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
    }
    let _flight =
        if method != Method::GET && method != Method::HEAD { Some(shared.enter_mutation(user).await) } else { None };
    let body = if body.is_empty() {
        None
    } else {
        let json_type = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !json_type {
            return ApiError::invalid("Request bodies must be sent as application/json.").into_response();
        }
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => Some(map),
            _ => return ApiError::invalid("Invalid JSON payload received.").into_response(),
        }
    };
    let query = Query(query);
    let mut state = shared.state.lock().unwrap();
    match route(&mut state, method, path, &query, body.as_ref()) {
        Ok(value) => json_response(200, &value),
        Err(error) => error.into_response(),
    }
}

struct Query<'a>(&'a [(String, String)]);

impl Query<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    fn all(&self, name: &str) -> Vec<&str> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
    }

    /// The parameters that must stay the same across the pages of one listing.
    fn listing_params(&self) -> String {
        let mut params: Vec<String> =
            self.0.iter().filter(|(k, _)| k != "pageToken").map(|(k, v)| format!("{k}={v}")).collect();
        params.sort();
        params.join("&")
    }
}

/// The id of a resource name `{collection}/{id}` when `rest` is one, with nothing after.
fn resource_id<'a>(rest: &'a str, collection: &str) -> Option<&'a str> {
    let id = rest.strip_prefix(collection)?.strip_prefix('/')?;
    (!id.is_empty() && !id.contains(['/', ':'])).then_some(id)
}

fn route(state: &mut State, method: &Method, path: &str, query: &Query, body: Option<&Map<String, Value>>) -> Handled {
    let not_found = || ApiError::not_found("Requested entity was not found.");
    let rest = path.strip_prefix("/v1/").ok_or_else(not_found)?;
    let body_or_empty = || body.cloned().unwrap_or_default();
    match *method {
        Method::GET if rest == "people/me/connections" => state.list_connections(query),
        Method::GET if rest == "contactGroups" => state.list_groups(query),
        Method::POST if rest == "contactGroups" => state.create_group(&body_or_empty()),
        Method::POST if rest == "people:createContact" => state.create_contact(query, &body_or_empty()),
        Method::POST if rest == "people:batchUpdateContacts" => state.batch_update_contacts(&body_or_empty()),
        Method::PATCH => {
            let id =
                rest.strip_suffix(":updateContact").and_then(|r| resource_id(r, "people")).ok_or_else(not_found)?;
            state.update_contact(&format!("people/{id}"), query, &body_or_empty())
        }
        Method::DELETE => {
            let id =
                rest.strip_suffix(":deleteContact").and_then(|r| resource_id(r, "people")).ok_or_else(not_found)?;
            state.delete_contact(&format!("people/{id}")).map(|()| json!({}))
        }
        Method::GET => {
            if let Some(id) = resource_id(rest, "people") {
                state.get_person(&format!("people/{id}"), query)
            } else if let Some(id) = resource_id(rest, "contactGroups") {
                state.get_group(&format!("contactGroups/{id}"), query)
            } else {
                Err(not_found())
            }
        }
        Method::PUT => {
            let id = resource_id(rest, "contactGroups").ok_or_else(not_found)?;
            state.update_group(&format!("contactGroups/{id}"), &body_or_empty())
        }
        _ => Err(not_found()),
    }
}

/// Parses a field mask; `None` when absent or empty. Unknown paths are a 400.
fn parse_mask(raw: Option<&str>, valid: &[&[&str]], param: &str) -> Result<Option<Vec<String>>, ApiError> {
    let paths: Vec<String> =
        raw.unwrap_or("").split(',').map(str::trim).filter(|p| !p.is_empty()).map(str::to_owned).collect();
    if let Some(bad) = paths.iter().find(|p| !valid.iter().any(|set| set.contains(&p.as_str()))) {
        return Err(ApiError::invalid(format!("Invalid {param} mask path: \"{bad}\".")));
    }
    Ok((!paths.is_empty()).then_some(paths))
}

fn required_mask(raw: Option<&str>, valid: &[&[&str]], param: &str) -> Result<Vec<String>, ApiError> {
    parse_mask(raw, valid, param)?
        .ok_or_else(|| ApiError::invalid(format!("{param} mask is required. Please specify one or more valid paths.")))
}

/// Whether contact data is to be read, given the `sources` values (default: contact and
/// profile).
fn reads_contact_source<'a>(sources: impl IntoIterator<Item = &'a str>) -> Result<bool, ApiError> {
    let sources: Vec<&str> = sources.into_iter().collect();
    if let Some(bad) = sources.iter().find(|s| !READ_SOURCES.contains(s)) {
        return Err(ApiError::invalid(format!("Invalid value at 'sources': \"{bad}\".")));
    }
    Ok(sources.is_empty() || sources.contains(&"READ_SOURCE_TYPE_CONTACT"))
}

fn person_etag(seq: u64) -> String {
    format!("%EgUBAi43PRo{seq:06}")
}

fn source_etag(seq: u64) -> String {
    format!("#src{seq:06}")
}

fn render_person(name: &str, contact: &Contact, mask: Option<&[String]>, contact_source: bool) -> Value {
    let mut out = Map::new();
    out.insert("resourceName".into(), name.into());
    out.insert("etag".into(), person_etag(contact.etag_seq).into());
    let source = json!({"type": "CONTACT", "id": contact.id, "etag": source_etag(contact.etag_seq)});
    if contact.deleted {
        out.insert("metadata".into(), json!({"deleted": true, "sources": [source]}));
        return Value::Object(out);
    }
    if !contact_source {
        return Value::Object(out);
    }
    let wanted = |field: &str| mask.is_none_or(|m| m.iter().any(|f| f == field));
    if wanted("metadata") {
        out.insert("metadata".into(), json!({"sources": [source]}));
    }
    for (field, value) in &contact.data {
        if wanted(field) {
            let mut value = value.clone();
            if field == "names" {
                with_display_names(&mut value);
            }
            out.insert(field.clone(), value);
        }
    }
    Value::Object(out)
}

/// Google derives `displayName` and `displayNameLastFirst` from the parts of a name on every
/// read (they are output only: what a client sends is ignored); English order here.
fn with_display_names(names: &mut Value) {
    for name in names.as_array_mut().into_iter().flatten() {
        let Some(name) = name.as_object_mut() else { continue };
        let part = |key: &str| name.get(key).and_then(Value::as_str).filter(|p| !p.is_empty()).map(str::to_owned);
        let (prefix, given, middle, family, suffix) = (
            part("honorificPrefix"),
            part("givenName"),
            part("middleName"),
            part("familyName"),
            part("honorificSuffix"),
        );
        let join = |parts: &[&Option<String>]| parts.iter().filter_map(|p| p.as_deref()).collect::<Vec<_>>().join(" ");
        let display = join(&[&prefix, &given, &middle, &family, &suffix]);
        if display.is_empty() {
            continue;
        }
        let first = join(&[&prefix, &given, &middle]);
        let last_first = match (&family, first.is_empty()) {
            (Some(family), false) => format!("{family}, {first}"),
            _ => display.clone(),
        };
        name.insert("displayName".into(), display.into());
        name.insert("displayNameLastFirst".into(), last_first.into());
    }
}

/// The values of a field that are contact data: those of the contact source, or of no
/// source named. A person read with its profile and written back carries the profile's
/// values too, tagged with their source; Google ignores them ("only contact data is
/// changed"), and so does this server.
fn contact_values(values: &[Value]) -> Vec<Value> {
    values
        .iter()
        .filter(|value| {
            value.pointer("/metadata/source/type").and_then(Value::as_str).is_none_or(|source| source == "CONTACT")
        })
        .cloned()
        .collect()
}

/// Stores the masked fields of `person` into `data`: arrays of contact values replace,
/// anything absent, `null` or without contact values clears.
fn write_fields(data: &mut Map<String, Value>, person: &Map<String, Value>, fields: &[String]) -> Result<(), ApiError> {
    for field in fields {
        match person.get(field) {
            Some(Value::Array(values)) => {
                let values = contact_values(values);
                if values.is_empty() {
                    data.remove(field);
                } else {
                    data.insert(field.clone(), Value::Array(values));
                }
            }
            None | Some(Value::Null) => {
                data.remove(field);
            }
            Some(_) => return Err(ApiError::invalid(format!("Invalid value at 'person.{field}': expected a list."))),
        }
    }
    Ok(())
}

fn check_singletons(person: &Map<String, Value>, fields: &[String]) -> Result<(), ApiError> {
    for field in SINGLETONS {
        let several = person.get(*field).and_then(Value::as_array).is_some_and(|v| contact_values(v).len() > 1);
        if several && fields.iter().any(|f| f == field) {
            return Err(ApiError::invalid(format!("Only one {field} value is allowed for a contact source.")));
        }
    }
    Ok(())
}

fn has_group_membership(person: &Map<String, Value>) -> bool {
    person
        .get("memberships")
        .and_then(Value::as_array)
        .is_some_and(|ms| ms.iter().any(|m| m.get("contactGroupMembership").is_some_and(Value::is_object)))
}

impl State {
    fn bump(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    pub(crate) fn rival_write(&mut self, name: &str, field: &str, value: Value) {
        let seq = self.bump();
        let contact = self.contacts.get_mut(name).unwrap_or_else(|| panic!("no contact {name}"));
        contact.data.insert(field.into(), value);
        contact.etag_seq = seq;
        contact.changed_seq = seq;
    }

    fn new_token(&mut self, prefix: &str) -> String {
        self.next_token += 1;
        format!("{prefix}{:04}", self.next_token)
    }

    pub(crate) fn queue_rival_write(&mut self, name: &str, field: &str, value: Value) {
        self.rivals_in_waiting.push((name.into(), field.into(), value));
    }

    pub(crate) fn expire_sync_tokens(&mut self) {
        for token in self.sync_tokens.values_mut() {
            token.expired = true;
        }
    }

    pub(crate) fn stored_contact(&self, name: &str) -> Option<Value> {
        self.contacts.get(name).map(|c| render_person(name, c, None, true))
    }

    pub(crate) fn contact_source_etag(&self, name: &str) -> Option<String> {
        self.contacts.get(name).map(|c| source_etag(c.etag_seq))
    }

    pub(crate) fn live_contact_names(&self) -> Vec<String> {
        let mut live: Vec<(&String, &Contact)> = self.contacts.iter().filter(|(_, c)| !c.deleted).collect();
        live.sort_by_key(|(_, c)| c.created_seq);
        live.into_iter().map(|(name, _)| name.clone()).collect()
    }

    pub(crate) fn stored_group(&self, name: &str) -> Option<Value> {
        self.groups.get(name).map(|g| self.render_group(name, g, GROUP_READ_FIELDS))
    }

    /// A contact given by the application (a seed): a `Person` whose `resourceName`, when
    /// present, is kept, and whose group memberships must name existing groups.
    pub(crate) fn add_contact(&mut self, person: &Value) -> Result<String, String> {
        let mut person = person.as_object().ok_or("a contact is a JSON object (a People `Person`)")?.clone();
        let name = match person.get("resourceName") {
            None | Some(Value::Null) => None,
            Some(Value::String(name)) => Some(name.clone()),
            Some(other) => return Err(format!("`resourceName` must be a string, not {other}")),
        };
        let all: Vec<String> = UPDATE_FIELDS.iter().map(|f| f.to_string()).collect();
        check_singletons(&person, &all).map_err(|e| e.message)?;
        if let Some(Value::Array(memberships)) = person.get_mut("memberships") {
            for membership in memberships {
                let Some(group) = membership.get_mut("contactGroupMembership").and_then(Value::as_object_mut) else {
                    continue;
                };
                let resource = group.get("contactGroupResourceName").and_then(Value::as_str).map(str::to_owned);
                let Some(resource) = resource else { continue };
                if !self.groups.contains_key(&resource) {
                    return Err(format!("membership of an unknown group {resource}"));
                }
                let id = resource.trim_start_matches("contactGroups/").to_owned();
                group.entry("contactGroupId").or_insert(Value::String(id));
            }
        }
        self.insert_contact(&person, name.as_deref()).map_err(|e| e.message)
    }

    /// A group given by the application: `name`, and optionally `resourceName` and
    /// `clientData`.
    pub(crate) fn add_group(&mut self, group: &Value) -> Result<String, String> {
        let group = group.as_object().ok_or("a group is a JSON object (a People `ContactGroup`)")?;
        let name = group
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.trim().is_empty())
            .ok_or("a group needs a non-empty `name`")?;
        self.check_unique_group_name(name, None).map_err(|e| e.message)?;
        let resource_name = match group.get("resourceName") {
            None | Some(Value::Null) => None,
            Some(Value::String(resource_name)) => Some(resource_name.as_str()),
            Some(other) => return Err(format!("`resourceName` must be a string, not {other}")),
        };
        let client_data = group.get("clientData").filter(|d| !d.is_null()).cloned();
        self.insert_group(name, client_data, resource_name).map_err(|e| e.message)
    }

    /// A resource name for a new item of `collection`: `explicit` when it is valid and
    /// free, else the next free `{collection}/{prefix}{n}`.
    fn new_resource_name(
        &mut self,
        collection: &str,
        prefix: &str,
        explicit: Option<&str>,
        taken: impl Fn(&Self, &str) -> bool,
    ) -> Result<(String, String), ApiError> {
        if let Some(name) = explicit {
            let id = resource_id(name, collection).ok_or_else(|| {
                ApiError::invalid(format!("Invalid resource name \"{name}\": expected {collection}/ID."))
            })?;
            if taken(self, name) {
                return Err(ApiError::new(409, "ALREADY_EXISTS", format!("{name} already exists.")));
            }
            return Ok((name.to_owned(), id.to_owned()));
        }
        loop {
            self.next_id += 1;
            let id = format!("{prefix}{}", self.next_id);
            let name = format!("{collection}/{id}");
            if !taken(self, &name) {
                return Ok((name, id));
            }
        }
    }

    fn insert_contact(&mut self, person: &Map<String, Value>, explicit: Option<&str>) -> Result<String, ApiError> {
        let mut data = Map::new();
        let fields: Vec<String> = UPDATE_FIELDS.iter().map(|f| f.to_string()).collect();
        write_fields(&mut data, person, &fields)?;
        let (name, id) = self.new_resource_name("people", "c", explicit, |s, n| s.contacts.contains_key(n))?;
        let seq = self.bump();
        if !data.contains_key("memberships") {
            data.insert(
                "memberships".into(),
                json!([{"contactGroupMembership": {"contactGroupId": "myContacts",
                    "contactGroupResourceName": "contactGroups/myContacts"}}]),
            );
        }
        let contact = Contact { id, data, created_seq: seq, etag_seq: seq, changed_seq: seq, deleted: false };
        self.contacts.insert(name.clone(), contact);
        Ok(name)
    }

    fn live_contact(&self, name: &str) -> Result<&Contact, ApiError> {
        self.contacts
            .get(name)
            .filter(|c| !c.deleted)
            .ok_or_else(|| ApiError::not_found(format!("Resource {name} was not found.")))
    }

    fn get_person(&self, name: &str, query: &Query) -> Handled {
        let mask = required_mask(query.get("personFields"), &[UPDATE_FIELDS, READ_ONLY_FIELDS], "personFields")?;
        let contact_source = reads_contact_source(query.all("sources"))?;
        let contact = self.live_contact(name)?;
        Ok(render_person(name, contact, Some(&mask), contact_source))
    }

    fn create_contact(&mut self, query: &Query, person: &Map<String, Value>) -> Handled {
        let mask = parse_mask(query.get("personFields"), &[UPDATE_FIELDS, READ_ONLY_FIELDS], "personFields")?;
        let contact_source = reads_contact_source(query.all("sources"))?;
        let all: Vec<String> = UPDATE_FIELDS.iter().map(|f| f.to_string()).collect();
        check_singletons(person, &all)?;
        let name = self.insert_contact(person, None)?;
        Ok(render_person(&name, &self.contacts[&name], mask.as_deref(), contact_source))
    }

    /// The checks of one contact write, in the order the service makes them.
    fn check_contact_write(&self, name: &str, person: &Map<String, Value>, mask: &[String]) -> Result<(), ApiError> {
        let contact = self.live_contact(name)?;
        let sources = person.get("metadata").and_then(|m| m.get("sources")).and_then(Value::as_array);
        let Some(sources) = sources.filter(|s| !s.is_empty()) else {
            return Err(ApiError::invalid("Request person.metadata.sources must be specified."));
        };
        let Some(contact_source) = sources.iter().find(|s| s.get("type").and_then(Value::as_str) == Some("CONTACT"))
        else {
            return Err(ApiError::invalid("Request person.metadata.sources must contain a source of type CONTACT."));
        };
        let Some(etag) = contact_source.get("etag").and_then(Value::as_str) else {
            return Err(ApiError::invalid("Request person.metadata.sources[].etag must be specified."));
        };
        if etag != source_etag(contact.etag_seq) {
            return Err(ApiError::failed_precondition(
                "Request person.etag is different than the current person.etag. Clear local cache and get the latest person.",
            ));
        }
        if mask.iter().any(|f| f == "memberships") && !has_group_membership(person) {
            return Err(ApiError::invalid("A contact must have at least one contact group membership."));
        }
        check_singletons(person, mask)
    }

    fn write_contact(&mut self, name: &str, person: &Map<String, Value>, mask: &[String]) -> Result<(), ApiError> {
        let seq = self.bump();
        let contact = self.contacts.get_mut(name).expect("checked before");
        write_fields(&mut contact.data, person, mask)?;
        contact.etag_seq = seq;
        contact.changed_seq = seq;
        Ok(())
    }

    fn update_contact(&mut self, name: &str, query: &Query, person: &Map<String, Value>) -> Handled {
        let mask = required_mask(query.get("updatePersonFields"), &[UPDATE_FIELDS], "updatePersonFields")?;
        let read_mask = parse_mask(query.get("personFields"), &[UPDATE_FIELDS, READ_ONLY_FIELDS], "personFields")?;
        let contact_source = reads_contact_source(query.all("sources"))?;
        if let Some(i) = self.rivals_in_waiting.iter().position(|(n, _, _)| n == name) {
            let (_, field, value) = self.rivals_in_waiting.remove(i);
            self.rival_write(name, &field, value);
        }
        self.check_contact_write(name, person, &mask)?;
        self.write_contact(name, person, &mask)?;
        Ok(render_person(name, &self.contacts[name], read_mask.as_deref(), contact_source))
    }

    /// Deletes the contact; `false` when there is none to delete.
    pub(crate) fn rival_delete(&mut self, name: &str) -> bool {
        self.delete_contact(name).is_ok()
    }

    fn delete_contact(&mut self, name: &str) -> Result<(), ApiError> {
        self.live_contact(name)?;
        let seq = self.bump();
        let contact = self.contacts.get_mut(name).expect("checked");
        contact.deleted = true;
        contact.data.clear();
        contact.etag_seq = seq;
        contact.changed_seq = seq;
        Ok(())
    }

    fn batch_update_contacts(&mut self, body: &Map<String, Value>) -> Handled {
        let contacts = body
            .get("contacts")
            .and_then(Value::as_object)
            .filter(|c| !c.is_empty())
            .ok_or_else(|| ApiError::invalid("Request contacts must be specified."))?;
        if contacts.len() > BATCH_LIMIT {
            return Err(ApiError::invalid(format!(
                "Too many contacts in the request: {} given, at most {BATCH_LIMIT} allowed.",
                contacts.len()
            )));
        }
        let mask = required_mask(body.get("updateMask").and_then(Value::as_str), &[UPDATE_FIELDS], "updateMask")?;
        let read_mask =
            parse_mask(body.get("readMask").and_then(Value::as_str), &[UPDATE_FIELDS, READ_ONLY_FIELDS], "readMask")?;
        let sources: Vec<&str> =
            body.get("sources").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
        let contact_source = reads_contact_source(sources)?;

        let mut failures: Vec<(usize, &String, ApiError)> = Vec::new();
        for (index, (name, person)) in contacts.iter().enumerate() {
            let checked = match person.as_object() {
                Some(person) => self.check_contact_write(name, person, &mask),
                None => Err(ApiError::invalid("A contact must be a JSON object.")),
            };
            if let Err(error) = checked {
                failures.push((index, name, error));
            }
        }
        if !failures.is_empty() {
            return Err(batch_failure(self.batch_error_shape, failures));
        }
        for (name, person) in contacts {
            self.write_contact(name, person.as_object().expect("checked"), &mask)?;
        }
        let Some(read_mask) = read_mask else {
            return Ok(json!({}));
        };
        let results: Map<String, Value> = contacts
            .keys()
            .map(|name| {
                let person = render_person(name, &self.contacts[name], Some(&read_mask), contact_source);
                (name.clone(), json!({"person": person, "requestedResourceName": name, "httpStatusCode": 200}))
            })
            .collect();
        Ok(json!({"updateResult": results}))
    }

    /// Starts or continues a listing: the resource names of the page, the token of the next
    /// page or the sync token of this listing, and the total.
    fn page(&mut self, kind: ListKind, query: &Query, default_size: usize) -> Result<Page, ApiError> {
        let size = match query.get("pageSize") {
            None => default_size,
            Some(raw) => match raw.parse::<usize>() {
                Ok(0) => default_size,
                Ok(n) if n <= 1000 => n,
                _ => return Err(ApiError::invalid(format!("Invalid pageSize: {raw}."))),
            },
        };
        let params = query.listing_params();
        let cursor = match query.get("pageToken") {
            Some(token) => {
                let cursor = self
                    .cursors
                    .get(token)
                    .filter(|c| c.kind == kind)
                    .ok_or_else(|| ApiError::invalid("Invalid pageToken."))?;
                if cursor.params != params {
                    return Err(ApiError::invalid(
                        "Parameters provided with a page token must match the call that provided the page token.",
                    ));
                }
                cursor.clone()
            }
            None => {
                let since = match query.get("syncToken") {
                    None => None,
                    Some(token) => {
                        let known = self
                            .sync_tokens
                            .get(token)
                            .filter(|t| t.kind == kind)
                            .ok_or_else(|| ApiError::invalid("Invalid syncToken."))?;
                        if known.expired {
                            return Err(ApiError::failed_precondition(
                                "Sync token is expired. Clear local cache and retry call without the sync token.",
                            )
                            .with_detail(error_info("EXPIRED_SYNC_TOKEN")));
                        }
                        Some(known.seq)
                    }
                };
                Cursor { kind, params, names: self.listing(kind, since, query)?, offset: 0, started_at: self.seq }
            }
        };
        let end = (cursor.offset + size).min(cursor.names.len());
        let page = Page {
            names: cursor.names[cursor.offset..end].to_vec(),
            total: cursor.names.len(),
            next_page_token: None,
            next_sync_token: None,
        };
        let wants_sync_token = kind == ListKind::Groups || query.get("requestSyncToken") == Some("true");
        let mut page = page;
        if end < cursor.names.len() {
            let token = self.new_token("page-");
            self.cursors.insert(token.clone(), Cursor { offset: end, ..cursor });
            page.next_page_token = Some(token);
        } else if wants_sync_token {
            let token = self.new_token("sync-");
            self.sync_tokens.insert(token.clone(), SyncToken { kind, seq: cursor.started_at, expired: false });
            page.next_sync_token = Some(token);
        }
        Ok(page)
    }

    /// The resource names a listing covers, in its order: live ones on a full listing,
    /// everything changed after `since` on an incremental one.
    fn listing(&self, kind: ListKind, since: Option<u64>, query: &Query) -> Result<Vec<String>, ApiError> {
        let include = |changed: u64, deleted: bool| match since {
            None => !deleted,
            Some(seq) => changed > seq,
        };
        match kind {
            ListKind::Connections => {
                let mut found: Vec<(&String, &Contact)> =
                    self.contacts.iter().filter(|(_, c)| include(c.changed_seq, c.deleted)).collect();
                let name_of = |c: &Contact, part: &str| {
                    c.data.get("names").and_then(|n| n[0].get(part)).and_then(Value::as_str).unwrap_or("").to_owned()
                };
                match query.get("sortOrder").unwrap_or("LAST_MODIFIED_ASCENDING") {
                    "LAST_MODIFIED_ASCENDING" => found.sort_by_key(|(_, c)| c.changed_seq),
                    "LAST_MODIFIED_DESCENDING" => found.sort_by_key(|(_, c)| std::cmp::Reverse(c.changed_seq)),
                    "FIRST_NAME_ASCENDING" => found.sort_by_key(|(_, c)| name_of(c, "givenName")),
                    "LAST_NAME_ASCENDING" => found.sort_by_key(|(_, c)| name_of(c, "familyName")),
                    other => return Err(ApiError::invalid(format!("Invalid value at 'sort_order': \"{other}\"."))),
                }
                Ok(found.into_iter().map(|(n, _)| n.clone()).collect())
            }
            ListKind::Groups => {
                Ok(self.groups.iter().filter(|(_, g)| include(g.changed_seq, false)).map(|(n, _)| n.clone()).collect())
            }
        }
    }

    fn list_connections(&mut self, query: &Query) -> Handled {
        let mask = required_mask(query.get("personFields"), &[UPDATE_FIELDS, READ_ONLY_FIELDS], "personFields")?;
        let contact_source = reads_contact_source(query.all("sources"))?;
        let page = self.page(ListKind::Connections, query, 100)?;
        let connections: Vec<Value> =
            page.names.iter().map(|n| render_person(n, &self.contacts[n], Some(&mask), contact_source)).collect();
        let mut out = json!({"connections": connections, "totalItems": page.total, "totalPeople": page.total});
        page.add_tokens(&mut out);
        Ok(out)
    }

    fn list_groups(&mut self, query: &Query) -> Handled {
        let fields = parse_mask(query.get("groupFields"), &[GROUP_READ_FIELDS], "groupFields")?;
        let fields: Vec<&str> = match &fields {
            Some(f) => f.iter().map(String::as_str).collect(),
            None => vec!["metadata", "groupType", "memberCount", "name"],
        };
        let page = self.page(ListKind::Groups, query, 30)?;
        let groups: Vec<Value> = page.names.iter().map(|n| self.render_group(n, &self.groups[n], &fields)).collect();
        let mut out = json!({"contactGroups": groups, "totalItems": page.total});
        page.add_tokens(&mut out);
        Ok(out)
    }

    fn insert_group(
        &mut self,
        name: &str,
        client_data: Option<Value>,
        explicit: Option<&str>,
    ) -> Result<String, ApiError> {
        let (resource_name, _) =
            self.new_resource_name("contactGroups", "g", explicit, |s, n| s.groups.contains_key(n))?;
        let seq = self.bump();
        self.groups.insert(
            resource_name.clone(),
            Group { name: name.into(), client_data, system: false, etag_seq: seq, changed_seq: seq },
        );
        Ok(resource_name)
    }

    fn group_etag(seq: u64) -> String {
        format!("g-etag-{seq:06}")
    }

    fn render_group(&self, resource_name: &str, group: &Group, fields: &[&str]) -> Value {
        let mut out = Map::new();
        out.insert("resourceName".into(), resource_name.into());
        out.insert("etag".into(), Self::group_etag(group.etag_seq).into());
        for field in fields {
            match *field {
                "name" => {
                    out.insert("name".into(), group.name.clone().into());
                    out.insert("formattedName".into(), group.name.clone().into());
                }
                "groupType" => {
                    let kind = if group.system { "SYSTEM_CONTACT_GROUP" } else { "USER_CONTACT_GROUP" };
                    out.insert("groupType".into(), kind.into());
                }
                "metadata" => {
                    out.insert("metadata".into(), json!({"updateTime": "2025-11-17T09:21:44Z"}));
                }
                "memberCount" => {
                    out.insert("memberCount".into(), self.members_of(resource_name).len().into());
                }
                "clientData" => {
                    if let Some(data) = &group.client_data {
                        out.insert("clientData".into(), data.clone());
                    }
                }
                _ => {}
            }
        }
        Value::Object(out)
    }

    fn members_of(&self, group: &str) -> Vec<String> {
        self.contacts
            .iter()
            .filter(|(_, c)| !c.deleted)
            .filter(|(_, c)| {
                c.data.get("memberships").and_then(Value::as_array).into_iter().flatten().any(|m| {
                    m.pointer("/contactGroupMembership/contactGroupResourceName").and_then(Value::as_str) == Some(group)
                })
            })
            .map(|(n, _)| n.clone())
            .collect()
    }

    fn get_group(&self, name: &str, query: &Query) -> Handled {
        let group =
            self.groups.get(name).ok_or_else(|| ApiError::not_found(format!("Resource {name} was not found.")))?;
        let fields = parse_mask(query.get("groupFields"), &[GROUP_READ_FIELDS], "groupFields")?;
        let fields: Vec<&str> = match &fields {
            Some(f) => f.iter().map(String::as_str).collect(),
            None => vec!["metadata", "groupType", "memberCount", "name"],
        };
        let mut out = self.render_group(name, group, &fields);
        let max_members: usize = query.get("maxMembers").and_then(|m| m.parse().ok()).unwrap_or(0);
        let members: Vec<String> = self.members_of(name).into_iter().take(max_members).collect();
        if !members.is_empty() {
            out["memberResourceNames"] = json!(members);
        }
        Ok(out)
    }

    fn check_unique_group_name(&self, name: &str, except: Option<&str>) -> Result<(), ApiError> {
        let taken = self.groups.iter().any(|(resource, g)| Some(resource.as_str()) != except && g.name == name);
        if taken {
            return Err(ApiError::new(409, "ALREADY_EXISTS", format!("Contact group name \"{name}\" already exists.")));
        }
        Ok(())
    }

    fn read_group_fields(body: &Map<String, Value>) -> Result<Vec<String>, ApiError> {
        let fields =
            parse_mask(body.get("readGroupFields").and_then(Value::as_str), &[GROUP_READ_FIELDS], "readGroupFields")?;
        Ok(fields.unwrap_or_else(|| ["metadata", "groupType", "name"].map(String::from).to_vec()))
    }

    fn create_group(&mut self, body: &Map<String, Value>) -> Handled {
        let read_fields = Self::read_group_fields(body)?;
        let group = body.get("contactGroup").and_then(Value::as_object);
        let name = group
            .and_then(|g| g.get("name"))
            .and_then(Value::as_str)
            .filter(|n| !n.trim().is_empty())
            .ok_or_else(|| ApiError::invalid("Request contactGroup.name must be specified."))?;
        self.check_unique_group_name(name, None)?;
        let client_data = group.and_then(|g| g.get("clientData")).filter(|d| !d.is_null()).cloned();
        let resource_name = self.insert_group(name, client_data, None)?;
        let fields: Vec<&str> = read_fields.iter().map(String::as_str).collect();
        Ok(self.render_group(&resource_name, &self.groups[&resource_name], &fields))
    }

    fn update_group(&mut self, resource_name: &str, body: &Map<String, Value>) -> Handled {
        let update_fields = parse_mask(
            body.get("updateGroupFields").and_then(Value::as_str),
            &[GROUP_UPDATE_FIELDS],
            "updateGroupFields",
        )?
        .unwrap_or_else(|| vec!["name".into()]);
        let read_fields = Self::read_group_fields(body)?;
        let requested = body
            .get("contactGroup")
            .and_then(Value::as_object)
            .ok_or_else(|| ApiError::invalid("Request contactGroup must be specified."))?;
        let current = self
            .groups
            .get(resource_name)
            .ok_or_else(|| ApiError::not_found(format!("Resource {resource_name} was not found.")))?;
        if requested.get("resourceName").and_then(Value::as_str).is_some_and(|n| n != resource_name) {
            return Err(ApiError::invalid("Request contactGroup.resourceName does not match the URL."));
        }
        if current.system {
            return Err(ApiError::invalid("System contact groups cannot be modified."));
        }
        if let Some(etag) = requested.get("etag").and_then(Value::as_str) {
            if etag != Self::group_etag(current.etag_seq) {
                return Err(ApiError::failed_precondition(
                    "Request contact group etag is different than the current etag. Get the latest contact group.",
                ));
            }
        }
        let new_name = if update_fields.iter().any(|f| f == "name") {
            let name = requested
                .get("name")
                .and_then(Value::as_str)
                .filter(|n| !n.trim().is_empty())
                .ok_or_else(|| ApiError::invalid("Request contactGroup.name must be specified."))?;
            self.check_unique_group_name(name, Some(resource_name))?;
            Some(name.to_owned())
        } else {
            None
        };
        let seq = self.bump();
        let group = self.groups.get_mut(resource_name).expect("checked");
        if let Some(name) = new_name {
            group.name = name;
        }
        if update_fields.iter().any(|f| f == "clientData") {
            group.client_data = requested.get("clientData").filter(|d| !d.is_null()).cloned();
        }
        group.etag_seq = seq;
        group.changed_seq = seq;
        let fields: Vec<&str> = read_fields.iter().map(String::as_str).collect();
        Ok(self.render_group(resource_name, &self.groups[resource_name], &fields))
    }
}

struct Page {
    names: Vec<String>,
    total: usize,
    next_page_token: Option<String>,
    next_sync_token: Option<String>,
}

impl Page {
    fn add_tokens(&self, out: &mut Value) {
        if let Some(token) = &self.next_page_token {
            out["nextPageToken"] = token.clone().into();
        }
        if let Some(token) = &self.next_sync_token {
            out["nextSyncToken"] = token.clone().into();
        }
    }
}
