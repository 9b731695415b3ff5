//! Prometheus metrics at `GET /metrics`.
//!
//! Code records through the `metrics` facade (as it logs through
//! `tracing`), so the domain can later count things without knowing
//! Prometheus; `metrics-exporter-prometheus` is the recorder, rendering
//! text on each scrape and nothing else (no listener of its own). What is
//! a gauge of the moment (pool usage, the process) is read at scrape time.
//! The histograms every request adds to are the exception: each thread
//! counts them in cells of its own (`tallied`), rendered beside the
//! recorder's.
//!
//! Every label value is one of a fixed set (route templates, never raw
//! paths; status classes; error codes), so what clients send cannot grow
//! the series. The names are listed in docs/API.md.

pub mod http;
mod process;
pub mod stores;
mod tallied;

use std::fmt::Write as _;
use std::sync::OnceLock;
use std::thread::LocalKey;
use std::time::Duration;

use crate::per_thread::{self, Kept};
use crate::routes::Class;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// Latency buckets, seconds: from a cached read (~100 µs) to a timeout.
const BUCKETS: &[f64] = &[
    0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
    10.0,
];

/// The process-wide recorder's handle, installed on first use. One
/// recorder per process: apps started side by side (tests) share it.
pub fn recorder() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(BUCKETS)
                .expect("the buckets are not empty")
                .build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!(
                    "another metrics recorder is installed; /metrics will miss its data"
                );
            }
            describe();
            // The recorder's histograms buffer samples until drained: drain
            // them even when nobody scrapes, so memory stays flat. (Those
            // recorded per request are tallied instead; one added through
            // the macros would need this.)
            let upkeep = handle.clone();
            std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || loop {
                    std::thread::sleep(Duration::from_secs(5));
                    upkeep.run_upkeep();
                })
                .expect("a thread can be started");
            handle
        })
        .clone()
}

/// Handles of series recorded per request, kept per worker thread by
/// their label values (`per_thread`): registering through the macros
/// builds and hashes the key (name and labels) on every call, about 2.5 %
/// of the api's CPU on a request that does little else. The handle is
/// lent, not cloned: a clone and its drop are two atomic writes to a
/// count every worker shares.
pub(crate) fn kept<H, R, const N: usize>(
    cache: &'static LocalKey<Kept<H, N>>,
    labels: [&'static str; N],
    register: impl FnOnce() -> H,
    record: impl FnOnce(&H) -> R,
) -> R {
    let register = || {
        // A handle taken before the recorder is installed would count
        // nothing, forever: install it first if need be.
        recorder();
        register()
    };
    per_thread::kept(cache, labels, register, record)
}

fn describe() {
    use metrics::describe_counter;
    describe_counter!(
        http::OPERATIONS,
        "Holds, confirms, releases and cancels by result: ok, replayed, or the error code."
    );
    describe_counter!(
        booking_domain::ledger::RELOADS,
        "Loads of an event's booked-seat mirror from the source of truth, by outcome (loaded, stale, busy, failed)."
    );
    describe_counter!(
        booking_domain::ledger::FAULTS,
        "What the ledger found wrong and mended: a missing or stale mirror (mirror_missing), a confirm left pending (stale_pending), a write whose answer was lost (indeterminate), a failed finish, unbook or abort (finish_failed, unbook_failed, abort_failed)."
    );
    describe_counter!(
        crate::rate_limit::REFUSED,
        "Requests refused by a rate limit, by class and by what was limited (caller, ip)."
    );
    // Counters that may stay at zero for a long time are there from the
    // start: a series that does not exist yet looks like a metric that
    // was never built to a dashboard or an alert.
    for fault in booking_domain::ledger::Fault::ALL {
        metrics::counter!(booking_domain::ledger::FAULTS, "fault" => fault.as_str()).increment(0);
    }
    for class in Class::LIMITED {
        for by in [crate::rate_limit::BY_CALLER, crate::rate_limit::BY_IP] {
            metrics::counter!(crate::rate_limit::REFUSED, "class" => class.as_str(), "by" => by)
                .increment(0);
        }
    }
    describe_counter!(
        crate::idempotency::OUTCOMES,
        "POSTs with an Idempotency-Key, by outcome (stored, replayed, in_use, reused, not_stored)."
    );
}

/// One connection pool's state, read at scrape time. (deadpool's `Status`
/// of the Redis pools converts with [`pool_usage!`].)
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolUsage {
    pub max: usize,
    pub open: usize,
    pub idle: usize,
    pub waiting: usize,
}

impl From<booking_postgres::PoolStatus> for PoolUsage {
    fn from(s: booking_postgres::PoolStatus) -> Self {
        Self {
            max: s.max_size,
            open: s.size,
            idle: s.available,
            waiting: s.waiting,
        }
    }
}

/// A deadpool `Status` (the Redis pools') as a [`PoolUsage`], without
/// naming deadpool's type.
#[macro_export]
macro_rules! pool_usage {
    ($status:expr) => {{
        let status = $status;
        $crate::metrics::PoolUsage {
            max: status.max_size,
            open: status.size,
            idle: status.available,
            waiting: status.waiting,
        }
    }};
}

type PoolReader = Box<dyn Fn() -> PoolUsage + Send + Sync>;

/// What `/metrics` renders: the recorder's series, the tallied ones (the
/// requests', the store calls'), then this app's pools and the process.
pub struct Scrape {
    handle: PrometheusHandle,
    pools: Vec<(&'static str, PoolReader)>,
}

impl std::fmt::Debug for Scrape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scrape")
            .field(
                "pools",
                &self.pools.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Scrape {
    pub fn new() -> Self {
        Self {
            handle: recorder(),
            pools: Vec::new(),
        }
    }

    /// Reports the pool named `name` (`postgres`, `redis_holds`, ...).
    pub fn pool(
        &mut self,
        name: &'static str,
        read: impl Fn() -> PoolUsage + Send + Sync + 'static,
    ) {
        self.pools.push((name, Box::new(read)));
    }

    pub fn render(&self) -> String {
        let mut out = self.handle.render();
        for family in [&http::REQUESTS, &stores::CALLS] {
            family.render(&mut out);
        }
        self.render_pools(&mut out);
        process::render(&mut out);
        out
    }

    fn render_pools(&self, out: &mut String) {
        if self.pools.is_empty() {
            return;
        }
        let usage: Vec<(&str, PoolUsage)> =
            self.pools.iter().map(|(n, read)| (*n, read())).collect();
        let _ = writeln!(
            out,
            "# HELP booking_pool_connections Connections of each pool, by state (idle, in_use)."
        );
        let _ = writeln!(out, "# TYPE booking_pool_connections gauge");
        for (pool, u) in &usage {
            let _ = writeln!(
                out,
                "booking_pool_connections{{pool=\"{pool}\",state=\"idle\"}} {}",
                u.idle
            );
            let in_use = u.open.saturating_sub(u.idle);
            let _ = writeln!(
                out,
                "booking_pool_connections{{pool=\"{pool}\",state=\"in_use\"}} {in_use}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP booking_pool_max_connections The most connections each pool may open."
        );
        let _ = writeln!(out, "# TYPE booking_pool_max_connections gauge");
        for (pool, u) in &usage {
            let _ = writeln!(
                out,
                "booking_pool_max_connections{{pool=\"{pool}\"}} {}",
                u.max
            );
        }
        let _ = writeln!(
            out,
            "# HELP booking_pool_waiting Callers waiting for a connection of each pool."
        );
        let _ = writeln!(out, "# TYPE booking_pool_waiting gauge");
        for (pool, u) in &usage {
            let _ = writeln!(out, "booking_pool_waiting{{pool=\"{pool}\"}} {}", u.waiting);
        }
    }
}

impl Default for Scrape {
    fn default() -> Self {
        Self::new()
    }
}
