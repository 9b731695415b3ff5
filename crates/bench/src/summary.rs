//! What a run measured, as text: each run's tables (`describe`), then the
//! medians over runs (`summarise`).

use std::fmt::Write as _;

use crate::cpu::Role;
use crate::fanout::FanoutResult;
use crate::full::{Plan, Run};
use crate::report::{self, median, Cost};
use crate::scenarios::{Scenario, ScenarioResult, LEVEL_SCENARIOS};

/// How the server and stores were set up, for the record.
pub fn setup(plan: &Plan, own_redis: bool) -> String {
    format!(
        "Server: release build, postgres_redis storage, JSON logs at {}, trust identity, default workers and pools{}; Redis: {}.\n",
        plan.log_level.as_ref().map_or_else(
            || "the default level (config/default.toml)".to_owned(),
            |level| format!("`{level}`")
        ),
        if plan.server_env.is_empty() {
            String::new()
        } else {
            format!(", plus {:?}", plan.server_env)
        },
        if own_redis {
            "one of the run's own (`redis-server --save '' --appendonly no`)"
        } else {
            "shared (its CPU includes everyone's use)"
        }
    )
}

pub(crate) fn describe(run: &Run) -> String {
    let mut out = report::header();
    for level in &run.levels {
        for (result, rss) in &level.results {
            out.push_str(&report::row(result, *rss));
        }
    }
    for map in &run.maps {
        out.push_str(&report::row(map, None));
    }

    out.push_str("\nCPU per successful operation, same run:\n\n");
    out.push_str(&report::cost_header());
    for level in &run.levels {
        for (result, _) in &level.results {
            out.push_str(&report::cost_row(result, level.set.as_ref()));
        }
    }
    for map in &run.maps {
        out.push_str(&report::cost_row(map, run.set_near(map.connections)));
    }
    out.push('\n');
    for level in &run.levels {
        if let Some(set) = &level.set {
            out.push_str(&report::set_line(set));
        }
    }

    out.push_str("\nCeilings, same run:\n\n| ceiling | conns | store | ours | ratio | store latency |\n|---|---|---|---|---|---|\n");
    for level in &run.levels {
        if let (Some(reserve), Some(redis)) = (level.result(Scenario::Reserve), &level.redis) {
            out.push_str(&report::ceiling_row(
                "redis-benchmark EVALSHA reserve.lua vs (b)",
                redis,
                reserve.requests_per_second(),
                "reserves",
            ));
        }
        if let (Some(booking), Some(pg)) = (level.result(Scenario::Booking), &level.pg) {
            out.push_str(&report::ceiling_row(
                &format!("pgbench confirm ({} clients) vs (c)", pg.connections),
                pg,
                booking.completed_per_second(),
                "bookings",
            ));
        }
    }
    out.push('\n');
    for level in &run.levels {
        let Some(plain) = level.result(Scenario::Reserve) else {
            continue;
        };
        for quantity in [1, 4] {
            if let Some(best) = level.result(Scenario::BestAvailable(quantity)) {
                let _ = writeln!(
                    out,
                    "- best available of {quantity} vs (b) at {} connections: {:.0} vs {:.0} holds/s, ratio {:.2} ({:.0} seats/s)",
                    level.connections,
                    best.completed_per_second(),
                    plain.completed_per_second(),
                    best.completed_per_second() / plain.completed_per_second(),
                    best.completed_per_second() * f64::from(quantity),
                );
            }
        }
    }
    for map in &run.maps {
        out.push_str(&report::map_line(map));
    }

    if !run.fanout.is_empty() {
        out.push_str("\nSSE fan-out (j), same run:\n\n");
        out.push_str(&report::fanout_header());
        let baseline = run.fanout.iter().find(|f| f.plan.subscribers == 0);
        for result in &run.fanout {
            out.push_str(&report::fanout_row(result, baseline));
        }
    }

    if !run.creates.is_empty() {
        out.push_str("\nCreating an event (e) beside a COPY of the same rows, same run:\n\n");
        out.push_str(&report::creation_header());
        for (api, copy) in &run.creates {
            out.push_str(&report::creation_rows(api, copy));
        }
    }

    out.push('\n');
    for check in &run.flash_checks {
        let _ = writeln!(out, "- {check}");
    }
    out.push_str(&load_line(run));
    out
}

/// The machine's load while the run measured, and what else ran.
fn load_line(run: &Run) -> String {
    let total: f64 = run.others.iter().map(|(_, d)| d.as_secs_f64()).sum();
    let busiest: Vec<String> = run
        .others
        .iter()
        .take(6)
        .map(|(name, used)| format!("{name} {:.0} s", used.as_secs_f64()))
        .collect();
    format!(
        "- load average {} at the start, {} at the end of the run ({:.0} s); other processes used {:.0} CPU-seconds meanwhile ({:.0} % of one core): {}\n",
        run.load.0,
        run.load.1,
        run.elapsed.as_secs_f64(),
        total,
        100.0 * total / run.elapsed.as_secs_f64(),
        busiest.join(", "),
    )
}

/// The figures of the median run, scenario by scenario.
pub(crate) fn summarise(runs: &[Run], plan: &Plan) -> String {
    let mut out = format!("\n## Medians of {} run(s)\n\n", runs.len());
    out.push_str("| scenario | conns | req/s | ops/s | p50 ms | p99 ms | CPU µs per op: api | pg | redis | generator | api ÷ generator | redis ÷ SET |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (i, &connections) in plan.connections.iter().enumerate() {
        for scenario in LEVEL_SCENARIOS {
            let results: Vec<(&ScenarioResult, &Run)> = runs
                .iter()
                .filter_map(|run| Some((run.levels.get(i)?.result(scenario)?, run)))
                .collect();
            if let Some(line) = median_row(scenario, connections, &results) {
                out.push_str(&line);
            }
        }
    }
    let map_scenarios = [false, true].map(|compact| Scenario::SeatMap { compact });
    let maps_of = |scenario: Scenario| -> Vec<(&ScenarioResult, &Run)> {
        runs.iter()
            .flat_map(|run| run.maps.iter().map(move |map| (map, run)))
            .filter(|(map, _)| map.scenario == scenario)
            .collect()
    };
    for scenario in map_scenarios {
        if let Some(line) = median_row(scenario, plan.map_connections, &maps_of(scenario)) {
            out.push_str(&line);
        }
    }
    out.push('\n');

    for (i, &connections) in plan.connections.iter().enumerate() {
        let pick = |scenario: Scenario, f: &dyn Fn(&ScenarioResult) -> f64| {
            median(
                runs.iter()
                    .filter_map(|run| run.levels.get(i)?.result(scenario))
                    .map(f)
                    .collect(),
            )
        };
        let reference = |f: &dyn Fn(&crate::full::Level) -> Option<f64>| {
            median(
                runs.iter()
                    .filter_map(|run| f(run.levels.get(i)?))
                    .collect(),
            )
        };
        let details = pick(Scenario::EventDetails, &|r| r.requests_per_second());
        let reserves = pick(Scenario::Reserve, &|r| r.completed_per_second());
        let reserve_p99 = pick(Scenario::Reserve, &|r| {
            r.stats.percentile(0.99).as_secs_f64() * 1000.0
        });
        let bookings = pick(Scenario::Booking, &|r| r.completed_per_second());
        let redis = reference(&|l| l.redis.map(|c| c.per_second));
        let pg = reference(&|l| l.pg.map(|c| c.per_second));
        let set = reference(&|l| l.set.map(|s| s.redis_micros));
        // Ratios are taken within each run, then their median.
        let best_ratio = |quantity: u32| {
            median(
                runs.iter()
                    .filter_map(|run| {
                        let level = run.levels.get(i)?;
                        Some(
                            level
                                .result(Scenario::BestAvailable(quantity))?
                                .completed_per_second()
                                / level.result(Scenario::Reserve)?.completed_per_second(),
                        )
                    })
                    .collect(),
            )
        };
        let mut parts = Vec::new();
        if !details.is_nan() {
            parts.push(format!("(a) {details:.0} req/s"));
        }
        if !reserves.is_nan() {
            parts.push(format!(
                "(b) {reserves:.0} reserves/s, p99 {reserve_p99:.2} ms, Redis ceiling {redis:.0}/s, ratio {:.2}",
                reserves / redis
            ));
        }
        if !bookings.is_nan() {
            parts.push(format!(
                "(c) {bookings:.0} bookings/s, pgbench ceiling {pg:.0}/s, ratio {:.2}",
                bookings / pg
            ));
        }
        for quantity in [1, 4] {
            let ratio = best_ratio(quantity);
            if !ratio.is_nan() {
                parts.push(format!(
                    "best available of {quantity} ÷ (b), holds/s: {ratio:.2}"
                ));
            }
        }
        parts.push(format!("Redis CPU per SET {set:.2} µs"));
        let _ = writeln!(out, "- {connections} connections: {}", parts.join("; "));
    }
    let peak = runs
        .iter()
        .filter_map(|run| run.levels.last())
        .filter_map(|level| level.results.iter().filter_map(|(_, rss)| *rss).max())
        .map(|kib| kib as f64 / 1024.0)
        .collect();
    let peak = median(peak);
    if !peak.is_nan() {
        let _ = writeln!(
            out,
            "- peak RSS of the server during the levels (VmHWM): {peak:.1} MiB"
        );
    }
    for scenario in map_scenarios {
        let maps = maps_of(scenario);
        if maps.is_empty() {
            continue;
        }
        let m =
            |f: &dyn Fn(&ScenarioResult) -> f64| median(maps.iter().map(|(r, _)| f(r)).collect());
        let _ = writeln!(
            out,
            "- {}: {:.0} maps/s, p50 {:.1} ms, p99 {:.1} ms, {:.2} MiB per response, api {:.2} ms and Redis {:.3} ms of CPU per map",
            scenario.label(),
            m(&|r| r.completed_per_second()),
            m(&|r| r.stats.percentile(0.5).as_secs_f64() * 1000.0),
            m(&|r| r.stats.percentile(0.99).as_secs_f64() * 1000.0),
            m(&|r| r.bytes as f64 / r.completed.max(1) as f64 / (1024.0 * 1024.0)),
            m(&|r| r.cpu.micros_per(Role::Api, r.completed) / 1000.0),
            m(&|r| r.cpu.micros_per(Role::Redis, r.completed) / 1000.0),
        );
    }
    for &subscribers in &plan.sse_subscribers {
        let fans: Vec<&FanoutResult> = runs
            .iter()
            .flat_map(|run| run.fanout.iter())
            .filter(|f| f.plan.subscribers == subscribers)
            .collect();
        if fans.is_empty() || subscribers == 0 {
            continue;
        }
        let m = |f: &dyn Fn(&FanoutResult) -> f64| median(fans.iter().map(|r| f(r)).collect());
        let q = |r: &FanoutResult, q: f64| r.latency.value_at_quantile(q) as f64 / 1000.0;
        let _ = writeln!(
            out,
            "- (j) {subscribers} subscribers: {:.0} messages/s delivered, latency p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms; dropped {} in all runs; saw every change: {} of {} subscribers in all runs",
            m(&|r| r.delivered_per_second()),
            m(&|r| q(r, 0.5)),
            m(&|r| q(r, 0.99)),
            m(&|r| r.latency.max() as f64 / 1000.0),
            fans.iter().map(|r| r.dropped).sum::<usize>(),
            fans.iter().map(|r| r.complete).sum::<usize>(),
            fans.iter().map(|r| r.plan.subscribers).sum::<usize>(),
        );
    }
    for seats in [10_000u32, 100_000] {
        let pairs: Vec<_> = runs
            .iter()
            .flat_map(|run| run.creates.iter())
            .filter(|(api, _)| api.seats == seats)
            .collect();
        if pairs.is_empty() {
            continue;
        }
        let m = |f: &dyn Fn(&crate::creation::Creation) -> f64, copy: bool| {
            median(
                pairs
                    .iter()
                    .map(|(api, c)| f(if copy { c } else { api }))
                    .collect(),
            )
        };
        let wall = |c: &crate::creation::Creation| c.wall.as_secs_f64() * 1000.0;
        let pg = |c: &crate::creation::Creation| c.cpu.of(Role::Postgres).as_secs_f64() * 1000.0;
        let _ = writeln!(
            out,
            "- (e) {seats} seats, median of {}: creation {:.0} ms wall, {:.0} ms Postgres CPU; COPY {:.0} ms wall, {:.0} ms Postgres CPU; creation ÷ COPY {:.2} (Postgres CPU), {:.2} (wall)",
            pairs.len(),
            m(&wall, false),
            m(&pg, false),
            m(&wall, true),
            m(&pg, true),
            median(pairs.iter().map(|(a, c)| pg(a) / pg(c)).collect()),
            median(pairs.iter().map(|(a, c)| wall(a) / wall(c)).collect()),
        );
    }
    out
}

/// One scenario's medians over runs (each figure's own median).
fn median_row(
    scenario: Scenario,
    connections: usize,
    results: &[(&ScenarioResult, &Run)],
) -> Option<String> {
    if results.is_empty() {
        return None;
    }
    let m = |f: &dyn Fn(&ScenarioResult, &Run) -> f64| {
        median(results.iter().map(|(r, run)| f(r, run)).collect())
    };
    let cost = |f: fn(&Cost) -> f64| m(&|r, run| f(&Cost::of(r, run.set_near(r.connections))));
    Some(format!(
        "| {} | {connections} | {:.0} | {:.0} | {:.2} | {:.2} | {:.1} | {:.1} | {:.1} | {:.1} | {:.2} | {:.2} |\n",
        scenario.label(),
        m(&|r, _| r.requests_per_second()),
        m(&|r, _| r.completed_per_second()),
        m(&|r, _| r.stats.percentile(0.5).as_secs_f64() * 1000.0),
        m(&|r, _| r.stats.percentile(0.99).as_secs_f64() * 1000.0),
        cost(|c| c.api),
        cost(|c| c.pg),
        cost(|c| c.redis),
        cost(|c| c.bench),
        cost(|c| c.api_to_bench),
        cost(|c| c.redis_to_set),
    ))
}
