//! A Redis restart without persistence: calls fail fast while it is down,
//! then the pool replaces its broken connections, the scripts are loaded
//! again, and the lost mirror answers "not loaded".

use std::time::{Duration, Instant};

use booking_domain::contract::{event, request};
use booking_domain::{HoldStore, Mirror, ReserveOutcome, StoreError};
use booking_redis::RedisHoldStore;

use crate::helpers::{hold, load, LONG};
use crate::private_server::PrivateRedis;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_restart_the_store_recovers_and_reports_the_lost_mirror() {
    let mut server = PrivateRedis::start(&[]);
    let store = RedisHoldStore::connect(&server.url(), "booking", 2).unwrap();
    let e = event(1);
    load(&store, e, 10, &[]).await;
    hold(&store, e, "alice", &[1]).await;

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
    assert_eq!(outcome, Some(Mirror::NotLoaded));
    load(&store, e, 10, &[]).await;
    assert!(matches!(
        store
            .reserve(&request(e, "alice", &[1], LONG))
            .await
            .unwrap(),
        Mirror::Ready(ReserveOutcome::Held(_))
    ));
}
