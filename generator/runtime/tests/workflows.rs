//! The workflow helpers against in-memory fakes: no HTTP, every failure chosen by the test.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use discovery_runtime::workflows::{
    is_concurrent_modification, item_errors, item_errors_from_details, BatchWriter, ItemError, ItemOutcome,
    ReadModifyWrite, ReadModifyWriteError,
};
use discovery_runtime::{Error, Result, ServiceError};
use serde_json::{json, Value};

fn service_error(body: serde_json::Value) -> Error {
    let status = body["error"]["code"].as_u64().unwrap() as u16;
    ServiceError::from_response(status, &Default::default(), body.to_string().as_bytes()).into()
}

fn stale_etag() -> Error {
    service_error(json!({"error": {"code": 400, "message": "etag mismatch", "status": "FAILED_PRECONDITION",
        "errors": [{"message": "etag mismatch", "domain": "global", "reason": "failedPrecondition"}]}}))
}

fn invalid_argument() -> Error {
    service_error(json!({"error": {"code": 400, "message": "two names", "status": "INVALID_ARGUMENT"}}))
}

fn already_exists() -> Error {
    service_error(json!({"error": {"code": 409, "message": "duplicate name", "status": "ALREADY_EXISTS"}}))
}

fn aborted() -> Error {
    service_error(json!({"error": {"code": 409, "message": "concurrent write", "status": "ABORTED"}}))
}

/// A document with an etag, and a rival writer that changes it between our read and our
/// write a chosen number of times.
#[derive(Clone, Debug, PartialEq)]
struct Doc {
    etag: u32,
    title: String,
    tags: Vec<String>,
}

struct Store {
    doc: Mutex<Doc>,
    rival_writes_left: Mutex<u32>,
    reads: Mutex<u32>,
    writes: Mutex<Vec<Doc>>,
}

impl Store {
    fn new(rival_writes: u32) -> Self {
        Store {
            doc: Mutex::new(Doc { etag: 1, title: "draft".into(), tags: vec![] }),
            rival_writes_left: Mutex::new(rival_writes),
            reads: Mutex::new(0),
            writes: Mutex::new(Vec::new()),
        }
    }

    async fn read(&self) -> Result<Doc> {
        *self.reads.lock().unwrap() += 1;
        Ok(self.doc.lock().unwrap().clone())
    }

    /// Writes `doc` if its etag is current; the rival gets in first while it has writes left.
    async fn write(&self, doc: Doc) -> Result<Doc> {
        self.writes.lock().unwrap().push(doc.clone());
        let mut current = self.doc.lock().unwrap();
        let mut rival = self.rival_writes_left.lock().unwrap();
        if *rival > 0 {
            *rival -= 1;
            current.etag += 1;
            let tag = format!("rival{}", current.etag);
            current.tags.push(tag);
        }
        if doc.etag != current.etag {
            return Err(stale_etag());
        }
        *current = Doc { etag: current.etag + 1, ..doc };
        Ok(current.clone())
    }
}

fn set_title(doc: &mut Doc) {
    doc.title = "final".into();
}

#[tokio::test]
async fn read_modify_write_without_contention_reads_and_writes_once() {
    let store = Store::new(0);
    let written = ReadModifyWrite::new().run(|| store.read(), set_title, |d| store.write(d)).await.unwrap();
    assert_eq!(written, Doc { etag: 2, title: "final".into(), tags: vec![] });
    assert_eq!(*store.reads.lock().unwrap(), 1);
    assert_eq!(store.writes.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn read_modify_write_merges_the_change_into_the_rivals_version() {
    let store = Store::new(2);
    let written = ReadModifyWrite::new().run(|| store.read(), set_title, |d| store.write(d)).await.unwrap();
    // Both rival changes survive and ours is on top: the change was reapplied to fresh reads.
    assert_eq!(written.title, "final");
    assert_eq!(written.tags, ["rival2", "rival3"]);
    assert_eq!(*store.reads.lock().unwrap(), 3);
    let writes = store.writes.lock().unwrap();
    assert_eq!(writes.iter().map(|d| d.etag).collect::<Vec<_>>(), [1, 2, 3], "each write carries the etag just read");
}

#[tokio::test]
async fn read_modify_write_gives_up_after_max_attempts_and_hands_back_the_change() {
    let store = Store::new(u32::MAX);
    let err =
        ReadModifyWrite::new().max_attempts(3).run(|| store.read(), set_title, |d| store.write(d)).await.unwrap_err();
    assert!(err.is_conflict(), "{err}");
    assert_eq!(err.attempts(), 3);
    assert!(err.error().is_failed_precondition());
    assert_eq!(store.writes.lock().unwrap().len(), 3);
    let unwritten = err.into_unwritten().expect("the changed value comes back");
    assert_eq!(unwritten.title, "final");
    assert_eq!(store.doc.lock().unwrap().title, "draft", "nothing of ours was written");
}

#[tokio::test]
async fn read_modify_write_stops_at_errors_that_are_not_conflicts() {
    for error in [invalid_argument, already_exists] {
        let writes = Mutex::new(0);
        let result: std::result::Result<Doc, _> = ReadModifyWrite::new()
            .run(
                || async { Ok(Doc { etag: 1, title: "draft".into(), tags: vec![] }) },
                set_title,
                |_| {
                    *writes.lock().unwrap() += 1;
                    async move { Err(error()) }
                },
            )
            .await;
        let err = result.unwrap_err();
        assert!(matches!(err, ReadModifyWriteError::Write { attempts: 1, .. }), "{err:?}");
        assert_eq!(err.unwritten().unwrap().title, "final");
        assert_eq!(*writes.lock().unwrap(), 1);
    }
}

#[tokio::test]
async fn read_modify_write_conflict_test_is_configurable() {
    let writes = Mutex::new(0);
    let run = |policy: ReadModifyWrite| {
        *writes.lock().unwrap() = 0;
        let writes = &writes;
        async move {
            policy
                .max_attempts(4)
                .run(
                    || async { Ok(0u32) },
                    |_| {},
                    |_| {
                        *writes.lock().unwrap() += 1;
                        async { Err::<(), _>(invalid_argument()) }
                    },
                )
                .await
        }
    };
    assert!(!run(ReadModifyWrite::new()).await.unwrap_err().is_conflict());
    assert_eq!(*writes.lock().unwrap(), 1);
    let err = run(ReadModifyWrite::new().retry_if(|e| e.http_status() == Some(400))).await.unwrap_err();
    assert!(err.is_conflict());
    assert_eq!(*writes.lock().unwrap(), 4);
}

#[tokio::test]
async fn read_failure_after_a_conflict_keeps_the_unwritten_value() {
    let reads = Mutex::new(0);
    let err = ReadModifyWrite::new()
        .run(
            || {
                *reads.lock().unwrap() += 1;
                let first = *reads.lock().unwrap() == 1;
                async move {
                    if first {
                        Ok(Doc { etag: 1, title: "draft".into(), tags: vec![] })
                    } else {
                        Err(Error::Timeout)
                    }
                }
            },
            set_title,
            |_| async { Err::<Doc, _>(stale_etag()) },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ReadModifyWriteError::Read { attempts: 2, .. }), "{err:?}");
    assert!(err.error().is_timeout());
    assert_eq!(err.into_unwritten().unwrap().title, "final");
}

#[test]
fn concurrent_modification_covers_stale_etags_and_aborts_but_not_duplicates() {
    assert!(is_concurrent_modification(&stale_etag()));
    assert!(is_concurrent_modification(&aborted()));
    assert!(is_concurrent_modification(&service_error(
        json!({"error": {"code": 412, "message": "precondition failed"}})
    )));
    assert!(!is_concurrent_modification(&already_exists()));
    assert!(!is_concurrent_modification(&invalid_argument()));
    assert!(!is_concurrent_modification(&Error::Timeout));
}

/// How a failed batch names its invalid items: the shapes `item_errors` recognises, and
/// none at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// `{"contactErrors": {"people/c1": status}}`
    KeyedMap,
    /// `{"errors": [{"resourceName": "people/c1", "status": status}]}`
    ListByName,
    /// `{"failures": [{"contactIndex": 3, "code": 9, "message": ...}]}`, the index into the
    /// request's keys
    ListByIndex,
    /// `google.rpc.BadRequest` with `contacts[people/c1].etag`
    FieldViolations,
    /// `google.rpc.BadRequest` with `contacts[3]`
    FieldViolationsByIndex,
    /// legacy `errors[].location` = `contacts["people/c1"]`
    LegacyLocation,
    /// Only a message: the writer has to isolate the items itself.
    Unnamed,
}

const SHAPES: [Shape; 7] = [
    Shape::KeyedMap,
    Shape::ListByName,
    Shape::ListByIndex,
    Shape::FieldViolations,
    Shape::FieldViolationsByIndex,
    Shape::LegacyLocation,
    Shape::Unnamed,
];

/// A batch endpoint that validates the whole request first, as Google's do: any invalid item
/// fails the request with per-item details (in the configured shape) and nothing of it is
/// written.
struct BatchService {
    limit: usize,
    invalid: BTreeSet<String>,
    written: Mutex<BTreeSet<String>>,
    requests: Mutex<Vec<Vec<String>>>,
    /// Request numbers (from 1) that fail with a timeout before anything is written.
    time_out_on: BTreeSet<usize>,
    shape: Shape,
}

impl BatchService {
    fn new(limit: usize, invalid: &[&str]) -> Self {
        BatchService {
            limit,
            invalid: invalid.iter().map(|s| s.to_string()).collect(),
            written: Mutex::default(),
            requests: Mutex::default(),
            time_out_on: BTreeSet::new(),
            shape: Shape::KeyedMap,
        }
    }

    fn with_shape(limit: usize, invalid: &[&str], shape: Shape) -> Self {
        BatchService { shape, ..BatchService::new(limit, invalid) }
    }

    fn send(&self, chunk: &[(String, u32)]) -> impl std::future::Future<Output = Result<usize>> + 'static {
        let keys: Vec<String> = chunk.iter().map(|(k, _)| k.clone()).collect();
        let result = self.handle(keys);
        async move { result }
    }

    fn handle(&self, keys: Vec<String>) -> Result<usize> {
        let number = {
            let mut requests = self.requests.lock().unwrap();
            requests.push(keys.clone());
            requests.len()
        };
        if keys.len() > self.limit {
            return Err(invalid_argument());
        }
        if self.time_out_on.contains(&number) {
            return Err(Error::Timeout);
        }
        let bad: Vec<(usize, &String)> = keys.iter().enumerate().filter(|(_, k)| self.invalid.contains(*k)).collect();
        if !bad.is_empty() {
            let status =
                |k: &str| json!({"code": 9, "message": format!("{k} is stale"), "status": "FAILED_PRECONDITION"});
            let (details, errors) = match self.shape {
                Shape::KeyedMap => {
                    let map: serde_json::Map<_, _> = bad.iter().map(|(_, k)| ((*k).clone(), status(k))).collect();
                    (
                        json!([{"@type": "type.googleapis.com/google.people.v1.BatchUpdateContactsErrorDetails", "contactErrors": map}]),
                        json!([]),
                    )
                }
                Shape::ListByName => {
                    let list: Vec<_> =
                        bad.iter().map(|(_, k)| json!({"resourceName": k, "status": status(k)})).collect();
                    (
                        json!([{"@type": "type.googleapis.com/google.people.v1.BatchUpdateContactsErrorDetails", "errors": list}]),
                        json!([]),
                    )
                }
                Shape::ListByIndex => {
                    let list: Vec<_> = bad
                        .iter()
                        .map(|(i, k)| json!({"contactIndex": i, "code": 9, "message": format!("{k} is stale")}))
                        .collect();
                    (
                        json!([{"@type": "type.googleapis.com/google.people.v1.BatchUpdateContactsErrorDetails", "failures": list}]),
                        json!([]),
                    )
                }
                Shape::FieldViolations | Shape::FieldViolationsByIndex => {
                    let list: Vec<_> = bad
                        .iter()
                        .map(|(i, k)| {
                            let field = if self.shape == Shape::FieldViolations {
                                format!("contacts[{k}].etag")
                            } else {
                                format!("contacts[{i}]")
                            };
                            json!({"field": field, "description": format!("{k} is stale")})
                        })
                        .collect();
                    (
                        json!([{"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": list}]),
                        json!([]),
                    )
                }
                Shape::LegacyLocation => {
                    let list: Vec<_> = bad
                        .iter()
                        .map(|(_, k)| json!({"message": format!("{k} is stale"), "reason": "failedPrecondition", "location": format!("contacts[\"{k}\"]"), "locationType": "other"}))
                        .collect();
                    (json!([]), json!(list))
                }
                Shape::Unnamed => (json!([]), json!([])),
            };
            let message = match self.shape {
                Shape::Unnamed => format!("{} is stale", bad[0].1),
                _ => "invalid items".to_owned(),
            };
            return Err(service_error(json!({"error": {"code": 400, "message": message,
                "status": "FAILED_PRECONDITION", "details": details, "errors": errors}})));
        }
        self.written.lock().unwrap().extend(keys.iter().cloned());
        Ok(keys.len())
    }
}

fn items(n: usize) -> Vec<(String, u32)> {
    (0..n).map(|i| (format!("people/c{i:03}"), i as u32)).collect()
}

fn contact_errors(e: &Error, keys: &[String]) -> BTreeMap<String, ItemError> {
    item_errors(e, keys)
}

#[tokio::test]
async fn batch_is_split_into_requests_of_at_most_the_limit_in_order() {
    let service = BatchService::new(200, &[]);
    let report = BatchWriter::new(200).run(items(450), |c| service.send(c), contact_errors).await;
    let sizes: Vec<usize> = service.requests.lock().unwrap().iter().map(Vec::len).collect();
    assert_eq!(sizes, [200, 200, 50]);
    assert_eq!(report.responses, [200, 200, 50]);
    assert_eq!(report.requests_sent, 3);
    assert_eq!(report.outcomes.len(), 450);
    assert!(report.all_written());
    let sent: Vec<String> = service.requests.lock().unwrap().concat();
    assert_eq!(sent, items(450).into_iter().map(|(k, _)| k).collect::<Vec<_>>());
}

#[tokio::test]
async fn rejected_items_are_reported_and_the_rest_of_their_request_is_resent() {
    let bad = ["people/c007", "people/c150", "people/c420"];
    let service = BatchService::new(200, &bad);
    let report = BatchWriter::new(200).run(items(450), |c| service.send(c), contact_errors).await;

    assert_eq!(report.written().count(), 447);
    let rejected: Vec<(&String, &ItemError)> = report.rejected().collect();
    assert_eq!(rejected.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), bad);
    assert_eq!(rejected[0].1.status.as_deref(), Some("FAILED_PRECONDITION"));
    assert_eq!(rejected[0].1.message, "people/c007 is stale");
    assert_eq!(service.written.lock().unwrap().len(), 447);
    assert!(bad.iter().all(|b| !service.written.lock().unwrap().contains(*b)));
    // 200 (2 rejected) + 198, 200 + 0, 50 (1 rejected) + 49.
    let sizes: Vec<usize> = service.requests.lock().unwrap().iter().map(Vec::len).collect();
    assert_eq!(sizes, [200, 198, 200, 50, 49]);
    assert_eq!(report.requests_sent, 5);
}

#[tokio::test]
async fn a_request_failing_as_a_whole_stops_the_run_and_later_items_are_not_sent() {
    let mut service = BatchService::new(100, &["people/c010"]);
    // Request 1 is rejected for c010, request 2 resends it, request 3 (the second chunk) times out.
    service.time_out_on.insert(3);
    let report = BatchWriter::new(100).run(items(450), |c| service.send(c), contact_errors).await;

    assert_eq!(report.outcomes.len(), 450, "every key is accounted for");
    assert_eq!(report.written().count(), 99);
    assert_eq!(report.rejected().count(), 1);
    let failed: Vec<&String> = report
        .failed()
        .map(|(k, e)| {
            assert!(e.is_timeout());
            k
        })
        .collect();
    assert_eq!(failed.len(), 100);
    assert_eq!(failed[0], "people/c100");
    assert_eq!(report.not_sent().count(), 250);
    assert!(matches!(report.outcome(&"people/c449".to_string()), Some(ItemOutcome::NotSent)));
    assert_eq!(service.requests.lock().unwrap().len(), 3, "nothing is sent after the failure");
}

#[tokio::test]
async fn resends_are_bounded() {
    // Every request rejects its first item, so each resend makes progress but never finishes.
    let requests = Mutex::new(0);
    let report = BatchWriter::new(10)
        .max_resends(2)
        .run(
            items(10),
            |chunk: &[(String, u32)]| {
                *requests.lock().unwrap() += 1;
                let first = chunk[0].0.clone();
                async move {
                    Err::<(), _>(service_error(json!({"error": {"code": 400, "message": "bad", "status": "INVALID_ARGUMENT",
                        "details": [{"@type": "x.BatchErrorDetails", "contactErrors": {first: {"code": 3, "message": "bad"}}}]}})))
                }
            },
            contact_errors,
        )
        .await;
    assert_eq!(*requests.lock().unwrap(), 3);
    assert_eq!(report.rejected().count(), 3);
    assert_eq!(report.failed().count(), 7);
    assert_eq!(report.outcomes.len(), 10);
}

#[tokio::test]
async fn nothing_to_write_sends_nothing() {
    let report = BatchWriter::new(5)
        .run(Vec::<(String, u32)>::new(), |_: &[(String, u32)]| async { Ok(()) }, contact_errors)
        .await;
    assert_eq!(report.requests_sent, 0);
    assert!(report.outcomes.is_empty());
}

#[test]
fn item_errors_are_read_from_status_maps_in_details() {
    let error = service_error(json!({"error": {"code": 400, "message": "invalid", "status": "INVALID_ARGUMENT",
        "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "BATCH", "domain": "d"},
            {"@type": "type.googleapis.com/google.people.v1.BatchUpdateContactsErrorDetails",
             "contactErrors": {
                "people/c1": {"code": 9, "message": "stale etag",
                    "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "ETAG_MISMATCH"}]},
                "people/c2": {"code": "5", "status": "NOT_FOUND", "message": "gone"}}}]}}));
    let errors = item_errors_from_details(&error, "contactErrors");
    assert_eq!(errors.len(), 2);
    let c1 = &errors["people/c1"];
    assert_eq!(
        (c1.code, c1.status.as_deref(), c1.reason.as_deref()),
        (Some(9), Some("FAILED_PRECONDITION"), Some("ETAG_MISMATCH"))
    );
    assert_eq!(c1.to_string(), "FAILED_PRECONDITION: stale etag (reason: ETAG_MISMATCH)");
    assert_eq!(errors["people/c2"].code, Some(5));
    assert!(item_errors_from_details(&error, "otherErrors").is_empty());
    assert!(item_errors_from_details(&invalid_argument(), "contactErrors").is_empty());
    assert!(item_errors_from_details(&Error::Timeout, "contactErrors").is_empty());
}

/// The writer accounts for every key whatever shape the failure takes: named items are
/// rejected with their reason and the others written, and when nothing is named the refused
/// items are isolated by splitting requests.
#[tokio::test]
async fn every_failure_shape_ends_with_the_valid_items_written_and_each_refused_one_reported() {
    let bad = ["people/c007", "people/c150", "people/c420"];
    for shape in SHAPES {
        let service = BatchService::with_shape(200, &bad, shape);
        let report = BatchWriter::new(200).run(items(450), |c| service.send(c), item_errors).await;
        assert_eq!(report.outcomes.len(), 450, "{shape:?}");
        assert_eq!(report.written().count(), 447, "{shape:?}");
        let rejected: Vec<(&String, &ItemError)> = report.rejected().collect();
        assert_eq!(rejected.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), bad, "{shape:?}");
        for (key, error) in rejected {
            assert_eq!(error.message, format!("{key} is stale"), "{shape:?}: the service's message");
        }
        let written = service.written.lock().unwrap();
        assert_eq!(written.len(), 447, "{shape:?}");
        assert!(bad.iter().all(|b| !written.contains(*b)), "{shape:?}");
        let isolation = report.isolation_requests;
        if shape == Shape::Unnamed {
            assert!(isolation > 0 && report.requests_sent <= 50, "{shape:?}: {} requests", report.requests_sent);
        } else {
            assert_eq!(isolation, 0, "{shape:?}");
            assert_eq!(report.requests_sent, 5, "{shape:?}");
        }
    }
}

/// 3 refused items among 450, named nowhere: at most 50 requests wherever they fall.
#[tokio::test]
async fn isolating_three_unnamed_refusals_among_450_takes_at_most_50_requests_wherever_they_are() {
    let mut placements: Vec<[usize; 3]> = vec![
        [0, 1, 2],
        [197, 198, 199],
        [0, 100, 199],
        [50, 150, 199],
        [99, 100, 101],
        [10, 250, 440],
        [0, 200, 400],
        [199, 200, 449],
        [447, 448, 449],
        [3, 77, 449],
    ];
    // And a spread of pseudo-random ones.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..300 {
        let mut pick = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % 450) as usize
        };
        let mut three = [pick(), pick(), pick()];
        three.sort_unstable();
        if three[0] != three[1] && three[1] != three[2] {
            placements.push(three);
        }
    }
    let mut most = 0;
    for placement in &placements {
        let bad: Vec<String> = placement.iter().map(|i| format!("people/c{i:03}")).collect();
        let bad_refs: Vec<&str> = bad.iter().map(String::as_str).collect();
        let service = BatchService::with_shape(200, &bad_refs, Shape::Unnamed);
        let report = BatchWriter::new(200).run(items(450), |c| service.send(c), item_errors).await;
        assert_eq!(report.written().count(), 447, "{placement:?}");
        assert_eq!(report.rejected().map(|(k, _)| k.clone()).collect::<Vec<_>>(), bad, "{placement:?}");
        assert_eq!(report.requests_sent, service.requests.lock().unwrap().len());
        most = most.max(report.requests_sent);
    }
    eprintln!("{} placements, at worst {most} requests", placements.len());
    assert!(most <= 50, "{most} requests at worst");
}

/// A request refused whatever its items (a bad field mask): splitting cannot find a culprit;
/// the spending is bounded and every item fails with the service's error.
#[tokio::test]
async fn a_refusal_that_is_not_about_the_items_costs_a_bounded_number_of_requests() {
    let requests = Mutex::new(0usize);
    let report = BatchWriter::new(200)
        .run(
            items(200),
            |_: &[(String, u32)]| {
                *requests.lock().unwrap() += 1;
                async { Err::<(), _>(invalid_argument()) }
            },
            item_errors,
        )
        .await;
    assert_eq!(report.outcomes.len(), 200);
    assert_eq!(report.written().count(), 0);
    // The default budget for 200 items: 8 * ceil(log2(200)) = 64.
    assert_eq!(report.isolation_requests, 64);
    assert_eq!(*requests.lock().unwrap(), 65);
    assert!(report.outcomes.values().all(|o| matches!(o, ItemOutcome::Rejected(_) | ItemOutcome::Failed(_))));
}

#[test]
fn item_keys_are_found_in_field_paths_only_where_they_stand_alone() {
    let keys: Vec<String> = ["people/c1", "people/c12"].iter().map(|s| s.to_string()).collect();
    let error = |field: &str| {
        service_error(json!({"error": {"code": 400, "message": "bad", "status": "INVALID_ARGUMENT",
            "details": [{"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [{"field": field, "description": "no"}]}]}}))
    };
    let found = |field: &str| item_errors(&error(field), &keys).into_keys().collect::<Vec<_>>();
    assert_eq!(found("contacts[people/c12].names"), ["people/c12"]);
    assert_eq!(found("contacts['people/c1']"), ["people/c1"]);
    assert_eq!(found("contacts[1]"), ["people/c12"]);
    assert_eq!(found("contacts.people/c1.names"), ["people/c1"]);
    assert_eq!(found("contacts[7]"), Vec::<String>::new(), "no such index");
    assert_eq!(found("updateMask"), Vec::<String>::new());
}

/// An error may list every item of the batch, the good ones with an OK status (`{"code": 0}`,
/// `{"status": "OK"}`, or `{}`, proto3's zero): only the others were refused.
#[test]
fn items_an_error_lists_as_ok_are_not_refused() {
    let keys: Vec<String> =
        ["people/c1", "people/c2", "people/c3", "people/c4"].iter().map(|s| s.to_string()).collect();
    let detail = |statuses: Value| {
        service_error(json!({"error": {"code": 400, "message": "bad", "status": "INVALID_ARGUMENT",
            "details": [{"@type": "type.googleapis.com/google.people.v1.BatchUpdateContactsErrorDetails",
                "contactErrors": statuses}]}}))
    };
    let as_map = detail(json!({
        "people/c1": {"code": 0}, "people/c2": {}, "people/c3": {"code": 9, "message": "stale etag"},
        "people/c4": {"status": "OK"}}));
    assert_eq!(item_errors(&as_map, &keys).into_keys().collect::<Vec<_>>(), ["people/c3"]);
    let as_list = detail(json!([
        {"resourceName": "people/c1", "status": {"code": 0}},
        {"resourceName": "people/c2", "status": {}},
        {"resourceName": "people/c3", "status": {"code": 9, "message": "stale etag"}},
        {"resourceName": "people/c4", "status": {"message": "no contact source"}}]));
    assert_eq!(item_errors(&as_list, &keys).into_keys().collect::<Vec<_>>(), ["people/c3", "people/c4"]);
}

/// A key given twice would have one change dropped (one request holds one value per key) or
/// reported under the other's outcome: neither is sent, and the key is reported refused.
#[tokio::test]
async fn a_key_given_twice_is_reported_and_neither_value_is_sent() {
    let sent: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = sent.clone();
    let items = vec![("people/c1".to_owned(), 1u32), ("people/c2".to_owned(), 2), ("people/c1".to_owned(), 3)];
    for chunk_size in [200, 1] {
        log.lock().unwrap().clear();
        let report = BatchWriter::new(chunk_size)
            .run(
                items.clone(),
                |chunk: &[(String, u32)]| {
                    log.lock().unwrap().extend(chunk.iter().map(|(k, _)| k.clone()));
                    async { Ok::<(), Error>(()) }
                },
                item_errors,
            )
            .await;
        assert_eq!(*sent.lock().unwrap(), ["people/c2"], "chunks of {chunk_size}");
        assert!(report.outcomes["people/c2"].is_written());
        let ItemOutcome::Rejected(why) = &report.outcomes["people/c1"] else { panic!("{:?}", report.outcomes) };
        assert!(why.message.contains("more than once"), "{why}");
    }
}

/// A refusal about the request as a whole (too many items) is not blamed on an item: every
/// item is sent alone before it is called refused, and here each half gets written.
#[tokio::test]
async fn a_refusal_of_the_whole_request_blames_no_item_that_was_not_refused_alone() {
    let service = BatchService::with_shape(100, &[], Shape::Unnamed);
    let report = BatchWriter::new(200).run(items(200), |c| service.send(c), item_errors).await;
    assert_eq!(report.written().count(), 200, "{:?}", report.rejected().collect::<Vec<_>>());
    assert_eq!(report.rejected().count(), 0);
    // The inference "the first half was written, so the second holds a culprit" is wrong
    // here; it costs a split per level, not a false refusal.
    let sizes: Vec<usize> = service.requests.lock().unwrap().iter().map(Vec::len).collect();
    assert!(sizes.len() <= 12 && sizes.iter().skip(1).all(|s| *s <= 100), "{sizes:?}");
}

/// A passing conflict (409 `ABORTED`) is not a refusal of the items: the run stops as for
/// any failure of the whole request, and no item is reported refused.
#[tokio::test]
async fn an_aborted_batch_is_a_failure_of_the_request_not_of_its_items() {
    let report =
        BatchWriter::new(10).run(items(4), |_: &[(String, u32)]| async { Err::<(), _>(aborted()) }, item_errors).await;
    assert_eq!(report.rejected().count(), 0);
    assert_eq!(report.failed().count(), 4);
    assert_eq!(report.requests_sent, 1);
}
