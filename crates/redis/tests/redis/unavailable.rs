//! A Redis that cannot be reached answers `Unavailable`, fast.

use std::time::{Duration, Instant};

use booking_domain::contract::{event, request};
use booking_domain::{HoldStore, StoreError};
use booking_redis::RedisHoldStore;

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
