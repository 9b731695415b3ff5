//! What the Redis-only tests share: loading an event as the ledger does,
//! and reading answers that must be ready.

use std::time::Duration;

use booking_domain::contract::{request, user};
use booking_domain::{
    BeginConfirm, EventId, Hold, HoldId, HoldStore, Mirror, ReserveOutcome, SeatCounts, SeatNo,
};

pub const LONG: Duration = Duration::from_secs(300);
pub const GRACE: Duration = Duration::from_secs(60);

/// Loads a single-row event of `seats` seats with these booked seats.
pub async fn load(store: &dyn HoldStore, e: EventId, seats: u32, booked: &[(u32, HoldId)]) {
    let booked: Vec<(SeatNo, HoldId)> = booked
        .iter()
        .map(|(n, id)| (SeatNo::new(*n).unwrap(), *id))
        .collect();
    booking_domain::contract::load(
        store,
        e,
        booking_domain::contract::single_row(seats),
        &booked,
    )
    .await;
}

pub async fn counts(store: &dyn HoldStore, e: EventId) -> Mirror<SeatCounts> {
    store.counts(e, GRACE).await.unwrap()
}

pub fn counted(booked: u32, held: u32) -> Mirror<SeatCounts> {
    Mirror::Ready(SeatCounts {
        booked,
        held,
        stale_pending: 0,
    })
}

/// Holds the seats, which must be free.
pub async fn hold(store: &dyn HoldStore, e: EventId, who: &str, seats: &[u32]) -> Hold {
    match store.reserve(&request(e, who, seats, LONG)).await.unwrap() {
        Mirror::Ready(ReserveOutcome::Held(hold)) => hold,
        other => panic!("{seats:?} should be held, got {other:?}"),
    }
}

/// Holds and books the seats, as a confirm does; the booking's id.
pub async fn book(store: &dyn HoldStore, e: EventId, who: &str, seats: &[u32]) -> HoldId {
    let held = hold(store, e, who, seats).await;
    let Mirror::Ready(BeginConfirm::Pending(pending)) =
        store.begin_confirm(e, held.id, &user(who)).await.unwrap()
    else {
        panic!("a live hold should go pending");
    };
    store.finish_confirm(&pending).await.unwrap();
    held.id
}
