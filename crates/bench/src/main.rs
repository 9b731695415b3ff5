//! `bench`: the load benchmark. See docs/PERFORMANCE.md.
//!
//!   cargo run --profile generator -p booking-bench -- [--runs N] [--seconds S] [--connections 16,64,256]
//!       [--scenarios abcdefghijk] [--log-level info] [--server-env KEY=VALUE]...
//!       [--event-seats N] [--preload-bookings N] [--map-connections N]
//!       [--sse-subscribers 0,100,300,500] [--sse-rate R] [--redis-url URL]
//!   cargo run -p booking-bench -- --smoke --url http://127.0.0.1:4000

use std::path::PathBuf;
use std::time::Duration;

use booking_bench::{full, smoke};

struct Args {
    smoke_url: Option<String>,
    runs: usize,
    seconds: u64,
    connections: Vec<usize>,
    pg_url: String,
    redis_url: Option<String>,
    binary: Option<PathBuf>,
    scenarios: String,
    server_env: Vec<(String, String)>,
    log_level: Option<String>,
    event_seats: u32,
    preload_bookings: u64,
    map_connections: usize,
    sse_subscribers: Vec<usize>,
    sse_rate: u32,
}

fn list(raw: &str) -> anyhow::Result<Vec<usize>> {
    Ok(raw.split(',').map(str::parse).collect::<Result<_, _>>()?)
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        smoke_url: None,
        runs: 1,
        seconds: 5,
        connections: vec![16, 64, 256],
        pg_url: "postgres://postgres@127.0.0.1:5432/postgres".into(),
        redis_url: None,
        binary: None,
        scenarios: "abcdefghijk".into(),
        server_env: Vec::new(),
        // None: the server's own default (config/default.toml), which is
        // production's (production.toml keeps it).
        log_level: None,
        event_seats: 100_000,
        preload_bookings: 0,
        map_connections: 8,
        sse_subscribers: vec![0, 100, 300, 500],
        sse_rate: 200,
    };
    let mut raw = std::env::args().skip(1);
    while let Some(flag) = raw.next() {
        let mut value = || {
            raw.next()
                .ok_or_else(|| anyhow::anyhow!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--smoke" => {}
            "--url" => args.smoke_url = Some(value()?),
            "--runs" => args.runs = value()?.parse()?,
            "--seconds" => args.seconds = value()?.parse()?,
            "--connections" => args.connections = list(&value()?)?,
            "--pg-url" => args.pg_url = value()?,
            "--redis-url" => args.redis_url = Some(value()?),
            "--log-level" => args.log_level = Some(value()?),
            "--map-connections" => args.map_connections = value()?.parse()?,
            "--sse-subscribers" => args.sse_subscribers = list(&value()?)?,
            "--sse-rate" => args.sse_rate = value()?.parse()?,
            "--server-bin" => args.binary = Some(value()?.into()),
            "--scenarios" => args.scenarios = value()?,
            "--event-seats" => args.event_seats = value()?.parse()?,
            "--preload-bookings" => args.preload_bookings = value()?.parse()?,
            "--server-env" => {
                let pair = value()?;
                let (key, val) = pair
                    .split_once('=')
                    .ok_or_else(|| anyhow::anyhow!("--server-env takes KEY=VALUE"))?;
                args.server_env.push((key.to_owned(), val.to_owned()));
            }
            other => anyhow::bail!("unknown argument {other}; see docs/PERFORMANCE.md"),
        }
    }
    anyhow::ensure!(
        args.runs >= 1 && args.seconds >= 1,
        "--runs and --seconds must be at least 1"
    );
    anyhow::ensure!(
        args.sse_rate >= 1 && args.map_connections >= 1,
        "--sse-rate and --map-connections must be at least 1"
    );
    Ok(args)
}

fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    // One thread for the load, so the server under test gets the rest of
    // this two-core machine.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        if let Some(url) = args.smoke_url {
            let report = smoke(&url).await?;
            println!("{report}");
            return Ok(());
        }
        full::run(full::Plan {
            runs: args.runs,
            duration: Duration::from_secs(args.seconds),
            connections: args.connections,
            pg_url: args.pg_url,
            redis_url: args.redis_url,
            binary: args.binary,
            scenarios: args.scenarios,
            server_env: args.server_env,
            log_level: args.log_level,
            event_seats: args.event_seats,
            preload_bookings: args.preload_bookings,
            map_connections: args.map_connections,
            sse_subscribers: args.sse_subscribers,
            sse_rate: args.sse_rate,
        })
        .await
    })
}
