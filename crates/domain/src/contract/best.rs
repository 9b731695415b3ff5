//! Best available, the seat map, and extending holds.

use std::collections::HashSet;
use std::time::Duration;

use super::holds::{begin, held, reserve, reserved, LONG, PAST_SHORT, SHORT};
use super::{best, counts, event, load, ready, request, rows, seat, seats, single_row, user};
use crate::{BeginConfirm, ExtendOutcome, HoldId, HoldStore, Mirror, ReserveOutcome, SeatState};

async fn best_seats(store: &dyn HoldStore, r: crate::HoldRequest) -> Vec<u32> {
    match reserve(store, &r).await {
        ReserveOutcome::Held(hold) => hold.seats.iter().map(|s| s.get()).collect(),
        other => panic!("expected {:?} to be held, got {other:?}", r.seats),
    }
}

pub async fn best_available_takes_adjacent_seats_in_the_lowest_row(store: &dyn HoldStore) {
    let e = event(1);
    // Rows A1..A5 (seats 1-5), B1..B5 (6-10), C1..C5 (11-15).
    load(
        store,
        e,
        rows(&[5, 5, 5]),
        &[(seat(7), HoldId::generate(e))],
    )
    .await;
    held(store, e, "someone", &[2]).await;
    // A has 3 together at A3..A5.
    assert_eq!(
        best_seats(store, best(e, "alice", 3, LONG)).await,
        [3, 4, 5]
    );
    // A1 alone is left; B has B3..B5 after the booked B2.
    assert_eq!(best_seats(store, best(e, "bob", 3, LONG)).await, [8, 9, 10]);
    assert_eq!(
        best_seats(store, best(e, "carol", 5, LONG)).await,
        [11, 12, 13, 14, 15]
    );
    // One seat: the lowest available in venue order.
    assert_eq!(best_seats(store, best(e, "dave", 1, LONG)).await, [1]);
}

pub async fn best_available_splits_across_rows_only_when_no_row_has_them_together(
    store: &dyn HoldStore,
) {
    let e = event(1);
    load(store, e, rows(&[3, 3, 4]), &[]).await;
    held(store, e, "someone", &[2, 5]).await;
    // Free: A1, A3, B1(4), B3(6), C1..C4 (7-10): C has 3 together.
    assert_eq!(
        best_seats(store, best(e, "alice", 3, LONG)).await,
        [7, 8, 9]
    );
    // Now no row has 3 together: the first 3 available in venue order.
    assert_eq!(best_seats(store, best(e, "bob", 3, LONG)).await, [1, 3, 4]);
    assert_eq!(counts(store, e).await.held, 8);
}

pub async fn best_available_is_unavailable_when_fewer_seats_are_free(store: &dyn HoldStore) {
    let e = event(1);
    load(store, e, rows(&[2, 2]), &[(seat(1), HoldId::generate(e))]).await;
    held(store, e, "someone", &[4]).await;
    assert_eq!(
        reserve(store, &best(e, "alice", 3, LONG)).await,
        ReserveOutcome::Unavailable(vec![])
    );
    assert_eq!(counts(store, e).await.held, 1, "nothing was held");
    assert_eq!(best_seats(store, best(e, "alice", 2, LONG)).await, [2, 3]);
    assert_eq!(
        reserve(store, &best(e, "bob", 1, LONG)).await,
        ReserveOutcome::Unavailable(vec![])
    );
}

pub async fn best_available_counts_expired_holds_as_free_and_keeps_the_hold_limit(
    store: &dyn HoldStore,
) {
    let e = event(1);
    load(store, e, rows(&[4, 4]), &[]).await;
    reserved(store, request(e, "someone", &[1, 2, 3, 4], SHORT)).await;
    tokio::time::sleep(PAST_SHORT).await;
    assert_eq!(
        best_seats(store, best(e, "alice", 4, LONG)).await,
        [1, 2, 3, 4]
    );
    let mut limited = best(e, "alice", 2, LONG);
    limited.max_held_per_user = 5;
    assert_eq!(
        reserve(store, &limited).await,
        ReserveOutcome::HoldLimit { held: 4 }
    );
    assert_eq!(counts(store, e).await.held, 4);
}

pub async fn best_available_never_gives_a_seat_twice_under_contention(store: &dyn HoldStore) {
    let e = event(1);
    // 100 seats in rows of 10; 64 buyers want 4 each.
    load(store, e, rows(&[10; 10]), &[]).await;
    let buyers: Vec<_> = (0..64)
        .map(|i| best(e, &format!("buyer-{i}"), 4, LONG))
        .collect();
    let outcomes = futures_util::future::join_all(buyers.iter().map(|r| store.reserve(r))).await;
    let mut held_seats = Vec::new();
    let mut holds = 0;
    for outcome in outcomes {
        match outcome.unwrap() {
            Mirror::Ready(ReserveOutcome::Held(hold)) => {
                assert_eq!(hold.seats.len(), 4);
                holds += 1;
                held_seats.extend(hold.seats);
            }
            Mirror::Ready(ReserveOutcome::Unavailable(_)) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    let distinct: HashSet<_> = held_seats.iter().collect();
    assert_eq!(distinct.len(), held_seats.len(), "a seat was held twice");
    assert_eq!(holds, 25, "every seat should go, four at a time");
    assert_eq!(counts(store, e).await.held, 100);
}

pub async fn the_seat_map_shows_each_seats_state_exactly(store: &dyn HoldStore) {
    let e = event(1);
    load(store, e, single_row(6), &[(seat(1), HoldId::generate(e))]).await;
    held(store, e, "alice", &[2]).await;
    reserved(store, request(e, "bob", &[3], SHORT)).await;
    let pending = held(store, e, "carol", &[4]).await;
    assert!(matches!(
        begin(store, e, pending, "carol").await,
        BeginConfirm::Pending(_)
    ));
    let read = || async {
        match store.seat_map(e).await.unwrap() {
            Mirror::Ready(map) => map,
            Mirror::NotLoaded => panic!("should be loaded"),
        }
    };
    use SeatState::{Available as A, Booked as B, Held as H};
    assert_eq!(read().await.states, [B, H, H, H, A, A]);
    tokio::time::sleep(PAST_SHORT).await;
    let now = read().await;
    assert_eq!(
        now.states,
        [B, H, A, H, A, A],
        "an expired hold is available"
    );
    let mut counted = counts(store, e).await;
    counted.stale_pending = 0;
    assert_eq!(now.counts(), counted);
}

pub async fn extending_a_hold_moves_its_expiry_up_to_the_cap(store: &dyn HoldStore) {
    let e = event(1);
    load(store, e, single_row(10), &[]).await;
    let id = held(store, e, "alice", &[1]).await;
    let alice = user("alice");
    let hold = ready(store.hold(e, id).await).unwrap();
    let (by, cap) = (LONG, LONG * 3);
    let after = |outcome| match outcome {
        ExtendOutcome::Extended(hold) => hold,
        other => panic!("expected an extension, got {other:?}"),
    };
    let once = after(ready(store.extend(e, id, &alice, by, cap).await));
    assert_eq!(
        once.expires_at,
        hold.expires_at + chrono::Duration::from_std(by).unwrap()
    );
    assert_eq!(once.created_at, hold.created_at);
    assert_eq!(once.seats, hold.seats);
    // The second extension would pass the cap: it stops there.
    let twice = after(ready(store.extend(e, id, &alice, by * 2, cap).await));
    assert_eq!(
        twice.expires_at,
        hold.created_at + chrono::Duration::from_std(cap).unwrap()
    );
    assert!(matches!(
        ready(store.extend(e, id, &alice, by, cap).await),
        ExtendOutcome::AtLimit(_)
    ));
    assert_eq!(
        ready(store.hold(e, id).await).unwrap().expires_at,
        twice.expires_at
    );
}

pub async fn an_extended_hold_keeps_its_seats_past_its_first_expiry(store: &dyn HoldStore) {
    let e = event(1);
    load(store, e, single_row(10), &[]).await;
    let short = request(e, "alice", &[1, 2], SHORT);
    reserved(store, short.clone()).await;
    let extended = ready(
        store
            .extend(
                e,
                short.id,
                &short.user,
                Duration::from_secs(5),
                Duration::from_secs(60),
            )
            .await,
    );
    assert!(matches!(extended, ExtendOutcome::Extended(_)));
    tokio::time::sleep(PAST_SHORT).await;
    assert_eq!(counts(store, e).await.held, 2);
    assert_eq!(
        reserve(store, &request(e, "bob", &[2], LONG)).await,
        ReserveOutcome::Unavailable(seats(&[2]))
    );
    assert!(matches!(
        begin(store, e, short.id, "alice").await,
        BeginConfirm::Pending(_)
    ));
}

pub async fn best_available_finds_seats_freed_before_the_ones_it_took(store: &dyn HoldStore) {
    let e = event(1);
    load(store, e, rows(&[3, 3, 3]), &[]).await;
    let first = reserved(store, best(e, "alice", 3, LONG)).await;
    assert_eq!(best_seats(store, best(e, "bob", 1, LONG)).await, [4]);
    assert_eq!(best_seats(store, best(e, "carol", 2, LONG)).await, [5, 6]);
    // Row A comes free again: the lowest row wins again.
    ready(store.release(e, first, &user("alice")).await);
    assert_eq!(best_seats(store, best(e, "dave", 2, LONG)).await, [1, 2]);
    // An expiry and an unbook free seats too.
    reserved(store, request(e, "erin", &[3], SHORT)).await;
    tokio::time::sleep(PAST_SHORT).await;
    assert_eq!(best_seats(store, best(e, "frank", 1, LONG)).await, [3]);
    let booking = HoldId::generate(e);
    load(store, e, rows(&[3, 3, 3]), &[(seat(7), booking)]).await;
    // Holds survive the reload: only row C is left, its seat 7 booked.
    assert_eq!(best_seats(store, best(e, "gina", 2, LONG)).await, [8, 9]);
    store.unbook(e, booking, &seats(&[7])).await.unwrap();
    assert_eq!(best_seats(store, best(e, "hank", 1, LONG)).await, [7]);
}

pub async fn best_available_finds_a_run_freed_below_the_runs_it_gave(store: &dyn HoldStore) {
    let e = event(1);
    load(store, e, rows(&[5, 5, 5]), &[]).await;
    // Row A: 1 free, 2 held, 3 free, 4 held, 5 free: no three together.
    reserved(store, request(e, "erin", &[2], LONG)).await;
    let four = reserved(store, request(e, "alice", &[4], LONG)).await;
    assert_eq!(best_seats(store, best(e, "bob", 3, LONG)).await, [6, 7, 8]);
    assert_eq!(
        best_seats(store, best(e, "carol", 3, LONG)).await,
        [11, 12, 13]
    );
    // Seat 4 back on sale: row A has 3, 4, 5 together again, below the
    // rows the last two searches ended in; a search that resumed after
    // those would split the seats (1, 3, 4) instead.
    ready(store.release(e, four, &user("alice")).await);
    assert_eq!(best_seats(store, best(e, "dave", 3, LONG)).await, [3, 4, 5]);
    // No row has three together now: the first three available.
    assert_eq!(
        best_seats(store, best(e, "frank", 3, LONG)).await,
        [1, 9, 10]
    );
    assert_eq!(best_seats(store, best(e, "gina", 2, LONG)).await, [14, 15]);
}
