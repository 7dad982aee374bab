//! Multi-call workflows that every Google API needs and that single calls cannot express:
//! optimistic-concurrency updates and batch writes larger than the service accepts.
//!
//! * [`ReadModifyWrite`] reads the latest version of a resource, applies the caller's change
//!   to it and writes it back with the etag it was read with; when the write is refused
//!   because someone else changed the resource in between, it starts over, a bounded number
//!   of times. A failure hands the changed value back ([`ReadModifyWriteError::into_unwritten`]),
//!   so the change is never lost silently.
//! * [`BatchWriter`] splits a batch of keyed items into requests the service accepts (People:
//!   at most 200 contacts per `batchUpdateContacts`), sends them one after another, finds the
//!   items a refused request is to blame for (named in its error in any shape [`item_errors`]
//!   knows, or isolated by splitting the request when it names none), writes the others, and
//!   reports an [`ItemOutcome`] for every key: written, rejected (with the service's reason),
//!   failed with its whole request, or not sent.
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

use crate::error::{write_server_text, Error, ErrorDetail, Result, DISPLAYED_MESSAGE_CHARS};

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
/// Google's batch methods validate a request as a whole: when some items are invalid
/// (People: a stale etag, a contact without a contact source, two names...) the request
/// fails and *nothing* of it is written. The writer then finds the items to blame and
/// writes the others:
///
/// * when the error names them (in any shape [`item_errors`] recognises, or the caller's
///   own extractor does), they are marked [`ItemOutcome::Rejected`] with the service's reason
///   and the rest of the request is sent again, at most
///   [`max_resends`](BatchWriter::max_resends) times;
/// * when a request is refused for its content (HTTP 400, 404, 409, 412 or 422) without
///   naming any item, the writer splits it in halves and sends them, and again for each
///   half refused, down to the single items that fail on their own: those are rejected
///   with the service's message, every other item is written. When the first half of a
///   refused request is written, the second half is known to hold a refused item and is
///   split without being sent whole. This costs about `2·k·log2(n)` requests for `k`
///   refused items among `n`, bounded per request by
///   [`max_isolation_requests`](BatchWriter::max_isolation_requests), and counted in
///   [`BatchReport::isolation_requests`].
///
/// A request that fails otherwise (a transport error, a timeout, a 5xx, a rate limit or
/// missing permission) fails all its items ([`ItemOutcome::Failed`], whose outcome may be
/// unknown for timeouts) and stops the run: the items of later requests are reported
/// [`ItemOutcome::NotSent`], so the caller can decide what to do without items having been
/// written out of order behind a failure.
///
/// Each request's items are sorted by key before they are sent, so that an error that
/// points at items by index (the n-th of the request) is read against the order of a JSON
/// map keyed by them, such as People's `contacts`.
///
/// ```
/// use discovery_runtime::workflows::{item_errors, BatchWriter, ItemOutcome};
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
///         item_errors,
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
    max_isolation_requests: Option<usize>,
}

impl BatchWriter {
    /// A writer sending at most `chunk_size` items per request (at least 1), resending a
    /// request at most 3 times after items of it were rejected by name.
    ///
    /// Give the service's own limit per request (200 for People's `batchUpdateContacts`):
    /// a request over it is refused as a whole, which the writer cannot tell from a refusal
    /// caused by its items, so it isolates by halves (201 contacts with a size of 250 took
    /// 10 requests instead of 2).
    pub fn new(chunk_size: usize) -> Self {
        BatchWriter { chunk_size: chunk_size.max(1), max_resends: 3, max_isolation_requests: None }
    }

    /// Sets how many times one request may be resent without the items the service
    /// rejected by name. The items still unwritten after that fail with the last error.
    pub fn max_resends(mut self, resends: u32) -> Self {
        self.max_resends = resends;
        self
    }

    /// Sets how many requests may be spent, per original request, isolating refused items
    /// that the service did not name. The default, `8·ceil(log2(chunk_size))` (64 for 200
    /// items), finds about four refused items in a request wherever they are; items still
    /// unresolved when it runs out fail with the last error. A request refused as a whole
    /// for reasons unrelated to its items (a bad field mask) fails each half too, so this
    /// bound is also what such a mistake costs.
    pub fn max_isolation_requests(mut self, requests: usize) -> Self {
        self.max_isolation_requests = Some(requests);
        self
    }

    /// The largest number of items per request.
    pub fn chunk_size(&self) -> usize {
        self.chunk_size
    }

    fn isolation_budget(&self) -> usize {
        let depth = usize::BITS - (self.chunk_size.max(2) - 1).leading_zeros();
        self.max_isolation_requests.unwrap_or(8 * depth as usize)
    }

    /// Sends `items` in requests of at most [`chunk_size`](Self::chunk_size) items.
    ///
    /// `send` makes one request from a slice of items (sorted by key). `rejected_items`
    /// reads the per-item errors out of a failed request's error, given the keys of the
    /// request in the order sent; an empty map means the error names none. [`item_errors`]
    /// recognises the shapes Google's batch errors are known or assumed to take.
    ///
    /// The report holds one outcome per key. A key given more than once is not sent at all
    /// (one request holds one value per key, and two requests would race each other's
    /// etags): it is reported [`ItemOutcome::Rejected`], with a message saying so.
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
        Rejected: FnMut(&Error, &[K]) -> BTreeMap<K, ItemError>,
    {
        let mut report =
            BatchReport { outcomes: BTreeMap::new(), responses: Vec::new(), requests_sent: 0, isolation_requests: 0 };
        let items: Vec<(K, V)> = items.into_iter().collect();
        let mut seen = BTreeSet::new();
        let repeated: BTreeSet<K> = items.iter().filter(|(k, _)| !seen.insert(k)).map(|(k, _)| k.clone()).collect();
        let items = items.into_iter().filter(|(k, _)| !repeated.contains(k));
        for key in repeated.iter().cloned() {
            let why = ItemError {
                status: Some("INVALID_ARGUMENT".to_owned()),
                code: Some(3),
                ..ItemError::new("the key was given more than once in this batch; none of its values was sent")
            };
            report.outcomes.insert(key, ItemOutcome::Rejected(why));
        }
        let mut items = items.peekable();
        let mut stopped = false;
        while items.peek().is_some() {
            let mut chunk: Vec<(K, V)> = items.by_ref().take(self.chunk_size).collect();
            chunk.sort_by(|a, b| a.0.cmp(&b.0));
            if stopped {
                report.outcomes.extend(chunk.into_iter().map(|(k, _)| (k, ItemOutcome::NotSent)));
                continue;
            }
            stopped = self.write_chunk(chunk, &mut send, &mut rejected_items, &mut report).await;
        }
        report
    }

    /// Writes one request's items, isolating the refused ones; returns whether the run
    /// must stop (a failure that is not about the items).
    async fn write_chunk<K, V, R, SendChunk, SendFut, Rejected>(
        &self,
        chunk: Vec<(K, V)>,
        send: &mut SendChunk,
        rejected_items: &mut Rejected,
        report: &mut BatchReport<K, R>,
    ) -> bool
    where
        K: Ord + Clone,
        SendChunk: FnMut(&[(K, V)]) -> SendFut,
        SendFut: Future<Output = Result<R>>,
        Rejected: FnMut(&Error, &[K]) -> BTreeMap<K, ItemError>,
    {
        /// Items still to write.
        enum Work<K, V> {
            /// To send as they are; `isolating` when the request is one spent finding
            /// refused items.
            Send { items: Vec<(K, V)>, isolating: bool },
            /// Known to hold a refused item (with the error of the smallest request that
            /// held them): split without sending the whole.
            Refused { items: Vec<(K, V)>, error: Arc<Error> },
        }
        let mut budget = self.isolation_budget();
        let mut resends = 0;
        let mut work = vec![Work::Send { items: chunk, isolating: false }];
        while let Some(next) = work.pop() {
            let (group, isolating, refused) = match next {
                Work::Send { items, isolating } => (items, isolating, None),
                Work::Refused { items, error } => (items, true, Some(error)),
            };
            if group.is_empty() {
                continue;
            }
            // What to send now, and what depends on its answer.
            let last_error = refused.clone();
            let (to_send, after_written) = match refused {
                // Inferred to be refused, never sent alone: a refusal may also be about the
                // request as a whole (too large) or passing (a conflict), so it is sent alone
                // before it is called refused.
                Some(_) if group.len() == 1 => (group, None),
                Some(error) => {
                    // Whether the first half is written decides what the second half is:
                    // known to be refused, or to be tried as a whole.
                    let mut left = group;
                    let right = left.split_off(left.len() / 2);
                    (left, Some((right, error)))
                }
                None => (group, None),
            };
            if isolating {
                if budget == 0 {
                    let error = last_error.unwrap_or_else(|| {
                        Arc::new(Error::Upload("gave up isolating the refused items of a batch".into()))
                    });
                    let right = after_written.into_iter().flat_map(|(right, _)| right);
                    fail_all(report, to_send.into_iter().chain(right), &error);
                    continue;
                }
                budget -= 1;
                report.isolation_requests += 1;
            }
            let sent = self.send_one(to_send, send, rejected_items, report).await;
            if let Some((right, error)) = after_written {
                match &sent {
                    Sent::Written => work.push(Work::Refused { items: right, error }),
                    _ => work.push(Work::Send { items: right, isolating: true }),
                }
            }
            match sent {
                Sent::Written => {}
                Sent::Resend(rest) => {
                    resends += 1;
                    if resends > self.max_resends {
                        let error = Arc::new(Error::Upload(format!(
                            "items were still refused after {} resends",
                            self.max_resends
                        )));
                        fail_all(report, rest.into_iter(), &error);
                    } else {
                        work.push(Work::Send { items: rest, isolating });
                    }
                }
                Sent::Unnamed(rest, e) if rest.len() == 1 => {
                    // Refused on its own: this item is to blame, with the service's reason.
                    let (key, _) = rest.into_iter().next().expect("one item");
                    report.outcomes.insert(key, ItemOutcome::Rejected(ItemError::from_error(&e)));
                }
                Sent::Unnamed(rest, e) => work.push(Work::Refused { items: rest, error: Arc::new(e) }),
                Sent::Stop(rest, e) => {
                    let left_over = work.drain(..).flat_map(|w| match w {
                        Work::Send { items, .. } | Work::Refused { items, .. } => items,
                    });
                    fail_all(report, rest.into_iter().chain(left_over), &Arc::new(e));
                    return true;
                }
            }
        }
        false
    }

    /// Sends one request and sorts out what its answer means for its items.
    async fn send_one<K, V, R, SendChunk, SendFut, Rejected>(
        &self,
        group: Vec<(K, V)>,
        send: &mut SendChunk,
        rejected_items: &mut Rejected,
        report: &mut BatchReport<K, R>,
    ) -> Sent<K, V>
    where
        K: Ord + Clone,
        SendChunk: FnMut(&[(K, V)]) -> SendFut,
        SendFut: Future<Output = Result<R>>,
        Rejected: FnMut(&Error, &[K]) -> BTreeMap<K, ItemError>,
    {
        report.requests_sent += 1;
        let error = match send(&group).await {
            Ok(response) => {
                report.outcomes.extend(group.into_iter().map(|(k, _)| (k, ItemOutcome::Written)));
                report.responses.push(response);
                return Sent::Written;
            }
            Err(error) => error,
        };
        let keys: Vec<K> = group.iter().map(|(k, _)| k.clone()).collect();
        let mut named = rejected_items(&error, &keys);
        named.retain(|key, _| keys.contains(key));
        if !named.is_empty() {
            tracing::debug!(rejected = named.len(), left = group.len() - named.len(), "items of a batch were refused");
            let rest: Vec<(K, V)> = group.into_iter().filter(|(k, _)| !named.contains_key(k)).collect();
            report.outcomes.extend(named.into_iter().map(|(k, e)| (k, ItemOutcome::Rejected(e))));
            return Sent::Resend(rest);
        }
        if refused_for_content(&error) {
            tracing::debug!(items = group.len(), %error, "a batch was refused without naming items; splitting it");
            return Sent::Unnamed(group, error);
        }
        tracing::debug!(%error, "a batch request failed as a whole; not sending the rest");
        Sent::Stop(group, error)
    }
}

/// What one batch request's answer means for its items.
enum Sent<K, V> {
    /// All written.
    Written,
    /// Some were named as refused (and recorded); these are left to send again.
    Resend(Vec<(K, V)>),
    /// Refused for its content without naming items.
    Unnamed(Vec<(K, V)>, Error),
    /// Failed for a reason that is not about its items: the run stops.
    Stop(Vec<(K, V)>, Error),
}

/// Whether a request was refused for what it carries (so some of its items may be to
/// blame), rather than for who sent it, when, or a failure on the way.
fn refused_for_content(error: &Error) -> bool {
    // `ABORTED` is a passing conflict, not a refusal of what the request carries.
    error
        .service_error()
        .is_some_and(|e| matches!(e.http_status, 400 | 404 | 409 | 412 | 422) && e.status.as_deref() != Some("ABORTED"))
}

fn fail_all<K: Ord, V, R>(report: &mut BatchReport<K, R>, items: impl Iterator<Item = (K, V)>, error: &Arc<Error>) {
    report.outcomes.extend(items.map(|(k, _)| (k, ItemOutcome::Failed(error.clone()))));
}

/// What happened to each key of a [`BatchWriter`] run.
#[derive(Debug)]
#[non_exhaustive]
pub struct BatchReport<K, R> {
    /// One outcome per key.
    pub outcomes: BTreeMap<K, ItemOutcome>,
    /// The responses of the successful requests, in the order they were sent.
    pub responses: Vec<R>,
    /// How many requests were sent, resends and isolation included.
    pub requests_sent: usize,
    /// How many of them were spent finding refused items that a failed request did not
    /// name (splitting it), beyond the requests of the run without refusals.
    pub isolation_requests: usize,
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
    /// The service named the item as invalid, or its key was given more than once to
    /// [`BatchWriter::run`]; it was not written.
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

impl ItemError {
    /// The reason of a request that held only this item, or that was refused because of
    /// it: the service's status, message and `ErrorInfo` reason.
    pub fn from_error(error: &Error) -> Self {
        match error.service_error() {
            Some(e) => ItemError {
                code: e.status.as_deref().and_then(canonical_code),
                status: e.status.clone(),
                message: e.message.clone(),
                reason: e.reason().map(str::to_owned),
            },
            None => ItemError::new(error.to_string()),
        }
    }
}

/// Every part is the service's text: written as [`ServiceError`](crate::ServiceError)'s are, with control
/// characters escaped and at most a screenful each (the fields keep all of it).
impl fmt::Display for ItemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(status) = &self.status {
            write_server_text(f, status, DISPLAYED_MESSAGE_CHARS)?;
            f.write_str(": ")?;
        }
        write_server_text(f, &self.message, DISPLAYED_MESSAGE_CHARS)?;
        if let Some(reason) = &self.reason {
            f.write_str(" (reason: ")?;
            write_server_text(f, reason, DISPLAYED_MESSAGE_CHARS)?;
            f.write_str(")")?;
        }
        Ok(())
    }
}

/// The items of a failed batch request that its error names, with the reason given for
/// each, for [`BatchWriter::run`]. `keys` are the request's item keys (resource names) in the
/// order they were sent.
///
/// What Google documents is only that a failed `people.batchUpdateContacts` returns
/// `BatchUpdateContactsErrorDetails`, "a list of errors corresponding to each contact"; its
/// JSON is not published. So every shape such a list could take is recognised, in the
/// error's `details`, at any depth:
///
/// * a map keyed by item key, each value a `google.rpc.Status`
///   (`{"contactErrors": {"people/c1": {"code": 9, "message": "..."}}}`);
/// * a list of statuses that name their item, by a member whose value is one of the keys
///   (`{"resourceName": "people/c1", "status": {...}}`, or the status's own members
///   beside it), or by a member whose name contains `index` holding the item's position
///   in the request (`{"index": 3, "status": {...}}`);
/// * `google.rpc.BadRequest` field violations and legacy `errors[]` locations pointing at
///   an item: `contacts[people/c1].names`, `contacts["people/c1"]`, `contacts[3]`.
///
/// An error that names no item gives an empty map; [`BatchWriter`] then isolates the
/// refused items by splitting the request.
pub fn item_errors<K: AsRef<str> + Ord + Clone>(error: &Error, keys: &[K]) -> BTreeMap<K, ItemError> {
    let mut found = BTreeMap::new();
    let Some(service_error) = error.service_error() else {
        return found;
    };
    let key_of = |text: &str| keys.iter().find(|k| k.as_ref() == text).cloned();
    for detail in &service_error.details {
        match detail {
            ErrorDetail::Other(value) => collect_statuses(value, keys, &key_of, &mut found, 0),
            ErrorDetail::BadRequest { field_violations } => {
                for violation in field_violations {
                    if let Some(key) = key_in_path(&violation.field, keys) {
                        let error = ItemError {
                            code: Some(3),
                            status: Some("INVALID_ARGUMENT".into()),
                            message: violation.description.clone(),
                            reason: None,
                        };
                        found.entry(key).or_insert(error);
                    }
                }
            }
            _ => {}
        }
    }
    for legacy in &service_error.errors {
        if let Some(key) = legacy.location.as_deref().and_then(|location| key_in_path(location, keys)) {
            let error = ItemError { reason: legacy.reason.clone(), ..ItemError::new(legacy.message.clone()) };
            found.entry(key).or_insert(error);
        }
    }
    found
}

/// Walks a detail for statuses keyed by, or naming, the request's items.
/// Whether a `google.rpc.Status` says the item succeeded: code 0 or status `OK`, and no
/// details (proto3 leaves a zero code out, so a status with neither, nor a message, is one
/// too). An error listing every item of a batch may list the good ones so, and they were
/// not refused.
fn is_ok_status(status: &Value) -> bool {
    let Some(members) = status.as_object() else { return false };
    let text = |member: &str| members.get(member).and_then(Value::as_str);
    let zero = |code: &Value| code.as_i64().or_else(|| code.as_str()?.trim().parse().ok()) == Some(0);
    let ok = |name: &str| name.trim().eq_ignore_ascii_case("OK");
    let details = members.get("details").and_then(Value::as_array).is_some_and(|d| !d.is_empty());
    !details
        && match (members.get("code"), text("status")) {
            (Some(code), status) => zero(code) && status.is_none_or(ok),
            (None, Some(status)) => ok(status),
            (None, None) => text("message").is_none_or(str::is_empty),
        }
}

fn collect_statuses<K: AsRef<str> + Ord + Clone>(
    value: &Value,
    keys: &[K],
    key_of: &dyn Fn(&str) -> Option<K>,
    found: &mut BTreeMap<K, ItemError>,
    depth: usize,
) {
    // Error details are small; the bound only keeps a hostile one from going deep.
    if depth > 16 {
        return;
    }
    match value {
        Value::Object(members) => {
            for (name, member) in members {
                match (key_of(name), member) {
                    (Some(_), Value::Object(_)) if is_ok_status(member) => {}
                    (Some(key), Value::Object(_)) => {
                        found.entry(key).or_insert_with(|| ItemError::from_status_json(member));
                    }
                    _ => collect_statuses(member, keys, key_of, found, depth + 1),
                }
            }
        }
        Value::Array(entries) => {
            for entry in entries {
                let Some(members) = entry.as_object() else { continue };
                let named = members.values().find_map(|v| v.as_str().and_then(key_of));
                let indexed = || {
                    members.iter().find_map(|(name, v)| {
                        let index = usize::try_from(v.as_u64()?).ok()?;
                        name.to_ascii_lowercase().contains("index").then(|| keys.get(index).cloned()).flatten()
                    })
                };
                match named.or_else(indexed) {
                    Some(key) => {
                        let status = ["status", "error"].iter().find_map(|n| members.get(*n).filter(|s| s.is_object()));
                        let status = status.unwrap_or(entry);
                        if !is_ok_status(status) {
                            found.entry(key).or_insert_with(|| ItemError::from_status_json(status));
                        }
                    }
                    None => collect_statuses(entry, keys, key_of, found, depth + 1),
                }
            }
        }
        _ => {}
    }
}

/// The item a field path points at: `contacts[KEY]...`, `contacts["KEY"]`, `contacts[N]`,
/// or the key itself between delimiters.
fn key_in_path<K: AsRef<str> + Clone>(path: &str, keys: &[K]) -> Option<K> {
    let mut rest = path;
    while let Some(open) = rest.find('[') {
        let Some(close) = rest[open..].find(']') else { break };
        let inner = rest[open + 1..open + close].trim().trim_matches(|c| c == '"' || c == '\'');
        if let Some(key) = keys.iter().find(|k| k.as_ref() == inner) {
            return Some(key.clone());
        }
        if let Ok(index) = inner.parse::<usize>() {
            if let Some(key) = keys.get(index) {
                return Some(key.clone());
            }
        }
        rest = &rest[open + close + 1..];
    }
    // A key that is delimited in the path (`contacts.people/c1.names`), not part of a longer
    // one (`people/c1` in `people/c12`).
    let boundary = |c: Option<char>| c.is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '-'));
    keys.iter()
        .filter(|k| !k.as_ref().is_empty())
        .find(|k| {
            path.match_indices(k.as_ref()).any(|(at, m)| {
                boundary(path[..at].chars().next_back()) && boundary(path[at + m.len()..].chars().next())
            })
        })
        .cloned()
}

/// The per-item errors a batch method put in its error details under `field`: a map from
/// item key to a `google.rpc.Status` in any detail object. [`item_errors`] recognises this
/// shape and the others.
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

/// The `google.rpc.Code` of a canonical status name.
fn canonical_code(name: &str) -> Option<i64> {
    (0..17).find(|&code| canonical_code_name(code) == Some(name))
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
