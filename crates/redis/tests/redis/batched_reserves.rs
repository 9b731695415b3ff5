//! Reserves of one event sent together share script calls
//! (`store/reserves.rs`): many at once must keep every rule each one keeps
//! alone, and must really share calls. On a private server, so its command
//! counts are the test's own.

use booking_domain::contract::ready;
use std::collections::HashSet;
use std::ops::RangeInclusive;
use std::sync::Arc;

use booking_domain::contract::{event, request};
use booking_domain::{EventId, HoldRequest, HoldStore, Mirror, ReserveOutcome, StoreError};
use booking_redis::RedisHoldStore;

use crate::helpers::{counted, counts, load, GRACE, LONG};
use crate::private_server::PrivateRedis;

fn evalsha_calls(server: &PrivateRedis) -> u64 {
    let stats: String = server.query(redis::cmd("INFO").arg("commandstats"));
    stats
        .lines()
        .find_map(|line| line.strip_prefix("cmdstat_evalsha:calls="))
        .and_then(|rest| rest.split(',').next())
        .map_or(0, |calls| calls.parse().unwrap())
}

type Reserving = tokio::task::JoinHandle<Result<Mirror<ReserveOutcome>, StoreError>>;

/// Starts every request at once, each on its own task.
fn spawn_all(store: &Arc<RedisHoldStore>, requests: Vec<HoldRequest>) -> Vec<Reserving> {
    requests
        .into_iter()
        .map(|request| {
            let store = Arc::clone(store);
            tokio::spawn(async move { store.reserve(&request).await })
        })
        .collect()
}

/// Sends every request at once; the outcomes in the same order.
async fn all_at_once(
    store: &Arc<RedisHoldStore>,
    requests: Vec<HoldRequest>,
) -> Vec<Mirror<ReserveOutcome>> {
    let mut outcomes = Vec::new();
    for task in spawn_all(store, requests) {
        outcomes.push(task.await.unwrap().unwrap());
    }
    outcomes
}

/// One one-seat request per seat, each from a user of its own.
fn one_seat_each(e: EventId, seats: RangeInclusive<u32>) -> Vec<HoldRequest> {
    seats
        .map(|seat| request(e, &format!("user-{seat}"), &[seat], LONG))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserves_sent_together_share_calls_and_never_share_a_seat() {
    let server = PrivateRedis::start(&[]);
    let store = Arc::new(RedisHoldStore::connect(&server.url(), "batch", 4).unwrap());
    let e = event(1);
    load(&*store, e, 300, &[]).await;
    let _: () = server.query(redis::cmd("CONFIG").arg("RESETSTAT"));

    // Two seats each, overlapping: many requests want a seat another got.
    let requests: Vec<HoldRequest> = (0..200u32)
        .map(|i| {
            let seats = [1 + i % 150, 151 + (i * 7) % 150];
            request(e, &format!("user-{i}"), &seats, LONG)
        })
        .collect();
    let outcomes = all_at_once(&store, requests.clone()).await;

    let calls = evalsha_calls(&server);
    assert!(
        calls <= 100,
        "200 reserves sent at once took {calls} script calls: they were not batched"
    );
    let mut held_seats = HashSet::new();
    let mut holds = 0;
    for (request, outcome) in requests.iter().zip(&outcomes) {
        match outcome {
            Mirror::Ready(ReserveOutcome::Held(hold)) => {
                holds += 1;
                // All of what it asked, and nobody else has any of it.
                assert_eq!(hold.seats.len(), 2);
                for seat in &hold.seats {
                    assert!(held_seats.insert(*seat), "{seat:?} held twice");
                }
                let stored = ready(store.hold(e, hold.id).await).unwrap();
                assert_eq!(stored.user, request.user);
            }
            Mirror::Ready(ReserveOutcome::Unavailable(taken)) => {
                assert!(!taken.is_empty());
                // Refused only for a seat some other request got, and
                // nothing of it held.
                assert!(ready(store.hold(e, request.id).await).is_none());
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    for (request, outcome) in requests.iter().zip(&outcomes) {
        if let Mirror::Ready(ReserveOutcome::Unavailable(taken)) = outcome {
            for seat in taken {
                assert!(held_seats.contains(seat), "{request:?} refused a free seat");
            }
        }
    }
    assert!(holds >= 100, "only {holds} of 200 held");
    assert_eq!(
        counts(&*store, e).await,
        counted(0, held_seats.len() as u32)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_limit_holds_across_reserves_sent_together() {
    let server = PrivateRedis::start(&[]);
    let store = Arc::new(RedisHoldStore::connect(&server.url(), "batch", 4).unwrap());
    let e = event(1);
    load(&*store, e, 100, &[]).await;

    let requests: Vec<HoldRequest> = (1..=50u32)
        .map(|seat| {
            let mut r = request(e, "alice", &[seat], LONG);
            r.max_held_per_user = 10;
            r
        })
        .collect();
    let outcomes = all_at_once(&store, requests).await;

    let held = outcomes
        .iter()
        .filter(|o| matches!(o, Mirror::Ready(ReserveOutcome::Held(_))))
        .count();
    let limited = outcomes
        .iter()
        .filter(|o| matches!(o, Mirror::Ready(ReserveOutcome::HoldLimit { held: 10 })))
        .count();
    assert_eq!((held, limited), (10, 40));
    assert_eq!(counts(&*store, e).await, counted(0, 10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserves_sent_together_for_an_event_not_loaded_all_hear_so() {
    let server = PrivateRedis::start(&[]);
    let store = Arc::new(RedisHoldStore::connect(&server.url(), "batch", 4).unwrap());
    let e = event(1);

    let outcomes = all_at_once(&store, one_seat_each(e, 1..=20)).await;
    assert!(outcomes.iter().all(|o| *o == Mirror::NotLoaded));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserves_sent_together_to_a_stopped_server_all_fail_in_bounded_time() {
    let mut server = PrivateRedis::start(&[]);
    let store = Arc::new(RedisHoldStore::connect(&server.url(), "batch", 4).unwrap());
    let e = event(1);
    load(&*store, e, 100, &[]).await;
    server.stop();

    let started = std::time::Instant::now();
    for task in spawn_all(&store, one_seat_each(e, 1..=20)) {
        assert!(task.await.unwrap().is_err());
    }
    // Each call is bounded by the 2 s timeout; the lane sends its waiting
    // requests in at most a few calls.
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    // The lane closed: a new reserve is tried again, not stuck behind it.
    server.restart();
    load(&*store, e, 100, &[]).await;
    let r = request(e, "late", &[1], LONG);
    assert!(matches!(
        store.reserve(&r).await.unwrap(),
        Mirror::Ready(ReserveOutcome::Held(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserves_and_reads_waiting_on_a_frozen_server_fail_within_one_timeout() {
    let server = PrivateRedis::start(&[]);
    let store = Arc::new(RedisHoldStore::connect(&server.url(), "batch", 4).unwrap());
    let e = event(1);
    load(&*store, e, 100, &[]).await;
    server.pause();

    // The first of each kind goes out and hangs until the 2 s timeout;
    // the rest wait behind it, and must not then wait 2 s more.
    let started = std::time::Instant::now();
    let reserves = spawn_all(&store, one_seat_each(e, 1..=20));
    let reads: Vec<_> = (0..20)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { store.counts(e, GRACE).await.map(|_| ()) })
        })
        .collect();
    let failed = |answer: Result<(), StoreError>| {
        assert!(
            matches!(
                answer,
                Err(StoreError::Unavailable { .. } | StoreError::Indeterminate { .. })
            ),
            "{answer:?}"
        );
    };
    for task in reserves {
        failed(task.await.unwrap().map(|_| ()));
    }
    for task in reads {
        failed(task.await.unwrap());
    }
    let took = started.elapsed();
    server.resume();
    assert!(
        took < std::time::Duration::from_millis(3500),
        "took {took:?}"
    );

    // Back: the lanes are open again.
    let r = request(e, "late", &[1], LONG);
    assert!(matches!(
        store.reserve(&r).await.unwrap(),
        Mirror::Ready(ReserveOutcome::Held(_))
    ));
}

/// While the event is watched, each hold of a call is one change with the
/// counts right after it, as if the reserves had gone one by one: the held
/// count rises by one per change, though a call writes its holds' owners
/// only at its end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserves_sent_together_are_recorded_one_change_each_with_exact_counts() {
    let server = PrivateRedis::start(&[]);
    let store = Arc::new(RedisHoldStore::connect(&server.url(), "batch", 4).unwrap());
    let e = event(1);
    load(&*store, e, 60, &[]).await;
    let Mirror::Ready(start) = store.watch(e, LONG).await.unwrap() else {
        panic!("the event is loaded");
    };
    let _: () = server.query(redis::cmd("CONFIG").arg("RESETSTAT"));

    let outcomes = all_at_once(&store, one_seat_each(e, 1..=40)).await;
    assert!(outcomes
        .iter()
        .all(|o| matches!(o, Mirror::Ready(ReserveOutcome::Held(_)))));
    assert!(
        evalsha_calls(&server) < 40,
        "the reserves were not sent together"
    );

    let Mirror::Ready(booking_domain::FeedRead::Changes(changes)) =
        store.changes(e, start.position, 1_000, LONG).await.unwrap()
    else {
        panic!("the changes are kept");
    };
    assert_eq!(changes.len(), 40);
    for (i, change) in changes.iter().enumerate() {
        assert_eq!(change.state, booking_domain::SeatState::Held);
        assert_eq!(change.seats.len(), 1);
        assert_eq!(
            (change.counts.booked, change.counts.held),
            (0, i as u32 + 1),
            "change {i}"
        );
    }
    assert_eq!(counts(&*store, e).await, counted(0, 40));
}
