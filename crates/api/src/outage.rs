//! When to warn that a store keeps failing: at the first failure, then
//! once per [`WARN_EVERY`] with the count of failures since, and (for a
//! live feed) once when it works again. A live feed retries every 200 ms per watched event and
//! the rate limiter is asked on every request: a line per failure would
//! flood the log for as long as the outage lasts.

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

/// Failures that every worker meets (the rate limiter's), warned about
/// once per [`WARN_EVERY`] in all. Nothing is recorded on success: in a
/// partial outage (one node of a cluster frozen) calls fail and succeed in
/// turn, and ending the outage at each success would warn at each failure.
#[derive(Debug, Default)]
pub(crate) struct SharedOutage(Mutex<Outage>);

impl SharedOutage {
    /// A call failed at `now`: the failures to report, if it is time.
    pub(crate) fn failed(&self, now: Instant) -> Option<u64> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).failed(now)
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
    fn a_shared_outage_warns_once_per_ten_seconds_whatever_succeeds_between() {
        let start = Instant::now();
        let outage = SharedOutage::default();
        assert_eq!(outage.failed(start), Some(1));
        assert_eq!(outage.failed(start + Duration::from_secs(5)), None);
        assert_eq!(outage.failed(start + Duration::from_secs(10)), Some(2));
    }
}
