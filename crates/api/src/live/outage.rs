//! Whether a hub should warn that its event's feed cannot be read.

use std::time::{Duration, Instant};

/// A feed that cannot be read is read again every `poll` (200 ms): its
/// warning goes out at the first failure and then once per [`WARN_EVERY`]
/// with the count of failed reads, so an outage of the store does not
/// flood the log with five lines a second per watched event.
#[derive(Debug, Default)]
pub(super) struct Outage {
    since: Option<Instant>,
    warned: Option<Instant>,
    failed: u64,
}

const WARN_EVERY: Duration = Duration::from_secs(10);

impl Outage {
    /// A read failed at `now`: the failed reads to report, if it is time.
    pub(super) fn failed(&mut self, now: Instant) -> Option<u64> {
        self.since.get_or_insert(now);
        self.failed += 1;
        let due = self.warned.is_none_or(|at| now >= at + WARN_EVERY);
        due.then(|| {
            self.warned = Some(now);
            std::mem::take(&mut self.failed)
        })
    }

    /// A read succeeded at `now`: how long the outage lasted, if there was
    /// one.
    pub(super) fn over(&mut self, now: Instant) -> Option<Duration> {
        let since = self.since.take()?;
        *self = Self::default();
        Some(now - since)
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
}
