//! Holds: reserve, expiry, limits, confirm steps, release and unbook.

use std::collections::HashSet;
use std::time::Duration;

use super::{counts, event, load, ready, request, seat, seats, single_row, user};
use crate::{
    BeginConfirm, EventId, ExtendOutcome, HoldId, HoldStore, Mirror, ReleaseOutcome,
    ReserveOutcome, SeatCounts,
};

pub(super) const LONG: Duration = Duration::from_secs(300);
pub(super) const SHORT: Duration = Duration::from_millis(400);
/// Long enough after `SHORT` for any store's clock to agree it has passed.
pub(super) const PAST_SHORT: Duration = Duration::from_millis(900);
const GRACE: Duration = Duration::from_secs(60);

/// Reserves, asserting success; returns the hold's id.
pub(super) async fn held(store: &dyn HoldStore, e: EventId, who: &str, numbers: &[u32]) -> HoldId {
    reserved(store, request(e, who, numbers, LONG)).await
}

pub(super) async fn reserved(store: &dyn HoldStore, r: crate::HoldRequest) -> HoldId {
    match store.reserve(&r).await.unwrap() {
        Mirror::Ready(ReserveOutcome::Held(hold)) => hold.id,
        other => panic!("expected {:?} to be held, got {other:?}", r.seats),
    }
}

pub(super) async fn reserve(store: &dyn HoldStore, r: &crate::HoldRequest) -> ReserveOutcome {
    match store.reserve(r).await.unwrap() {
        Mirror::Ready(outcome) => outcome,
        Mirror::NotLoaded => panic!("event {} should be loaded", r.event),
    }
}

pub(super) async fn begin(
    store: &dyn HoldStore,
    e: EventId,
    id: HoldId,
    who: &str,
) -> BeginConfirm {
    match store.begin_confirm(e, id, &user(who)).await.unwrap() {
        Mirror::Ready(outcome) => outcome,
        Mirror::NotLoaded => panic!("event {e} should be loaded"),
    }
}

/// An empty 100-seat event, loaded.
pub(super) async fn loaded(store: &dyn HoldStore, e: EventId) {
    load(store, e, single_row(100), &[]).await;
}

fn counted(booked: u32, held: u32) -> SeatCounts {
    SeatCounts {
        booked,
        held,
        stale_pending: 0,
    }
}

pub async fn reserve_answers_not_loaded_until_the_event_is_loaded(store: &dyn HoldStore) {
    let e = event(1);
    let r = request(e, "alice", &[1], LONG);
    assert_eq!(store.reserve(&r).await.unwrap(), Mirror::NotLoaded);
    assert_eq!(store.counts(e, GRACE).await.unwrap(), Mirror::NotLoaded);
    assert_eq!(store.seat_map(e).await.unwrap(), Mirror::NotLoaded);
    assert_eq!(
        store.begin_confirm(e, r.id, &r.user).await.unwrap(),
        Mirror::NotLoaded
    );
    loaded(store, e).await;
    assert_eq!(counts(store, e).await, SeatCounts::default());
    held(store, e, "alice", &[1]).await;
}

pub async fn reserve_holds_every_seat_or_none(store: &dyn HoldStore) {
    let e = event(1);
    loaded(store, e).await;
    let request_12 = request(e, "alice", &[2, 1], LONG);
    let ReserveOutcome::Held(hold) = reserve(store, &request_12).await else {
        panic!("free seats should be held");
    };
    assert_eq!(hold.id, request_12.id);
    assert_eq!(hold.user, request_12.user);
    assert_eq!(hold.seats, seats(&[2, 1]), "in the order asked");
    let now = chrono::Utc::now();
    assert!((hold.created_at - now).num_seconds().abs() < 5);
    assert!(hold.expires_at > now + chrono::Duration::seconds(290));
    assert!(hold.expires_at < now + chrono::Duration::seconds(310));
    assert_eq!(ready(store.hold(e, hold.id).await), Some(hold));

    let outcome = reserve(store, &request(e, "bob", &[3, 2, 4, 1], LONG)).await;
    let ReserveOutcome::Unavailable(mut taken) = outcome else {
        panic!("held seats must not be held again, got {outcome:?}");
    };
    taken.sort();
    assert_eq!(taken, seats(&[1, 2]));
    // None of the free seats of the refused request were taken.
    held(store, e, "bob", &[3, 4]).await;
    assert_eq!(counts(store, e).await, counted(0, 4));
}

pub async fn held_seats_are_counted_until_they_expire(store: &dyn HoldStore) {
    let e = event(1);
    loaded(store, e).await;
    held(store, e, "alice", &[1, 2, 3]).await;
    reserved(store, request(e, "bob", &[4, 5], SHORT)).await;
    assert_eq!(counts(store, e).await.held, 5);
    tokio::time::sleep(PAST_SHORT).await;
    assert_eq!(counts(store, e).await.held, 3);
}

pub async fn an_expired_hold_frees_its_seats_at_once(store: &dyn HoldStore) {
    let e = event(1);
    loaded(store, e).await;
    let short = request(e, "alice", &[1, 2], SHORT);
    reserved(store, short.clone()).await;
    assert!(ready(store.hold(e, short.id).await).is_some());
    tokio::time::sleep(PAST_SHORT).await;

    assert_eq!(ready(store.hold(e, short.id).await), None);
    assert_eq!(
        begin(store, e, short.id, "alice").await,
        BeginConfirm::NotFound
    );
    assert_eq!(
        ready(store.release(e, short.id, &short.user).await),
        ReleaseOutcome::NotFound
    );
    assert_eq!(
        ready(store.extend(e, short.id, &short.user, LONG, LONG).await),
        ExtendOutcome::NotFound
    );
    held(store, e, "bob", &[2, 1]).await;
    assert_eq!(counts(store, e).await, counted(0, 2));
}

pub async fn the_hold_limit_counts_only_the_users_unexpired_holds(store: &dyn HoldStore) {
    let e = event(1);
    loaded(store, e).await;
    let limited = |who: &str, numbers: &[u32], ttl| {
        let mut r = request(e, who, numbers, ttl);
        r.max_held_per_user = 3;
        r
    };
    reserved(store, limited("alice", &[1], SHORT)).await;
    reserved(store, limited("alice", &[2, 3], LONG)).await;
    assert_eq!(
        reserve(store, &limited("alice", &[4], LONG)).await,
        ReserveOutcome::HoldLimit { held: 3 }
    );
    // Another user has a limit of their own.
    reserved(store, limited("bob", &[4, 5, 6], LONG)).await;
    // More seats at once than the limit: refused, and counted for nothing.
    assert_eq!(
        reserve(store, &limited("carol", &[8, 9, 10, 11], LONG)).await,
        ReserveOutcome::HoldLimit { held: 0 }
    );
    reserved(store, limited("carol", &[8, 9, 10], LONG)).await;
    assert_eq!(
        reserve(store, &limited("carol", &[11], LONG)).await,
        ReserveOutcome::HoldLimit { held: 3 }
    );
    // Seats taken by someone else are reported before the limit.
    assert!(matches!(
        reserve(store, &limited("alice", &[5], LONG)).await,
        ReserveOutcome::Unavailable(_)
    ));
    tokio::time::sleep(PAST_SHORT).await;
    reserved(store, limited("alice", &[7], LONG)).await;
    // Released and confirmed seats stop counting too.
    let other = event(2);
    loaded(store, other).await;
    let first = reserved(store, {
        let mut r = request(other, "alice", &[1, 2], LONG);
        r.max_held_per_user = 3;
        r
    })
    .await;
    ready(store.release(other, first, &user("alice")).await);
    let second = reserved(store, {
        let mut r = request(other, "alice", &[3, 4, 5], LONG);
        r.max_held_per_user = 3;
        r
    })
    .await;
    let BeginConfirm::Pending(hold) = begin(store, other, second, "alice").await else {
        panic!("a live hold should go pending");
    };
    store.finish_confirm(&hold).await.unwrap();
    let mut r = request(other, "alice", &[6, 7, 8], LONG);
    r.max_held_per_user = 3;
    reserved(store, r).await;
}

pub async fn booked_seats_can_never_be_held(store: &dyn HoldStore) {
    let e = event(1);
    let booking = HoldId::generate(e);
    load(store, e, single_row(10), &[(seat(5), booking)]).await;
    assert_eq!(counts(store, e).await, counted(1, 0));
    assert_eq!(
        reserve(store, &request(e, "alice", &[4, 5], LONG)).await,
        ReserveOutcome::Unavailable(seats(&[5]))
    );
    assert_eq!(counts(store, e).await, counted(1, 0));
}

pub async fn a_pending_hold_does_not_expire_and_a_retry_sees_it(store: &dyn HoldStore) {
    let e = event(1);
    loaded(store, e).await;
    let short = request(e, "alice", &[1, 2], SHORT);
    reserved(store, short.clone()).await;
    let BeginConfirm::Pending(hold) = begin(store, e, short.id, "alice").await else {
        panic!("a live hold should go pending");
    };
    assert_eq!(hold.seats, seats(&[1, 2]));
    tokio::time::sleep(PAST_SHORT).await;

    assert_eq!(counts(store, e).await.held, 2, "pending seats still count");
    assert!(matches!(
        reserve(store, &request(e, "bob", &[2], LONG)).await,
        ReserveOutcome::Unavailable(_)
    ));
    assert!(matches!(
        begin(store, e, short.id, "alice").await,
        BeginConfirm::Pending(_)
    ));
    assert!(ready(store.hold(e, short.id).await).is_some());
    // A pending hold can be neither released nor extended from under its
    // confirm.
    assert_eq!(
        ready(store.release(e, short.id, &short.user).await),
        ReleaseOutcome::NotFound
    );
    assert_eq!(
        ready(store.extend(e, short.id, &short.user, LONG, LONG).await),
        ExtendOutcome::Confirming
    );
}

pub async fn only_the_owner_can_begin_a_confirm(store: &dyn HoldStore) {
    let e = event(1);
    loaded(store, e).await;
    let id = held(store, e, "alice", &[1]).await;
    let mallory = user("mallory");
    assert_eq!(begin(store, e, id, "mallory").await, BeginConfirm::NotOwner);
    assert_eq!(
        ready(store.release(e, id, &mallory).await),
        ReleaseOutcome::NotOwner
    );
    assert_eq!(
        ready(store.extend(e, id, &mallory, LONG, LONG * 3).await),
        ExtendOutcome::NotOwner
    );
    let hold = ready(store.hold(e, id).await).expect("the hold is untouched");
    assert!(hold.expires_at < chrono::Utc::now() + chrono::Duration::seconds(310));
    let unknown = HoldId::generate(e);
    assert_eq!(
        begin(store, e, unknown, "alice").await,
        BeginConfirm::NotFound
    );
}

pub async fn finishing_a_confirm_books_the_seats_once(store: &dyn HoldStore) {
    let e = event(1);
    loaded(store, e).await;
    let id = held(store, e, "alice", &[1, 2]).await;
    let BeginConfirm::Pending(hold) = begin(store, e, id, "alice").await else {
        panic!("a live hold should go pending");
    };
    store.finish_confirm(&hold).await.unwrap();
    store.finish_confirm(&hold).await.unwrap();
    assert_eq!(counts(store, e).await, counted(2, 0));
    assert_eq!(ready(store.hold(e, id).await), None);
    assert_eq!(begin(store, e, id, "alice").await, BeginConfirm::NotFound);
    assert_eq!(
        reserve(store, &request(e, "bob", &[2, 3], LONG)).await,
        ReserveOutcome::Unavailable(seats(&[2]))
    );
}

pub async fn finishing_a_confirm_whose_hold_was_lost_still_books_it(store: &dyn HoldStore) {
    let e = event(1);
    loaded(store, e).await;
    let lost = super::hold(e, "alice", &[3, 4]);
    store.finish_confirm(&lost).await.unwrap();
    assert_eq!(counts(store, e).await, counted(2, 0));
    assert_eq!(
        reserve(store, &request(e, "bob", &[4], LONG)).await,
        ReserveOutcome::Unavailable(seats(&[4]))
    );
    // On a store that lost the event it does nothing: the next load
    // brings the booking in from the source of truth.
    let other = super::hold(event(2), "alice", &[1]);
    store.finish_confirm(&other).await.unwrap();
    assert_eq!(
        store.counts(event(2), GRACE).await.unwrap(),
        Mirror::NotLoaded
    );
}

pub async fn aborting_a_confirm_gives_the_hold_back(store: &dyn HoldStore) {
    let e = event(1);
    loaded(store, e).await;
    let short = request(e, "alice", &[1], SHORT);
    let long_id = held(store, e, "alice", &[2]).await;
    reserved(store, short.clone()).await;
    for id in [short.id, long_id] {
        assert!(matches!(
            begin(store, e, id, "alice").await,
            BeginConfirm::Pending(_)
        ));
        store.abort_confirm(e, id).await.unwrap();
        store.abort_confirm(e, id).await.unwrap();
    }
    assert_eq!(counts(store, e).await, counted(0, 2));
    assert!(ready(store.hold(e, long_id).await).is_some());
    // The short hold keeps its original expiry.
    tokio::time::sleep(PAST_SHORT).await;
    assert_eq!(counts(store, e).await, counted(0, 1));
    held(store, e, "bob", &[1]).await;
    assert_eq!(
        ready(store.release(e, long_id, &user("alice")).await),
        ReleaseOutcome::Released
    );
}

/// A hold given back by an aborted confirm expires at its own time, even
/// when later expiries were looked at while it was pending (a store that
/// remembered its next expiry to skip the expiry index would miss it:
/// tried on Redis, docs/PERFORMANCE.md, "fifth session").
pub async fn a_hold_given_back_after_later_expiries_were_seen_still_expires_on_time(
    store: &dyn HoldStore,
) {
    let e = event(1);
    loaded(store, e).await;
    reserved(store, request(e, "alice", &[1], Duration::from_millis(100))).await;
    let given_back = request(e, "alice", &[2], SHORT);
    reserved(store, given_back.clone()).await;
    held(store, e, "alice", &[3]).await;
    assert!(matches!(
        begin(store, e, given_back.id, "alice").await,
        BeginConfirm::Pending(_)
    ));
    // Seat 1's hold expires and goes; then only the long hold is left to
    // expire, while the given-back one is pending.
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(counts(store, e).await, counted(0, 2));
    assert_eq!(counts(store, e).await, counted(0, 2));
    store.abort_confirm(e, given_back.id).await.unwrap();
    tokio::time::sleep(PAST_SHORT).await;
    assert_eq!(counts(store, e).await, counted(0, 1));
    held(store, e, "bob", &[2]).await;
}

pub async fn release_frees_only_the_owners_live_hold(store: &dyn HoldStore) {
    let e = event(1);
    loaded(store, e).await;
    let id = held(store, e, "alice", &[1, 2]).await;
    let alice = user("alice");
    assert_eq!(
        ready(store.release(e, HoldId::generate(e), &alice).await),
        ReleaseOutcome::NotFound
    );
    assert_eq!(
        ready(store.release(e, id, &alice).await),
        ReleaseOutcome::Released
    );
    assert_eq!(
        ready(store.release(e, id, &alice).await),
        ReleaseOutcome::NotFound
    );
    assert_eq!(ready(store.hold(e, id).await), None);
    assert_eq!(counts(store, e).await, SeatCounts::default());
    held(store, e, "bob", &[1, 2]).await;
}

pub async fn unbook_frees_only_the_seats_of_that_booking(store: &dyn HoldStore) {
    let e = event(1);
    let first = HoldId::generate(e);
    let second = HoldId::generate(e);
    let booked = [(seat(1), first), (seat(2), first), (seat(3), second)];
    load(store, e, single_row(10), &booked).await;
    // Seat 3 is not the first booking's: it stays booked.
    store.unbook(e, first, &seats(&[1, 2, 3])).await.unwrap();
    store.unbook(e, first, &seats(&[1, 2, 3])).await.unwrap();
    assert_eq!(counts(store, e).await, counted(1, 0));
    held(store, e, "alice", &[1, 2]).await;
    assert!(matches!(
        reserve(store, &request(e, "bob", &[3], LONG)).await,
        ReserveOutcome::Unavailable(_)
    ));
    // Unbooking on a store that lost the event is harmless.
    store.unbook(event(9), first, &seats(&[1])).await.unwrap();
    assert_eq!(
        store.counts(event(9), GRACE).await.unwrap(),
        Mirror::NotLoaded
    );
}

pub async fn events_do_not_share_seats(store: &dyn HoldStore) {
    let (a, b) = (event(1), event(2));
    loaded(store, a).await;
    loaded(store, b).await;
    let id = held(store, a, "alice", &[1]).await;
    held(store, b, "bob", &[1]).await;
    assert_eq!(ready(store.hold(b, id).await), None);
    assert_eq!(
        ready(store.release(b, id, &user("alice")).await),
        ReleaseOutcome::NotFound
    );
    assert_eq!(counts(store, a).await.held, 1);
    assert_eq!(counts(store, b).await.held, 1);
}

pub async fn concurrent_reserves_never_hold_a_seat_twice(store: &dyn HoldStore) {
    let e = event(1);
    loaded(store, e).await;
    // 48 buyers, each wanting 3 of 40 seats, with heavy overlap.
    let buyers: Vec<_> = (0..48u32)
        .map(|buyer| {
            let mut seen = HashSet::new();
            let wanted: Vec<u32> = (0..3)
                .map(|k| (buyer * 7 + k * 13) % 40 + 1)
                .filter(|n| seen.insert(*n))
                .collect();
            request(e, &format!("buyer-{buyer}"), &wanted, LONG)
        })
        .collect();
    let outcomes = futures_util::future::join_all(buyers.iter().map(|r| store.reserve(r))).await;
    let mut held_seats = Vec::new();
    for outcome in outcomes {
        if let Mirror::Ready(ReserveOutcome::Held(hold)) = outcome.unwrap() {
            held_seats.extend(hold.seats);
        }
    }
    let distinct: HashSet<_> = held_seats.iter().collect();
    assert_eq!(distinct.len(), held_seats.len(), "a seat was held twice");
    assert!(!held_seats.is_empty());
    assert_eq!(counts(store, e).await.held as usize, held_seats.len());
}

pub async fn confirms_pending_too_long_are_listed_as_stale(store: &dyn HoldStore) {
    let e = event(1);
    loaded(store, e).await;
    let pending = held(store, e, "alice", &[1, 2]).await;
    let only_held = held(store, e, "bob", &[3]).await;
    let BeginConfirm::Pending(hold) = begin(store, e, pending, "alice").await else {
        panic!("a live hold should go pending");
    };
    let age = Duration::from_millis(300);
    let stale_count = |counts: Mirror<SeatCounts>| match counts {
        Mirror::Ready(counts) => counts.stale_pending,
        Mirror::NotLoaded => panic!("should be loaded"),
    };
    assert_eq!(store.stale_pending(e, age).await.unwrap(), vec![]);
    assert_eq!(stale_count(store.counts(e, age).await.unwrap()), 0);
    tokio::time::sleep(Duration::from_millis(700)).await;

    let stale = store.stale_pending(e, age).await.unwrap();
    assert_eq!(stale.len(), 1);
    assert_eq!(stale[0].id, pending);
    assert_eq!(stale[0].user, user("alice"));
    assert_eq!(stale[0].seats, seats(&[1, 2]));
    assert_ne!(stale[0].id, only_held);
    assert_eq!(stale_count(store.counts(e, age).await.unwrap()), 1);
    assert_eq!(stale_count(store.counts(e, GRACE).await.unwrap()), 0);

    store.finish_confirm(&hold).await.unwrap();
    assert_eq!(store.stale_pending(e, age).await.unwrap(), vec![]);
    assert_eq!(stale_count(store.counts(e, age).await.unwrap()), 0);
}

pub async fn info_reports_a_version_and_a_clock(store: &dyn HoldStore) {
    let info = store.info().await.unwrap();
    assert!(!info.version.is_empty());
    let drift = (info.current_time - chrono::Utc::now()).num_seconds().abs();
    assert!(drift < 5, "the store's clock is {drift} s off");
}

pub async fn a_reserve_sent_again_answers_the_hold_it_made(store: &dyn HoldStore) {
    let e = event(1);
    loaded(store, e).await;
    let named = request(e, "alice", &[1, 2], LONG);
    let ReserveOutcome::Held(first) = reserve(store, &named).await else {
        panic!("the first reserve should hold");
    };
    let best = super::best(e, "bob", 2, LONG);
    let ReserveOutcome::Held(first_best) = reserve(store, &best).await else {
        panic!("the first best-available reserve should hold");
    };
    assert_eq!(first_best.seats, seats(&[3, 4]));
    // The same requests again, ids and all, as a client library resends
    // a command whose answer it lost: the same holds, nothing more held.
    for (request, hold) in [(&named, &first), (&best, &first_best)] {
        match reserve(store, request).await {
            ReserveOutcome::Held(again) => {
                assert_eq!(again.id, hold.id);
                assert_eq!(again.seats, hold.seats);
                assert_eq!(again.expires_at, hold.expires_at);
            }
            other => panic!("a resent reserve should answer its hold, got {other:?}"),
        }
    }
    assert_eq!(counts(store, e).await, counted(0, 4));
    // Another caller's request under that id is not a retry.
    let stolen = crate::HoldRequest {
        id: first.id,
        ..request(e, "mallory", &[1], LONG)
    };
    assert_eq!(
        reserve(store, &stolen).await,
        ReserveOutcome::Unavailable(seats(&[1]))
    );
}
