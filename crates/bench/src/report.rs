//! Tables for people (stdout) and for the record (bench-results/*.md).

use std::fmt::Write as _;
use std::time::Duration;

use crate::ceilings::{Ceiling, SetCost};
use crate::cpu::{Role, Usage};
use crate::creation::Creation;
use crate::fanout::FanoutResult;
use crate::scenarios::ScenarioResult;

pub fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

fn percents(cpu: &Usage, elapsed: Duration) -> String {
    let parts: Vec<String> = cpu
        .percent(elapsed)
        .iter()
        .map(|p| format!("{p:.0}"))
        .collect();
    parts.join(" / ")
}

pub fn header() -> String {
    "| scenario | conns | req/s | done/s | p50 ms | p99 ms | p99.9 ms | statuses | 5xx | peak RSS MiB | CPU % api / pg / redis / bench / others |\n|---|---|---|---|---|---|---|---|---|---|---|\n".to_owned()
}

pub fn row(result: &ScenarioResult, peak_rss_kib: Option<u64>) -> String {
    let stats = &result.stats;
    format!(
        "| {} | {} | {:.0} | {:.0} | {} | {} | {} | {} | {} | {} | {} |\n",
        result.scenario.label(),
        result.connections,
        result.requests_per_second(),
        result.completed_per_second(),
        ms(stats.percentile(0.5)),
        ms(stats.percentile(0.99)),
        ms(stats.percentile(0.999)),
        stats.statuses_text(),
        stats.server_errors(),
        peak_rss_kib.map_or("-".into(), |k| format!("{:.1}", k as f64 / 1024.0)),
        percents(&result.cpu, result.elapsed),
    )
}

/// CPU per successful operation of one scenario, and the two references:
/// the generator's CPU for the same operations (what the HTTP exchange
/// costs a lean client) and Redis's CPU per plain SET.
#[derive(Debug, Clone, Copy)]
pub struct Cost {
    pub api: f64,
    pub pg: f64,
    pub redis: f64,
    pub bench: f64,
    /// api per op / generator per op.
    pub api_to_bench: f64,
    /// Redis per op / Redis per SET.
    pub redis_to_set: f64,
}

impl Cost {
    pub fn of(result: &ScenarioResult, set: Option<&SetCost>) -> Self {
        let per = |role| result.cpu.micros_per(role, result.completed);
        let (api, redis, bench) = (per(Role::Api), per(Role::Redis), per(Role::Bench));
        Cost {
            api,
            pg: per(Role::Postgres),
            redis,
            bench,
            api_to_bench: api / bench,
            redis_to_set: set.map_or(f64::NAN, |set| redis / set.redis_micros),
        }
    }
}

pub fn cost_header() -> String {
    "| scenario | conns | op | ops/s | CPU µs per op: api | pg | redis | generator | api ÷ generator | redis ÷ SET |\n|---|---|---|---|---|---|---|---|---|---|\n".to_owned()
}

pub fn cost_row(result: &ScenarioResult, set: Option<&SetCost>) -> String {
    let cost = Cost::of(result, set);
    format!(
        "| {} | {} | {} | {:.0} | {:.1} | {:.1} | {:.1} | {:.1} | {:.2} | {:.2} |\n",
        result.scenario.label(),
        result.connections,
        result.scenario.operation(),
        result.completed_per_second(),
        cost.api,
        cost.pg,
        cost.redis,
        cost.bench,
        cost.api_to_bench,
        cost.redis_to_set,
    )
}

pub fn set_line(set: &SetCost) -> String {
    format!(
        "- Redis reference at {} connections: redis-benchmark SET {:.0}/s, {:.2} µs of Redis CPU per SET\n",
        set.connections, set.per_second, set.redis_micros
    )
}

pub fn ceiling_row(name: &str, ceiling: &Ceiling, ours: f64, ours_name: &str) -> String {
    let mut line = String::new();
    let _ = write!(
        line,
        "| {name} | {} | {:.0}/s | {ours_name} {:.0}/s | ratio {:.2} |",
        ceiling.connections,
        ceiling.per_second,
        ours,
        ours / ceiling.per_second
    );
    if let (Some(p50), Some(p99)) = (ceiling.p50_ms, ceiling.p99_ms) {
        let _ = write!(line, " p50 {p50:.2} ms, p99 {p99:.2} ms |");
    } else if let Some(avg) = ceiling.p50_ms {
        let _ = write!(line, " avg {avg:.2} ms |");
    }
    line.push('\n');
    line
}

/// The seat map's size and cost per response.
pub fn map_line(result: &ScenarioResult) -> String {
    let maps = result.completed.max(1);
    format!(
        "- {} of a {}-seat venue (30 % held, half of it booked), {} connections: {:.0} maps/s, p50 {} ms, p99 {} ms, {:.2} MiB per response; CPU per map: api {:.2} ms, Redis {:.3} ms, generator {:.2} ms\n",
        result.scenario.label(),
        result.seats,
        result.connections,
        result.completed_per_second(),
        ms(result.stats.percentile(0.5)),
        ms(result.stats.percentile(0.99)),
        result.bytes as f64 / maps as f64 / (1024.0 * 1024.0),
        result.cpu.micros_per(Role::Api, result.completed) / 1000.0,
        result.cpu.micros_per(Role::Redis, result.completed) / 1000.0,
        result.cpu.micros_per(Role::Bench, result.completed) / 1000.0,
    )
}

pub fn fanout_header() -> String {
    "| subscribers | connected | connect s | snapshot MiB | api ms per snapshot | reserves/s | failed | messages/s delivered | latency p50 / p99 / max ms | early | dropped | saw every change | CPU % api / pg / redis / bench / others | api µs per message over 0 subscribers |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n".to_owned()
}

/// One fan-out level; `baseline` is the run with no subscribers (the
/// reserves alone), whose api CPU is taken off to cost the messages.
pub fn fanout_row(result: &FanoutResult, baseline: Option<&FanoutResult>) -> String {
    let latency = |q: f64| result.latency.value_at_quantile(q) as f64 / 1000.0;
    let per_message = match baseline {
        Some(base) if result.delivered > 0 => {
            let extra = result.cpu.of(Role::Api).as_secs_f64()
                - base.cpu.of(Role::Api).as_secs_f64() * result.cpu_elapsed().as_secs_f64()
                    / base.cpu_elapsed().as_secs_f64();
            format!("{:.1}", extra * 1e6 / result.delivered as f64)
        }
        _ => "-".into(),
    };
    format!(
        "| {} | {} | {:.1} | {:.2} | {} | {:.0} | {} | {:.0} | {} | {} | {} | {} of {} | {} | {per_message} |\n",
        result.plan.subscribers,
        result.connected,
        result.connect_elapsed.as_secs_f64(),
        result.snapshot_bytes as f64 / (1024.0 * 1024.0),
        match result.connected {
            0 => "-".to_owned(),
            n => format!(
                "{:.1}",
                result.connect_cpu.micros_per(Role::Api, n as u64) / 1000.0
            ),
        },
        result.reserves as f64 / result.window.as_secs_f64(),
        result.reserve_failures,
        result.delivered_per_second(),
        if result.latency.is_empty() {
            "-".into()
        } else {
            format!("{:.0} / {:.0} / {:.0}", latency(0.5), latency(0.99), result.latency.max() as f64 / 1000.0)
        },
        result.early,
        result.dropped,
        result.complete,
        result.connected,
        percents(&result.cpu, result.cpu_elapsed()),
    )
}

pub fn creation_header() -> String {
    "| seats | way | wall ms | Postgres CPU ms | api CPU ms | Redis CPU ms | creation ÷ COPY: Postgres CPU | wall |\n|---|---|---|---|---|---|---|---|\n".to_owned()
}

/// A creation through the api and the same rows by COPY, side by side.
pub fn creation_rows(api: &Creation, copy: &Creation) -> String {
    let ms_of = |c: &Creation, role| c.cpu.of(role).as_secs_f64() * 1000.0;
    let line = |way: &str, c: &Creation, ratios: &str| {
        format!(
            "| {} | {way} | {} | {:.0} | {:.0} | {:.0} | {ratios} |\n",
            c.seats,
            ms(c.wall),
            ms_of(c, Role::Postgres),
            ms_of(c, Role::Api),
            ms_of(c, Role::Redis),
        )
    };
    let ratios = format!(
        "{:.2} | {:.2}",
        ms_of(api, Role::Postgres) / ms_of(copy, Role::Postgres),
        api.wall.as_secs_f64() / copy.wall.as_secs_f64()
    );
    line("POST /events", api, &ratios) + &line("COPY", copy, " | ")
}

/// The median of some figures (the middle one of 3 runs).
pub fn median(mut values: Vec<f64>) -> f64 {
    values.retain(|v| !v.is_nan());
    values.sort_by(|a, b| a.total_cmp(b));
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}
