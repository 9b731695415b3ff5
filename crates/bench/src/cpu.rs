//! Where the machine's CPU went during a scenario: the server, Postgres,
//! Redis and the load generator itself, read from /proc. On a two-core box
//! they all share the same cores, which is what bounds the ratios.
//!
//! Other people's work shares this machine, and often its Postgres, so the
//! processes are picked by who they are, not by their name: the api and
//! Redis by pid, the generator as this process, and of Postgres only the
//! backends of the run's own database (their process titles name it) plus
//! the cluster's background processes (WAL writer, checkpointer, ...),
//! which work for every database of the cluster, ours included.

use std::collections::HashMap;
use std::time::Duration;

/// The processes a figure is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Api,
    Postgres,
    Redis,
    Bench,
    /// Everything else on the machine: other people's builds and tests,
    /// other databases' Postgres backends.
    Others,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Api,
        Role::Postgres,
        Role::Redis,
        Role::Bench,
        Role::Others,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Role::Api => "api",
            Role::Postgres => "pg",
            Role::Redis => "redis",
            Role::Bench => "bench",
            Role::Others => "others",
        }
    }
}

/// Which processes play which role in this run. `Watched::default()`
/// watches only the generator (the smoke run, whose server is in process).
#[derive(Debug, Clone, Default)]
pub struct Watched {
    pub api: Option<u32>,
    pub redis: Option<u32>,
    /// The run's database: its backends are counted as Postgres.
    pub database: Option<String>,
}

/// CPU time used so far by every process: pid → (role, name, ticks).
/// Kept per process, so one that ends or starts during a run cannot make
/// its role's total go backwards.
#[derive(Debug, Clone, Default)]
pub struct Snapshot(HashMap<u32, (Role, String, u64)>);

/// Linux reports CPU time in clock ticks of 1/100 s on every platform we
/// run on (`getconf CLK_TCK`).
const TICKS_PER_SECOND: f64 = 100.0;

fn seconds(ticks: u64) -> Duration {
    Duration::from_secs_f64(ticks as f64 / TICKS_PER_SECOND)
}

/// CPU time per role over some interval.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage([Duration; 5]);

impl Usage {
    pub fn of(&self, role: Role) -> Duration {
        self.0[role as usize]
    }

    /// Microseconds of `role` per unit of `count` (NaN when none).
    pub fn micros_per(&self, role: Role, count: u64) -> f64 {
        if count == 0 {
            return f64::NAN;
        }
        self.of(role).as_secs_f64() * 1e6 / count as f64
    }

    /// Each role's CPU share over `elapsed`, in % of one core.
    pub fn percent(&self, elapsed: Duration) -> [f64; 5] {
        Role::ALL.map(|role| 100.0 * self.of(role).as_secs_f64() / elapsed.as_secs_f64())
    }

    pub fn saturating_sub(&self, other: &Usage) -> Usage {
        Usage(Role::ALL.map(|role| self.of(role).saturating_sub(other.of(role))))
    }
}

impl Snapshot {
    pub fn take(watched: &Watched) -> Self {
        let me = std::process::id();
        let mut ours: HashMap<u32, Role> = [
            (watched.api, Role::Api),
            (watched.redis, Role::Redis),
            (Some(me), Role::Bench),
        ]
        .into_iter()
        .filter_map(|(pid, role)| Some((pid?, role)))
        .collect();
        let mut all = HashMap::new();
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Self(all);
        };
        for pid in entries
            .flatten()
            .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        {
            let Some((comm, ticks)) = ticks(pid) else {
                continue;
            };
            let role = match ours.remove(&pid) {
                Some(role) => role,
                None if comm == "postgres"
                    && watched
                        .database
                        .as_deref()
                        .is_some_and(|db| works_for(&title(pid), db)) =>
                {
                    Role::Postgres
                }
                None => Role::Others,
            };
            all.insert(pid, (role, comm, ticks));
        }
        Self(all)
    }

    /// CPU each role used between `self` and `later`: what every process
    /// alive at `later` used since `self` (or since it started). Processes
    /// that ended in between are not counted.
    pub fn used_until(&self, later: &Snapshot) -> Usage {
        let mut usage = Usage::default();
        for (pid, (role, _, after)) in &later.0 {
            usage.0[*role as usize] += seconds(after.saturating_sub(self.ticks_of(*pid)));
        }
        usage
    }

    /// What else ran between `self` and `later`: CPU of the processes that
    /// are not ours, by name, busiest first.
    pub fn others_until(&self, later: &Snapshot) -> Vec<(String, Duration)> {
        let mut by_name: HashMap<&str, u64> = HashMap::new();
        for (pid, (role, comm, after)) in &later.0 {
            if *role == Role::Others {
                *by_name.entry(comm).or_default() += after.saturating_sub(self.ticks_of(*pid));
            }
        }
        let mut busiest: Vec<(String, Duration)> = by_name
            .into_iter()
            .filter(|(_, ticks)| *ticks > 0)
            .map(|(name, ticks)| (name.to_owned(), seconds(ticks)))
            .collect();
        busiest.sort_by_key(|(_, used)| std::cmp::Reverse(*used));
        busiest
    }

    fn ticks_of(&self, pid: u32) -> u64 {
        self.0.get(&pid).map_or(0, |(_, _, t)| *t)
    }
}

/// The machine's load averages (1, 5, 15 minutes), as `uptime` shows them.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

/// A process's title (its command line, which Postgres rewrites).
fn title(pid: u32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|raw| String::from_utf8_lossy(&raw).replace('\0', " "))
        .unwrap_or_default()
}

/// A process's name (`comm`) and its user + system ticks, all threads.
fn ticks(pid: u32) -> Option<(String, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // pid (comm) state ppid ... utime(14) stime(15): comm may hold spaces,
    // so split after its closing parenthesis.
    let (open, close) = (stat.find('(')?, stat.rfind(')')?);
    let comm = stat[open + 1..close].to_owned();
    let fields: Vec<&str> = stat.get(close + 2..)?.split_whitespace().collect();
    let field = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    Some((comm, field(11)? + field(12)?))
}

/// Whether a Postgres process titled `title` (`postgres: 15/main: user db
/// host(port) state`, `postgres: 15/main: walwriter`, ...) works for
/// `database`: one of its backends or autovacuum workers, or a background
/// process of the whole cluster. Other databases' backends do not.
pub fn works_for(title: &str, database: &str) -> bool {
    if title.split_whitespace().any(|word| word == database) {
        return true;
    }
    let Some(rest) = title.trim().strip_prefix("postgres: ") else {
        // The postmaster (`/usr/lib/postgresql/15/bin/postgres -D ...`).
        return true;
    };
    // Skip the cluster name (`15/main: `) when the title has one.
    let what = rest.split_once(": ").map_or(rest, |(_, what)| what);
    let client = what.contains('(') || what.contains("[local]");
    !client && !what.starts_with("autovacuum worker") && !what.starts_with("parallel worker")
}

#[cfg(test)]
mod tests {
    use super::works_for;

    #[test]
    fn postgres_processes_are_attributed_by_their_title() {
        let db = "booking_bench_0123456789ab";
        assert!(works_for(
            "postgres: 15/main: postgres booking_bench_0123456789ab 127.0.0.1(51234) idle",
            db
        ));
        assert!(works_for(
            "postgres: 15/main: autovacuum worker booking_bench_0123456789ab",
            db
        ));
        assert!(works_for("postgres: 15/main: walwriter ", db));
        assert!(works_for("postgres: 15/main: checkpointer", db));
        assert!(!works_for(
            "postgres: 15/main: postgres booking_test_1 127.0.0.1(40000) idle",
            db
        ));
        assert!(!works_for(
            "postgres: 15/main: postgres booking_test_1 [local] idle",
            db
        ));
        assert!(!works_for(
            "postgres: 15/main: autovacuum worker booking_test_1",
            db
        ));
    }
}
