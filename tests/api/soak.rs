//! The fault soak: two api instances on one private Redis (RDB on) and one
//! test database, each store behind a proxy, sell four events to many
//! clients (reserve by name or quantity, confirm with retries as a real
//! client would, release, cancel, read counts and seat maps) while a fault
//! fires every few seconds. After each fault heals, the clients are held
//! still and every rule is checked against Postgres itself, with a bounded
//! wait for the mirror to catch up:
//!
//! - no seat has two CONFIRMED rows;
//! - every confirm answered 200 is in Postgres (CONFIRMED, or CANCELLED
//!   if its owner cancelled it), with one row per seat; no confirm
//!   refused (410, or 409) is booked;
//! - no seat booked in Postgres can be held (a reserve of it is refused);
//! - a cancelled booking's seats can be held again;
//! - counts add up, and equal Postgres' on every instance, as does the
//!   seat map;
//! - no answer is a 500, every 503 carries `Retry-After`, and every answer
//!   comes within a bound.
//!
//! It prints operations by kind and status, faults by kind and violations
//! by kind (`--nocapture` shows them; a failing run prints them too), and
//! fails on any violation.
//!
//! `BOOKING_SOAK_SECONDS` is how long the clients buy under faults (60 by
//! default, as in every `cargo test --workspace`); `BOOKING_SOAK_SEED`
//! repeats a run's choices (printed at its start; timing never repeats):
//!
//! ```sh
//! BOOKING_SOAK_SECONDS=600 cargo test -p booking-tests --test api soak -- --nocapture
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use booking_tests::harness::{PgAdmin, RedisServer, Snapshot, TcpProxy};
use serde_json::{json, Value};
use tokio::sync::RwLock;

use crate::breakable::{seat_owners, Proxies, Rig, Truth};
use crate::helpers::{As, TestApp};

const DEFAULT_SECONDS: u64 = 60;
const CLIENTS: usize = 20;
/// How long the mirror may take to agree with Postgres once a fault has
/// healed and the clients are still: a queued unbook is retried 2 s after
/// its cancel, a dead confirm settled 3 s after it began.
const CONVERGE: Duration = Duration::from_secs(5);
/// How long the instances may take to be ready again after a fault.
const READY: Duration = Duration::from_secs(20);
/// No answer may take longer: the stores' clients give up after 2 s (Redis)
/// and 1.4 s (Postgres), a load is waited for 3 s, a request tries a few
/// rounds.
const SLOW: Duration = Duration::from_secs(15);
/// The seats one client holds at most in one event (the limit is 20).
const HOLD_AT_MOST: usize = 12;

/// The events on sale: two of `totalSeats`, two of rows (230 seats).
fn events() -> [Value; 4] {
    let rows = |labels: &str, seats: u32| -> Value {
        labels
            .chars()
            .map(|label| json!({"label": label.to_string(), "seats": seats}))
            .collect()
    };
    let event = |name: &str, layout: (&str, Value)| {
        let mut event = json!({"name": name, "date": "2030-06-01T19:30:00Z", "location": "Hall"});
        event[layout.0] = layout.1;
        event
    };
    [
        event("Soak 60", ("totalSeats", json!(60))),
        event("Soak 5 x 10", ("rows", rows("ABCDE", 10))),
        event("Soak 40", ("totalSeats", json!(40))),
        event("Soak 4 x 20", ("rows", rows("ABCD", 20))),
    ]
}

/// Short Postgres timeouts, so a dead confirm settles 3 s after it began
/// (see `quick_settling` in `real_stores`); holds short enough that the
/// ones clients abandon come back within the run.
fn soak_settings(s: &mut booking_api::Settings) {
    s.postgres.pool_wait_ms = 100;
    s.postgres.connect_timeout_ms = 100;
    s.postgres.statement_timeout_ms = 200;
    s.holds.pending_grace_seconds = 3;
    s.holds.ttl_seconds = 20;
    s.holds.max_total_seconds = 40;
    s.redis.mirror_idle_seconds = 120;
    s.ledger.load_wait_ms = 3000;
    s.ledger.maintenance_interval_ms = 200;
}

/// SplitMix64: small, seedable, good enough to pick seats and faults.
#[derive(Clone, Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn millis(&mut self, from: u64, to: u64) -> Duration {
        Duration::from_millis(from + self.next() % (to - from + 1))
    }
}

/// An event on sale, with its seat codes in venue order.
#[derive(Debug)]
struct OnSale {
    id: i64,
    codes: Vec<String>,
}

/// What clients were told, for the checks: bookings answered 200, confirms
/// refused (410 or 409), and cancels whose seats must come back.
#[derive(Debug, Default)]
struct Known {
    booked: BTreeMap<String, Booked>,
    refused: BTreeSet<String>,
    /// Cancelled since the last check: (event, booking, seat codes).
    fresh_cancels: Vec<(i64, String, Vec<String>)>,
    /// Bookings already reported wrong, so each counts once.
    reported: BTreeSet<String>,
}

#[derive(Debug)]
struct Booked {
    seats: Vec<String>,
    cancel: Cancel,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cancel {
    No,
    /// Every attempt answered 503: it may or may not have happened.
    Unknown,
    Done,
}

/// The figures the soak prints.
#[derive(Debug, Default)]
struct Report {
    /// (kind, status) -> count; status "none" when no answer came.
    ops: BTreeMap<(&'static str, String), u64>,
    slowest: BTreeMap<&'static str, Duration>,
    faults: BTreeMap<&'static str, u64>,
    violations: BTreeMap<&'static str, u64>,
    examples: Vec<String>,
    checks: u64,
    /// Fault kind -> the longest the mirror took to agree after it.
    convergence: BTreeMap<&'static str, Duration>,
    /// Fault kind -> how often the mirror did not agree in time.
    unconverged: BTreeMap<&'static str, u64>,
}

impl Report {
    fn violation(&mut self, kind: &'static str, detail: String) {
        let seen = self.violations.entry(kind).or_default();
        *seen += 1;
        // A few of each kind, so one flood does not hide the others.
        if *seen <= 5 {
            self.examples.push(format!("{kind}: {detail}"));
        }
    }

    fn total_ops(&self) -> u64 {
        self.ops.values().sum()
    }

    fn print(&self, seconds: u64, seed: u64, took: Duration) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "fault soak: {seconds} s of faults ({:.0?} in all), seed {seed:#x}, 2 instances, \
             {CLIENTS} clients, {} events",
            took,
            events().len()
        );
        let _ = writeln!(out, "operations: {}", self.total_ops());
        let mut kinds: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for ((kind, status), n) in &self.ops {
            kinds
                .entry(kind)
                .or_default()
                .push(format!("{status} x{n}"));
        }
        for (kind, statuses) in kinds {
            let slowest = self.slowest.get(kind).copied().unwrap_or_default();
            let _ = writeln!(
                out,
                "  {kind:<14} {}  (slowest {slowest:.2?})",
                statuses.join(", ")
            );
        }
        let faults: u64 = self.faults.values().sum();
        let _ = writeln!(out, "faults: {faults}");
        for (kind, n) in &self.faults {
            let converged = self.convergence.get(kind).copied().unwrap_or_default();
            let _ = write!(
                out,
                "  {kind:<22} x{n}  (mirror agreed within {converged:.2?}"
            );
            match self.unconverged.get(kind) {
                Some(times) => writeln!(out, "; not within {CONVERGE:?} {times} times)"),
                None => writeln!(out, ")"),
            }
            .unwrap();
        }
        let _ = writeln!(out, "checks: {}", self.checks);
        let violations: u64 = self.violations.values().sum();
        let _ = writeln!(out, "violations: {violations}");
        for (kind, n) in &self.violations {
            let _ = writeln!(out, "  {kind} x{n}");
        }
        for example in &self.examples {
            let _ = writeln!(out, "  - {example}");
        }
        out
    }
}

/// One answer, read whole.
#[derive(Debug)]
struct Reply {
    status: u16,
    body: Value,
}

/// Everything the clients, the faults and the checks share.
struct Soak {
    apps: [TestApp; 2],
    events: Vec<OnSale>,
    known: Mutex<Known>,
    report: Mutex<Report>,
    /// Clients take it to read for each request; the checks take it to
    /// write, so they see the stores at rest.
    gate: RwLock<()>,
    stop: AtomicBool,
}

impl Soak {
    /// Sends a request and records its answer as an operation of `kind`:
    /// a 500 (or anything 5xx but 503), a 503 without `Retry-After`, no
    /// answer or a slow one are violations. `None` when no answer came.
    async fn call(
        &self,
        app: &TestApp,
        kind: &'static str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Option<Reply> {
        self.call_as(app, kind, method, path, body, None).await
    }

    /// [`Soak::call`], naming the caller in `X-User-Id` (for requests
    /// without a body).
    async fn call_as(
        &self,
        app: &TestApp,
        kind: &'static str,
        method: &str,
        path: &str,
        body: Option<Value>,
        user: Option<&str>,
    ) -> Option<Reply> {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = app.client.request(method, format!("{}{path}", app.address));
        if let Some(body) = body {
            request = request.json(&body);
        }
        if let Some(user) = user {
            request = request.header("X-User-Id", user);
        }
        let started = Instant::now();
        let sent = request.send().await;
        let reply = match sent {
            Ok(response) => {
                let status = response.status().as_u16();
                let retry_after = response.headers().contains_key("retry-after");
                let body = response.json::<Value>().await.unwrap_or(Value::Null);
                Ok((status, retry_after, body))
            }
            Err(e) => Err(e),
        };
        let took = started.elapsed();
        let mut report = self.report.lock().unwrap();
        let slowest = report.slowest.entry(kind).or_default();
        *slowest = (*slowest).max(took);
        if took > SLOW {
            report.violation(
                "an answer took too long",
                format!("{kind} {path}: {took:?}"),
            );
        }
        match reply {
            Ok((status, retry_after, body)) => {
                *report.ops.entry((kind, status.to_string())).or_default() += 1;
                if status >= 500 && status != 503 {
                    report.violation("a 500", format!("{kind} {path}: {status} {body}"));
                }
                if status == 503 && !retry_after {
                    report.violation("a 503 without Retry-After", format!("{kind} {path}"));
                }
                Some(Reply { status, body })
            }
            Err(e) => {
                *report.ops.entry((kind, "none".into())).or_default() += 1;
                report.violation("no answer", format!("{kind} {path}: {e}"));
                None
            }
        }
    }

    fn violation(&self, kind: &'static str, detail: String) {
        self.report.lock().unwrap().violation(kind, detail);
    }
}

/// A hold a client has.
#[derive(Debug, Clone)]
struct Hold {
    event: i64,
    id: String,
    seats: Vec<String>,
    at: Instant,
}

/// One buyer: holds, confirms, releases, cancels, reads.
struct Client {
    user: String,
    rng: Rng,
    holds: Vec<Hold>,
    /// Confirms whose every attempt answered 503.
    unresolved: Vec<Hold>,
    /// Bookings answered 200, not known to be cancelled.
    bookings: Vec<(i64, String)>,
}

impl Client {
    fn app<'a>(&mut self, soak: &'a Soak) -> &'a TestApp {
        &soak.apps[self.rng.below(soak.apps.len())]
    }

    async fn run(mut self, soak: Arc<Soak>) {
        while !soak.stop.load(Ordering::SeqCst) {
            tokio::time::sleep(self.rng.millis(20, 80)).await;
            // Holds older than their time are gone; forget them.
            self.holds
                .retain(|hold| hold.at.elapsed() < Duration::from_secs(18));
            let event = &soak.events[self.rng.below(soak.events.len())];
            let held: usize = self
                .holds
                .iter()
                .filter(|h| h.event == event.id)
                .map(|h| h.seats.len())
                .sum();
            let roll = self.rng.below(100);
            let _gate = soak.gate.read().await;
            match roll {
                0..=29 if held < HOLD_AT_MOST => self.reserve(&soak, event, false).await,
                30..=41 if held < HOLD_AT_MOST => self.reserve(&soak, event, true).await,
                42..=54 => self.read_counts(&soak, event).await,
                55..=61 => self.read_map(&soak, event).await,
                62..=71 if !self.bookings.is_empty() => self.cancel(&soak).await,
                72..=79 if !self.unresolved.is_empty() => {
                    let hold = self
                        .unresolved
                        .remove(self.rng.below(self.unresolved.len()));
                    self.confirm(&soak, hold).await;
                }
                _ if !self.holds.is_empty() => {
                    let hold = self.holds.remove(self.rng.below(self.holds.len()));
                    if self.rng.chance(75) {
                        self.confirm(&soak, hold).await;
                    } else {
                        self.release(&soak, hold).await;
                    }
                }
                _ => self.read_counts(&soak, event).await,
            }
        }
    }

    async fn reserve(&mut self, soak: &Soak, event: &OnSale, best: bool) {
        let want = 1 + self.rng.below(4);
        let body = if best {
            json!({"userId": self.user, "quantity": want})
        } else {
            let mut seats = BTreeSet::new();
            while seats.len() < want {
                seats.insert(event.codes[self.rng.below(event.codes.len())].clone());
            }
            json!({"userId": self.user, "seatCodes": seats})
        };
        let kind = if best { "reserve best" } else { "reserve" };
        let app = self.app(soak);
        let path = format!("/events/{}/seats/reserve", event.id);
        let Some(reply) = soak.call(app, kind, "POST", &path, Some(body)).await else {
            return;
        };
        if reply.status != 201 {
            return;
        }
        let hold = Hold {
            event: event.id,
            id: reply.body["holdGroupId"].as_str().unwrap().to_owned(),
            seats: reply.body["seatCodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_owned())
                .collect(),
            at: Instant::now(),
        };
        match self.rng.below(100) {
            0..=59 => self.confirm(soak, hold).await,
            60..=74 => self.release(soak, hold).await,
            _ => self.holds.push(hold),
        }
    }

    /// Confirms as a real client would: a 503 is tried again a few times,
    /// after a pause.
    async fn confirm(&mut self, soak: &Soak, hold: Hold) {
        let path = format!("/events/{}/seats/confirm", hold.event);
        let body = json!({"userId": self.user, "holdGroupId": hold.id});
        for attempt in 1..=4 {
            let app = self.app(soak);
            let reply = soak
                .call(app, "confirm", "POST", &path, Some(body.clone()))
                .await;
            let Some(reply) = reply else { break };
            match reply.status {
                503 if attempt < 4 => {
                    tokio::time::sleep(self.rng.millis(200, 600)).await;
                }
                503 => break,
                200 => {
                    if reply.body["bookingGroupId"] != hold.id.as_str() {
                        soak.violation(
                            "a confirm answered another booking",
                            format!("{} -> {}", hold.id, reply.body),
                        );
                    }
                    self.booked(soak, hold).await;
                    return;
                }
                // 410: the hold expired, or Redis lost it. 409: Redis lost
                // it and came back older with it (a restart from a
                // snapshot after a flush) while others booked its seats.
                // Either way it must not be booked.
                410 | 409 => {
                    soak.known.lock().unwrap().refused.insert(hold.id);
                    return;
                }
                status => {
                    soak.violation(
                        "a confirm of an own hold refused",
                        format!("{}: {status} {}", hold.id, reply.body),
                    );
                    return;
                }
            }
        }
        self.unresolved.push(hold);
    }

    async fn booked(&mut self, soak: &Soak, hold: Hold) {
        let retry = self.rng.chance(10);
        {
            let mut known = soak.known.lock().unwrap();
            known.refused.remove(&hold.id);
            known.booked.entry(hold.id.clone()).or_insert(Booked {
                seats: hold.seats.clone(),
                cancel: Cancel::No,
            });
        }
        self.bookings.push((hold.event, hold.id.clone()));
        if retry {
            // A retry of a confirm that succeeded answers as it did.
            let path = format!("/events/{}/seats/confirm", hold.event);
            let body = json!({"userId": self.user, "holdGroupId": hold.id});
            let app = self.app(soak);
            if let Some(reply) = soak
                .call(app, "confirm again", "POST", &path, Some(body))
                .await
            {
                if reply.status != 200 && reply.status != 503 {
                    soak.violation(
                        "a confirm retried after its success was refused",
                        format!("{}: {} {}", hold.id, reply.status, reply.body),
                    );
                }
            }
        }
    }

    async fn release(&mut self, soak: &Soak, hold: Hold) {
        let path = format!("/events/{}/seats/release", hold.event);
        let body = json!({"userId": self.user, "holdGroupId": hold.id});
        let app = self.app(soak);
        if let Some(reply) = soak.call(app, "release", "POST", &path, Some(body)).await {
            // 404: it expired, or Redis lost it.
            if !matches!(reply.status, 200 | 404 | 503) {
                soak.violation(
                    "a release of an own hold refused",
                    format!("{}: {} {}", hold.id, reply.status, reply.body),
                );
            }
        }
    }

    /// Cancels one of the client's bookings, trying a 503 again a few
    /// times; a 409 after a 503 means that attempt went through.
    async fn cancel(&mut self, soak: &Soak) {
        let (event, id) = self.bookings.remove(self.rng.below(self.bookings.len()));
        let path = format!("/bookings/{id}/cancel");
        // After an earlier call that only got 503s, a 409 says one of them
        // went through.
        let mut unsure = soak
            .known
            .lock()
            .unwrap()
            .booked
            .get(&id)
            .is_some_and(|b| b.cancel == Cancel::Unknown);
        let mut outcome = Cancel::Unknown;
        for attempt in 1..=3 {
            let app = self.app(soak);
            let reply = soak
                .call_as(app, "cancel", "POST", &path, None, Some(&self.user))
                .await;
            let Some(reply) = reply else { break };
            match reply.status {
                200 => outcome = Cancel::Done,
                409 if unsure => outcome = Cancel::Done,
                503 => {
                    unsure = true;
                    if attempt < 3 {
                        tokio::time::sleep(self.rng.millis(200, 600)).await;
                    }
                    continue;
                }
                status => {
                    soak.violation(
                        "a cancel of an own booking refused",
                        format!("{id}: {status} {}", reply.body),
                    );
                    outcome = Cancel::Done;
                }
            }
            break;
        }
        let mut known = soak.known.lock().unwrap();
        let seats = match known.booked.get_mut(&id) {
            Some(booked) => {
                booked.cancel = outcome;
                booked.seats.clone()
            }
            None => return,
        };
        match outcome {
            Cancel::Done => known.fresh_cancels.push((event, id, seats)),
            _ => {
                drop(known);
                self.bookings.push((event, id));
            }
        }
    }

    async fn read_counts(&mut self, soak: &Soak, event: &OnSale) {
        let app = self.app(soak);
        let path = format!("/events/{}", event.id);
        if let Some(reply) = soak.call(app, "event", "GET", &path, None).await {
            if reply.status == 200 {
                if let Err(counts) = counts_of(&reply.body) {
                    soak.violation("counts do not add up", counts);
                }
            }
        }
    }

    async fn read_map(&mut self, soak: &Soak, event: &OnSale) {
        let app = self.app(soak);
        let path = format!("/events/{}/seats", event.id);
        if let Some(reply) = soak.call(app, "seat map", "GET", &path, None).await {
            if reply.status == 200 && reply.body.as_array().map(Vec::len) != Some(event.codes.len())
            {
                soak.violation("a seat map misses seats", format!("event {}", event.id));
            }
        }
    }
}

/// (confirmed, held, available, total) of an event's details, if they
/// add up.
fn counts_of(body: &Value) -> Result<(u64, u64, u64, u64), String> {
    let n = |field: &str| body[field].as_u64().unwrap_or(u64::MAX / 4);
    let counts = (
        n("confirmedSeats"),
        n("heldSeats"),
        n("availableSeats"),
        n("total_seats"),
    );
    if counts.0 + counts.1 + counts.2 == counts.3 {
        Ok(counts)
    } else {
        Err(format!("{counts:?} in {body}"))
    }
}

/// The faults, each dealt once per round of the deck, in random order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    RedisPause,
    RedisKill,
    RedisOlderSnapshot,
    RedisFlush,
    RedisCut,
    RedisDelay,
    RedisBlackhole,
    PgTerminate,
    PgCut,
    PgDelay,
    PgBlackhole,
}

impl Fault {
    const ALL: [Fault; 11] = [
        Fault::RedisPause,
        Fault::RedisKill,
        Fault::RedisOlderSnapshot,
        Fault::RedisFlush,
        Fault::RedisCut,
        Fault::RedisDelay,
        Fault::RedisBlackhole,
        Fault::PgTerminate,
        Fault::PgCut,
        Fault::PgDelay,
        Fault::PgBlackhole,
    ];

    fn name(self) -> &'static str {
        match self {
            Fault::RedisPause => "redis SIGSTOP",
            Fault::RedisKill => "redis kill + restart",
            Fault::RedisOlderSnapshot => "redis older snapshot",
            Fault::RedisFlush => "redis flushed",
            Fault::RedisCut => "redis link cut",
            Fault::RedisDelay => "redis link delay",
            Fault::RedisBlackhole => "redis link blackhole",
            Fault::PgTerminate => "pg backends terminated",
            Fault::PgCut => "pg link cut",
            Fault::PgDelay => "pg link delay",
            Fault::PgBlackhole => "pg link blackhole",
        }
    }
}

/// The stores and the tools that break them.
struct Breaker {
    redis: RedisServer,
    redis_proxy: TcpProxy,
    pg_proxy: TcpProxy,
    admin: PgAdmin,
    database: String,
    snapshots: Vec<Snapshot>,
    rng: Rng,
}

impl Breaker {
    /// Injects `fault` and heals it; returns when the stores are whole
    /// again (though perhaps older, or empty).
    async fn inject(&mut self, fault: Fault) {
        let rng = &mut self.rng;
        match fault {
            Fault::RedisPause => {
                self.redis.pause();
                tokio::time::sleep(rng.millis(500, 2000)).await;
                self.redis.resume();
            }
            Fault::RedisKill => {
                self.redis.kill();
                tokio::time::sleep(rng.millis(100, 800)).await;
                self.redis.start().await;
            }
            Fault::RedisOlderSnapshot => {
                let snapshot = &self.snapshots[rng.below(self.snapshots.len())];
                self.redis.restart_from(snapshot).await;
            }
            Fault::RedisFlush => {
                let _: String = self.redis.query(&redis::cmd("FLUSHALL")).await;
            }
            Fault::RedisCut => self.redis_proxy.cut(),
            Fault::PgCut => self.pg_proxy.cut(),
            Fault::RedisDelay | Fault::PgDelay => {
                let proxy = match fault {
                    Fault::RedisDelay => &self.redis_proxy,
                    _ => &self.pg_proxy,
                };
                proxy.set_delay(rng.millis(200, 500));
                tokio::time::sleep(rng.millis(1000, 2000)).await;
                proxy.set_delay(Duration::ZERO);
            }
            Fault::RedisBlackhole | Fault::PgBlackhole => {
                let proxy = match fault {
                    Fault::RedisBlackhole => &self.redis_proxy,
                    _ => &self.pg_proxy,
                };
                proxy.blackhole(true);
                tokio::time::sleep(rng.millis(500, 1500)).await;
                proxy.blackhole(false);
            }
            Fault::PgTerminate => {
                self.admin
                    .terminate_backends(&self.database, "booking-api")
                    .await;
            }
        }
    }

    /// Sets the live data aside for a later `RedisOlderSnapshot`; keeps
    /// the last few.
    async fn snapshot(&mut self) {
        self.snapshots.push(self.redis.snapshot().await);
        if self.snapshots.len() > 4 {
            self.snapshots.remove(0);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_clients_through_random_store_failures_keep_every_rule() {
    let started = Instant::now();
    let seconds = std::env::var("BOOKING_SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SECONDS);
    let seed = std::env::var("BOOKING_SOAK_SEED")
        .ok()
        .and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok())
        .unwrap_or_else(|| {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
            now.unwrap().as_nanos() as u64
        });
    println!("fault soak: seed {seed:#x} (BOOKING_SOAK_SEED={seed:x} repeats its choices)");

    let rig = Rig::spawn(Proxies::BOTH, soak_settings).await;
    let second = rig.another_instance(soak_settings).await;
    let Rig {
        redis,
        redis_proxy,
        pg_proxy,
        app,
    } = rig;
    let (redis_proxy, pg_proxy) = (redis_proxy.unwrap(), pg_proxy.unwrap());
    let database = app.database.as_ref().unwrap().name().to_owned();

    let mut on_sale = Vec::new();
    for event in events() {
        let created = app.send("POST", "/events", As::Nobody, Some(event)).await;
        assert_eq!(created.status, 201, "{:?}", created.body);
        let id = created.body["eventId"].as_i64().unwrap();
        let map = app
            .send("GET", &format!("/events/{id}/seats"), As::Nobody, None)
            .await;
        let codes = map
            .body
            .as_array()
            .unwrap()
            .iter()
            .map(|seat| seat["seatCode"].as_str().unwrap().to_owned())
            .collect();
        on_sale.push(OnSale { id, codes });
    }
    let soak = Arc::new(Soak {
        apps: [app, second],
        events: on_sale,
        known: Mutex::default(),
        report: Mutex::default(),
        gate: RwLock::new(()),
        stop: AtomicBool::new(false),
    });
    let mut breaker = Breaker {
        redis,
        redis_proxy,
        pg_proxy,
        admin: PgAdmin::local().await,
        database,
        snapshots: Vec::new(),
        rng: Rng(seed),
    };
    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let client = Client {
                user: format!("client-{i}"),
                rng: Rng(seed ^ (i as u64 + 1).wrapping_mul(0xA24B_AED4_963E_E407)),
                holds: Vec::new(),
                unresolved: Vec::new(),
                bookings: Vec::new(),
            };
            tokio::spawn(client.run(soak.clone()))
        })
        .collect();

    let prefix = soak.apps[0].settings.redis.key_prefix.clone();
    let end = Instant::now() + Duration::from_secs(seconds);
    let mut deck = Vec::new();
    while Instant::now() < end {
        tokio::time::sleep(breaker.rng.millis(1000, 2500)).await;
        if breaker.snapshots.is_empty() || breaker.rng.chance(40) {
            breaker.snapshot().await;
        }
        if deck.is_empty() {
            deck = Fault::ALL.to_vec();
        }
        let fault = deck.remove(breaker.rng.below(deck.len()));
        breaker.inject(fault).await;
        *soak
            .report
            .lock()
            .unwrap()
            .faults
            .entry(fault.name())
            .or_default() += 1;
        check(&soak, &breaker.redis, &prefix, fault.name()).await;
    }
    soak.stop.store(true, Ordering::SeqCst);
    let mut panicked = 0;
    for client in clients {
        panicked += usize::from(client.await.is_err());
    }
    // The clients' last answers, checked like the others.
    check(&soak, &breaker.redis, &prefix, "the end of the run").await;

    let report = soak.report.lock().unwrap();
    let printed = report.print(seconds, seed, started.elapsed());
    println!("{printed}");
    assert_eq!(panicked, 0, "clients panicked:\n{printed}");
    assert!(
        report.violations.is_empty(),
        "the soak found violations:\n{printed}"
    );
    assert!(report.total_ops() > 0, "no operation ran");
}

/// Holds the clients still, waits for both instances to be ready, then
/// checks every rule against Postgres, giving the mirror `CONVERGE` to
/// agree with it.
async fn check(soak: &Soak, redis: &RedisServer, prefix: &str, after: &'static str) {
    let _still = soak.gate.write().await;
    let started = Instant::now();
    for app in &soak.apps {
        let deadline = Instant::now() + READY;
        loop {
            let ready = soak.call(app, "ready", "GET", "/health/ready", None).await;
            if ready.is_some_and(|r| r.status == 200) {
                break;
            }
            if Instant::now() >= deadline {
                soak.violation("not ready after a fault healed", after.to_owned());
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let truth = Truth::of(&soak.apps[0]);
    check_postgres(soak, &truth).await;

    let (fresh, checked) = {
        let known = soak.known.lock().unwrap();
        (known.fresh_cancels.clone(), known.fresh_cancels.len())
    };
    let converged_from = Instant::now();
    loop {
        let problems = mirror_problems(soak, &truth, redis, prefix, &fresh).await;
        if problems.is_empty() {
            let took = converged_from.elapsed();
            let mut report = soak.report.lock().unwrap();
            let slowest = report.convergence.entry(after).or_default();
            *slowest = (*slowest).max(took);
            break;
        }
        if converged_from.elapsed() >= CONVERGE {
            let mut report = soak.report.lock().unwrap();
            *report.unconverged.entry(after).or_default() += 1;
            for (kind, detail) in problems {
                report.violation(kind, format!("{detail} (after {after})"));
            }
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    soak.known.lock().unwrap().fresh_cancels.drain(..checked);
    let mut report = soak.report.lock().unwrap();
    report.checks += 1;
    if started.elapsed() > READY + CONVERGE + Duration::from_secs(10) {
        report.violation("a check took too long", format!("{:?}", started.elapsed()));
    }
}

/// What Postgres must hold whatever the mirror says: no double booking,
/// every booking answered 200 (cancelled only by its owner), no confirm
/// refused (410 or 409) booked.
async fn check_postgres(soak: &Soak, truth: &Truth<'_>) {
    for event in &soak.events {
        let doubled = truth.double_booked(event.id).await;
        if doubled > 0 {
            soak.violation(
                "a seat with two CONFIRMED rows",
                format!("event {}: {doubled} seats", event.id),
            );
        }
    }
    let (booked, refused): (Vec<(String, usize, Cancel)>, Vec<String>) = {
        let known = soak.known.lock().unwrap();
        (
            known
                .booked
                .iter()
                .map(|(id, b)| (id.clone(), b.seats.len(), b.cancel))
                .collect(),
            known.refused.iter().cloned().collect(),
        )
    };
    let ids: Vec<String> = booked
        .iter()
        .map(|(id, _, _)| id.clone())
        .chain(refused.iter().cloned())
        .collect();
    let groups = truth.groups(&ids).await;
    let mut known = soak.known.lock().unwrap();
    let mut report = soak.report.lock().unwrap();
    for (id, seats, cancel) in booked {
        if known.reported.contains(&id) {
            continue;
        }
        let Some(group) = groups.get(&id) else {
            report.violation("a confirm answered 200 is not in Postgres", id.clone());
            known.reported.insert(id);
            continue;
        };
        let expected: &[&str] = match cancel {
            Cancel::No => &["CONFIRMED"],
            Cancel::Done => &["CANCELLED"],
            Cancel::Unknown => &["CONFIRMED", "CANCELLED"],
        };
        if !expected.contains(&group.status.as_str()) || group.rows != seats as i64 {
            report.violation(
                "a booking is not as its owner was told",
                format!("{id}: {group:?}, expected {expected:?} with {seats} rows"),
            );
            known.reported.insert(id);
        }
    }
    for id in refused {
        if groups.get(&id).is_some_and(|g| g.status == "CONFIRMED")
            && known.reported.insert(id.clone())
        {
            report.violation("a confirm refused is booked", id);
        }
    }
}

/// Where the mirror disagrees with Postgres now: counts or seat map on
/// either instance, a booked seat that a reserve does not refuse, or a
/// cancelled seat that is not on sale again.
async fn mirror_problems(
    soak: &Soak,
    truth: &Truth<'_>,
    redis: &RedisServer,
    prefix: &str,
    fresh: &[(i64, String, Vec<String>)],
) -> Vec<(&'static str, String)> {
    let mut problems = Vec::new();
    for (n, event) in soak.events.iter().enumerate() {
        let booked = truth.booked(event.id).await;
        let booked_codes: BTreeSet<&str> = booked.values().map(String::as_str).collect();
        for app in &soak.apps {
            let path = format!("/events/{}", event.id);
            match soak.call(app, "check event", "GET", &path, None).await {
                Some(r) if r.status == 200 => match counts_of(&r.body) {
                    Ok((confirmed, ..)) if confirmed == booked.len() as u64 => {}
                    Ok(counts) => problems.push((
                        "counts differ from Postgres",
                        format!("event {}: {counts:?}, {} booked", event.id, booked.len()),
                    )),
                    Err(counts) => problems.push(("counts do not add up", counts)),
                },
                other => problems.push(("an event unreadable", format!("{other:?}"))),
            }
        }
        let app = &soak.apps[n % 2];
        let path = format!("/events/{}/seats", event.id);
        let Some(map) = soak.call(app, "check map", "GET", &path, None).await else {
            continue;
        };
        let Some(seats) = map.body.as_array().filter(|_| map.status == 200) else {
            problems.push(("a seat map unreadable", format!("{map:?}")));
            continue;
        };
        let state: BTreeMap<&str, &str> = seats
            .iter()
            .filter_map(|s| Some((s["seatCode"].as_str()?, s["status"].as_str()?)))
            .collect();
        let shown: BTreeSet<&str> = state
            .iter()
            .filter(|(_, status)| **status == "booked")
            .map(|(code, _)| *code)
            .collect();
        if shown != booked_codes {
            problems.push((
                "the seat map differs from Postgres",
                format!(
                    "event {}: shown booked only {:?}, booked only in Postgres {:?}",
                    event.id,
                    shown.difference(&booked_codes).collect::<Vec<_>>(),
                    booked_codes.difference(&shown).collect::<Vec<_>>()
                ),
            ));
        }

        // Every seat booked in Postgres is refused, ten at a time: the
        // refusal names every unavailable seat asked for.
        let all_booked: Vec<&str> = booked_codes.iter().copied().collect();
        for (k, batch) in all_booked.chunks(10).enumerate() {
            let user = format!("checker-{k}");
            let body = json!({"userId": user, "seatCodes": batch});
            let path = format!("/events/{}/seats/reserve", event.id);
            let Some(reply) = soak
                .call(app, "check reserve", "POST", &path, Some(body))
                .await
            else {
                continue;
            };
            match reply.status {
                409 => {
                    let refused: BTreeSet<&str> = reply.body["seats"]
                        .as_array()
                        .map(|s| s.iter().filter_map(Value::as_str).collect())
                        .unwrap_or_default();
                    let free: Vec<&&str> =
                        batch.iter().filter(|c| !refused.contains(**c)).collect();
                    if !free.is_empty() {
                        soak.violation(
                            "a seat booked in Postgres is not refused",
                            format!("event {}: {free:?}", event.id),
                        );
                    }
                }
                201 => {
                    soak.violation(
                        "a seat booked in Postgres was held",
                        format!("event {}: {batch:?}", event.id),
                    );
                    release(soak, app, event.id, &user, &reply.body).await;
                }
                status => problems.push((
                    "a reserve of booked seats not answered",
                    format!("event {}: {status}", event.id),
                )),
            }
        }

        // Cancelled seats not booked again are on sale: free, or held by a
        // live hold (one Postgres has no booking of).
        let cancelled: BTreeSet<&str> = fresh
            .iter()
            .filter(|(e, _, _)| *e == event.id)
            .flat_map(|(_, _, seats)| seats.iter().map(String::as_str))
            .filter(|code| !booked_codes.contains(code))
            .collect();
        if cancelled.is_empty() {
            continue;
        }
        let owners = match seat_owners(redis.port(), prefix, event.id).await {
            Ok(owners) => owners,
            Err(e) => {
                problems.push(("redis unreadable", e));
                continue;
            }
        };
        let mut free = Vec::new();
        for code in &cancelled {
            match state.get(code).copied() {
                Some("available") => free.push(*code),
                Some("held") => {
                    let no = event.codes.iter().position(|c| c == code).unwrap() as i32 + 1;
                    let Some(owner) = owners.get(&no) else {
                        continue;
                    };
                    if let Some(group) = truth.group(owner).await {
                        problems.push((
                            "a cancelled seat is held by a spent hold",
                            format!("event {} seat {code}: hold {owner} is {group:?}", event.id),
                        ));
                    }
                }
                other => problems.push((
                    "a cancelled seat is not on sale again",
                    format!("event {} seat {code}: {other:?}", event.id),
                )),
            }
        }
        for (k, batch) in free.chunks(10).enumerate() {
            let user = format!("rebuyer-{k}");
            let body = json!({"userId": user, "seatCodes": batch});
            let path = format!("/events/{}/seats/reserve", event.id);
            match soak
                .call(app, "check reserve", "POST", &path, Some(body))
                .await
            {
                Some(reply) if reply.status == 201 => {
                    release(soak, app, event.id, &user, &reply.body).await;
                }
                other => problems.push((
                    "a cancelled seat cannot be held again",
                    format!("event {}: {batch:?}: {other:?}", event.id),
                )),
            }
        }
    }
    problems
}

/// Gives back a hold the checks took.
async fn release(soak: &Soak, app: &TestApp, event: i64, user: &str, hold: &Value) {
    let path = format!("/events/{event}/seats/release");
    let body = json!({"userId": user, "holdGroupId": hold["holdGroupId"]});
    soak.call(app, "check release", "POST", &path, Some(body))
        .await;
}
