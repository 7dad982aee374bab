//! Multi-call workflows that every Google API needs and that single calls cannot express:
//! optimistic-concurrency updates and batch writes larger than the service accepts.
//!
//! * [`ReadModifyWrite`] reads the latest version of a resource, applies the caller's change
//!   to it and writes it back with the etag it was read with; when the write is refused
//!   because someone else changed the resource in between, it starts over, a bounded number
//!   of times. A failure hands the changed value back ([`ReadModifyWriteError::into_unwritten`]),
//!   so the change is never lost silently.
//! * [`BatchWriter`] splits a batch of keyed items into requests the service accepts (People:
//!   at most 200 contacts per `batchUpdateContacts`), sends them one after another, resends a
//!   request without the items the service rejected by name, and reports an
//!   [`ItemOutcome`] for every key: written, rejected (with the service's reason), failed with
//!   its whole request, or not sent.
//!
//! Both take the calls to make as closures, so they work with the builders of any generated
//! crate and with fakes in tests.
//!
//! Concurrent callers need no helper: mutations made through one
//! [`Client`](crate::Client) are already sent one at a time (see
//! [`ClientBuilder::serialize_mutations`](crate::ClientBuilder::serialize_mutations)).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use serde_json::Value;

use crate::error::{Error, ErrorDetail, Result};

type ConflictPredicate = Arc<dyn Fn(&Error) -> bool + Send + Sync>;

/// Whether `error` says the resource changed since it was read, so that reading it again and
/// reapplying the change may succeed: a failed precondition (HTTP 412, status
/// `FAILED_PRECONDITION`, reason `failedPrecondition` or `conditionNotMet`, which is how
/// People reports a stale etag), status `ABORTED`, or an HTTP 409 that is not
/// `ALREADY_EXISTS` (a duplicate name stays a duplicate however often it is retried).
pub fn is_concurrent_modification(error: &Error) -> bool {
    if error.is_failed_precondition() {
        return true;
    }
    error
        .service_error()
        .is_some_and(|e| e.status.as_deref() == Some("ABORTED") || (e.http_status == 409 && !error.is_already_exists()))
}

/// Updates a resource under optimistic concurrency: read, change, write with the etag that
/// was read, and start over when the write reports a concurrent modification.
///
/// The change is a closure applied to each freshly read value, so a retry merges it into
/// whatever the other writer left instead of overwriting that. It should only touch the
/// fields being written, leaving the etag the read returned in place.
///
/// ```
/// use discovery_runtime::workflows::ReadModifyWrite;
/// # use std::sync::Mutex;
/// # #[derive(Clone, Debug)]
/// # struct Doc { etag: u32, title: String }
/// # async fn example() {
/// # let server = Mutex::new(Doc { etag: 7, title: "old".into() });
/// // With a generated client the closures are one call each, for example
/// // `|| client.people().get(name, "names,metadata").send()`.
/// let written = ReadModifyWrite::new()
///     .max_attempts(3)
///     .run(
///         || async { Ok(server.lock().unwrap().clone()) },
///         |doc: &mut Doc| doc.title = "new".into(),
///         |doc: Doc| {
///             let server = &server;
///             async move {
///                 let mut current = server.lock().unwrap();
///                 assert_eq!(current.etag, doc.etag, "written with the etag that was read");
///                 *current = Doc { etag: doc.etag + 1, ..doc };
///                 Ok(current.clone())
///             }
///         },
///     )
///     .await
///     .unwrap();
/// assert_eq!((written.etag, written.title.as_str()), (8, "new"));
/// # }
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(example());
/// ```
#[derive(Clone)]
pub struct ReadModifyWrite {
    max_attempts: u32,
    is_conflict: ConflictPredicate,
}

impl fmt::Debug for ReadModifyWrite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadModifyWrite").field("max_attempts", &self.max_attempts).finish_non_exhaustive()
    }
}

impl Default for ReadModifyWrite {
    /// Five attempts, retrying on [`is_concurrent_modification`].
    fn default() -> Self {
        ReadModifyWrite { max_attempts: 5, is_conflict: Arc::new(is_concurrent_modification) }
    }
}

impl ReadModifyWrite {
    /// Five attempts, retrying on [`is_concurrent_modification`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets how many times the resource may be read and written, the first time included
    /// (at least 1).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Replaces the test that decides whether a failed write is a conflict worth another
    /// read and write. Other write errors end the workflow at once.
    pub fn retry_if(mut self, is_conflict: impl Fn(&Error) -> bool + Send + Sync + 'static) -> Self {
        self.is_conflict = Arc::new(is_conflict);
        self
    }

    /// The largest number of read-and-write rounds.
    pub fn get_max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// Runs the workflow: `read` the latest value, apply `change` to it, `write` it, and
    /// repeat while the write fails with a conflict and attempts remain.
    ///
    /// `write` gets a copy of the changed value, so that the value itself can be handed back
    /// when the write fails; with a generated crate it is one call, such as
    /// `|p| client.people().update_contact(name, p, mask).send()`.
    ///
    /// Neither `read` nor `write` is retried here on transient errors: the client's
    /// [`RetryPolicy`](crate::RetryPolicy) already did that for the methods where it is safe.
    pub async fn run<T, R, Read, ReadFut, Change, Write, WriteFut>(
        &self,
        mut read: Read,
        mut change: Change,
        mut write: Write,
    ) -> std::result::Result<R, ReadModifyWriteError<T>>
    where
        Read: FnMut() -> ReadFut,
        ReadFut: Future<Output = Result<T>>,
        T: Clone,
        Change: FnMut(&mut T),
        Write: FnMut(T) -> WriteFut,
        WriteFut: Future<Output = Result<R>>,
    {
        let mut unwritten: Option<T> = None;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut value = match read().await {
                Ok(value) => value,
                Err(error) => return Err(ReadModifyWriteError::Read { attempts: attempt, error, unwritten }),
            };
            change(&mut value);
            let error = match write(value.clone()).await {
                Ok(written) => return Ok(written),
                Err(error) => error,
            };
            if !(self.is_conflict)(&error) {
                return Err(ReadModifyWriteError::Write { attempts: attempt, error, unwritten: value });
            }
            if attempt >= self.max_attempts {
                return Err(ReadModifyWriteError::Conflict { attempts: attempt, last_error: error, unwritten: value });
            }
            tracing::debug!(attempt, %error, "concurrent modification; reading the resource again");
            unwritten = Some(value);
        }
    }
}

/// Why a [`ReadModifyWrite`] gave up. Every variant keeps the value with the caller's change
/// applied that failed to be written, when there was one, so the change can be saved,
/// shown or retried later.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReadModifyWriteError<T> {
    /// Every write was refused as a concurrent modification, `attempts` times in a row.
    Conflict {
        /// How many read-and-write rounds were made.
        attempts: u32,
        /// The error of the last write.
        last_error: Error,
        /// The last value that failed to be written, with the change applied.
        unwritten: T,
    },
    /// The write failed with an error that is not a conflict (invalid data, permission...).
    Write {
        /// How many read-and-write rounds were made.
        attempts: u32,
        /// The error of the write.
        error: Error,
        /// The value that failed to be written, with the change applied.
        unwritten: T,
    },
    /// Reading the latest value failed.
    Read {
        /// How many reads were made, the failed one included.
        attempts: u32,
        /// The error of the read.
        error: Error,
        /// The value of the previous round that failed to be written, if the read failed
        /// after a conflict.
        unwritten: Option<T>,
    },
}

impl<T> ReadModifyWriteError<T> {
    /// Whether the workflow ran out of attempts because of concurrent modifications.
    pub fn is_conflict(&self) -> bool {
        matches!(self, ReadModifyWriteError::Conflict { .. })
    }

    /// How many read-and-write rounds were made.
    pub fn attempts(&self) -> u32 {
        match self {
            ReadModifyWriteError::Conflict { attempts, .. }
            | ReadModifyWriteError::Write { attempts, .. }
            | ReadModifyWriteError::Read { attempts, .. } => *attempts,
        }
    }

    /// The error that ended the workflow.
    pub fn error(&self) -> &Error {
        match self {
            ReadModifyWriteError::Conflict { last_error: error, .. }
            | ReadModifyWriteError::Write { error, .. }
            | ReadModifyWriteError::Read { error, .. } => error,
        }
    }

    /// The last value with the change applied that could not be written, if any.
    pub fn unwritten(&self) -> Option<&T> {
        match self {
            ReadModifyWriteError::Conflict { unwritten, .. } | ReadModifyWriteError::Write { unwritten, .. } => {
                Some(unwritten)
            }
            ReadModifyWriteError::Read { unwritten, .. } => unwritten.as_ref(),
        }
    }

    /// Takes the unwritten value out, together with the error that ended the workflow.
    pub fn into_parts(self) -> (Error, Option<T>) {
        match self {
            ReadModifyWriteError::Conflict { last_error: error, unwritten, .. }
            | ReadModifyWriteError::Write { error, unwritten, .. } => (error, Some(unwritten)),
            ReadModifyWriteError::Read { error, unwritten, .. } => (error, unwritten),
        }
    }

    /// Takes the last value with the change applied that could not be written, if any.
    pub fn into_unwritten(self) -> Option<T> {
        self.into_parts().1
    }
}

impl<T> fmt::Display for ReadModifyWriteError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadModifyWriteError::Conflict { attempts, last_error, .. } => write!(
                f,
                "the resource kept changing: {attempts} read-modify-write attempt(s) conflicted, the last with: {last_error}"
            ),
            ReadModifyWriteError::Write { attempts, error, .. } => {
                write!(f, "the write of read-modify-write attempt {attempts} failed: {error}")
            }
            ReadModifyWriteError::Read { attempts, error, .. } => {
                write!(f, "the read of read-modify-write attempt {attempts} failed: {error}")
            }
        }
    }
}

impl<T: fmt::Debug> std::error::Error for ReadModifyWriteError<T> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.error())
    }
}

/// Writes a batch of keyed items with as many requests as the service's per-request limit
/// needs, one request after another, and accounts for every key.
///
/// Google's batch methods validate a request as a whole: when some items are invalid (People:
/// a stale etag, a contact without a contact source, two names...) the request fails with
/// per-item error details and *nothing* of it is written. The writer then marks the named
/// items [`ItemOutcome::Rejected`] and resends the rest of that request, at most
/// [`max_resends`](BatchWriter::max_resends) times, so that the valid items get written.
///
/// A request that fails without naming items (a transport error, a timeout, a 5xx, a
/// malformed request) fails all its items ([`ItemOutcome::Failed`], whose outcome may be
/// unknown for timeouts) and stops the run: the items of later requests are reported
/// [`ItemOutcome::NotSent`], so the caller can decide what to do without items having been
/// written out of order behind a failure.
///
/// ```
/// use discovery_runtime::workflows::{BatchWriter, ItemError, ItemOutcome};
/// use std::collections::BTreeMap;
///
/// # async fn example() {
/// let items: Vec<(String, u32)> = (0..5).map(|i| (format!("item/{i}"), i)).collect();
/// let report = BatchWriter::new(2)
///     .run(
///         items,
///         |chunk: &[(String, u32)]| {
///             let size = chunk.len();
///             async move { Ok(size) }
///         },
///         |_error| BTreeMap::<String, ItemError>::new(),
///     )
///     .await;
/// assert_eq!(report.requests_sent, 3);
/// assert_eq!(report.responses, [2, 2, 1]);
/// assert!(report.outcomes.values().all(|o| matches!(o, ItemOutcome::Written)));
/// # }
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(example());
/// ```
#[derive(Clone, Debug)]
pub struct BatchWriter {
    chunk_size: usize,
    max_resends: u32,
}

impl BatchWriter {
    /// A writer sending at most `chunk_size` items per request (at least 1), resending a
    /// request at most 3 times after items of it were rejected.
    pub fn new(chunk_size: usize) -> Self {
        BatchWriter { chunk_size: chunk_size.max(1), max_resends: 3 }
    }

    /// Sets how many times one request may be resent without the items the service
    /// rejected. The items still unwritten after that fail with the last error.
    pub fn max_resends(mut self, resends: u32) -> Self {
        self.max_resends = resends;
        self
    }

    /// The largest number of items per request.
    pub fn chunk_size(&self) -> usize {
        self.chunk_size
    }

    /// Sends `items` in requests of at most [`chunk_size`](Self::chunk_size) items, in
    /// order.
    ///
    /// `send` makes one request from a slice of items. `rejected_items` reads the per-item
    /// errors out of a failed request's error; an empty map means the request failed as a
    /// whole. For Google's per-item error details, [`item_errors_from_details`] does it.
    ///
    /// Keys are expected to be unique; the report holds one outcome per key.
    pub async fn run<K, V, R, SendChunk, SendFut, Rejected>(
        &self,
        items: impl IntoIterator<Item = (K, V)>,
        mut send: SendChunk,
        mut rejected_items: Rejected,
    ) -> BatchReport<K, R>
    where
        K: Ord + Clone,
        SendChunk: FnMut(&[(K, V)]) -> SendFut,
        SendFut: Future<Output = Result<R>>,
        Rejected: FnMut(&Error) -> BTreeMap<K, ItemError>,
    {
        let mut report = BatchReport { outcomes: BTreeMap::new(), responses: Vec::new(), requests_sent: 0 };
        let mut items = items.into_iter().peekable();
        let mut stopped = false;
        while items.peek().is_some() {
            let mut chunk: Vec<(K, V)> = items.by_ref().take(self.chunk_size).collect();
            if stopped {
                report.outcomes.extend(chunk.into_iter().map(|(k, _)| (k, ItemOutcome::NotSent)));
                continue;
            }
            let mut resends = 0;
            loop {
                report.requests_sent += 1;
                let error = match send(&chunk).await {
                    Ok(response) => {
                        report.outcomes.extend(chunk.into_iter().map(|(k, _)| (k, ItemOutcome::Written)));
                        report.responses.push(response);
                        break;
                    }
                    Err(error) => error,
                };
                let mut named = rejected_items(&error);
                named.retain(|key, _| chunk.iter().any(|(k, _)| k == key));
                if named.is_empty() {
                    tracing::debug!(%error, "a batch request failed as a whole; not sending the rest");
                    let error = Arc::new(error);
                    report.outcomes.extend(chunk.into_iter().map(|(k, _)| (k, ItemOutcome::Failed(error.clone()))));
                    stopped = true;
                    break;
                }
                let rejected: BTreeSet<K> = named.keys().cloned().collect();
                report.outcomes.extend(named.into_iter().map(|(k, e)| (k, ItemOutcome::Rejected(e))));
                chunk.retain(|(k, _)| !rejected.contains(k));
                if chunk.is_empty() {
                    break;
                }
                if resends >= self.max_resends {
                    let error = Arc::new(error);
                    report.outcomes.extend(chunk.into_iter().map(|(k, _)| (k, ItemOutcome::Failed(error.clone()))));
                    break;
                }
                resends += 1;
                tracing::debug!(
                    rejected = rejected.len(),
                    left = chunk.len(),
                    "resending a batch without its rejected items"
                );
            }
        }
        report
    }
}

/// What happened to each key of a [`BatchWriter`] run.
#[derive(Debug)]
#[non_exhaustive]
pub struct BatchReport<K, R> {
    /// One outcome per key.
    pub outcomes: BTreeMap<K, ItemOutcome>,
    /// The responses of the successful requests, in the order they were sent.
    pub responses: Vec<R>,
    /// How many requests were sent, resends included.
    pub requests_sent: usize,
}

impl<K: Ord, R> BatchReport<K, R> {
    /// Whether every key was written.
    pub fn all_written(&self) -> bool {
        self.outcomes.values().all(|o| matches!(o, ItemOutcome::Written))
    }

    /// The outcome of `key`.
    pub fn outcome(&self, key: &K) -> Option<&ItemOutcome> {
        self.outcomes.get(key)
    }

    /// The keys that were written.
    pub fn written(&self) -> impl Iterator<Item = &K> {
        self.outcomes.iter().filter(|(_, o)| matches!(o, ItemOutcome::Written)).map(|(k, _)| k)
    }

    /// The keys the service rejected, with its reason.
    pub fn rejected(&self) -> impl Iterator<Item = (&K, &ItemError)> {
        self.outcomes.iter().filter_map(|(k, o)| match o {
            ItemOutcome::Rejected(e) => Some((k, e)),
            _ => None,
        })
    }

    /// The keys whose request failed as a whole, with the error.
    pub fn failed(&self) -> impl Iterator<Item = (&K, &Error)> {
        self.outcomes.iter().filter_map(|(k, o)| match o {
            ItemOutcome::Failed(e) => Some((k, &**e)),
            _ => None,
        })
    }

    /// The keys that were never sent because an earlier request failed as a whole.
    pub fn not_sent(&self) -> impl Iterator<Item = &K> {
        self.outcomes.iter().filter(|(_, o)| matches!(o, ItemOutcome::NotSent)).map(|(k, _)| k)
    }
}

/// The outcome of one key of a [`BatchWriter`] run.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum ItemOutcome {
    /// The item was written.
    Written,
    /// The service named the item as invalid; it was not written.
    Rejected(ItemError),
    /// The item's request failed as a whole. After a timeout or a lost connection the
    /// service may or may not have written it; read it back to know.
    Failed(Arc<Error>),
    /// An earlier request failed as a whole, so the item was never sent.
    NotSent,
}

impl ItemOutcome {
    /// Whether the item was written.
    pub fn is_written(&self) -> bool {
        matches!(self, ItemOutcome::Written)
    }
}

/// The service's reason for rejecting one item of a batch: a `google.rpc.Status`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ItemError {
    /// The numeric `google.rpc.Code`, such as 9 for `FAILED_PRECONDITION`.
    pub code: Option<i64>,
    /// The canonical status name, given or derived from `code`.
    pub status: Option<String>,
    /// The message.
    pub message: String,
    /// The `ErrorInfo` reason among the status's details, if any.
    pub reason: Option<String>,
}

impl ItemError {
    /// An error with a message only, for extractors of other error shapes.
    pub fn new(message: impl Into<String>) -> Self {
        ItemError { message: message.into(), ..ItemError::default() }
    }

    /// Reads a `google.rpc.Status` JSON object (`code`, `message`, optional `status`,
    /// `details` with an `ErrorInfo`). Missing members stay empty.
    pub fn from_status_json(status: &Value) -> Self {
        let code = status.get("code").and_then(|c| c.as_i64().or_else(|| c.as_str()?.parse().ok()));
        let named = status.get("status").and_then(Value::as_str).map(str::to_owned);
        let reason = status
            .get("details")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|d| d.get("@type").and_then(Value::as_str).is_some_and(|t| t.ends_with("google.rpc.ErrorInfo")))
            .find_map(|d| d.get("reason").and_then(Value::as_str).map(str::to_owned));
        ItemError {
            code,
            status: named.or_else(|| code.and_then(canonical_code_name).map(str::to_owned)),
            message: status.get("message").and_then(Value::as_str).unwrap_or_default().to_owned(),
            reason,
        }
    }
}

impl fmt::Display for ItemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(status) = &self.status {
            write!(f, "{status}: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(reason) = &self.reason {
            write!(f, " (reason: {reason})")?;
        }
        Ok(())
    }
}

/// The per-item errors a batch method put in its error details: every detail object holding
/// a map under `field` from item key (such as a resource name) to a `google.rpc.Status`.
///
/// People's `batchUpdateContacts` answers an invalid batch with a
/// `BatchUpdateContactsErrorDetails` detail of that shape, so
/// `|e| item_errors_from_details(e, "contactErrors")` is its extractor for
/// [`BatchWriter::run`]. Errors that carry no such detail give an empty map.
pub fn item_errors_from_details(error: &Error, field: &str) -> BTreeMap<String, ItemError> {
    let Some(service_error) = error.service_error() else {
        return BTreeMap::new();
    };
    service_error
        .details
        .iter()
        .filter_map(|detail| match detail {
            ErrorDetail::Other(value) => value.get(field).and_then(Value::as_object),
            _ => None,
        })
        .flatten()
        .map(|(key, status)| (key.clone(), ItemError::from_status_json(status)))
        .collect()
}

/// The name of a `google.rpc.Code`.
fn canonical_code_name(code: i64) -> Option<&'static str> {
    const NAMES: [&str; 17] = [
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    ];
    usize::try_from(code).ok().and_then(|i| NAMES.get(i).copied())
}
