//! What a scenario measured: latencies in an HDR histogram, and how many
//! answers of each status.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;

use crate::client::Answer;

#[derive(Debug, Clone)]
pub struct Stats {
    /// Microseconds, 1 µs to 60 s at 3 significant figures.
    pub latency: Histogram<u64>,
    pub statuses: BTreeMap<u16, u64>,
}

impl Default for Stats {
    fn default() -> Self {
        Self {
            latency: Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid bounds"),
            statuses: BTreeMap::new(),
        }
    }
}

impl Stats {
    pub fn record(&mut self, answer: &Answer) {
        let micros = u64::try_from(answer.latency.as_micros()).unwrap_or(u64::MAX);
        self.latency.saturating_record(micros.max(1));
        *self.statuses.entry(answer.status).or_default() += 1;
    }

    pub fn merge(&mut self, other: &Stats) {
        self.latency.add(&other.latency).expect("same bounds");
        for (status, count) in &other.statuses {
            *self.statuses.entry(*status).or_default() += count;
        }
    }

    pub fn requests(&self) -> u64 {
        self.latency.len()
    }

    pub fn server_errors(&self) -> u64 {
        // Status 0 is a request that failed on the wire: as bad as a 5xx.
        self.statuses
            .iter()
            .filter(|(s, _)| **s == 0 || **s >= 500)
            .map(|(_, n)| n)
            .sum()
    }

    pub fn percentile(&self, q: f64) -> Duration {
        Duration::from_micros(self.latency.value_at_quantile(q))
    }

    pub fn statuses_text(&self) -> String {
        let parts: Vec<String> = self
            .statuses
            .iter()
            .map(|(s, n)| format!("{s}:{n}"))
            .collect();
        parts.join(" ")
    }
}
