//! What the stores allow on this machine, measured with their own tools on
//! exactly what the service runs: the reserve's Lua script through
//! `redis-benchmark` (EVALSHA), the confirm's statement through `pgbench`.

use std::process::Command;
use std::time::Duration;

use booking_domain::{EventId, HoldId, HoldRequest, SeatChoice, SeatNo, UserId};
use booking_redis::{reserve_args, reserve_keys, reserve_script, KeyPrefix};

use crate::cpu::{self, Role, Watched};
use crate::server::redis_host_port;

#[derive(Debug, Clone, Copy)]
pub struct Ceiling {
    pub connections: usize,
    pub per_second: f64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

/// The reserve script at `connections` connections, each call a random
/// seat, user and hold of one loaded event (as scenario (b) is).
pub fn redis_reserve(
    redis_url: &str,
    prefix: &str,
    event: i64,
    connections: usize,
    requests: u64,
) -> anyhow::Result<Ceiling> {
    let (host, port) = redis_host_port(redis_url);
    let prefix = KeyPrefix::parse(prefix).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let event = EventId::new(event)?;
    let request = HoldRequest {
        id: HoldId::generate(event),
        event,
        user: UserId::parse("ceiling")?,
        seats: SeatChoice::Seats(vec![SeatNo::new(1).expect("1 is a seat")]),
        ttl: Duration::from_secs(300),
        max_held_per_user: 1_000_000,
    };
    // The KEYS are the event's and never change; redis-benchmark puts a
    // fresh random number in each placeholder of ARGV: the hold id, the
    // user and the seat. The event is loaded: the api created it.
    let keys = reserve_keys(&prefix, &request);
    let mut args = reserve_args(&request);
    args[0] = "__rand_int__".into();
    args[1] = "__rand_int__".into();
    args[5] = "__rand_int__".into();
    let cli = |args: &[&str]| -> anyhow::Result<String> {
        let out = Command::new("redis-cli")
            .args(["-h", &host, "-p", &port.to_string()])
            .args(args)
            .output()?;
        anyhow::ensure!(out.status.success(), "redis-cli failed");
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    let sha = cli(&["SCRIPT", "LOAD", reserve_script()])?;
    let mut command = Command::new("redis-benchmark");
    command
        .args(["-h", &host, "-p", &port.to_string()])
        .args(["-c", &connections.to_string(), "-n", &requests.to_string()])
        .args(["-r", "100000", "--csv", "evalsha", &sha])
        .arg(keys.len().to_string())
        .args(&keys)
        .args(&args);
    let out = command.output()?;
    anyhow::ensure!(
        out.status.success(),
        "redis-benchmark failed: {}{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    parse_redis_benchmark(&String::from_utf8_lossy(&out.stdout), connections)
}

/// The reference for Redis's cost per operation: a plain `SET` of a small
/// value under redis-benchmark at `connections` connections (no
/// pipelining), and the Redis CPU each took.
#[derive(Debug, Clone, Copy)]
pub struct SetCost {
    pub connections: usize,
    pub per_second: f64,
    /// Redis CPU per SET, µs.
    pub redis_micros: f64,
}

/// `requests` SETs of random keys under the run's prefix (the keys go
/// with the run's other keys).
pub fn redis_set(
    redis_url: &str,
    prefix: &str,
    connections: usize,
    requests: u64,
    watched: &Watched,
) -> anyhow::Result<SetCost> {
    let (host, port) = redis_host_port(redis_url);
    let before = cpu::Snapshot::take(watched);
    let out = Command::new("redis-benchmark")
        .args(["-h", &host, "-p", &port.to_string()])
        .args(["-c", &connections.to_string(), "-n", &requests.to_string()])
        .args(["-r", "100000", "--csv", "SET"])
        .arg(format!("{prefix}:set:__rand_int__"))
        .arg("xxx")
        .output()?;
    let used = before.used_until(&cpu::Snapshot::take(watched));
    anyhow::ensure!(
        out.status.success(),
        "redis-benchmark failed: {}{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    let ceiling = parse_redis_benchmark(&String::from_utf8_lossy(&out.stdout), connections)?;
    Ok(SetCost {
        connections,
        per_second: ceiling.per_second,
        redis_micros: used.micros_per(Role::Redis, requests),
    })
}

fn parse_redis_benchmark(csv: &str, connections: usize) -> anyhow::Result<Ceiling> {
    // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms",...
    let row = csv
        .lines()
        .find(|line| !line.starts_with("\"test\"") && line.contains(','))
        .ok_or_else(|| anyhow::anyhow!("no result in redis-benchmark output: {csv}"))?;
    let cells: Vec<f64> = row
        .split(',')
        .skip(1)
        .filter_map(|cell| cell.trim_matches('"').parse().ok())
        .collect();
    anyhow::ensure!(cells.len() >= 6, "unexpected redis-benchmark row: {row}");
    Ok(Ceiling {
        connections,
        per_second: cells[0],
        p50_ms: Some(cells[3]),
        p99_ms: Some(cells[5]),
    })
}

/// The confirm statement, one seat per transaction, at `clients` clients
/// for `duration` (pgbench; prepared statements, as the service uses).
pub fn pg_confirm(
    database_url: &str,
    event: i64,
    clients: usize,
    duration: Duration,
) -> anyhow::Result<Ceiling> {
    let script = pgbench_script(event, clients, CEILING_SEATS);
    let path = std::env::temp_dir().join(format!("confirm-{}.sql", uuid::Uuid::new_v4().simple()));
    std::fs::write(&path, script)?;
    let out = Command::new("pgbench")
        .args(["-n", "-M", "prepared", "-j", "1"])
        .args([
            "-c",
            &clients.to_string(),
            "-T",
            &duration.as_secs().max(1).to_string(),
        ])
        .arg("-f")
        .arg(&path)
        .arg(database_url)
        .output();
    let _ = std::fs::remove_file(&path);
    let out = out?;
    let text = String::from_utf8_lossy(&out.stdout);
    anyhow::ensure!(
        out.status.success(),
        "pgbench failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let field = |name: &str| {
        text.lines()
            .find(|line| line.starts_with(name))
            .and_then(|line| line.split('=').nth(1))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<f64>().ok())
    };
    let tps = field("tps").ok_or_else(|| anyhow::anyhow!("no tps in pgbench output: {text}"))?;
    Ok(Ceiling {
        connections: clients,
        per_second: tps,
        p50_ms: field("latency average"),
        p99_ms: None,
    })
}

/// Connections Postgres can still open for pgbench: its limit, less the
/// connections open now (the api's pool, other people's tests), less a
/// margin for them to grow and for the superuser's reserve.
pub async fn free_connections(database_url: &str) -> anyhow::Result<usize> {
    const MARGIN: i64 = 10;
    let (client, connection) = tokio_postgres::connect(database_url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    let free: i64 = client
        .query_one(
            "SELECT current_setting('max_connections')::int8 \
                    - current_setting('superuser_reserved_connections')::int8 \
                    - (SELECT count(*) FROM pg_stat_activity)",
            &[],
        )
        .await?
        .get(0);
    Ok(usize::try_from(free - MARGIN).unwrap_or(0).max(1))
}

/// Seats of the event the confirm ceiling books: enough that a client
/// seldom draws one twice (a draw of a booked seat costs no write, and
/// would flatter the ceiling).
pub const CEILING_SEATS: u32 = 500_000;

/// Gives `event` (created with 100,000 seats by the api) seats up to
/// `CEILING_SEATS`, straight in Postgres: the api caps events at 100,000.
pub async fn grow_event(database_url: &str, event: i64) -> anyhow::Result<()> {
    let (client, connection) = tokio_postgres::connect(database_url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    let seats = i32::try_from(CEILING_SEATS)?;
    client
        .execute(
            "INSERT INTO seats (event_id, seat_no, seat_code) \
             SELECT $1, n, 'S' || n FROM generate_series(100001, $2::int4) AS n",
            &[&event, &seats],
        )
        .await?;
    Ok(())
}

/// The repo's confirm statement with pgbench variables for its parameters:
/// a fresh booking id per transaction, a random seat of `event` from a
/// range of the client's own. Clients never contend for a seat, as the
/// service's confirms do not (Redis already gave each seat to one hold);
/// a seat a client draws twice is answered "taken" without a write.
pub fn pgbench_script(event: i64, clients: usize, seats: u32) -> String {
    let range = (seats as usize / clients.max(1)).max(1);
    let sql: String = booking_postgres::confirm_statement()
        .lines()
        .filter(|line| !line.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n");
    let sql = sql
        .replace("$1", "md5(:client_id::text || '-' || :n::text)::uuid")
        .replace("$2", ":event")
        .replace("$3::int4[]", "ARRAY[:seat]::int4[]")
        .replace("$4", "'pgbench'");
    format!(
        "\\set n random(1, 1000000000)\n\\set seat 1 + :client_id * {range} + random(0, {range} - 1)\n\\set event {event}\n{};\n",
        sql.trim()
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_pgbench_script_has_no_parameters_left() {
        let script = super::pgbench_script(7, 16, 500_000);
        assert!(!script.contains('$'), "{script}");
        assert!(script.contains("\\set event 7"));
        assert!(script.trim_end().ends_with(';'));
    }

    #[test]
    fn redis_benchmark_csv_is_read() {
        let csv = "\"test\",\"rps\",\"avg_latency_ms\",\"min_latency_ms\",\"p50_latency_ms\",\"p95_latency_ms\",\"p99_latency_ms\",\"max_latency_ms\"\n\"EVALSHA\",\"35000.00\",\"1.7\",\"0.2\",\"1.6\",\"2.5\",\"3.1\",\"9.0\"\n";
        let ceiling = super::parse_redis_benchmark(csv, 64).unwrap();
        assert_eq!(ceiling.per_second, 35000.0);
        assert_eq!(ceiling.p50_ms, Some(1.6));
        assert_eq!(ceiling.p99_ms, Some(3.1));
    }
}
