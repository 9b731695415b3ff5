//! Where the machine's CPU went during a scenario: the server, Postgres,
//! Redis and the load generator itself, read from /proc. On a two-core box
//! they all share the same cores, which is what bounds the ratios.

use std::collections::HashMap;
use std::time::Duration;

/// CPU time used so far by each watched process: pid → (name, ticks).
/// Kept per process, so one that ends or starts during a run cannot make
/// its name's total go backwards.
#[derive(Debug, Clone, Default)]
pub struct Snapshot(HashMap<u32, (&'static str, u64)>);

/// Linux reports CPU time in clock ticks of 1/100 s on every platform we
/// run on (`getconf CLK_TCK`).
const TICKS_PER_SECOND: f64 = 100.0;

pub const WATCHED: [&str; 4] = ["booking-api", "postgres", "redis-server", "bench"];

impl Snapshot {
    pub fn take() -> Self {
        let mut totals = HashMap::new();
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Self(totals);
        };
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            // pid (comm) state ppid ... utime(14) stime(15): comm may hold
            // spaces, so split after its closing parenthesis.
            let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
                continue;
            };
            let comm = &stat[open + 1..close];
            let Some(name) = WATCHED.iter().find(|name| **name == comm) else {
                continue;
            };
            let fields: Vec<&str> = stat[close + 2..].split_whitespace().collect();
            let ticks = |i: usize| {
                fields
                    .get(i)
                    .and_then(|f| f.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            totals.insert(pid, (*name, ticks(11) + ticks(12)));
        }
        Self(totals)
    }

    /// Seconds of CPU each watched name used between `self` and `later`:
    /// what every process alive at `later` used since `self` (or since it
    /// started). Processes that ended in between are not counted.
    pub fn used_until(&self, later: &Snapshot) -> Vec<(&'static str, Duration)> {
        WATCHED
            .iter()
            .map(|name| {
                let ticks: u64 = later
                    .0
                    .iter()
                    .filter(|(_, (n, _))| n == name)
                    .map(|(pid, (_, after))| {
                        let before = self.0.get(pid).map_or(0, |(_, t)| *t);
                        after.saturating_sub(before)
                    })
                    .sum();
                (
                    *name,
                    Duration::from_secs_f64(ticks as f64 / TICKS_PER_SECOND),
                )
            })
            .collect()
    }
}
