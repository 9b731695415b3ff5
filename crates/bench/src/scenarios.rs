//! The scenarios: every connection a task of its own on one thread, each
//! sending its next request when the last is answered, for a bounded time.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::client::{hold_id, Conn};
use crate::cpu::{self, Usage, Watched};
use crate::events::{create_event, create_venue, sell_partly};
use crate::stats::Stats;

/// The server a scenario drives, and the processes whose CPU it reads.
#[derive(Debug, Clone)]
pub struct Target {
    pub addr: SocketAddr,
    pub watched: Watched,
}

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
    /// (f) The floor: a path the api does not have (404). What any request
    /// costs before a handler runs: HTTP, routing, the request log line.
    Floor,
    /// (g) and (h) Best available, `quantity` seats per reserve, distinct
    /// users, on a venue with rows.
    BestAvailable(u32),
    /// (i) `GET /events/:id/seats` of a venue partly held and booked; (k)
    /// the same map with `?format=compact`.
    SeatMap { compact: bool },
}

/// The closed-loop scenarios, in the order a level runs them.
pub const LEVEL_SCENARIOS: [Scenario; 7] = [
    Scenario::Floor,
    Scenario::EventDetails,
    Scenario::Reserve,
    Scenario::BestAvailable(1),
    Scenario::BestAvailable(4),
    Scenario::Booking,
    Scenario::FlashSale,
];

impl Scenario {
    /// Its letter in the issues and on the command line.
    pub fn letter(self) -> char {
        match self {
            Scenario::EventDetails => 'a',
            Scenario::Reserve => 'b',
            Scenario::Booking => 'c',
            Scenario::FlashSale => 'd',
            Scenario::Floor => 'f',
            Scenario::BestAvailable(1) => 'g',
            Scenario::BestAvailable(_) => 'h',
            Scenario::SeatMap { compact: false } => 'i',
            Scenario::SeatMap { compact: true } => 'k',
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Scenario::EventDetails => "(a) GET /events/:id",
            Scenario::Reserve => "(b) reserve, 1 seat",
            Scenario::Booking => "(c) reserve + confirm",
            Scenario::FlashSale => "(d) flash sale",
            Scenario::Floor => "(f) floor: 404",
            Scenario::BestAvailable(1) => "(g) best available, 1",
            Scenario::BestAvailable(_) => "(h) best available, 4",
            Scenario::SeatMap { compact: false } => "(i) seat map",
            Scenario::SeatMap { compact: true } => "(k) seat map, compact",
        }
    }

    /// What one successful operation is, for the per-operation costs.
    pub fn operation(self) -> &'static str {
        match self {
            Scenario::EventDetails | Scenario::SeatMap { .. } => "200",
            Scenario::Floor => "404",
            Scenario::Reserve | Scenario::BestAvailable(_) => "hold",
            Scenario::Booking => "booking",
            Scenario::FlashSale => "seat sold",
        }
    }
}

#[derive(Debug)]
pub struct ScenarioResult {
    pub scenario: Scenario,
    pub connections: usize,
    pub event: i64,
    /// Seats of the event.
    pub seats: u32,
    pub elapsed: Duration,
    pub stats: Stats,
    /// Successful operations (`Scenario::operation`): 200s (a, i), 404s
    /// (f), holds (b, g, h), bookings (c), seats sold (d).
    pub completed: u64,
    /// Bytes of response bodies received.
    pub bytes: u64,
    /// (d): every seat some confirm answered 200 for, once per answer.
    pub sold: Vec<u32>,
    /// CPU used during the run, by role.
    pub cpu: Usage,
}

impl ScenarioResult {
    pub fn requests_per_second(&self) -> f64 {
        self.stats.requests() as f64 / self.elapsed.as_secs_f64()
    }

    pub fn completed_per_second(&self) -> f64 {
        self.completed as f64 / self.elapsed.as_secs_f64()
    }
}

/// The event `scenario` runs on, made fresh, of `seats` seats.
async fn prepare(addr: SocketAddr, scenario: Scenario, seats: u32) -> anyhow::Result<i64> {
    Ok(match scenario {
        Scenario::Floor => 0,
        Scenario::EventDetails | Scenario::Reserve | Scenario::Booking | Scenario::FlashSale => {
            create_event(addr, seats).await?.0
        }
        Scenario::BestAvailable(_) => create_venue(addr, seats).await?,
        Scenario::SeatMap { .. } => {
            let event = create_venue(addr, seats).await?;
            sell_partly(addr, event, seats).await?;
            event
        }
    })
}

/// Runs `scenario` on a new event of `seats` seats with `connections`
/// connections for at most `duration` (a flash sale runs until sold out,
/// within `duration` and a minute).
pub async fn run(
    target: &Target,
    scenario: Scenario,
    connections: usize,
    duration: Duration,
    seats: u32,
) -> anyhow::Result<ScenarioResult> {
    let addr = target.addr;
    let event = prepare(addr, scenario, seats).await?;
    let next = Arc::new(AtomicU64::new(0));
    let completed = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now()
        + match scenario {
            Scenario::FlashSale => duration.max(Duration::from_secs(60)),
            _ => duration,
        };
    let mut conns = Vec::with_capacity(connections);
    for _ in 0..connections {
        conns.push(Conn::open(addr).await?);
    }
    let started = Instant::now();
    let cpu_before = cpu::Snapshot::take(&target.watched);
    let mut workers = Vec::with_capacity(connections);
    for (worker, mut conn) in conns.into_iter().enumerate() {
        let (next, completed) = (next.clone(), completed.clone());
        workers.push(tokio::spawn(async move {
            let mut stats = Stats::default();
            let mut sold = Vec::new();
            let mut bytes = 0u64;
            let mut rng = Rng::new(worker as u64);
            let mut round = 0u64;
            let done = |n: u64| {
                completed.fetch_add(n, Ordering::Relaxed);
            };
            while Instant::now() < deadline {
                round += 1;
                let more = match scenario {
                    Scenario::EventDetails | Scenario::SeatMap { .. } | Scenario::Floor => {
                        let (path, ok) = match scenario {
                            Scenario::EventDetails => (format!("/events/{event}"), 200),
                            Scenario::SeatMap { compact: false } => {
                                (format!("/events/{event}/seats"), 200)
                            }
                            Scenario::SeatMap { compact: true } => {
                                (format!("/events/{event}/seats?format=compact"), 200)
                            }
                            _ => ("/no/such/path".to_owned(), 404),
                        };
                        let answer = conn.get(&path).await;
                        stats.record(&answer);
                        bytes += answer.body.len() as u64;
                        done(u64::from(answer.status == ok));
                        true
                    }
                    Scenario::BestAvailable(quantity) => {
                        // Distinct users; stops once every seat is held.
                        let n = next.fetch_add(1, Ordering::Relaxed) + 1;
                        if n > u64::from(seats / quantity) {
                            false
                        } else {
                            let body = format!(r#"{{"userId":"g{n}","quantity":{quantity}}}"#);
                            let held = conn
                                .post(&format!("/events/{event}/seats/reserve"), body)
                                .await;
                            stats.record(&held);
                            done(u64::from(held.status == 201));
                            true
                        }
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
                            done(u64::from(booked));
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
                                done(1);
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
            (stats, sold, bytes)
        }));
    }
    let mut stats = Stats::default();
    let mut sold = Vec::new();
    let mut bytes = 0;
    for worker in workers {
        let (worker_stats, worker_sold, worker_bytes) = worker.await?;
        stats.merge(&worker_stats);
        sold.extend(worker_sold);
        bytes += worker_bytes;
    }
    let elapsed = started.elapsed();
    let cpu = cpu_before.used_until(&cpu::Snapshot::take(&target.watched));
    Ok(ScenarioResult {
        scenario,
        connections,
        event,
        seats,
        elapsed,
        cpu,
        stats,
        completed: completed.load(Ordering::Relaxed),
        bytes,
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
