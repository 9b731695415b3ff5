//! Best available reads a large event's state in windows from its hint:
//! runs across a window's edge, and events mostly sold, are still found.

use booking_domain::contract::{best, event, rows};
use booking_domain::{HoldId, HoldStore, Mirror, ReserveOutcome, SeatNo};
use booking_redis::testing::test_store;

use crate::helpers::LONG;

async fn best_seats(
    store: &dyn HoldStore,
    e: booking_domain::EventId,
    who: &str,
    k: u32,
) -> Vec<u32> {
    match store.reserve(&best(e, who, k, LONG)).await.unwrap() {
        Mirror::Ready(ReserveOutcome::Held(hold)) => hold.seats.iter().map(|s| s.get()).collect(),
        other => panic!("{k} seats should be held, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_across_a_window_edge_and_far_into_a_sold_event_are_found() {
    let store = test_store().await;
    let e = event(1);
    // One row of 30,000: seats 1..8190 booked, so the first four together
    // are 8191..8194, across the scan's 8,192-seat window edge.
    let booking = HoldId::generate(e);
    let booked: Vec<(SeatNo, HoldId)> = (1..=8190)
        .map(|n| (SeatNo::new(n).unwrap(), booking))
        .collect();
    booking_domain::contract::load(&*store, e, rows(&[30_000]), &booked).await;
    assert_eq!(
        best_seats(&*store, e, "alice", 4).await,
        [8191, 8192, 8193, 8194]
    );
    // Booked far in: the next free seat is found two windows on.
    let other = event(2);
    let booked: Vec<(SeatNo, HoldId)> = (1..=20_000)
        .map(|n| (SeatNo::new(n).unwrap(), booking))
        .collect();
    booking_domain::contract::load(&*store, other, rows(&[30_000]), &booked).await;
    assert_eq!(best_seats(&*store, other, "bob", 2).await, [20_001, 20_002]);
    assert_eq!(best_seats(&*store, other, "carol", 1).await, [20_003]);
}
