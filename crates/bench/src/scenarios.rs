//! The scenarios: every connection a task of its own on one thread, each
//! sending its next request when the last is answered, for a bounded time.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::client::{hold_id, Conn};
use crate::stats::Stats;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// (a) `GET /events/:id` of one event.
    EventDetails,
    /// (b) One seat per reserve, distinct seats and users.
    Reserve,
    /// (c) Reserve then confirm, distinct seats.
    Booking,
    /// (d) Every connection after random seats of a small event, reserving
    /// and confirming until all are sold.
    FlashSale,
}

impl Scenario {
    /// Its letter in the issue and on the command line.
    pub fn letter(self) -> char {
        match self {
            Scenario::EventDetails => 'a',
            Scenario::Reserve => 'b',
            Scenario::Booking => 'c',
            Scenario::FlashSale => 'd',
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Scenario::EventDetails => "(a) GET /events/:id",
            Scenario::Reserve => "(b) reserve, 1 seat",
            Scenario::Booking => "(c) reserve + confirm",
            Scenario::FlashSale => "(d) flash sale",
        }
    }
}

#[derive(Debug)]
pub struct ScenarioResult {
    pub scenario: Scenario,
    pub connections: usize,
    pub event: i64,
    pub elapsed: Duration,
    pub stats: Stats,
    /// Holds taken (b), bookings made (c), seats sold (d).
    pub completed: u64,
    /// (d): every seat some confirm answered 200 for, once per answer.
    pub sold: Vec<u32>,
    /// CPU seconds used during the run, by process name.
    pub cpu: Vec<(&'static str, Duration)>,
}

impl ScenarioResult {
    pub fn requests_per_second(&self) -> f64 {
        self.stats.requests() as f64 / self.elapsed.as_secs_f64()
    }

    pub fn completed_per_second(&self) -> f64 {
        self.completed as f64 / self.elapsed.as_secs_f64()
    }

    /// Each watched process's CPU share during the run, in % of one core.
    pub fn cpu_percent(&self) -> Vec<(&'static str, f64)> {
        self.cpu
            .iter()
            .map(|(name, used)| {
                (
                    *name,
                    100.0 * used.as_secs_f64() / self.elapsed.as_secs_f64(),
                )
            })
            .collect()
    }
}

/// Creates an event of `seats` seats (trust mode) and returns its id.
pub async fn create_event(addr: SocketAddr, seats: u32) -> anyhow::Result<(i64, Duration)> {
    let mut conn = Conn::open(addr).await?;
    let body = format!(
        r#"{{"name":"Benchmark","date":"2030-01-01T20:00:00Z","location":"Arena","totalSeats":{seats}}}"#
    );
    let answer = conn.post("/events", body).await;
    anyhow::ensure!(
        answer.status == 201,
        "creating an event of {seats} seats answered {}: {}",
        answer.status,
        String::from_utf8_lossy(&answer.body)
    );
    let value: serde_json::Value = serde_json::from_slice(&answer.body)?;
    let id = value["eventId"]
        .as_i64()
        .ok_or_else(|| anyhow::anyhow!("no eventId"))?;
    Ok((id, answer.latency))
}

/// Runs `scenario` with `connections` connections for at most `duration`
/// (a flash sale runs until sold out, within `duration` and a minute).
pub async fn run(
    addr: SocketAddr,
    scenario: Scenario,
    connections: usize,
    duration: Duration,
    seats: u32,
) -> anyhow::Result<ScenarioResult> {
    let (event, _) = create_event(addr, seats).await?;
    let next = Arc::new(AtomicU64::new(0));
    let completed = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now()
        + match scenario {
            Scenario::FlashSale => duration.max(Duration::from_secs(60)),
            _ => duration,
        };
    let started = Instant::now();
    let cpu_before = crate::cpu::Snapshot::take();
    let mut workers = Vec::with_capacity(connections);
    for worker in 0..connections {
        let (next, completed) = (next.clone(), completed.clone());
        let mut conn = Conn::open(addr).await?;
        workers.push(tokio::spawn(async move {
            let mut stats = Stats::default();
            let mut sold = Vec::new();
            let mut rng = Rng::new(worker as u64);
            let mut round = 0u64;
            while Instant::now() < deadline {
                round += 1;
                let more = match scenario {
                    Scenario::EventDetails => {
                        stats.record(&conn.get(&format!("/events/{event}")).await);
                        true
                    }
                    Scenario::Reserve | Scenario::Booking => {
                        let n = next.fetch_add(1, Ordering::Relaxed) + 1;
                        if n > u64::from(seats) {
                            false
                        } else {
                            // Distinct seats, spread over the event as
                            // buyers' choices are, rather than S1, S2, ...
                            // which piles every insert on one index page.
                            let seat = spread(n, u64::from(seats));
                            let booked = buy(
                                &mut conn,
                                &mut stats,
                                event,
                                &format!("b{n}"),
                                seat,
                                scenario == Scenario::Booking,
                            )
                            .await;
                            if booked {
                                completed.fetch_add(1, Ordering::Relaxed);
                            }
                            true
                        }
                    }
                    Scenario::FlashSale => {
                        if completed.load(Ordering::Relaxed) >= u64::from(seats) {
                            false
                        } else {
                            let seat = rng.below(u64::from(seats)) + 1;
                            let user = format!("f{worker}-{round}");
                            if buy(&mut conn, &mut stats, event, &user, seat, true).await {
                                completed.fetch_add(1, Ordering::Relaxed);
                                sold.push(seat as u32);
                            }
                            true
                        }
                    }
                };
                if !more {
                    break;
                }
            }
            (stats, sold)
        }));
    }
    let mut stats = Stats::default();
    let mut sold = Vec::new();
    for worker in workers {
        let (worker_stats, worker_sold) = worker.await?;
        stats.merge(&worker_stats);
        sold.extend(worker_sold);
    }
    let elapsed = started.elapsed();
    let cpu = cpu_before.used_until(&crate::cpu::Snapshot::take());
    Ok(ScenarioResult {
        scenario,
        connections,
        event,
        elapsed,
        cpu,
        stats,
        completed: completed.load(Ordering::Relaxed),
        sold,
    })
}

/// Reserves seat `seat` for `user`, then confirms it if `confirm`.
/// Answers whether the scenario's unit of work succeeded.
async fn buy(
    conn: &mut Conn,
    stats: &mut Stats,
    event: i64,
    user: &str,
    seat: u64,
    confirm: bool,
) -> bool {
    let body = format!(r#"{{"userId":"{user}","seatCodes":["S{seat}"]}}"#);
    let held = conn
        .post(&format!("/events/{event}/seats/reserve"), body)
        .await;
    stats.record(&held);
    if held.status != 201 {
        return false;
    }
    if !confirm {
        return true;
    }
    let Some(hold) = hold_id(&held.body) else {
        return false;
    };
    let body = format!(r#"{{"userId":"{user}","holdGroupId":"{hold}"}}"#);
    let confirmed = conn
        .post(&format!("/events/{event}/seats/confirm"), body)
        .await;
    stats.record(&confirmed);
    confirmed.status == 200
}

/// The `n`th of `seats` seats (1-based) in a fixed shuffled order: a
/// bijection whenever `seats` is not a multiple of the prime 7919.
fn spread(n: u64, seats: u64) -> u64 {
    if seats % 7919 == 0 {
        return n;
    }
    (n - 1) * 7919 % seats + 1
}

/// xorshift64*: cheap, and the same choices on every run.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn spread_visits_every_seat_once() {
        let seats = 1000;
        let mut seen: Vec<u64> = (1..=seats).map(|n| super::spread(n, seats)).collect();
        seen.sort_unstable();
        assert_eq!(seen, (1..=seats).collect::<Vec<_>>());
    }
}
