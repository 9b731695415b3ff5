//! The full benchmark: builds and starts the release server on a fresh
//! database and key prefix (and, unless given one, a Redis of its own),
//! runs every scenario at each connection count, measures the ceilings and
//! references alongside, and reports (`summary`).

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::ceilings::{self, Ceiling, SetCost};
use crate::cpu::{self, Snapshot};
use crate::creation::{self, Creation};
use crate::events::{create_event, hold_seat};
use crate::fanout::{self, FanoutPlan, FanoutResult};
use crate::own_redis::{self, OwnRedis};
use crate::scenarios::{self, Scenario, ScenarioResult, Target, LEVEL_SCENARIOS};
use crate::server::Server;
use crate::summary;

#[derive(Debug)]
pub struct Plan {
    pub runs: usize,
    pub duration: Duration,
    pub connections: Vec<usize>,
    pub pg_url: String,
    /// A Redis to use; `None` starts one of the run's own, so that Redis's
    /// CPU is the run's alone.
    pub redis_url: Option<String>,
    pub binary: Option<PathBuf>,
    /// Which scenarios to run, by letter (a-k); ceilings run with b and c.
    pub scenarios: String,
    /// Extra environment for the server, e.g. a pool size to try.
    pub server_env: Vec<(String, String)>,
    /// The server's log filter; `None` keeps its default (production's,
    /// `info,booking_domain=warn`: one line per request).
    pub log_level: Option<String>,
    /// Seats of the large events: (b), (c), (g), (h), (i), (j).
    pub event_seats: u32,
    /// CONFIRMED bookings written straight into Postgres before the first
    /// scenario, to see how the cost grows with the bookings table.
    pub preload_bookings: u64,
    /// Connections of the seat map scenario (i): each answer is megabytes.
    pub map_connections: usize,
    /// Subscriber counts of the fan-out (j); 0 is the reserves alone.
    pub sse_subscribers: Vec<usize>,
    /// Reserves per second during the fan-out.
    pub sse_rate: u32,
}

/// Postgres here allows 100 connections; the api's pool and psql need a
/// few, so pgbench gets at most this many clients, fewer when other users
/// of the server hold connections (see `ceilings::free_connections`).
const PGBENCH_MAX_CLIENTS: usize = 80;

/// SETs of the Redis reference at each level.
const SET_REQUESTS: u64 = 200_000;

/// Creations of each size, each beside a COPY of the same rows.
const CREATIONS: usize = 3;

pub(crate) struct Level {
    pub connections: usize,
    pub results: Vec<(ScenarioResult, Option<u64>)>,
    pub redis: Option<Ceiling>,
    pub pg: Option<Ceiling>,
    pub set: Option<SetCost>,
}

impl Level {
    pub fn result(&self, scenario: Scenario) -> Option<&ScenarioResult> {
        self.results
            .iter()
            .map(|(r, _)| r)
            .find(|r| r.scenario == scenario)
    }
}

pub(crate) struct Run {
    pub levels: Vec<Level>,
    /// The seat map scenarios run, (i) then (k).
    pub maps: Vec<ScenarioResult>,
    pub fanout: Vec<FanoutResult>,
    pub creates: Vec<(Creation, Creation)>,
    pub flash_checks: Vec<String>,
    /// Load averages at the start and the end, how long the run took, and
    /// what else used the machine's CPU meanwhile.
    pub load: (String, String),
    pub elapsed: Duration,
    pub others: Vec<(String, Duration)>,
}

impl Run {
    /// The Redis reference measured nearest `connections`.
    pub fn set_near(&self, connections: usize) -> Option<&SetCost> {
        self.levels
            .iter()
            .filter_map(|level| level.set.as_ref())
            .min_by_key(|set| set.connections.abs_diff(connections))
    }
}

pub async fn run(plan: Plan) -> anyhow::Result<()> {
    let binary = match &plan.binary {
        Some(binary) => binary.clone(),
        None => build_release()?,
    };
    let own = match &plan.redis_url {
        Some(_) => None,
        None => Some(OwnRedis::start()?),
    };
    let redis_url = match (&own, &plan.redis_url) {
        (Some(own), _) => own.url.clone(),
        (None, Some(url)) => url.clone(),
        (None, None) => unreachable!("one of them is set"),
    };
    let redis_pid = own
        .as_ref()
        .map(OwnRedis::pid)
        .or_else(|| own_redis::pid_of(&redis_url));
    let mut runs = Vec::new();
    let mut out = String::new();
    for n in 1..=plan.runs {
        eprintln!("== run {n} of {}", plan.runs);
        let server = Server::start(
            &binary,
            &plan.pg_url,
            &redis_url,
            plan.log_level.as_deref(),
            &plan.server_env,
        )
        .await?;
        let target = Target {
            addr: server.addr,
            watched: server.watched(redis_pid),
        };
        let result = one_run(&server, &target, &redis_url, &plan).await;
        server.stop().await?;
        let run = result?;
        out.push_str(&format!("\n## Run {n}\n\n"));
        let text = summary::describe(&run);
        println!("{text}");
        out.push_str(&text);
        runs.push(run);
    }
    let medians = summary::summarise(&runs, &plan);
    println!("{medians}");
    out.push_str(&medians);
    std::fs::create_dir_all("bench-results")?;
    let path = format!(
        "bench-results/bench-{}.md",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs()
    );
    std::fs::write(
        &path,
        format!(
            "# Benchmark results\n\n{}{}\n{out}",
            machine(),
            summary::setup(&plan, own.is_some())
        ),
    )?;
    eprintln!("written to {path}");
    Ok(())
}

fn build_release() -> anyhow::Result<PathBuf> {
    eprintln!("== cargo build --release -p booking-api");
    let status = Command::new("cargo")
        .args(["build", "--release", "-p", "booking-api"])
        .status()?;
    anyhow::ensure!(status.success(), "building the api failed");
    Ok(PathBuf::from("target/release/booking-api"))
}

/// The figure, or `None` with the reason on stderr.
fn reported<T>(what: &str, result: anyhow::Result<T>) -> Option<T> {
    result
        .map_err(|error| eprintln!("   {what} not measured: {error:#}"))
        .ok()
}

/// Seats of `scenario`'s event at a level.
fn level_seats(scenario: Scenario, plan: &Plan) -> u32 {
    match scenario {
        Scenario::Floor => 0,
        Scenario::EventDetails => 10,
        Scenario::FlashSale => 1_000,
        _ => plan.event_seats,
    }
}

async fn one_run(
    server: &Server,
    target: &Target,
    redis_url: &str,
    plan: &Plan,
) -> anyhow::Result<Run> {
    let started = Instant::now();
    let load_start = cpu::load_average();
    let census = Snapshot::take(&target.watched);
    if plan.preload_bookings > 0 {
        preload(server, plan.preload_bookings).await?;
    }
    let wants = |letter: char| plan.scenarios.contains(letter);
    let mut levels = Vec::new();
    let mut flash_checks = Vec::new();
    for &connections in &plan.connections {
        let mut results = Vec::new();
        for scenario in LEVEL_SCENARIOS.into_iter().filter(|s| wants(s.letter())) {
            let seats = level_seats(scenario, plan);
            eprintln!("   {} at {connections} connections", scenario.label());
            let result =
                scenarios::run(target, scenario, connections, plan.duration, seats).await?;
            if scenario == Scenario::FlashSale {
                flash_checks.push(check_flash_sale(server, &result, seats).await?);
            }
            results.push((result, server.peak_rss_kib()));
        }
        eprintln!("   references and ceilings at {connections} connections");
        // A store shared with other people can refuse a reference now and
        // then (too many clients); the run goes on without that figure.
        let set = ceilings::redis_set(
            redis_url,
            &server.prefix,
            connections,
            SET_REQUESTS,
            &target.watched,
        );
        let set = reported("Redis SET reference", set);
        let redis = if wants('b') {
            let (reserve_event, _) = create_event(server.addr, 100_000).await?;
            // redis-benchmark draws seats 0..=99,999; the script reads seat
            // 0 as the last one (a GETRANGE at -1) and would then fail to
            // write it. Held, the last seat makes seat 0 a "taken" reply.
            hold_seat(server.addr, reserve_event, "S100000").await?;
            let requests = 30_000 * plan.duration.as_secs();
            reported(
                "Redis reserve ceiling",
                ceilings::redis_reserve(
                    redis_url,
                    &server.prefix,
                    reserve_event,
                    connections,
                    requests,
                ),
            )
        } else {
            None
        };
        let pg = if wants('c') {
            let (confirm_event, _) = create_event(server.addr, 100_000).await?;
            ceilings::grow_event(&server.database_url(), confirm_event).await?;
            let free = ceilings::free_connections(&server.database_url()).await?;
            reported(
                "pgbench confirm ceiling",
                ceilings::pg_confirm(
                    &server.database_url(),
                    confirm_event,
                    connections.min(PGBENCH_MAX_CLIENTS).min(free),
                    plan.duration,
                ),
            )
        } else {
            None
        };
        levels.push(Level {
            connections,
            results,
            redis,
            pg,
            set,
        });
    }
    let mut maps = Vec::new();
    for compact in [false, true] {
        let scenario = Scenario::SeatMap { compact };
        if wants(scenario.letter()) {
            eprintln!(
                "   {} at {} connections",
                scenario.label(),
                plan.map_connections
            );
            maps.push(
                scenarios::run(
                    target,
                    scenario,
                    plan.map_connections,
                    plan.duration,
                    plan.event_seats,
                )
                .await?,
            );
        }
    }
    let mut fanout = Vec::new();
    if wants('j') {
        for &subscribers in &plan.sse_subscribers {
            eprintln!("   (j) SSE fan-out to {subscribers} subscribers");
            let fan = FanoutPlan {
                subscribers,
                rate: plan.sse_rate,
                duration: plan.duration,
                grace: Duration::from_secs(10),
                seats: plan.event_seats,
            };
            fanout.push(fanout::run(target, fan).await?);
        }
    }
    let mut creates = Vec::new();
    if wants('e') {
        for seats in [10_000, 100_000] {
            eprintln!("   (e) creating events of {seats} seats, and by COPY");
            creates
                .extend(creation::measure(target, &server.database_url(), seats, CREATIONS).await?);
        }
    }
    let end = Snapshot::take(&target.watched);
    Ok(Run {
        levels,
        maps,
        fanout,
        creates,
        flash_checks,
        load: (load_start, cpu::load_average()),
        elapsed: started.elapsed(),
        others: census.others_until(&end),
    })
}

/// Writes `bookings` CONFIRMED bookings, one seat each (and their booking
/// groups), on events of 100,000 seats created through the api, straight
/// into Postgres.
async fn preload(server: &Server, bookings: u64) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let (client, connection) =
        tokio_postgres::connect(&server.database_url(), tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    let mut left = bookings;
    while left > 0 {
        let (event, _) = create_event(server.addr, 100_000).await?;
        let count = i64::try_from(left.min(100_000))?;
        client
            .execute(
                "WITH picked AS ( \
                     SELECT gen_random_uuid() AS booking, event_id, id FROM seats \
                     WHERE event_id = $1 ORDER BY seat_no LIMIT $2 \
                 ), groups AS ( \
                     INSERT INTO booking_groups (event_id, id, user_id, status, seat_count) \
                     SELECT event_id, booking, 'preload-' || id, 'CONFIRMED', 1 FROM picked \
                 ) \
                 INSERT INTO bookings (booking_group_id, event_id, seat_id, user_id, status) \
                 SELECT booking, event_id, id, 'preload-' || id, 'CONFIRMED' FROM picked",
                &[&event, &count],
            )
            .await?;
        left -= count as u64;
    }
    client.batch_execute("ANALYZE bookings").await?;
    eprintln!(
        "   preloaded {bookings} bookings in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Every seat sold once, no 5xx, and Postgres agrees: no seat with two
/// CONFIRMED rows.
async fn check_flash_sale(
    server: &Server,
    result: &ScenarioResult,
    seats: u32,
) -> anyhow::Result<String> {
    let (client, connection) =
        tokio_postgres::connect(&server.database_url(), tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    let event = result.event;
    let doubles: i64 = client
        .query_one(
            "SELECT count(*) FROM (SELECT seat_id FROM bookings WHERE event_id = $1 \
             AND status = 'CONFIRMED' GROUP BY seat_id HAVING count(*) > 1) d",
            &[&event],
        )
        .await?
        .get(0);
    let confirmed: i64 = client
        .query_one(
            "SELECT count(*) FROM bookings WHERE event_id = $1 AND status = 'CONFIRMED'",
            &[&event],
        )
        .await?
        .get(0);
    let distinct: HashSet<_> = result.sold.iter().collect();
    let errors = result.stats.server_errors();
    let ok = doubles == 0
        && errors == 0
        && confirmed == i64::from(seats)
        && distinct.len() == result.sold.len();
    Ok(format!(
        "flash sale at {} connections: {} of {seats} seats sold in {:.2} s, {} CONFIRMED rows in Postgres, {doubles} seats with two CONFIRMED rows, {errors} 5xx: {}",
        result.connections,
        distinct.len(),
        result.elapsed.as_secs_f64(),
        confirmed,
        if ok { "PASS" } else { "FAIL" }
    ))
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("Machine: {cores} cores ({cpu}); load generator, server, Postgres and Redis on the same box.\n")
}
