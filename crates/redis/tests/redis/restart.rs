//! A Redis restart: calls fail fast while it is down, then the pool
//! replaces its broken connections, the scripts are loaded again, and the
//! lost mirror answers "not loaded".

use std::time::{Duration, Instant};

use booking_domain::contract::{event, request};
use booking_domain::{HoldStore, ReserveOutcome, StoreError};
use booking_redis::RedisHoldStore;

use crate::private_server::PrivateRedis;

const LONG: Duration = Duration::from_secs(300);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_restart_the_store_recovers_and_reports_the_lost_mirror() {
    let mut server = PrivateRedis::start(&[]);
    let store = RedisHoldStore::connect(&server.url(), "booking", 2).unwrap();
    let e = event(1);
    store.begin_load(e).await.unwrap();
    assert_eq!(
        store.load(e, &[]).await.unwrap(),
        booking_domain::LoadOutcome::Loaded
    );
    assert!(matches!(
        store
            .reserve(&request(e, "alice", &[1], LONG))
            .await
            .unwrap(),
        ReserveOutcome::Held(_)
    ));

    server.stop();
    let started = Instant::now();
    let down = store.reserve(&request(e, "alice", &[2], LONG)).await;
    assert!(
        matches!(down, Err(StoreError::Unavailable { .. })),
        "{down:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));

    server.restart();
    // Each pooled connection broken by the restart may fail one call (it
    // is then dropped); after that, calls reach the new server, which
    // has neither the scripts nor the data.
    let mut outcome = None;
    for _ in 0..4 {
        match store.reserve(&request(e, "alice", &[2], LONG)).await {
            Ok(o) => {
                outcome = Some(o);
                break;
            }
            Err(StoreError::Unavailable { .. }) => continue,
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(outcome, Some(ReserveOutcome::NotLoaded));
    store.begin_load(e).await.unwrap();
    assert_eq!(
        store.load(e, &[]).await.unwrap(),
        booking_domain::LoadOutcome::Loaded
    );
    assert!(matches!(
        store
            .reserve(&request(e, "alice", &[1], LONG))
            .await
            .unwrap(),
        ReserveOutcome::Held(_)
    ));
}
