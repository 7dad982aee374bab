//! Retry policy, backoff with jitter, and `Retry-After` dates.

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// When and how often failed calls are tried again.
///
/// Idempotent methods (`GET`, `HEAD`, `PUT`, `DELETE`) are retried on HTTP 408, 429, 500,
/// 502, 503 and 504, on rate-limit errors, on timeouts and on connection failures.
/// Non-idempotent ones (`POST`, `PATCH`) are retried only when the service surely did not act
/// on the request: the connection could not be established, or the answer was HTTP 429 (a
/// rate limit refuses a request before processing it).
///
/// The wait before retry `n` is drawn uniformly from zero to
/// `min(max_backoff, initial_backoff * 2^(n-1))` ("full jitter"), unless the server said how
/// long to wait (`Retry-After` header or `RetryInfo` detail), which is honoured. No retry
/// starts once `max_attempts` attempts were made, or when waiting would take the call past
/// `total_timeout` since its start.
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

    /// Sets the time budget of the whole call, measured from its start: no retry is started
    /// if its wait would end past it.
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

    /// The time budget of a whole call.
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

/// A small splitmix64 generator: jitter needs spread, not cryptographic strength, and this
/// avoids a dependency on `rand`.
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

/// Parses an HTTP date (RFC 9110 section 5.6.7): IMF-fixdate, the obsolete RFC 850 form and
/// asctime.
pub(crate) fn parse_http_date(s: &str) -> Option<SystemTime> {
    let cleaned: String = s.chars().map(|c| if c == ',' || c == '-' { ' ' } else { c }).collect();
    let parts: Vec<&str> = cleaned.split_whitespace().collect();
    let (day, month, year, time) = match parts.as_slice() {
        // "Sun, 06 Nov 1994 08:49:37 GMT" and "Sunday, 06-Nov-94 08:49:37 GMT"
        [_, day, month, year, time, "GMT"] => (*day, *month, *year, *time),
        // "Sun Nov  6 08:49:37 1994"
        [_, month, day, time, year] => (*day, *month, *year, *time),
        _ => return None,
    };
    let day: u32 = day.parse().ok()?;
    let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        .iter()
        .position(|m| *m == month)? as u32
        + 1;
    let mut year: i64 = year.parse().ok()?;
    if year < 100 {
        year += if year < 70 { 2000 } else { 1900 };
    }
    let mut hms = time.split(':').map(|p| p.parse::<u64>().ok());
    let (h, m, sec) = (hms.next()??, hms.next()??, hms.next()??);
    if hms.next().is_some() || !(1..=31).contains(&day) || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs = u64::try_from(days).ok()? * 86_400 + h * 3600 + m * 60 + sec;
    UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_in_all_three_forms() {
        let expected = UNIX_EPOCH + Duration::from_secs(784_111_777);
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(expected));
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), Some(expected));
        assert_eq!(parse_http_date("Sun Nov  6 08:49:37 1994"), Some(expected));
        assert_eq!(parse_http_date("yesterday"), None);
        assert_eq!(parse_http_date("Sun, 06 Foo 1994 08:49:37 GMT"), None);
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 28:49:37 GMT"), None);
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
        }
        // Full jitter spreads the waits rather than always using the cap.
        let distinct: std::collections::HashSet<_> = (0..50).map(|_| p.backoff(3)).collect();
        assert!(distinct.len() > 10);
    }

    #[test]
    fn none_means_one_attempt() {
        assert_eq!(RetryPolicy::none().get_max_attempts(), 1);
        assert_eq!(RetryPolicy::default().max_attempts(0).get_max_attempts(), 1);
    }
}
