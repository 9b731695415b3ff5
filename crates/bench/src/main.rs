//! `bench`: the load benchmark. See docs/PERFORMANCE.md.
//!
//!   cargo run --release -p booking-bench -- [--runs N] [--seconds S] [--connections 16,64,256]
//!       [--scenarios abcde] [--server-env KEY=VALUE]... [--event-seats N]
//!       [--preload-bookings N]
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
    redis_url: String,
    binary: Option<PathBuf>,
    scenarios: String,
    server_env: Vec<(String, String)>,
    event_seats: u32,
    preload_bookings: u64,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        smoke_url: None,
        runs: 1,
        seconds: 5,
        connections: vec![16, 64, 256],
        pg_url: "postgres://postgres@127.0.0.1:5432/postgres".into(),
        redis_url: "redis://127.0.0.1:6379".into(),
        binary: None,
        scenarios: "abcde".into(),
        server_env: Vec::new(),
        event_seats: 100_000,
        preload_bookings: 0,
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
            "--connections" => {
                args.connections = value()?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?
            }
            "--pg-url" => args.pg_url = value()?,
            "--redis-url" => args.redis_url = value()?,
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
            event_seats: args.event_seats,
            preload_bookings: args.preload_bookings,
        })
        .await
    })
}
