//! Time as the runtime sees it: the wall clock and real sleeps for live runs, or a virtual clock for
//! the dry-run that records the waits the retry policy decides and advances without sleeping.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The runtime's source of time.
pub trait Clock: Send + Sync {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;
    /// Waits `ms` milliseconds (a virtual clock just advances).
    fn sleep(&self, ms: u64) -> impl Future<Output = ()> + Send;
    /// The wait actually taken for a computed backoff wait when the policy asks for jitter. A dry-run
    /// always takes the un-jittered value so fixtures are deterministic.
    fn jitter(&self, wait_ms: u64) -> u64;
}

/// The wall clock; jitter uniformly random in `[wait/2, wait]`.
#[derive(Debug, Default, Clone)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    async fn sleep(&self, ms: u64) {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }

    fn jitter(&self, wait_ms: u64) -> u64 {
        let half = wait_ms / 2;
        half + random_below(wait_ms - half + 1)
    }
}

/// A small, non-cryptographic random number below `bound` (jitter only needs spread, not secrecy).
fn random_below(bound: u64) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    if bound == 0 {
        0
    } else {
        hasher.finish() % bound
    }
}

/// A clock that only moves when told to: by `sleep` (a retry wait) or `advance` (between repeats).
#[derive(Debug)]
pub struct VirtualClock {
    now_ms: AtomicU64,
}

impl VirtualClock {
    /// The dry-run's fixed epoch when a fixture gives no `clock_start`: 2026-01-01T00:00:00Z.
    pub const DEFAULT_START_MS: u64 = 1_767_225_600_000;

    pub fn new(start_ms: u64) -> VirtualClock {
        VirtualClock {
            now_ms: AtomicU64::new(start_ms),
        }
    }

    pub fn advance(&self, ms: u64) {
        self.now_ms.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Default for VirtualClock {
    fn default() -> VirtualClock {
        VirtualClock::new(VirtualClock::DEFAULT_START_MS)
    }
}

impl Clock for VirtualClock {
    fn now_ms(&self) -> u64 {
        self.now_ms.load(Ordering::SeqCst)
    }

    async fn sleep(&self, ms: u64) {
        self.advance(ms);
    }

    fn jitter(&self, wait_ms: u64) -> u64 {
        wait_ms
    }
}

impl<C: Clock> Clock for &C {
    fn now_ms(&self) -> u64 {
        (*self).now_ms()
    }

    fn sleep(&self, ms: u64) -> impl Future<Output = ()> + Send {
        (*self).sleep(ms)
    }

    fn jitter(&self, wait_ms: u64) -> u64 {
        (*self).jitter(wait_ms)
    }
}

impl<C: Clock> Clock for std::sync::Arc<C> {
    fn now_ms(&self) -> u64 {
        self.as_ref().now_ms()
    }

    fn sleep(&self, ms: u64) -> impl Future<Output = ()> + Send {
        self.as_ref().sleep(ms)
    }

    fn jitter(&self, wait_ms: u64) -> u64 {
        self.as_ref().jitter(wait_ms)
    }
}

/// The civil date `(year, month, day)` of a count of days since 1970-01-01, proleptic Gregorian
/// (Howard Hinnant's `civil_from_days`): how RFC 3339 times are written from epoch seconds.
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// The count of days since 1970-01-01 of a civil date (Howard Hinnant's `days_from_civil`, the
/// inverse of [`civil_from_days`]).
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod civil_tests {
    use super::*;

    #[test]
    fn civil_dates_round_trip() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        for days in [-800_000, -1, 0, 59, 60, 11_016, 20_791, 2_000_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
