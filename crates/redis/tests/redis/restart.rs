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

/// Each thread calls on connections of its own (an actix worker is a
/// runtime on a thread of its own), and a restart noticed on one thread
/// drops every thread's idle connections, so a call on another thread
/// does not fail on one more broken connection.
#[test]
fn threads_keep_connections_of_their_own_and_a_restart_seen_by_one_drops_all() {
    let mut server = PrivateRedis::start(&[]);
    let store = RedisHoldStore::connect(&server.url(), "booking", 2).unwrap();
    let e = event(1);
    let steps = std::sync::Barrier::new(3);
    let call = |runtime: &tokio::runtime::Runtime| {
        runtime.block_on(store.counts(e, Duration::from_secs(1)))
    };
    let worker = |first_after_restart: bool| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        assert!(call(&runtime).is_ok());
        steps.wait(); // both connected
        steps.wait(); // the server restarted
        if first_after_restart {
            let broken = call(&runtime);
            assert!(
                matches!(broken, Err(StoreError::Unavailable { .. })),
                "{broken:?}"
            );
        }
        steps.wait(); // the first thread has met the restart
        if !first_after_restart {
            let fresh = call(&runtime);
            assert!(fresh.is_ok(), "{fresh:?}");
        }
    };
    std::thread::scope(|scope| {
        let threads = [scope.spawn(|| worker(true)), scope.spawn(|| worker(false))];
        steps.wait();
        let pools = store.pool_status().expect("a single server has pools");
        assert_eq!((pools.size, pools.max_size), (2, 4));
        server.stop();
        server.restart();
        steps.wait();
        steps.wait();
        for thread in threads {
            thread.join().unwrap();
        }
    });
}
