//! The change feed behind live seat maps: watch, then read changes.

use std::time::Duration;

use super::holds::{begin, held, reserved, PAST_SHORT, SHORT};
use super::{counts, event, load, ready, request, rows, seat, seats, user};
use crate::{
    BeginConfirm, FeedPosition, FeedRead, HoldId, HoldStore, Mirror, SeatChange, SeatCounts,
    SeatState, WatchStart,
};

const WATCH: Duration = Duration::from_secs(10);

async fn watch(store: &dyn HoldStore, e: crate::EventId) -> WatchStart {
    match store.watch(e, WATCH).await.unwrap() {
        Mirror::Ready(start) => start,
        Mirror::NotLoaded => panic!("event {e} should be loaded"),
    }
}

async fn read(store: &dyn HoldStore, e: crate::EventId, after: FeedPosition) -> FeedRead {
    match store.changes(e, after, 100, WATCH).await.unwrap() {
        Mirror::Ready(read) => read,
        Mirror::NotLoaded => panic!("event {e} should be loaded"),
    }
}

async fn changes(store: &dyn HoldStore, e: crate::EventId, after: FeedPosition) -> Vec<SeatChange> {
    match read(store, e, after).await {
        FeedRead::Changes(changes) => changes,
        FeedRead::Gap => panic!("position {after} should still be retained"),
    }
}

fn summary(changes: &[SeatChange]) -> Vec<(Vec<u32>, SeatState, u32, u32)> {
    changes
        .iter()
        .map(|c| {
            let seats = c.seats.iter().map(|s| s.get()).collect();
            (seats, c.state, c.counts.booked, c.counts.held)
        })
        .collect()
}

pub async fn watching_starts_from_the_map_and_records_every_change(store: &dyn HoldStore) {
    let e = event(1);
    let booking = HoldId::generate(e);
    load(store, e, rows(&[3, 3]), &[(seat(6), booking)]).await;
    assert_eq!(
        store.watch(event(2), WATCH).await.unwrap(),
        Mirror::NotLoaded
    );
    let start = watch(store, e).await;
    use SeatState::{Available as A, Booked as B, Held as H};
    assert_eq!(start.map.states, [A, A, A, A, A, B]);
    assert_eq!(
        start.counts,
        SeatCounts {
            booked: 1,
            held: 0,
            stale_pending: 0
        }
    );

    let first = held(store, e, "alice", &[2, 1]).await;
    let second = held(store, e, "bob", &[4]).await;
    ready(store.release(e, second, &user("bob")).await);
    let BeginConfirm::Pending(hold) = begin(store, e, first, "alice").await else {
        panic!("a live hold should go pending");
    };
    store.finish_confirm(&hold).await.unwrap();
    store.unbook(e, booking, &seats(&[6])).await.unwrap();

    let seen = changes(store, e, start.position).await;
    assert_eq!(
        summary(&seen),
        [
            (vec![1, 2], H, 1, 2),
            (vec![4], H, 1, 3),
            (vec![4], A, 1, 2),
            (vec![1, 2], B, 3, 0),
            (vec![6], A, 2, 0),
        ]
    );
    assert!(seen.windows(2).all(|w| w[0].position < w[1].position));
    assert!(seen[0].position > start.position);
    // From the middle, and from the end.
    assert_eq!(
        changes(store, e, seen[2].position).await,
        seen[3..].to_vec()
    );
    assert_eq!(changes(store, e, seen[4].position).await, vec![]);
    // A position is the same text a client sends back.
    let text = seen[1].position.to_string();
    assert_eq!(FeedPosition::parse(&text), Some(seen[1].position));
}

pub async fn expiries_show_up_as_changes(store: &dyn HoldStore) {
    let e = event(1);
    load(store, e, rows(&[4]), &[]).await;
    let start = watch(store, e).await;
    reserved(store, request(e, "alice", &[3], SHORT)).await;
    tokio::time::sleep(PAST_SHORT).await;
    let seen = changes(store, e, start.position).await;
    use SeatState::{Available as A, Held as H};
    assert_eq!(summary(&seen), [(vec![3], H, 0, 1), (vec![3], A, 0, 0)]);
    assert_eq!(counts(store, e).await.held, 0);
}

pub async fn positions_the_feed_cannot_continue_from_are_gaps(store: &dyn HoldStore) {
    let e = event(1);
    load(store, e, rows(&[4]), &[]).await;
    let start = watch(store, e).await;
    held(store, e, "alice", &[1]).await;
    let from_the_future = FeedPosition {
        at: start.position.at + 3_600_000,
        seq: start.position.seq + 1_000,
        ..start.position
    };
    assert_eq!(read(store, e, from_the_future).await, FeedRead::Gap);
    let other_epoch = FeedPosition {
        epoch: start.position.epoch + 7,
        ..start.position
    };
    assert_eq!(read(store, e, other_epoch).await, FeedRead::Gap);
    // A reload may change any seat without an entry: a new epoch.
    load(store, e, rows(&[4]), &[(seat(2), HoldId::generate(e))]).await;
    assert_eq!(read(store, e, start.position).await, FeedRead::Gap);
    let again = watch(store, e).await;
    assert_eq!(again.counts.booked, 1);
    held(store, e, "bob", &[3]).await;
    assert_eq!(changes(store, e, again.position).await.len(), 1);
}

pub async fn a_lapsed_watch_makes_old_positions_gaps(store: &dyn HoldStore) {
    let e = event(1);
    load(store, e, rows(&[4]), &[]).await;
    let start = match store.watch(e, Duration::from_millis(300)).await.unwrap() {
        Mirror::Ready(start) => start,
        Mirror::NotLoaded => panic!("loaded"),
    };
    tokio::time::sleep(Duration::from_millis(700)).await;
    // Nobody watched: this change may go unrecorded, so the old position
    // cannot be trusted to continue from.
    held(store, e, "alice", &[1]).await;
    assert_eq!(read(store, e, start.position).await, FeedRead::Gap);
}
