//! A Redis that cannot be reached answers `Unavailable`, fast.

use std::time::{Duration, Instant};

use booking_domain::contract::{event, request};
use booking_domain::{HoldStore, StoreError};
use booking_redis::RedisHoldStore;

use crate::helpers::LONG;
use crate::private_server::PrivateRedis;

fn assert_unavailable<T: std::fmt::Debug>(result: Result<T, StoreError>) {
    assert!(
        matches!(result, Err(StoreError::Unavailable { .. })),
        "expected Unavailable, got {result:?}"
    );
}

#[tokio::test]
async fn a_closed_port_is_unavailable_at_once() {
    // Nothing listens on port 1; building the store does not connect.
    let store = RedisHoldStore::connect("redis://127.0.0.1:1", "booking-test", 2).unwrap();
    let started = Instant::now();
    let e = event(1);
    assert_unavailable(
        store
            .reserve(&request(e, "alice", &[1], Duration::from_secs(300)))
            .await,
    );
    assert_unavailable(store.counts(e, std::time::Duration::from_secs(60)).await);
    assert_unavailable(
        store
            .abort_confirm(e, booking_domain::HoldId::generate(e))
            .await,
    );
    assert_unavailable(store.seat_map(e).await);
    assert_unavailable(store.info().await);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_in_about_two_seconds() {
    // The kernel accepts connections into the backlog; nobody answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("redis://{}", silent.local_addr().unwrap());
    let store = RedisHoldStore::connect(&url, "booking-test", 2).unwrap();
    let started = Instant::now();
    assert_unavailable(
        store
            .counts(event(1), std::time::Duration::from_secs(60))
            .await,
    );
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(5),
        "took {took:?}"
    );
}

#[test]
fn configuration_mistakes_are_refused_up_front() {
    for (url, prefix, size) in [
        ("redis://127.0.0.1:6379", "a{b}", 2),
        ("redis://127.0.0.1:6379", "", 2),
        ("redis://127.0.0.1:6379", "ok", 0),
        ("not a url", "ok", 2),
    ] {
        assert!(
            matches!(
                RedisHoldStore::connect(url, prefix, size),
                Err(StoreError::Internal { .. })
            ),
            "{url} {prefix:?} {size} should be refused"
        );
    }
}

/// A script running too long makes Redis answer BUSY to everyone else: a
/// 503 while it lasts, never a 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_busy_with_a_long_script_is_unavailable() {
    let server = PrivateRedis::start(&["--busy-reply-threshold", "50"]);
    let mut busy = server.connection();
    let runner = std::thread::spawn(move || {
        // Read-only, so SCRIPT KILL can stop it.
        let _ = redis::cmd("EVAL")
            .arg("local i = 0 while true do i = i + 1 end")
            .arg(0)
            .exec(&mut busy);
    });
    std::thread::sleep(Duration::from_millis(300));
    let store = RedisHoldStore::connect(&server.url(), "booking", 1).unwrap();
    assert_unavailable(store.counts(event(1), Duration::from_secs(60)).await);
    let _: () = server.query(redis::cmd("SCRIPT").arg("KILL"));
    runner.join().unwrap();
}

/// A replica refuses the scripts' writes (READONLY): unavailable, so the
/// caller retries elsewhere or later, never a 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_replica_is_unavailable() {
    let master = PrivateRedis::start(&[]);
    let replica = PrivateRedis::start(&["--replicaof", "127.0.0.1", &master.port.to_string()]);
    let store = RedisHoldStore::connect(&replica.url(), "booking", 1).unwrap();
    let e = event(1);
    let token = booking_domain::LoadToken::generate();
    let spec = booking_domain::contract::spec(booking_domain::contract::single_row(10), LONG);
    assert_unavailable(store.begin_load(e, token, &spec).await);
}

/// A call waits out one timeout, not two: checking an idle connection (a
/// ping), connecting afresh to a server that accepts but never answers,
/// and then sending the call share one 2 s bound. The fault audit saw
/// 4 s: the idle connection's ping, then the call.
#[tokio::test]
async fn a_call_on_an_idle_connection_to_a_frozen_server_takes_one_timeout_not_two() {
    let server = PrivateRedis::start(&[]);
    let store = RedisHoldStore::connect(&server.url(), "booking-test", 2).unwrap();
    let e = event(1);
    store.counts(e, LONG).await.unwrap();
    // Idle for longer than the pool trusts a connection: it pings first.
    tokio::time::sleep(Duration::from_millis(5_500)).await;
    server.pause();
    let mut took = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        assert_unavailable(store.counts(e, LONG).await);
        took.push(started.elapsed());
    }
    server.resume();
    assert!(
        took.iter().all(|t| *t < Duration::from_millis(2_600)),
        "took {took:?}"
    );
}
