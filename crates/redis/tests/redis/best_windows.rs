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

/// The windows start at 64 seats and double (64, 128, 256, ... up to
/// 8,192): a run starting in one window and ending in the next, or
/// starting right after a window's end, is found whole and lowest first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_across_the_small_windows_edges_are_found() {
    let store = test_store().await;
    let booking = HoldId::generate(event(1));
    let booked = |seats: std::ops::RangeInclusive<u32>| -> Vec<(SeatNo, HoldId)> {
        seats.map(|n| (SeatNo::new(n).unwrap(), booking)).collect()
    };
    // Seat 1 free (the search starts there), 2..62 booked: the first four
    // together are 63..66, across the first window's end (64).
    let e = event(1);
    booking_domain::contract::load(&*store, e, rows(&[1_000]), &booked(2..=62)).await;
    assert_eq!(best_seats(&*store, e, "alice", 4).await, [63, 64, 65, 66]);
    assert_eq!(best_seats(&*store, e, "alice", 1).await, [1]);

    // Runs starting at the second window's first seat (65) and across its
    // end (192), seat 1 again free.
    let e = event(2);
    booking_domain::contract::load(&*store, e, rows(&[1_000]), &booked(2..=64)).await;
    assert_eq!(best_seats(&*store, e, "bob", 3).await, [65, 66, 67]);
    let e = event(3);
    booking_domain::contract::load(&*store, e, rows(&[1_000]), &booked(2..=190)).await;
    assert_eq!(
        best_seats(&*store, e, "carol", 5).await,
        [191, 192, 193, 194, 195]
    );

    // One seat: the first free one, windows in, whatever their size.
    for (id, last_booked) in [(4, 64), (5, 191), (6, 192), (7, 1_000)] {
        let e = event(id);
        booking_domain::contract::load(&*store, e, rows(&[2_000]), &booked(1..=last_booked)).await;
        assert_eq!(best_seats(&*store, e, "dave", 1).await, [last_booked + 1]);
    }
}
