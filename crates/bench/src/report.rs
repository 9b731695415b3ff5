//! Tables for people (stdout) and for the record (bench-results/*.md).

use std::fmt::Write as _;

use crate::ceilings::Ceiling;
use crate::scenarios::ScenarioResult;

pub fn ms(d: std::time::Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

pub fn header() -> String {
    "| scenario | conns | req/s | done/s | p50 ms | p99 ms | p99.9 ms | statuses | 5xx | peak RSS MiB | CPU % api / pg / redis / bench |\n|---|---|---|---|---|---|---|---|---|---|---|\n".to_owned()
}

pub fn row(result: &ScenarioResult, peak_rss_kib: Option<u64>) -> String {
    let stats = &result.stats;
    let cpu: Vec<String> = result
        .cpu_percent()
        .iter()
        .map(|(_, p)| format!("{p:.0}"))
        .collect();
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
        cpu.join(" / "),
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

/// The median of some figures (the middle one of 3 runs).
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}
