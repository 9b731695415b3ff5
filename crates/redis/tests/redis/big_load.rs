//! Loading a sold-out 100,000-seat event in chunks of 2,000 (as the ledger
//! does) never blocks Redis for long: every script call takes under 50 ms
//! of the server's command thread, measured on a private server from the
//! thread's own CPU time (SLOWLOG's wall times are printed too: on this
//! shared two-core machine they include time the server waited for a CPU).

use std::time::Duration;

use booking_domain::contract::{best, event, request, seat, single_row, spec};
use booking_domain::{BeginLoad, HoldId, HoldStore, LoadStep, LoadToken, Mirror, ReserveOutcome};
use booking_redis::RedisHoldStore;

use crate::helpers::{counted, counts, LONG};
use crate::private_server::PrivateRedis;

const SEATS: u32 = 100_000;
const CHUNK: usize = 2_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sold_out_event_of_100_000_seats_loads_in_calls_under_50_ms() {
    let server = PrivateRedis::start(&[
        "--slowlog-log-slower-than",
        "1000",
        "--slowlog-max-len",
        "10000",
    ]);
    let store = RedisHoldStore::connect(&server.url(), "booking", 2).unwrap();
    let e = event(1);
    // A first load with holds on a tenth of the seats, so the reload also
    // takes seats from holds (booked wins) and rebuilds the state around
    // them.
    booking_domain::contract::load(&store, e, single_row(SEATS), &[]).await;
    for first in (1..=SEATS).step_by(1000) {
        let seats: Vec<u32> = (first..first + 100).collect();
        let mut r = request(e, &format!("user-{first}"), &seats, LONG);
        r.max_held_per_user = 100;
        assert!(matches!(
            store.reserve(&r).await.unwrap(),
            Mirror::Ready(ReserveOutcome::Held(_))
        ));
    }
    assert_eq!(counts(&store, e).await, counted(0, SEATS / 10));

    // Sold out: 4-seat bookings over every seat, in an order unlike the
    // seats' (as a repo may list them).
    let booked: Vec<_> = (0..SEATS)
        .map(|i| {
            let n = (i * 7919) % SEATS + 1;
            (seat(n), n)
        })
        .collect();
    let bookings: Vec<HoldId> = (0..SEATS / 4).map(|_| HoldId::generate(e)).collect();
    let booked: Vec<_> = booked
        .into_iter()
        .map(|(s, n)| (s, bookings[((n - 1) / 4) as usize]))
        .collect();
    let _: () = server.query(redis::cmd("SLOWLOG").arg("RESET"));
    let cpu = ServerCpu::of(&server);
    let mut cpu_micros = Vec::new();
    let token = LoadToken::generate();
    let before = cpu.micros();
    assert_eq!(
        store
            .begin_load(e, token, &spec(single_row(SEATS), LONG))
            .await
            .unwrap(),
        BeginLoad::Begun
    );
    cpu_micros.push(cpu.micros() - before);
    for chunk in booked.chunks(CHUNK) {
        let before = cpu.micros();
        assert_eq!(
            store.load_booked(e, token, chunk).await.unwrap(),
            LoadStep::Done
        );
        cpu_micros.push(cpu.micros() - before);
    }
    let before = cpu.micros();
    assert_eq!(store.finish_load(e, token).await.unwrap(), LoadStep::Done);
    cpu_micros.push(cpu.micros() - before);

    // What blocks Redis is the CPU a call takes on its one command thread;
    // wall time on this shared machine adds whatever else runs.
    eprintln!("server CPU per call of the load, µs: {cpu_micros:?}");
    eprintln!(
        "wall time per call (SLOWLOG), µs: {:?}",
        slow_calls(&server)
    );
    let longest = cpu_micros.iter().max().unwrap();
    assert!(
        *longest < 50_000,
        "a call took {longest} µs of CPU: {cpu_micros:?}"
    );

    assert_eq!(counts(&store, e).await, counted(SEATS, 0));
    assert_eq!(
        store.reserve(&best(e, "alice", 1, LONG)).await.unwrap(),
        Mirror::Ready(ReserveOutcome::Unavailable(vec![]))
    );
    assert!(matches!(
        store
            .reserve(&request(e, "alice", &[SEATS], LONG))
            .await
            .unwrap(),
        Mirror::Ready(ReserveOutcome::Unavailable(_))
    ));
    // Reads of the big event stay cheap.
    let started = std::time::Instant::now();
    let map = store.seat_map(e).await.unwrap();
    assert!(matches!(map, Mirror::Ready(ref m) if m.states.len() == SEATS as usize));
    assert!(started.elapsed() < Duration::from_secs(1));
}

/// The CPU time of a private server's main thread, the one that runs every
/// command and script (Linux: `/proc/<pid>/task/<pid>/schedstat`, in ns).
pub struct ServerCpu(String);

impl ServerCpu {
    pub fn of(server: &PrivateRedis) -> Self {
        let info: String = server.query(redis::cmd("INFO").arg("server"));
        let pid = info
            .lines()
            .find_map(|line| line.strip_prefix("process_id:"))
            .unwrap()
            .trim()
            .to_owned();
        Self(format!("/proc/{pid}/task/{pid}/schedstat"))
    }

    pub fn micros(&self) -> u64 {
        let stat = std::fs::read_to_string(&self.0).unwrap();
        stat.split_whitespace()
            .next()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            / 1000
    }
}

/// The script calls SLOWLOG saw (it logs the commands inside scripts too;
/// only EVALSHA is kept), in µs.
fn slow_calls(server: &PrivateRedis) -> Vec<i64> {
    // Entries: [id, time, micros, [command, args...], client, name].
    let log: Vec<redis::Value> = server.query(redis::cmd("SLOWLOG").arg("GET").arg(-1));
    let mut calls = Vec::new();
    for entry in log.iter().rev() {
        let redis::Value::Array(fields) = entry else {
            panic!("{entry:?}")
        };
        let (redis::Value::Int(micros), redis::Value::Array(command)) = (&fields[2], &fields[3])
        else {
            panic!("{entry:?}")
        };
        if matches!(&command[0], redis::Value::BulkString(c) if c.eq_ignore_ascii_case(b"evalsha"))
        {
            calls.push(*micros);
        }
    }
    calls
}
