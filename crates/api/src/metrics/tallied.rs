//! The request series, `http_requests_total` and
//! `http_request_duration_seconds`: counted by each thread in cells only
//! it writes, summed when `/metrics` is scraped.
//!
//! Through the recorder, every request of both workers added one to a
//! counter they share and pushed its time onto a histogram's shared
//! buffer under an epoch pin: locked read-modify-writes on cache lines
//! that moved between the cores on every request (docs/PERFORMANCE.md,
//! "ninth session"). Here a request's thread bumps its own cells with a
//! plain load and store, and nothing is drained afterwards.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::BUCKETS;
use crate::per_thread::{kept, Kept};

pub const REQUESTS: &str = "http_requests_total";
pub const DURATION: &str = "http_request_duration_seconds";

/// A series' labels: method, route, status class.
pub type Labels = [&'static str; 3];
const NAMES: Labels = ["method", "route", "status"];

/// One series' answers on one thread. Its own cache lines: another
/// thread's tally beside it would move them between cores again.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Tally {
    /// Answers by the first bucket they fit: `[i]` took at most
    /// `BUCKETS[i]`, the last cell longer than every bound. Their total is
    /// the count, so a scrape cannot see a count its buckets disagree
    /// with.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    nanos: AtomicU64,
}

impl Tally {
    fn record(&self, took: Duration) {
        let seconds = took.as_secs_f64();
        add(
            &self.buckets[BUCKETS.partition_point(|&bound| bound < seconds)],
            1,
        );
        add(
            &self.nanos,
            u64::try_from(took.as_nanos()).unwrap_or(u64::MAX),
        );
    }
}

/// `cell += by` by the cell's one writer: a load and a store, no locked
/// instruction. A reader on another thread sees the old or the new value.
fn add(cell: &AtomicU64, by: u64) {
    cell.store(cell.load(Relaxed).wrapping_add(by), Relaxed);
}

/// Every thread's tallies, for the scrape. A thread's stay after it ends:
/// a counter never goes back.
static ALL: Mutex<Vec<(Labels, Arc<Tally>)>> = Mutex::new(Vec::new());

/// Counts one answer of the series `labels` that took `took`.
pub fn record(labels: Labels, took: Duration) {
    thread_local! {
        static MINE: Kept<Arc<Tally>, 3> = RefCell::default();
    }
    let register = || {
        let tally = Arc::<Tally>::default();
        ALL.lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((labels, tally.clone()));
        tally
    };
    kept(&MINE, labels, register, |tally| tally.record(took));
}

/// One series summed over the threads.
struct Sum {
    labels: Labels,
    buckets: [u64; BUCKETS.len() + 1],
    nanos: u64,
}

/// Both series in the Prometheus text format, as the recorder renders
/// its own.
pub fn render(out: &mut String) {
    let sums = summed();
    if sums.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "# HELP {REQUESTS} HTTP requests answered, by method, route template and status class."
    );
    let _ = writeln!(out, "# TYPE {REQUESTS} counter");
    for sum in &sums {
        let count: u64 = sum.buckets.iter().sum();
        let _ = writeln!(out, "{REQUESTS}{{{}}} {count}", labels(sum.labels));
    }
    let _ = writeln!(
        out,
        "\n# HELP {DURATION} Time to answer an HTTP request, by method, route template and status class."
    );
    let _ = writeln!(out, "# TYPE {DURATION} histogram");
    for sum in &sums {
        let labels = labels(sum.labels);
        let mut below = 0;
        for (bound, count) in BUCKETS.iter().zip(&sum.buckets) {
            below += count;
            let _ = writeln!(out, "{DURATION}_bucket{{{labels},le=\"{bound}\"}} {below}");
        }
        let count = below + sum.buckets[BUCKETS.len()];
        let _ = writeln!(out, "{DURATION}_bucket{{{labels},le=\"+Inf\"}} {count}");
        let seconds = sum.nanos as f64 / 1e9;
        let _ = writeln!(out, "{DURATION}_sum{{{labels}}} {seconds}");
        let _ = writeln!(out, "{DURATION}_count{{{labels}}} {count}");
    }
    out.push('\n');
}

/// The tallies of each series added up, in the order first seen. Label
/// values are compared as text: `kept` tells them apart by address.
fn summed() -> Vec<Sum> {
    let all = ALL.lock().unwrap_or_else(|e| e.into_inner());
    let mut sums: Vec<Sum> = Vec::new();
    for (labels, tally) in all.iter() {
        let at = match sums.iter().position(|sum| sum.labels == *labels) {
            Some(at) => at,
            None => {
                sums.push(Sum {
                    labels: *labels,
                    buckets: [0; BUCKETS.len() + 1],
                    nanos: 0,
                });
                sums.len() - 1
            }
        };
        let sum = &mut sums[at];
        for (total, cell) in sum.buckets.iter_mut().zip(&tally.buckets) {
            *total += cell.load(Relaxed);
        }
        sum.nanos += tally.nanos.load(Relaxed);
    }
    sums
}

/// `method="GET",route="/events/{eventId}",status="2xx"`: every value is
/// one of a fixed set with nothing to escape.
fn labels(values: Labels) -> String {
    let mut text = String::new();
    for (name, value) in NAMES.iter().zip(values) {
        if !text.is_empty() {
            text.push(',');
        }
        let _ = write!(text, "{name}=\"{value}\"");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered() -> String {
        let mut out = String::new();
        render(&mut out);
        out
    }

    fn value(text: &str, series: &str) -> f64 {
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("no {series} in {text}"))
            .parse()
            .unwrap()
    }

    #[test]
    fn answers_of_every_thread_are_summed_into_cumulative_buckets() {
        // Labels of this test's own, so that other tests' requests in
        // this process do not count.
        const LABELS: Labels = ["TEST", "/requests-test", "2xx"];
        record(LABELS, Duration::from_micros(100));
        std::thread::spawn(|| {
            record(LABELS, Duration::from_millis(3));
            record(LABELS, Duration::from_secs(60));
        })
        .join()
        .unwrap();
        let text = rendered();
        let series = "method=\"TEST\",route=\"/requests-test\",status=\"2xx\"";
        assert_eq!(value(&text, &format!("{REQUESTS}{{{series}}}")), 3.0);
        let bucket = |le: &str| value(&text, &format!("{DURATION}_bucket{{{series},le=\"{le}\"}}"));
        assert_eq!(bucket("0.00025"), 1.0);
        assert_eq!(bucket("0.0025"), 1.0);
        assert_eq!(bucket("0.005"), 2.0);
        assert_eq!(bucket("10"), 2.0);
        assert_eq!(bucket("+Inf"), 3.0);
        assert_eq!(value(&text, &format!("{DURATION}_count{{{series}}}")), 3.0);
        let sum = value(&text, &format!("{DURATION}_sum{{{series}}}"));
        assert!((sum - 60.0031).abs() < 1e-9, "{sum}");
        assert!(text.contains(&format!("# TYPE {REQUESTS} counter\n")));
        assert!(text.contains(&format!("# TYPE {DURATION} histogram\n")));
    }

    #[test]
    fn an_answer_on_a_bound_counts_in_that_bound() {
        const LABELS: Labels = ["TEST", "/requests-bound", "2xx"];
        record(LABELS, Duration::from_millis(1));
        let text = rendered();
        let series = "method=\"TEST\",route=\"/requests-bound\",status=\"2xx\"";
        let bucket = |le: &str| value(&text, &format!("{DURATION}_bucket{{{series},le=\"{le}\"}}"));
        assert_eq!(bucket("0.0005"), 0.0);
        assert_eq!(bucket("0.001"), 1.0);
    }
}
