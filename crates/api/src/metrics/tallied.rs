//! Histograms recorded on every request, counted by each thread in cells
//! only it writes and summed when `/metrics` is scraped: the request series
//! (`http::REQUESTS`, with its counter) and the store calls
//! (`stores::CALLS`).
//!
//! Through the recorder, every request of both workers added to a counter
//! they share and pushed its time onto a histogram's shared buffer under an
//! epoch pin: locked read-modify-writes on cache lines that moved between
//! the cores on every request (docs/PERFORMANCE.md, "ninth session"; the
//! store calls', "tenth session"). Here a thread bumps its own cells with a
//! plain load and store, and nothing is drained afterwards.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::BUCKETS;
use crate::per_thread::{kept, Kept};

/// A series' label values, in the order of its family's names.
pub type Labels = [&'static str; 3];

/// A histogram family of three labels and, where it has one, the counter
/// of the same answers (rendered from the buckets, so a scrape cannot
/// show a count its histogram disagrees with).
#[derive(Debug)]
pub struct Family {
    name: &'static str,
    help: &'static str,
    label_names: Labels,
    counter: Option<(&'static str, &'static str)>,
    /// Every thread's tallies. A thread's stay after it ends: a counter
    /// never goes back.
    tallies: Mutex<Vec<(Labels, Arc<Tally>)>>,
}

impl Family {
    pub const fn histogram(name: &'static str, help: &'static str, label_names: Labels) -> Self {
        Self {
            name,
            help,
            label_names,
            counter: None,
            tallies: Mutex::new(Vec::new()),
        }
    }

    /// The family with a counter `name` of the same answers.
    pub const fn with_counter(mut self, name: &'static str, help: &'static str) -> Self {
        self.counter = Some((name, help));
        self
    }

    /// Counts one answer of the series `values` that took `took`.
    pub fn record(&'static self, values: Labels, took: Duration) {
        // One map for every family: the family's name is part of the key
        // (`kept` tells strings apart by address).
        thread_local! {
            static MINE: Kept<Arc<Tally>, 4> = RefCell::default();
        }
        let register = || {
            let tally = Arc::<Tally>::default();
            self.tallies
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((values, tally.clone()));
            tally
        };
        let [a, b, c] = values;
        kept(&MINE, [self.name, a, b, c], register, |tally| {
            tally.record(took)
        });
    }

    /// The family in the Prometheus text format, as the recorder renders
    /// its own: nothing until a series has been recorded.
    pub fn render(&self, out: &mut String) {
        let sums = self.summed();
        if sums.is_empty() {
            return;
        }
        if let Some((counter, help)) = self.counter {
            let _ = writeln!(out, "# HELP {counter} {help}");
            let _ = writeln!(out, "# TYPE {counter} counter");
            for sum in &sums {
                let count: u64 = sum.buckets.iter().sum();
                let _ = writeln!(out, "{counter}{{{}}} {count}", self.labels(sum.values));
            }
            out.push('\n');
        }
        let name = self.name;
        let _ = writeln!(out, "# HELP {name} {}", self.help);
        let _ = writeln!(out, "# TYPE {name} histogram");
        for sum in &sums {
            let labels = self.labels(sum.values);
            let mut below = 0;
            for (bound, count) in BUCKETS.iter().zip(&sum.buckets) {
                below += count;
                let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {below}");
            }
            let count = below + sum.buckets[BUCKETS.len()];
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {count}");
            let seconds = sum.nanos as f64 / 1e9;
            let _ = writeln!(out, "{name}_sum{{{labels}}} {seconds}");
            let _ = writeln!(out, "{name}_count{{{labels}}} {count}");
        }
        out.push('\n');
    }

    /// The tallies of each series added up, in the order first seen. Label
    /// values are compared as text: `kept` tells them apart by address.
    fn summed(&self) -> Vec<Sum> {
        let tallies = self.tallies.lock().unwrap_or_else(|e| e.into_inner());
        let mut sums: Vec<Sum> = Vec::new();
        for (values, tally) in tallies.iter() {
            let at = match sums.iter().position(|sum| sum.values == *values) {
                Some(at) => at,
                None => {
                    sums.push(Sum {
                        values: *values,
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

    /// `method="GET",route="/events/{eventId}",status="2xx"`: every value
    /// is one of a fixed set with nothing to escape.
    fn labels(&self, values: Labels) -> String {
        let mut text = String::new();
        for (name, value) in self.label_names.iter().zip(values) {
            if !text.is_empty() {
                text.push(',');
            }
            let _ = write!(text, "{name}=\"{value}\"");
        }
        text
    }
}

/// One series' answers on one thread. Its own cache lines: another
/// thread's tally beside it would move them between cores again.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Tally {
    /// Answers by the first bucket they fit: `[i]` took at most
    /// `BUCKETS[i]`, the last cell longer than every bound. Their total is
    /// the count.
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

/// One series summed over the threads.
struct Sum {
    values: Labels,
    buckets: [u64; BUCKETS.len() + 1],
    nanos: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: Labels = ["method", "route", "status"];

    fn rendered(family: &Family) -> String {
        let mut out = String::new();
        family.render(&mut out);
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
        static TIMES: Family = Family::histogram("test_seconds", "Test times.", NAMES)
            .with_counter("test_total", "Test answers.");
        const LABELS: Labels = ["GET", "/a", "2xx"];
        TIMES.record(LABELS, Duration::from_micros(100));
        std::thread::spawn(|| {
            TIMES.record(LABELS, Duration::from_millis(3));
            TIMES.record(LABELS, Duration::from_secs(60));
        })
        .join()
        .unwrap();
        let text = rendered(&TIMES);
        let series = "method=\"GET\",route=\"/a\",status=\"2xx\"";
        assert_eq!(value(&text, &format!("test_total{{{series}}}")), 3.0);
        let bucket = |le: &str| {
            value(
                &text,
                &format!("test_seconds_bucket{{{series},le=\"{le}\"}}"),
            )
        };
        assert_eq!(bucket("0.00025"), 1.0);
        assert_eq!(bucket("0.0025"), 1.0);
        assert_eq!(bucket("0.005"), 2.0);
        assert_eq!(bucket("10"), 2.0);
        assert_eq!(bucket("+Inf"), 3.0);
        assert_eq!(
            value(&text, &format!("test_seconds_count{{{series}}}")),
            3.0
        );
        let sum = value(&text, &format!("test_seconds_sum{{{series}}}"));
        assert!((sum - 60.0031).abs() < 1e-9, "{sum}");
        assert!(text.contains("# HELP test_total Test answers.\n# TYPE test_total counter\n"));
        assert!(text.contains("# HELP test_seconds Test times.\n# TYPE test_seconds histogram\n"));
    }

    #[test]
    fn an_answer_on_a_bound_counts_in_that_bound() {
        static TIMES: Family = Family::histogram("bound_seconds", "Test times.", NAMES);
        TIMES.record(["GET", "/b", "2xx"], Duration::from_millis(1));
        let text = rendered(&TIMES);
        let series = "method=\"GET\",route=\"/b\",status=\"2xx\"";
        let bucket = |le: &str| {
            value(
                &text,
                &format!("bound_seconds_bucket{{{series},le=\"{le}\"}}"),
            )
        };
        assert_eq!(bucket("0.0005"), 0.0);
        assert_eq!(bucket("0.001"), 1.0);
    }

    #[test]
    fn families_keep_their_series_apart_and_one_without_a_counter_renders_none() {
        static ONE: Family = Family::histogram("one_seconds", "One.", NAMES);
        static TWO: Family = Family::histogram("two_seconds", "Two.", NAMES);
        const LABELS: Labels = ["GET", "/c", "2xx"];
        ONE.record(LABELS, Duration::from_millis(1));
        ONE.record(LABELS, Duration::from_millis(1));
        TWO.record(LABELS, Duration::from_millis(1));
        let one = rendered(&ONE);
        let series = "method=\"GET\",route=\"/c\",status=\"2xx\"";
        assert_eq!(value(&one, &format!("one_seconds_count{{{series}}}")), 2.0);
        assert_eq!(
            value(&rendered(&TWO), &format!("two_seconds_count{{{series}}}")),
            1.0
        );
        assert!(
            !one.contains("two_seconds") && !one.contains("counter"),
            "{one}"
        );
    }

    #[test]
    fn a_family_with_nothing_recorded_renders_nothing() {
        static NONE: Family = Family::histogram("none_seconds", "None.", NAMES);
        assert_eq!(rendered(&NONE), "");
    }
}
