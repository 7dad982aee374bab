//! Every decision about trying again, in one place: the [`RetryPolicy`], which failures are
//! worth another attempt ([`should_retry`]), how long to wait (backoff with jitter,
//! `Retry-After`, `RetryInfo`), the call's [`Deadline`], and the one loop ([`Retrying::run`])
//! that calls, upload chunks and downloads all go through.

use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http::HeaderMap;

use crate::auth::TokenProvider;
use crate::error::{Error, Result};

/// When and how often failed calls are tried again.
///
/// Idempotent methods (`GET`, `HEAD`, `PUT`, `DELETE`) are retried on HTTP 408, 429, 500,
/// 502, 503 and 504, on rate-limit errors, on timeouts and on connection failures.
/// Non-idempotent ones (`POST`, `PATCH`) are retried only when the service surely did not act
/// on the request: the connection could not be established, the server refused the request
/// unprocessed (HTTP/2 `REFUSED_STREAM`, or left out by a `GOAWAY`), or the answer was HTTP
/// 429 (a rate limit refuses a request before processing it). A request that can never be
/// sent as it is ([`Error::InvalidRequest`]) is never retried.
///
/// The wait before retry `n` is drawn uniformly from zero to
/// `min(max_backoff, initial_backoff * 2^(n-1))` ("full jitter"); when the server said how
/// long to wait (`Retry-After` header or `RetryInfo` detail), that is a minimum: the wait is
/// the longer of the two. A request
/// refused unprocessed goes again at once, on another stream or connection. No retry
/// starts once `max_attempts` attempts were made, or when its wait would end past
/// `total_timeout` since the first attempt, or past the call's deadline
/// ([`ClientBuilder::deadline`](crate::ClientBuilder::deadline)).
///
/// Apart from this policy, a call refused with HTTP 401 is sent once more when its
/// [`TokenProvider`] can replace the token ([`TokenProvider::invalidate`]).
///
/// A download written to a destination (`Call::download_to`) resumes with a `Range`
/// request when its body breaks off; an attempt that wrote at least 64 KiB before it broke
/// (and at least as much as it dropped, when the server sent the media from its start
/// again) counts as progress, and the attempts and the budget are then counted afresh from
/// it, so that a long download survives any number of breaks as long as each one gets well
/// further.
///
/// ```
/// use discovery_runtime::RetryPolicy;
/// use std::time::Duration;
///
/// let policy = RetryPolicy::default()
///     .max_attempts(3)
///     .initial_backoff(Duration::from_millis(100))
///     .total_timeout(Duration::from_secs(10));
/// assert_eq!(policy.get_max_attempts(), 3);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    total_timeout: Duration,
}

impl Default for RetryPolicy {
    /// 5 attempts, 500 ms initial backoff, 30 s longest backoff, 60 s in total.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            total_timeout: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> Self {
        RetryPolicy { max_attempts: 1, ..RetryPolicy::default() }
    }

    /// Sets the largest number of attempts, the first one included (at least 1).
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n.max(1);
        self
    }

    /// Sets the upper bound of the first backoff; each later one doubles it.
    pub fn initial_backoff(mut self, d: Duration) -> Self {
        self.initial_backoff = d;
        self
    }

    /// Sets the upper bound of any computed backoff.
    pub fn max_backoff(mut self, d: Duration) -> Self {
        self.max_backoff = d;
        self
    }

    /// Sets the retry budget: no retry starts if its wait would end more than this long
    /// after the first attempt started. (The attempt in flight is bounded by the per-attempt
    /// timeout and the call's deadline, not by this budget.)
    pub fn total_timeout(mut self, d: Duration) -> Self {
        self.total_timeout = d;
        self
    }

    /// The largest number of attempts.
    pub fn get_max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The upper bound of the first backoff.
    pub fn get_initial_backoff(&self) -> Duration {
        self.initial_backoff
    }

    /// The upper bound of any computed backoff.
    pub fn get_max_backoff(&self) -> Duration {
        self.max_backoff
    }

    /// The retry budget of a call.
    pub fn get_total_timeout(&self) -> Duration {
        self.total_timeout
    }

    /// The wait before retry number `retry` (1 for the first retry), with full jitter.
    pub(crate) fn backoff(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.saturating_sub(1)).unwrap_or(u32::MAX);
        let cap = self.initial_backoff.checked_mul(factor).unwrap_or(self.max_backoff).min(self.max_backoff);
        let nanos = u64::try_from(cap.as_nanos()).unwrap_or(u64::MAX);
        if nanos == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(random_u64() % nanos.saturating_add(1))
    }
}

/// Whether trying again later may succeed: timeouts, connection failures and bodies cut
/// short, HTTP 408, 429, 500, 502, 503, 504 and rate-limit reasons. Says nothing about
/// whether repeating the request is safe; [`should_retry`] decides that.
pub(crate) fn is_transient(err: &Error) -> bool {
    match err {
        Error::Timeout => true,
        Error::Transport(e) => e.is_transient(),
        Error::Service(e) => matches!(e.http_status, 408 | 429 | 500 | 502 | 503 | 504) || e.is_rate_limited(),
        _ => false,
    }
}

/// Whether a failed attempt may be repeated: any transient failure when the request is
/// idempotent; otherwise only when the service surely did nothing: the connection failed,
/// the server refused the request unprocessed (HTTP/2 `REFUSED_STREAM` or `GOAWAY`), or the
/// answer was 429 (a rate limit refuses a request before it is processed).
pub(crate) fn should_retry(err: &Error, idempotent: bool) -> bool {
    if idempotent {
        return is_transient(err);
    }
    match err {
        Error::Transport(e) => (e.is_connect() && e.is_transient()) || e.is_unprocessed(),
        Error::Service(e) => e.http_status == 429,
        _ => false,
    }
}

/// When a call must end, if it has a deadline.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Deadline(Option<Instant>);

impl Deadline {
    /// The deadline `after` from now; none when `after` is `None` (or beyond what the clock
    /// can represent).
    pub(crate) fn after(after: Option<Duration>) -> Self {
        Deadline(after.and_then(|d| Instant::now().checked_add(d)))
    }

    /// Time left, `None` without a deadline.
    pub(crate) fn remaining(&self) -> Option<Duration> {
        self.0.map(|at| at.saturating_duration_since(Instant::now()))
    }

    /// The shorter of `limit` and the time left.
    pub(crate) fn cap(&self, limit: Option<Duration>) -> Option<Duration> {
        match (limit, self.remaining()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Runs `work`, failing with [`Error::Timeout`] once the deadline passes.
    pub(crate) async fn bound<T>(&self, work: impl Future<Output = T>) -> Result<T> {
        within(self.remaining(), work).await
    }
}

/// Runs `work`, failing with [`Error::Timeout`] after `limit`.
///
/// Not an `async fn`: that would keep `work` twice, as its argument and inside the timeout
/// it awaits, and so nearly double the size of every call's future (2.8 KiB instead of
/// 1.5 KiB for the retry loop of a JSON call), which each call allocates and moves.
pub(crate) fn within<F: Future>(limit: Option<Duration>, work: F) -> impl Future<Output = Result<F::Output>> {
    use futures_util::future::{Either, FutureExt as _};
    match limit {
        Some(limit) => Either::Left(tokio::time::timeout(limit, work).map(|r| r.map_err(|_| Error::Timeout))),
        None => Either::Right(work.map(Ok)),
    }
}

/// When the body of a request being sent last moved: for a request whose body may take
/// longer to send than the attempt timeout (a media upload on a slow link), the timeout
/// bounds the time without progress instead, as Google's Python client's socket timeout
/// does, and not the whole attempt.
#[derive(Debug)]
pub(crate) struct Activity {
    base: Instant,
    /// Nanoseconds from `base` to the last progress.
    last: AtomicU64,
}

impl Activity {
    pub(crate) fn new() -> Self {
        Activity { base: Instant::now(), last: AtomicU64::new(0) }
    }

    /// Records progress now.
    pub(crate) fn touch(&self) {
        let now = u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.last.fetch_max(now, Ordering::Relaxed);
    }

    /// When the time without progress reaches `idle`; `None` if beyond what the clock holds.
    fn idle_until(&self, idle: Duration) -> Option<Instant> {
        self.base.checked_add(Duration::from_nanos(self.last.load(Ordering::Relaxed)))?.checked_add(idle)
    }
}

/// Runs `work`, failing with [`Error::Timeout`] once `activity` saw no progress for `idle`,
/// or at the deadline.
pub(crate) async fn within_idle<F: Future>(
    idle: Duration,
    deadline: Deadline,
    activity: &Activity,
    work: F,
) -> Result<F::Output> {
    let mut work = std::pin::pin!(work);
    loop {
        let until = match (activity.idle_until(idle), deadline.0) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let Some(until) = until else { return Ok(work.await) };
        match tokio::time::timeout_at(until.into(), work.as_mut()).await {
            Ok(output) => return Ok(output),
            Err(_) => {
                let now = Instant::now();
                let idle_over = activity.idle_until(idle).is_some_and(|at| at <= now);
                if idle_over || deadline.0.is_some_and(|at| at <= now) {
                    return Err(Error::Timeout);
                }
                // The body moved meanwhile: wait from its last progress.
            }
        }
    }
}

/// The outcome of one attempt, and the bearer token it carried (needed to invalidate it
/// after a 401).
pub(crate) struct Attempted<T> {
    pub(crate) result: Result<T>,
    pub(crate) token: Option<String>,
    /// Whether the attempt moved the work forward enough before it failed (a download, by
    /// its own measure of progress): the loop then counts attempts, the retry budget and the
    /// one retry with a new token afresh from it.
    pub(crate) progressed: bool,
}

impl<T> Attempted<T> {
    /// An attempt that made no progress worth keeping: its result is all there is.
    pub(crate) fn new(result: Result<T>, token: Option<String>) -> Self {
        Attempted { result, token, progressed: false }
    }
}

/// How the attempts of one request are retried.
pub(crate) struct Retrying<'a> {
    pub(crate) policy: &'a RetryPolicy,
    pub(crate) deadline: Deadline,
    /// Limit of each attempt, cut to the time left before the deadline.
    pub(crate) attempt_timeout: Option<Duration>,
    /// Whether repeating the request after an ambiguous failure is safe.
    pub(crate) idempotent: bool,
    /// The provider of the token the attempts carry, asked for a new one after a 401.
    pub(crate) auth: Option<&'a dyn TokenProvider>,
    /// With it, the attempt timeout bounds the time without progress of the request's body
    /// ([`Activity`]), not the whole attempt.
    pub(crate) idle: Option<std::sync::Arc<Activity>>,
}

impl Retrying<'_> {
    /// Calls `attempt` (with the attempt number, from 1) until it succeeds or a failure
    /// must be returned: not worth retrying, not safe to repeat, out of attempts, out of
    /// budget, or past the deadline. Each attempt is cut off with [`Error::Timeout`] at the
    /// attempt timeout or the deadline, whichever comes first.
    pub(crate) async fn run<T, F, Fut>(&self, mut attempt: F) -> Result<T>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Attempted<T>>,
    {
        let mut start = Instant::now();
        let mut number = 0u32;
        let mut retries = 0u32;
        let mut token_refreshed = false;
        loop {
            number = number.saturating_add(1);
            let limit = self.deadline.cap(self.attempt_timeout);
            let attempted = match (&self.idle, self.attempt_timeout) {
                (Some(activity), Some(idle)) => {
                    activity.touch();
                    // Boxed: only uploads come this way, and every call's future would
                    // otherwise hold room for it.
                    Box::pin(within_idle(idle, self.deadline, activity, attempt(number))).await
                }
                _ => within(limit, attempt(number)).await,
            };
            let Attempted { result, token, progressed } = match attempted {
                Ok(attempted) => attempted,
                Err(timeout) => Attempted::new(Err(timeout), None),
            };
            let err = match result {
                Ok(value) => return Ok(value),
                Err(err) => err,
            };
            if progressed {
                start = Instant::now();
                retries = 0;
                token_refreshed = false;
            }
            if err.http_status() == Some(401) {
                // A 401 refuses the request before it is processed, so sending it again is
                // safe for any method; only once, and only with a new token.
                let renewable = match (self.auth, token.as_deref()) {
                    (Some(auth), Some(token)) => !token_refreshed && auth.invalidate(token),
                    _ => false,
                };
                if renewable {
                    token_refreshed = true;
                    tracing::debug!(attempt = number, "HTTP 401; retrying once with a new token");
                    continue;
                }
                return Err(err);
            }
            retries += 1;
            if retries >= self.policy.get_max_attempts() || !should_retry(&err, self.idempotent) {
                return Err(err);
            }
            let wait = if matches!(&err, Error::Transport(e) if e.is_unprocessed()) {
                // Refused before processing (a full stream table, a connection closing):
                // at once, on another stream or connection, as HTTP/2 intends.
                Duration::ZERO
            } else {
                // The server's wait is a minimum: a `Retry-After` of 0, or a date already
                // past (a clock off), does not cancel the backoff, or every client of an
                // overloaded service would come back at once, again and again.
                let backoff = self.policy.backoff(retries);
                err.retry_after().map_or(backoff, |asked| asked.max(backoff))
            };
            if start.elapsed().saturating_add(wait) > self.policy.get_total_timeout() {
                tracing::debug!(?wait, "not retrying: the wait would exceed the retry budget");
                return Err(err);
            }
            if self.deadline.remaining().is_some_and(|left| wait >= left) {
                tracing::debug!(?wait, "not retrying: the wait would end past the call's deadline");
                return Err(err);
            }
            tracing::debug!(attempt = number, ?wait, error = %err, "retrying");
            tokio::time::sleep(wait).await;
        }
    }
}

/// How long the server asked to wait before trying again: the `Retry-After` header, in
/// seconds or as an HTTP date (RFC 9110 section 10.2.3). Values that cannot be read are
/// ignored (the backoff applies); a date in the past asks for no wait (the backoff still
/// applies: the retry loop waits the longer of the two).
pub(crate) fn retry_after_header(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(http::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Digits that overflow a u64 are still "wait a very long time".
        return Some(value.parse().map(Duration::from_secs).unwrap_or(Duration::MAX));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO))
}

/// A small splitmix64 generator: jitter and multipart boundaries need spread, not
/// cryptographic strength, and this avoids a dependency on `rand`.
pub(crate) fn random_u64() -> u64 {
    static SEED: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let seed = *SEED.get_or_init(|| {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0));
        h.finish()
    });
    let mut z = seed.wrapping_add(COUNTER.fetch_add(1, Ordering::Relaxed).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn retry_after(value: &str) -> Option<Duration> {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::RETRY_AFTER, HeaderValue::from_str(value).ok()?);
        retry_after_header(&headers)
    }

    #[test]
    fn retry_after_in_seconds_and_dates() {
        assert_eq!(retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(retry_after(" 0 "), Some(Duration::ZERO));
        assert_eq!(retry_after("99999999999999999999999"), Some(Duration::MAX));
        assert_eq!(retry_after("Sun, 06 Nov 1994 08:49:37 GMT"), Some(Duration::ZERO));
        let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(3600));
        let wait = retry_after(&later).unwrap();
        assert!(wait > Duration::from_secs(3500) && wait <= Duration::from_secs(3600), "{wait:?}");
        for unreadable in ["", "-1", "1.5", "soon", "Sun, 06 Nov 99999 08:49:37 GMT", "+5"] {
            assert_eq!(retry_after(unreadable), None, "{unreadable:?}");
        }
    }

    #[test]
    fn backoff_is_bounded_by_the_exponential_cap() {
        let p =
            RetryPolicy::default().initial_backoff(Duration::from_millis(100)).max_backoff(Duration::from_millis(250));
        for _ in 0..200 {
            assert!(p.backoff(1) <= Duration::from_millis(100));
            assert!(p.backoff(2) <= Duration::from_millis(200));
            assert!(p.backoff(3) <= Duration::from_millis(250));
            assert!(p.backoff(60) <= Duration::from_millis(250));
            assert!(p.backoff(u32::MAX) <= Duration::from_millis(250));
        }
        // Full jitter spreads the waits rather than always using the cap.
        let distinct: std::collections::HashSet<_> = (0..50).map(|_| p.backoff(3)).collect();
        assert!(distinct.len() > 10);
        let huge = RetryPolicy::default().initial_backoff(Duration::MAX).max_backoff(Duration::MAX);
        assert!(huge.backoff(40) <= Duration::MAX);
    }

    #[test]
    fn none_means_one_attempt() {
        assert_eq!(RetryPolicy::none().get_max_attempts(), 1);
        assert_eq!(RetryPolicy::default().max_attempts(0).get_max_attempts(), 1);
    }

    #[test]
    fn deadlines_cap_limits_and_survive_huge_durations() {
        let none = Deadline::after(None);
        assert_eq!(none.remaining(), None);
        assert_eq!(none.cap(Some(Duration::from_secs(3))), Some(Duration::from_secs(3)));
        assert_eq!(Deadline::after(Some(Duration::MAX)).remaining(), None);
        let soon = Deadline::after(Some(Duration::from_secs(1)));
        assert!(soon.cap(Some(Duration::from_secs(60))).unwrap() <= Duration::from_secs(1));
        assert!(soon.cap(None).unwrap() <= Duration::from_secs(1));
    }

    mod hostile_values {
        use super::*;
        use proptest::prelude::*;

        const MONTHS: [&str; 14] =
            ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "Foo", ""];
        const DAYS: [&str; 9] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "Sunday", "Xyz"];

        /// An HTTP date in one of the three forms of RFC 9110, with any numbers in its fields.
        fn http_date() -> impl Strategy<Value = String> {
            (0usize..9, 0u64..=u64::MAX, 0usize..14, 0u64..=u64::MAX, 0u32..100, 0u32..100, 0u32..100, 0u8..3).prop_map(
                |(wd, day, month, year, h, m, s, form)| {
                    let (wd, month) = (DAYS[wd], MONTHS[month]);
                    let day = day % 100;
                    let year = if year % 3 == 0 { year } else { year % 10_000 };
                    match form {
                        0 => format!("{wd}, {day:02} {month} {year} {h:02}:{m:02}:{s:02} GMT"),
                        1 => format!("{wd}, {day:02}-{month}-{:02} {h:02}:{m:02}:{s:02} GMT", year % 100),
                        _ => format!("{wd} {month} {day:>2} {h:02}:{m:02}:{s:02} {year}"),
                    }
                },
            )
        }

        /// Anything a server could put in `Retry-After`: dates, digits of any length, and
        /// arbitrary text.
        fn retry_after_value() -> impl Strategy<Value = String> {
            prop_oneof![http_date(), "[0-9]{1,40}", "[ -~]{0,40}", any::<u64>().prop_map(|n| n.to_string())]
        }

        proptest! {
            #[test]
            fn retry_after_never_panics_and_a_wait_is_a_wait(value in retry_after_value()) {
                if let Some(wait) = retry_after(&value) {
                    prop_assert!(wait <= Duration::MAX);
                }
            }

            /// The loop, fed 503s that carry any `Retry-After`, ends within its budget.
            #[test]
            fn the_retry_loop_ends_whatever_the_server_asks(values in proptest::collection::vec(retry_after_value(), 1..6)) {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                let policy = RetryPolicy::default()
                    .max_attempts(4)
                    .initial_backoff(Duration::from_millis(1))
                    .total_timeout(Duration::from_millis(30));
                let retrying = Retrying {
                    policy: &policy,
                    deadline: Deadline::after(Some(Duration::from_millis(200))),
                    attempt_timeout: Some(Duration::from_millis(50)),
                    idempotent: true,
                    auth: None,
                    idle: None,
                };
                let started = Instant::now();
                let result: Result<()> = runtime.block_on(retrying.run(|n| {
                    let mut headers = HeaderMap::new();
                    if let Ok(value) = http::HeaderValue::from_str(&values[(n as usize - 1) % values.len()]) {
                        headers.insert(http::header::RETRY_AFTER, value);
                    }
                    let err = crate::ServiceError::from_response(503, &headers, b"");
                    std::future::ready(Attempted::new(Err(err.into()), None))
                }));
                prop_assert!(result.is_err());
                prop_assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
            }
        }
    }
}
