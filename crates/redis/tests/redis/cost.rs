//! What a reserve and a counts read cost Redis, against a plain SET: the
//! server thread's CPU per request and INFO commandstats' usec_per_call,
//! on a private server with redis-benchmark replaying the published
//! reserve call (as the load benchmark does). A measurement, not a check:
//!
//! ```sh
//! cargo test -p booking-redis --test redis cost -- --ignored --nocapture
//! ```

use std::process::Command;

use booking_domain::contract::{event, request, single_row};
use booking_redis::{
    counts_script, reserve_args, reserve_keys, reserve_script, EventKeys, RedisHoldStore,
};

use crate::big_load::ServerCpu;
use crate::helpers::{GRACE, LONG};
use crate::private_server::PrivateRedis;

const SEATS: u32 = 1_000_000;

/// (server CPU µs per request, usec_per_call of `command`) for `requests`
/// requests from redis-benchmark at 8 connections.
fn measure(server: &PrivateRedis, cpu: &ServerCpu, requests: u64, args: &[String]) -> (f64, f64) {
    let _: () = server.query(redis::cmd("CONFIG").arg("RESETSTAT"));
    let before = cpu.micros();
    let out = Command::new("redis-benchmark")
        .args(["-p", &server.port.to_string(), "-c", "8"])
        .args(["-n", &requests.to_string(), "-r", &(SEATS - 1).to_string()])
        .arg("--csv")
        .args(args)
        .output()
        .expect("redis-benchmark runs");
    assert!(out.status.success());
    let used = (cpu.micros() - before) as f64 / requests as f64;
    let stats: String = server.query(redis::cmd("INFO").arg("commandstats"));
    let name = format!("cmdstat_{}:", args[0].to_lowercase());
    let per_call = stats
        .lines()
        .find_map(|line| line.strip_prefix(&name))
        .and_then(|line| line.split("usec_per_call=").nth(1))
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    (used, per_call)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run it on purpose, on a quiet machine"]
async fn a_one_seat_reserve_and_a_counts_read_cost_this_many_sets() {
    let server = PrivateRedis::start(&[]);
    let cpu = ServerCpu::of(&server);
    let store = RedisHoldStore::connect(&server.url(), "booking", 8).unwrap();
    let e = event(1);
    booking_domain::contract::load(&store, e, single_row(SEATS), &[]).await;

    let template = request(e, "user", &[1], LONG);
    let sha: String = server.query(redis::cmd("SCRIPT").arg("LOAD").arg(reserve_script()));
    let keys = reserve_keys(store.key_prefix(), &template);
    let mut args = reserve_args(&template);
    // A new hold, user and seat each call: few collide on a million seats.
    for i in [0, 1, 5] {
        args[i] = "__rand_int__".into();
    }
    let mut reserve = vec!["EVALSHA".to_owned(), sha, keys.len().to_string()];
    reserve.extend(keys);
    reserve.extend(args);
    let counts_sha: String = server.query(redis::cmd("SCRIPT").arg("LOAD").arg(counts_script()));
    let mut counts = vec!["EVALSHA".to_owned(), counts_sha, "11".to_owned()];
    counts.extend(EventKeys::new(store.key_prefix(), e).all().names());
    counts.push(GRACE.as_millis().to_string());
    let set: Vec<String> = ["SET", "bench:{x}:key", "__rand_int__"]
        .map(String::from)
        .to_vec();

    let mut rows = Vec::new();
    for _ in 0..3 {
        rows.push(("SET", measure(&server, &cpu, 100_000, &set)));
        rows.push((
            "reserve, one seat",
            measure(&server, &cpu, 20_000, &reserve),
        ));
        rows.push(("counts", measure(&server, &cpu, 100_000, &counts)));
    }
    let best = |name: &str| {
        rows.iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, m)| *m)
            .fold((f64::MAX, f64::MAX), |a, b| (a.0.min(b.0), a.1.min(b.1)))
    };
    let set = best("SET");
    for name in ["SET", "reserve, one seat", "counts"] {
        let (cpu, per_call) = best(name);
        eprintln!(
            "{name:30} {cpu:6.2} µs CPU/request ({:4.1} SETs), {per_call:6.2} µs/call ({:5.1} SETs)",
            cpu / set.0,
            per_call / set.1
        );
    }
}
