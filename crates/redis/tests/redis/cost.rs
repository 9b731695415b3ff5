//! What a reserve and a counts read cost Redis, against a plain SET: the
//! server thread's CPU per request and INFO commandstats' usec_per_call,
//! on a private server with redis-benchmark replaying the published
//! reserve call (as the load benchmark does). A measurement, not a check:
//!
//! ```sh
//! cargo test -p booking-redis --test redis cost -- --ignored --nocapture
//! ```
//!
//! And what one Redis core serves for ONE hot event (docs/DEPLOY.md): the
//! server pinned to one core, redis-benchmark to the other, replaying
//! one-seat reserves of one event until it is nearly sold out.

use std::process::Command;

use std::time::Duration;

use booking_domain::contract::{event, request, single_row};
use booking_domain::{
    BeginConfirm, HoldId, HoldRequest, HoldStore, Mirror, ReserveOutcome, SeatChoice, SeatNo,
    UserId,
};
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
    let event_keys = EventKeys::new(store.key_prefix(), e).all().names();
    let mut counts = vec![
        "EVALSHA".to_owned(),
        counts_sha,
        event_keys.len().to_string(),
    ];
    counts.extend(event_keys);
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

/// One run of redis-benchmark replaying `command`, the server pinned to
/// core 0 and the client to core 1 (`taskset`), 50 connections:
/// (requests/s, server CPU µs per request, usec_per_call of the command).
fn pinned_run(
    server: &PrivateRedis,
    cpu: &ServerCpu,
    requests: u64,
    range: u32,
    command: &[String],
) -> (f64, f64, f64) {
    let _: () = server.query(redis::cmd("CONFIG").arg("RESETSTAT"));
    let before = cpu.micros();
    let mut bench = Command::new("taskset");
    bench
        .args(["-c", "1", "redis-benchmark", "-p", &server.port.to_string()])
        .args(["-c", "50", "-n", &requests.to_string()])
        .args(["-r", &range.to_string(), "--csv"])
        .args(command);
    let out = bench.output().expect("taskset and redis-benchmark run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let used = (cpu.micros() - before) as f64 / requests as f64;
    let csv = String::from_utf8_lossy(&out.stdout);
    let rps: f64 = csv
        .lines()
        .find(|line| !line.starts_with("\"test\"") && line.contains(','))
        .and_then(|line| line.split(',').nth(1))
        .and_then(|cell| cell.trim_matches('"').parse().ok())
        .unwrap_or_else(|| panic!("no result row in {csv}"));
    let stats: String = server.query(redis::cmd("INFO").arg("commandstats"));
    let name = format!("cmdstat_{}:", command[0].to_lowercase());
    let per_call = stats
        .lines()
        .find_map(|line| line.strip_prefix(&name))
        .and_then(|line| line.split("usec_per_call=").nth(1))
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    (rps, used, per_call)
}

/// Replays one-seat reserves of `e` (loaded with `seats` seats, the last
/// booked) in rounds of 20,000 until it is nearly sold out, printing each
/// round; (reserves/s, server CPU µs per reserve) over all rounds.
async fn sell_out(
    server: &PrivateRedis,
    cpu: &ServerCpu,
    store: &RedisHoldStore,
    e: booking_domain::EventId,
    seats: u32,
) -> (f64, f64) {
    let template = HoldRequest {
        id: HoldId::generate(e),
        event: e,
        user: UserId::parse("buyer").unwrap(),
        seats: SeatChoice::Seats(vec![SeatNo::new(1).unwrap()]),
        ttl: Duration::from_secs(600),
        max_held_per_user: 1_000_000,
    };
    let sha: String = server.query(redis::cmd("SCRIPT").arg("LOAD").arg(reserve_script()));
    let keys = reserve_keys(store.key_prefix(), &template);
    let mut args = reserve_args(&template);
    for i in [0, 1, 5] {
        args[i] = "__rand_int__".into();
    }
    let mut reserve = vec!["EVALSHA".to_owned(), sha, keys.len().to_string()];
    reserve.extend(keys);
    reserve.extend(args);
    eprintln!("round  held after  reserves/s  server CPU us/req  usec_per_call");
    let (mut requests, mut cpu_total, mut seconds) = (0u64, 0f64, 0f64);
    for round in 1..=8 {
        let n = 20_000;
        let (rps, used, per_call) = pinned_run(server, cpu, n, seats - 1, &reserve);
        let Mirror::Ready(counts) = store.counts(e, LONG).await.unwrap() else {
            panic!("the event is loaded")
        };
        eprintln!(
            "{round:5}  {:10}  {rps:10.0}  {used:17.1}  {per_call:13.1}",
            counts.held
        );
        requests += n;
        cpu_total += used * n as f64;
        seconds += n as f64 / rps;
    }
    (requests as f64 / seconds, cpu_total / requests as f64)
}

/// The server's CPU per call, and calls/s, of `n` calls made by `lanes`
/// concurrent tasks through one store, as the api's request handlers make
/// them (its pool multiplexes them over a few connections).
async fn cpu_per_call<F, Fut>(cpu: &ServerCpu, n: u32, lanes: u32, call: F) -> (f64, f64)
where
    F: Fn(u32) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let call = std::sync::Arc::new(call);
    let before = cpu.micros();
    let started = std::time::Instant::now();
    let tasks: Vec<_> = (0..lanes)
        .map(|lane| {
            let call = call.clone();
            tokio::spawn(async move {
                let mut i = lane;
                while i < n {
                    call(i).await;
                    i += lanes;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let seconds = started.elapsed().as_secs_f64();
    (
        (cpu.micros() - before) as f64 / f64::from(n),
        f64::from(n) / seconds,
    )
}

/// ONE event is ONE hash slot, so on a cluster its reserves are served by
/// one Redis core whatever the cluster's size. This replays one-seat
/// reserves of a 60,000-seat event, each a new hold of a new user on a
/// random seat (`__rand_int__`), in rounds of 20,000 until the event is
/// nearly sold out: early rounds mostly hold, late ones mostly meet taken
/// seats, as a real on-sale does. Once with nobody watching the event,
/// once watched (live seat maps on: every change is also appended to the
/// event's feed). The server is pinned to core 0, the client to core 1
/// (`taskset`). Then the server CPU of the other calls a buyer causes: a
/// counts read, a seat map, a confirm (begin + finish), a feed poll.
///
/// ```sh
/// cargo test -p booking-redis --test redis hot_event -- --ignored --nocapture
/// ```
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run it on purpose, on a quiet machine"]
async fn hot_event_reserves_per_redis_core() {
    // 60,000 seats for sale, and one more already booked: __rand_int__
    // runs 0..SEATS-2, and seat "0" makes the script read the LAST seat
    // (GETRANGE -1), which must then be taken, never free.
    const SEATS: u32 = 60_001;
    let server = PrivateRedis::start(&[]);
    let cpu = ServerCpu::of(&server);
    let info: String = server.query(redis::cmd("INFO").arg("server"));
    let pid = info
        .lines()
        .find_map(|line| line.strip_prefix("process_id:"))
        .unwrap()
        .trim()
        .to_owned();
    let pinned = Command::new("taskset")
        .args(["-a", "-cp", "0", &pid])
        .output()
        .expect("taskset runs");
    assert!(pinned.status.success(), "pinning the server");
    let store = RedisHoldStore::connect(&server.url(), "booking", 2).unwrap();
    let last = SeatNo::new(SEATS).unwrap();
    let (quiet, watched, other) = (event(1), event(2), event(3));
    for e in [quiet, watched, other] {
        booking_domain::contract::load(
            &store,
            e,
            single_row(SEATS),
            &[(last, HoldId::generate(e))],
        )
        .await;
    }

    let set: Vec<String> = ["SET", "bench:{x}:key", "__rand_int__"]
        .map(String::from)
        .to_vec();
    let (set_rps, set_cpu, _) = pinned_run(&server, &cpu, 200_000, 100_000, &set);
    eprintln!("SET for scale: {set_rps:.0}/s, {set_cpu:.1} us server CPU per request");
    eprintln!("-- one event, nobody watching");
    let (rps, reserve_cpu) = sell_out(&server, &cpu, &store, quiet, SEATS).await;
    eprintln!(
        "all rounds: {rps:.0} reserves/s, {reserve_cpu:.1} us server CPU per reserve \
         ({:.1} SETs)",
        reserve_cpu / set_cpu
    );
    eprintln!("-- one event, watched (live seat maps)");
    let ttl = Duration::from_secs(3600);
    let Mirror::Ready(_) = store.watch(watched, ttl).await.unwrap() else {
        panic!("loaded")
    };
    let (rps, watched_cpu) = sell_out(&server, &cpu, &store, watched, SEATS).await;
    eprintln!(
        "all rounds: {rps:.0} reserves/s, {watched_cpu:.1} us server CPU per reserve \
         ({:.1} SETs)",
        watched_cpu / set_cpu
    );

    // The other calls a buyer causes, through the store as the api makes
    // them: 64 at a time over a pool of 16 multiplexed connections.
    let store = std::sync::Arc::new(RedisHoldStore::connect(&server.url(), "booking", 16).unwrap());
    let lanes = 64;
    let (counts, _) = cpu_per_call(&cpu, 20_000, lanes, {
        let store = store.clone();
        move |_| {
            let store = store.clone();
            async move {
                store.counts(watched, LONG).await.unwrap();
            }
        }
    })
    .await;
    let (map, _) = cpu_per_call(&cpu, 2_000, lanes, {
        let store = store.clone();
        move |_| {
            let store = store.clone();
            async move {
                store.seat_map(watched).await.unwrap();
            }
        }
    })
    .await;
    // Holds on a fresh event, each its own user: reserves through the
    // store, then their confirms (begin + finish), both 64 at a time.
    let holds = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let (store_reserve, _) = cpu_per_call(&cpu, 20_000, lanes, {
        let (store, holds) = (store.clone(), holds.clone());
        move |i| {
            let (store, holds) = (store.clone(), holds.clone());
            async move {
                let n = i + 1;
                let asked = request(other, &format!("u{n}"), &[n], LONG);
                let Mirror::Ready(ReserveOutcome::Held(hold)) =
                    store.reserve(&asked).await.unwrap()
                else {
                    panic!("seat {n} is free")
                };
                holds.lock().unwrap().push(hold);
            }
        }
    })
    .await;
    let holds: Vec<_> = std::mem::take(&mut *holds.lock().unwrap());
    let holds = std::sync::Arc::new(holds);
    let (confirm, _) = cpu_per_call(&cpu, 20_000, lanes, {
        let (store, holds) = (store.clone(), holds.clone());
        move |i| {
            let (store, holds) = (store.clone(), holds.clone());
            async move {
                let hold = &holds[i as usize];
                let Mirror::Ready(BeginConfirm::Pending(pending)) = store
                    .begin_confirm(hold.event, hold.id, &hold.user)
                    .await
                    .unwrap()
                else {
                    panic!("a live hold goes pending")
                };
                store.finish_confirm(&pending).await.unwrap();
            }
        }
    })
    .await;
    // Feed polls: one instance polls a watched event every 200 ms, one
    // poll at a time. An idle poll, and one that brings 100 changes.
    let Mirror::Ready(mut at) = store.watch(other, ttl).await.unwrap() else {
        panic!("loaded")
    };
    let position = at.position;
    let (idle_poll, _) = cpu_per_call(&cpu, 2_000, 1, {
        let store = store.clone();
        move |_| {
            let store = store.clone();
            async move {
                store.changes(other, position, 500, ttl).await.unwrap();
            }
        }
    })
    .await;
    let mut busy_poll = 0.0;
    for round in 0..100u32 {
        for k in 0..100u32 {
            let n = 20_001 + round * 100 + k;
            store
                .reserve(&request(other, &format!("u{n}"), &[n], LONG))
                .await
                .unwrap();
        }
        let before = cpu.micros();
        let Mirror::Ready(booking_domain::FeedRead::Changes(changes)) =
            store.changes(other, at.position, 500, ttl).await.unwrap()
        else {
            panic!("changes")
        };
        busy_poll += (cpu.micros() - before) as f64;
        assert_eq!(changes.len(), 100);
        at.position = changes.last().unwrap().position;
    }
    let busy_poll = busy_poll / 100.0;
    eprintln!("server CPU per call, us (SETs):");
    for (name, used) in [
        ("reserve (redis-benchmark)", reserve_cpu),
        ("reserve, watched (r-b)", watched_cpu),
        ("reserve (store, 64 at once)", store_reserve),
        ("confirm (begin + finish)", confirm),
        ("counts", counts),
        ("seat map, 60,000 seats", map),
        ("feed poll, nothing new", idle_poll),
        ("feed poll, 100 changes", busy_poll),
    ] {
        eprintln!("  {name:28} {used:7.1} ({:5.1})", used / set_cpu);
    }
}
