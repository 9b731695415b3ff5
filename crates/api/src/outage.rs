//! When to warn that a store keeps failing: at the first failure, then
//! once per [`WARN_EVERY`] with the count of failures since, and once when
//! it works again. A live feed retries every 200 ms per watched event and
//! the rate limiter is asked on every request: a line per failure would
//! flood the log for as long as the outage lasts.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One caller's record of an outage.
#[derive(Debug, Default)]
pub(crate) struct Outage {
    since: Option<Instant>,
    warned: Option<Instant>,
    failed: u64,
}

const WARN_EVERY: Duration = Duration::from_secs(10);

impl Outage {
    /// A call failed at `now`: the failures to report, if it is time.
    pub(crate) fn failed(&mut self, now: Instant) -> Option<u64> {
        self.since.get_or_insert(now);
        self.failed += 1;
        let due = self.warned.is_none_or(|at| now >= at + WARN_EVERY);
        due.then(|| {
            self.warned = Some(now);
            std::mem::take(&mut self.failed)
        })
    }

    /// A call succeeded at `now`: how long the outage lasted, if there was
    /// one.
    pub(crate) fn over(&mut self, now: Instant) -> Option<Duration> {
        let since = self.since.take()?;
        *self = Self::default();
        Some(now - since)
    }
}

/// An [`Outage`] shared by every worker. A success costs one atomic load
/// while nothing is failing; the lock is taken only during an outage.
#[derive(Debug, Default)]
pub(crate) struct SharedOutage {
    failing: AtomicBool,
    outage: Mutex<Outage>,
}

impl SharedOutage {
    pub(crate) fn failed(&self, now: Instant) -> Option<u64> {
        self.failing.store(true, Ordering::Relaxed);
        self.lock().failed(now)
    }

    pub(crate) fn over(&self, now: Instant) -> Option<Duration> {
        if !self.failing.load(Ordering::Relaxed) {
            return None;
        }
        let mut outage = self.lock();
        self.failing.store(false, Ordering::Relaxed);
        outage.over(now)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Outage> {
        self.outage.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outage_warns_at_once_then_every_ten_seconds_and_says_when_it_ends() {
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        let mut outage = Outage::default();
        assert_eq!(outage.over(at(0)), None);
        assert_eq!(outage.failed(at(0)), Some(1));
        for ms in (200..10_000).step_by(200) {
            assert_eq!(outage.failed(at(ms)), None, "{ms}");
        }
        assert_eq!(outage.failed(at(10_000)), Some(50));
        assert_eq!(outage.over(at(10_200)), Some(Duration::from_millis(10_200)));
        // The next outage warns at once again.
        assert_eq!(outage.failed(at(11_000)), Some(1));
    }

    #[test]
    fn a_shared_outage_is_over_once_whichever_worker_sees_it_end() {
        let start = Instant::now();
        let outage = SharedOutage::default();
        assert_eq!(outage.over(start), None);
        assert_eq!(outage.failed(start), Some(1));
        assert_eq!(outage.failed(start + Duration::from_millis(5)), None);
        let end = start + Duration::from_millis(300);
        assert_eq!(outage.over(end), Some(Duration::from_millis(300)));
        assert_eq!(outage.over(end), None);
    }
}
