//! The full benchmark: builds and starts the release server on a fresh
//! database and key prefix, runs every scenario at each connection count,
//! measures the ceilings alongside, and reports.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::ceilings::{self, Ceiling};
use crate::report::{self, median};
use crate::scenarios::{self, create_event, Scenario, ScenarioResult};
use crate::server::Server;

#[derive(Debug)]
pub struct Plan {
    pub runs: usize,
    pub duration: Duration,
    pub connections: Vec<usize>,
    pub pg_url: String,
    pub redis_url: String,
    pub binary: Option<PathBuf>,
    /// Which of the scenarios a-e to run (ceilings run with b and c).
    pub scenarios: String,
    /// Extra environment for the server, e.g. a pool size to try.
    pub server_env: Vec<(String, String)>,
    /// Seats of the events of (b) and (c).
    pub event_seats: u32,
    /// CONFIRMED bookings written straight into Postgres before the first
    /// scenario, to see how the cost grows with the bookings table.
    pub preload_bookings: u64,
}

/// Postgres here allows 100 connections; the api's pool and psql need a
/// few, so pgbench gets at most this many clients.
const PGBENCH_MAX_CLIENTS: usize = 80;

struct Level {
    results: Vec<(ScenarioResult, Option<u64>)>,
    redis: Option<Ceiling>,
    pg: Option<Ceiling>,
}

struct Run {
    levels: Vec<Level>,
    creates: Vec<(u32, Vec<Duration>)>,
    flash_checks: Vec<String>,
}

pub async fn run(plan: Plan) -> anyhow::Result<()> {
    let binary = match &plan.binary {
        Some(binary) => binary.clone(),
        None => build_release()?,
    };
    let mut runs = Vec::new();
    let mut out = String::new();
    for n in 1..=plan.runs {
        eprintln!("== run {n} of {}", plan.runs);
        let server =
            Server::start(&binary, &plan.pg_url, &plan.redis_url, &plan.server_env).await?;
        let result = one_run(&server, &plan).await;
        server.stop().await?;
        let run = result?;
        out.push_str(&format!("\n## Run {n}\n\n"));
        out.push_str(&describe(&run));
        println!("{}", describe(&run));
        runs.push(run);
    }
    let summary = summarise(&runs, &plan);
    println!("{summary}");
    out.push_str(&summary);
    std::fs::create_dir_all("bench-results")?;
    let path = format!(
        "bench-results/bench-{}.md",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs()
    );
    std::fs::write(
        &path,
        format!("# Benchmark results\n\n{}\n{out}", machine()),
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

async fn one_run(server: &Server, plan: &Plan) -> anyhow::Result<Run> {
    if plan.preload_bookings > 0 {
        preload(server, plan.preload_bookings).await?;
    }
    let mut levels = Vec::new();
    let mut flash_checks = Vec::new();
    for &connections in &plan.connections {
        let mut results = Vec::new();
        for scenario in [
            Scenario::EventDetails,
            Scenario::Reserve,
            Scenario::Booking,
            Scenario::FlashSale,
        ]
        .into_iter()
        .filter(|s| plan.scenarios.contains(s.letter()))
        {
            let seats = match scenario {
                Scenario::EventDetails => 10,
                Scenario::Reserve | Scenario::Booking => plan.event_seats,
                Scenario::FlashSale => 1_000,
            };
            eprintln!("   {} at {connections} connections", scenario.label());
            let result =
                scenarios::run(server.addr, scenario, connections, plan.duration, seats).await?;
            if scenario == Scenario::FlashSale {
                flash_checks.push(check_flash_sale(server, &result, seats).await?);
            }
            results.push((result, server.peak_rss_kib()));
        }
        let redis = if plan.scenarios.contains('b') {
            let (reserve_event, _) = create_event(server.addr, 100_000).await?;
            let requests = 30_000 * plan.duration.as_secs();
            Some(ceilings::redis_reserve(
                &plan.redis_url,
                &server.prefix,
                reserve_event,
                connections,
                requests,
            )?)
        } else {
            None
        };
        let pg = if plan.scenarios.contains('c') {
            let (confirm_event, _) = create_event(server.addr, 100_000).await?;
            ceilings::grow_event(&server.database_url(), confirm_event).await?;
            Some(ceilings::pg_confirm(
                &server.database_url(),
                confirm_event,
                connections.min(PGBENCH_MAX_CLIENTS),
                plan.duration,
            )?)
        } else {
            None
        };
        levels.push(Level { results, redis, pg });
    }
    let mut creates = Vec::new();
    let sizes: &[u32] = if plan.scenarios.contains('e') {
        &[10_000, 100_000]
    } else {
        &[]
    };
    for &seats in sizes {
        let mut times = Vec::new();
        for _ in 0..3 {
            times.push(create_event(server.addr, seats).await?.1);
        }
        creates.push((seats, times));
    }
    Ok(Run {
        levels,
        creates,
        flash_checks,
    })
}

/// Writes `bookings` CONFIRMED bookings, one seat each, on events of
/// 100,000 seats created through the api, straight into Postgres.
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
                "INSERT INTO bookings (booking_group_id, event_id, seat_id, user_id, status) \
                 SELECT gen_random_uuid(), event_id, id, 'preload-' || id, 'CONFIRMED' \
                 FROM seats WHERE event_id = $1 ORDER BY id LIMIT $2",
                &[&i32::try_from(event)?, &count],
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
    let event = i32::try_from(result.event)?;
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

fn describe(run: &Run) -> String {
    let mut out = report::header();
    for level in &run.levels {
        for (result, rss) in &level.results {
            out.push_str(&report::row(result, *rss));
        }
    }
    out.push_str("\nCeilings, same run:\n\n| ceiling | conns | store | ours | ratio | store latency |\n|---|---|---|---|---|---|\n");
    for level in &run.levels {
        let reserve = level
            .results
            .iter()
            .find(|(r, _)| r.scenario == Scenario::Reserve);
        let booking = level
            .results
            .iter()
            .find(|(r, _)| r.scenario == Scenario::Booking);
        if let (Some((reserve, _)), Some(redis)) = (reserve, &level.redis) {
            out.push_str(&report::ceiling_row(
                "redis-benchmark EVALSHA reserve.lua vs (b)",
                redis,
                reserve.requests_per_second(),
                "reserves",
            ));
        }
        if let (Some((booking, _)), Some(pg)) = (booking, &level.pg) {
            out.push_str(&report::ceiling_row(
                &format!("pgbench confirm ({} clients) vs (c)", pg.connections),
                pg,
                booking.completed_per_second(),
                "bookings",
            ));
        }
    }
    out.push('\n');
    for check in &run.flash_checks {
        out.push_str(&format!("- {check}\n"));
    }
    for (seats, times) in &run.creates {
        let ms: Vec<String> = times.iter().map(|t| report::ms(*t)).collect();
        out.push_str(&format!(
            "- (e) creating an event of {seats} seats: {} ms\n",
            ms.join(", ")
        ));
    }
    out
}

fn summarise(runs: &[Run], plan: &Plan) -> String {
    let mut out = format!("\n## Medians of {} run(s)\n\n", runs.len());
    for (i, &connections) in plan.connections.iter().enumerate() {
        let pick = |scenario: Scenario, f: &dyn Fn(&ScenarioResult) -> f64| {
            median(
                runs.iter()
                    .filter_map(|run| run.levels.get(i))
                    .filter_map(|level| level.results.iter().find(|(r, _)| r.scenario == scenario))
                    .map(|(r, _)| f(r))
                    .collect(),
            )
        };
        let ceiling = |f: &dyn Fn(&Level) -> f64| {
            median(
                runs.iter()
                    .filter_map(|run| run.levels.get(i))
                    .map(f)
                    .collect(),
            )
        };
        let details = pick(Scenario::EventDetails, &|r| r.requests_per_second());
        let reserves = pick(Scenario::Reserve, &|r| r.requests_per_second());
        let reserve_p99 = pick(Scenario::Reserve, &|r| {
            r.stats.percentile(0.99).as_secs_f64() * 1000.0
        });
        let bookings = pick(Scenario::Booking, &|r| r.completed_per_second());
        let redis = ceiling(&|l| l.redis.map_or(f64::NAN, |c| c.per_second));
        let pg = ceiling(&|l| l.pg.map_or(f64::NAN, |c| c.per_second));
        out.push_str(&format!(
            "- {connections} connections: (a) {details:.0} req/s; (b) {reserves:.0} reserves/s, p99 {reserve_p99:.2} ms, Redis ceiling {redis:.0}/s, ratio {:.2}; (c) {bookings:.0} bookings/s, pgbench ceiling {pg:.0}/s, ratio {:.2}\n",
            reserves / redis,
            bookings / pg,
        ));
    }
    let peak = runs
        .iter()
        .filter_map(|run| run.levels.last())
        .filter_map(|level| level.results.iter().filter_map(|(_, rss)| *rss).max())
        .map(|kib| kib as f64 / 1024.0)
        .collect();
    out.push_str(&format!(
        "- peak RSS of the server (VmHWM): {:.1} MiB\n",
        median(peak)
    ));
    for seats in [10_000u32, 100_000] {
        let times: Vec<f64> = runs
            .iter()
            .flat_map(|run| {
                run.creates
                    .iter()
                    .filter(|(s, _)| *s == seats)
                    .flat_map(|(_, t)| t.iter())
            })
            .map(|t| t.as_secs_f64() * 1000.0)
            .collect();
        out.push_str(&format!(
            "- (e) {seats} seats: median {:.0} ms over {} creations\n",
            median(times.clone()),
            times.len()
        ));
    }
    out
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
