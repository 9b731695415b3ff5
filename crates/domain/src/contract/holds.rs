//! Cases of the `HoldStore` contract. Each takes a fresh store.

use std::collections::HashSet;
use std::time::Duration;

use super::{event, request, seats, user};
use crate::{
    BeginConfirm, HoldId, HoldStore, LoadOutcome, ReleaseOutcome, ReserveOutcome, SeatCounts,
    SeatNo,
};

const LONG: Duration = Duration::from_secs(300);
const SHORT: Duration = Duration::from_millis(400);
/// Long enough after `SHORT` for any store's clock to agree it has passed.
const PAST_SHORT: Duration = Duration::from_millis(900);
/// The pending age counts are asked about; beyond any case's duration.
const GRACE: Duration = Duration::from_secs(60);

async fn held(
    store: &dyn HoldStore,
    event_id: crate::EventId,
    who: &str,
    numbers: &[u32],
) -> HoldId {
    match store
        .reserve(&request(event_id, who, numbers, LONG))
        .await
        .unwrap()
    {
        ReserveOutcome::Held(hold) => hold.id,
        other => panic!("expected seats {numbers:?} to be held, got {other:?}"),
    }
}

/// Begins and finishes a load, as the service does.
async fn loaded(store: &dyn HoldStore, event_id: crate::EventId, booked: &[(SeatNo, HoldId)]) {
    store.begin_load(event_id).await.unwrap();
    assert_eq!(
        store.load(event_id, booked).await.unwrap(),
        LoadOutcome::Loaded
    );
}

async fn counts(store: &dyn HoldStore, event_id: crate::EventId) -> SeatCounts {
    store
        .counts(event_id, GRACE)
        .await
        .unwrap()
        .expect("the event should be loaded")
}

pub async fn reserve_answers_not_loaded_until_the_event_is_loaded(store: &dyn HoldStore) {
    let e = event(1);
    let outcome = store
        .reserve(&request(e, "alice", &[1], LONG))
        .await
        .unwrap();
    assert_eq!(outcome, ReserveOutcome::NotLoaded);
    assert_eq!(store.counts(e, GRACE).await.unwrap(), None);
    let hold = request(e, "alice", &[1], LONG);
    assert_eq!(
        store.begin_confirm(e, hold.id, &hold.user).await.unwrap(),
        BeginConfirm::NotLoaded
    );

    loaded(store, e, &[]).await;
    assert_eq!(counts(store, e).await, SeatCounts::default());
    held(store, e, "alice", &[1]).await;
}

pub async fn reserve_holds_every_seat_or_none(store: &dyn HoldStore) {
    let e = event(1);
    loaded(store, e, &[]).await;
    let request_12 = request(e, "alice", &[1, 2], LONG);
    let ReserveOutcome::Held(hold) = store.reserve(&request_12).await.unwrap() else {
        panic!("free seats should be held");
    };
    assert_eq!(hold.id, request_12.id);
    assert_eq!(hold.user, request_12.user);
    assert_eq!(hold.seats, seats(&[1, 2]));
    let now = chrono::Utc::now();
    assert!(hold.expires_at > now + chrono::Duration::seconds(290));
    assert!(hold.expires_at < now + chrono::Duration::seconds(310));

    let outcome = store
        .reserve(&request(e, "bob", &[3, 2, 4, 1], LONG))
        .await
        .unwrap();
    let ReserveOutcome::Unavailable(mut taken) = outcome else {
        panic!("held seats must not be held again, got {outcome:?}");
    };
    taken.sort();
    assert_eq!(taken, seats(&[1, 2]));
    // None of the free seats of the refused request were taken.
    held(store, e, "bob", &[3, 4]).await;
    assert_eq!(
        counts(store, e).await,
        SeatCounts {
            booked: 0,
            held: 4,
            stale_pending: 0
        }
    );
}

pub async fn held_seats_are_counted_until_they_expire(store: &dyn HoldStore) {
    let e = event(1);
    loaded(store, e, &[]).await;
    held(store, e, "alice", &[1, 2, 3]).await;
    let short = request(e, "bob", &[4, 5], SHORT);
    assert!(matches!(
        store.reserve(&short).await.unwrap(),
        ReserveOutcome::Held(_)
    ));
    assert_eq!(counts(store, e).await.held, 5);
    tokio::time::sleep(PAST_SHORT).await;
    assert_eq!(counts(store, e).await.held, 3);
}

pub async fn an_expired_hold_frees_its_seats_at_once(store: &dyn HoldStore) {
    let e = event(1);
    loaded(store, e, &[]).await;
    let short = request(e, "alice", &[1, 2], SHORT);
    assert!(matches!(
        store.reserve(&short).await.unwrap(),
        ReserveOutcome::Held(_)
    ));
    assert!(store.hold(e, short.id).await.unwrap().is_some());
    tokio::time::sleep(PAST_SHORT).await;

    assert_eq!(store.hold(e, short.id).await.unwrap(), None);
    assert_eq!(
        store.begin_confirm(e, short.id, &short.user).await.unwrap(),
        BeginConfirm::NotFound
    );
    assert_eq!(
        store.release(e, short.id, &short.user).await.unwrap(),
        ReleaseOutcome::NotFound
    );
    held(store, e, "bob", &[2, 1]).await;
    assert_eq!(
        counts(store, e).await,
        SeatCounts {
            booked: 0,
            held: 2,
            stale_pending: 0
        }
    );
}

pub async fn the_hold_limit_counts_only_the_users_unexpired_holds(store: &dyn HoldStore) {
    let e = event(1);
    loaded(store, e, &[]).await;
    let limited = |who: &str, numbers: &[u32], ttl| {
        let mut r = request(e, who, numbers, ttl);
        r.max_held_per_user = 3;
        r
    };
    assert!(matches!(
        store.reserve(&limited("alice", &[1], SHORT)).await.unwrap(),
        ReserveOutcome::Held(_)
    ));
    assert!(matches!(
        store
            .reserve(&limited("alice", &[2, 3], LONG))
            .await
            .unwrap(),
        ReserveOutcome::Held(_)
    ));
    assert_eq!(
        store.reserve(&limited("alice", &[4], LONG)).await.unwrap(),
        ReserveOutcome::HoldLimit { held: 3 }
    );
    // Another user has a limit of their own.
    assert!(matches!(
        store
            .reserve(&limited("bob", &[4, 5, 6], LONG))
            .await
            .unwrap(),
        ReserveOutcome::Held(_)
    ));
    // Seats taken by someone else are reported before the limit.
    assert!(matches!(
        store.reserve(&limited("alice", &[5], LONG)).await.unwrap(),
        ReserveOutcome::Unavailable(_)
    ));
    tokio::time::sleep(PAST_SHORT).await;
    assert!(matches!(
        store.reserve(&limited("alice", &[7], LONG)).await.unwrap(),
        ReserveOutcome::Held(_)
    ));
    // Other events have limits of their own.
    let other = event(2);
    loaded(store, other, &[]).await;
    let mut r = request(other, "alice", &[1, 2, 3], LONG);
    r.max_held_per_user = 3;
    assert!(matches!(
        store.reserve(&r).await.unwrap(),
        ReserveOutcome::Held(_)
    ));
}

pub async fn booked_seats_can_never_be_held(store: &dyn HoldStore) {
    let e = event(1);
    let booking = HoldId::generate(e);
    loaded(store, e, &[(SeatNo::new(5).unwrap(), booking)]).await;
    assert_eq!(
        counts(store, e).await,
        SeatCounts {
            booked: 1,
            held: 0,
            stale_pending: 0
        }
    );
    assert_eq!(
        store
            .reserve(&request(e, "alice", &[4, 5], LONG))
            .await
            .unwrap(),
        ReserveOutcome::Unavailable(seats(&[5]))
    );
    assert_eq!(
        counts(store, e).await,
        SeatCounts {
            booked: 1,
            held: 0,
            stale_pending: 0
        }
    );
}

pub async fn a_pending_hold_does_not_expire_and_a_retry_sees_it(store: &dyn HoldStore) {
    let e = event(1);
    loaded(store, e, &[]).await;
    let short = request(e, "alice", &[1, 2], SHORT);
    assert!(matches!(
        store.reserve(&short).await.unwrap(),
        ReserveOutcome::Held(_)
    ));
    let BeginConfirm::Pending(hold) = store.begin_confirm(e, short.id, &short.user).await.unwrap()
    else {
        panic!("a live hold should go pending");
    };
    assert_eq!(hold.seats, seats(&[1, 2]));
    tokio::time::sleep(PAST_SHORT).await;

    assert_eq!(counts(store, e).await.held, 2, "pending seats still count");
    assert!(matches!(
        store.reserve(&request(e, "bob", &[2], LONG)).await.unwrap(),
        ReserveOutcome::Unavailable(_)
    ));
    assert!(matches!(
        store.begin_confirm(e, short.id, &short.user).await.unwrap(),
        BeginConfirm::Pending(_)
    ));
    // A pending hold cannot be released from under its confirm.
    assert_eq!(
        store.release(e, short.id, &short.user).await.unwrap(),
        ReleaseOutcome::NotFound
    );
}

pub async fn only_the_owner_can_begin_a_confirm(store: &dyn HoldStore) {
    let e = event(1);
    loaded(store, e, &[]).await;
    let id = held(store, e, "alice", &[1]).await;
    assert_eq!(
        store.begin_confirm(e, id, &user("mallory")).await.unwrap(),
        BeginConfirm::NotOwner
    );
    assert_eq!(
        store.release(e, id, &user("mallory")).await.unwrap(),
        ReleaseOutcome::NotOwner
    );
    assert!(
        store.hold(e, id).await.unwrap().is_some(),
        "the hold is untouched"
    );
    let unknown = HoldId::generate(e);
    assert_eq!(
        store
            .begin_confirm(e, unknown, &user("alice"))
            .await
            .unwrap(),
        BeginConfirm::NotFound
    );
}

pub async fn finishing_a_confirm_books_the_seats_once(store: &dyn HoldStore) {
    let e = event(1);
    loaded(store, e, &[]).await;
    let id = held(store, e, "alice", &[1, 2]).await;
    let BeginConfirm::Pending(hold) = store.begin_confirm(e, id, &user("alice")).await.unwrap()
    else {
        panic!("a live hold should go pending");
    };
    store.finish_confirm(&hold).await.unwrap();
    store.finish_confirm(&hold).await.unwrap();
    assert_eq!(
        counts(store, e).await,
        SeatCounts {
            booked: 2,
            held: 0,
            stale_pending: 0
        }
    );
    assert_eq!(store.hold(e, id).await.unwrap(), None);
    assert_eq!(
        store.begin_confirm(e, id, &user("alice")).await.unwrap(),
        BeginConfirm::NotFound
    );
    let outcome = store
        .reserve(&request(e, "bob", &[2, 3], LONG))
        .await
        .unwrap();
    assert_eq!(outcome, ReserveOutcome::Unavailable(seats(&[2])));
}

pub async fn aborting_a_confirm_gives_the_hold_back(store: &dyn HoldStore) {
    let e = event(1);
    loaded(store, e, &[]).await;
    let short = request(e, "alice", &[1], SHORT);
    let long_id = held(store, e, "alice", &[2]).await;
    assert!(matches!(
        store.reserve(&short).await.unwrap(),
        ReserveOutcome::Held(_)
    ));
    for id in [short.id, long_id] {
        assert!(matches!(
            store.begin_confirm(e, id, &short.user).await.unwrap(),
            BeginConfirm::Pending(_)
        ));
        store.abort_confirm(e, id).await.unwrap();
        store.abort_confirm(e, id).await.unwrap();
    }
    assert_eq!(
        counts(store, e).await,
        SeatCounts {
            booked: 0,
            held: 2,
            stale_pending: 0
        }
    );
    assert!(store.hold(e, long_id).await.unwrap().is_some());
    // The short hold keeps its original expiry.
    tokio::time::sleep(PAST_SHORT).await;
    assert_eq!(
        counts(store, e).await,
        SeatCounts {
            booked: 0,
            held: 1,
            stale_pending: 0
        }
    );
    held(store, e, "bob", &[1]).await;
    assert_eq!(
        store.release(e, long_id, &user("alice")).await.unwrap(),
        ReleaseOutcome::Released
    );
}

pub async fn release_frees_only_the_owners_live_hold(store: &dyn HoldStore) {
    let e = event(1);
    loaded(store, e, &[]).await;
    let id = held(store, e, "alice", &[1, 2]).await;
    assert_eq!(
        store
            .release(e, HoldId::generate(e), &user("alice"))
            .await
            .unwrap(),
        ReleaseOutcome::NotFound
    );
    assert_eq!(
        store.release(e, id, &user("alice")).await.unwrap(),
        ReleaseOutcome::Released
    );
    assert_eq!(
        store.release(e, id, &user("alice")).await.unwrap(),
        ReleaseOutcome::NotFound
    );
    assert_eq!(counts(store, e).await, SeatCounts::default());
    held(store, e, "bob", &[1, 2]).await;
}

pub async fn unbook_frees_only_the_seats_of_that_booking(store: &dyn HoldStore) {
    let e = event(1);
    let first = HoldId::generate(e);
    let second = HoldId::generate(e);
    let s = |n| SeatNo::new(n).unwrap();
    loaded(store, e, &[(s(1), first), (s(2), first), (s(3), second)]).await;
    // Seat 3 is not the first booking's: it stays booked.
    store.unbook(e, first, &seats(&[1, 2, 3])).await.unwrap();
    store.unbook(e, first, &seats(&[1, 2, 3])).await.unwrap();
    assert_eq!(
        counts(store, e).await,
        SeatCounts {
            booked: 1,
            held: 0,
            stale_pending: 0
        }
    );
    held(store, e, "alice", &[1, 2]).await;
    assert!(matches!(
        store.reserve(&request(e, "bob", &[3], LONG)).await.unwrap(),
        ReserveOutcome::Unavailable(_)
    ));
    // Unbooking on a store that lost the event is harmless.
    store.unbook(event(9), first, &seats(&[1])).await.unwrap();
    assert_eq!(store.counts(event(9), GRACE).await.unwrap(), None);
}

pub async fn finishing_a_confirm_whose_hold_was_lost_still_books_it(store: &dyn HoldStore) {
    let e = event(1);
    loaded(store, e, &[]).await;
    let lost = super::hold(e, "alice", &[3, 4]);
    store.finish_confirm(&lost).await.unwrap();
    assert_eq!(
        counts(store, e).await,
        SeatCounts {
            booked: 2,
            held: 0,
            stale_pending: 0
        }
    );
    assert_eq!(
        store.reserve(&request(e, "bob", &[4], LONG)).await.unwrap(),
        ReserveOutcome::Unavailable(seats(&[4]))
    );
    // On a store that lost the event it does nothing: the next load
    // brings the booking in from the source of truth.
    let other = super::hold(event(2), "alice", &[1]);
    store.finish_confirm(&other).await.unwrap();
    assert_eq!(store.counts(event(2), GRACE).await.unwrap(), None);
}

pub async fn loading_keeps_holds_but_booked_seats_win(store: &dyn HoldStore) {
    let e = event(1);
    loaded(store, e, &[]).await;
    let id = held(store, e, "alice", &[1]).await;
    loaded(store, e, &[(SeatNo::new(2).unwrap(), HoldId::generate(e))]).await;
    assert!(store.hold(e, id).await.unwrap().is_some());
    assert_eq!(
        counts(store, e).await,
        SeatCounts {
            booked: 1,
            held: 1,
            stale_pending: 0
        }
    );
    assert!(matches!(
        store.reserve(&request(e, "bob", &[2], LONG)).await.unwrap(),
        ReserveOutcome::Unavailable(_)
    ));
}

pub async fn events_do_not_share_seats(store: &dyn HoldStore) {
    let (a, b) = (event(1), event(2));
    loaded(store, a, &[]).await;
    loaded(store, b, &[]).await;
    let id = held(store, a, "alice", &[1]).await;
    held(store, b, "bob", &[1]).await;
    assert_eq!(store.hold(b, id).await.unwrap(), None);
    assert_eq!(
        store.release(b, id, &user("alice")).await.unwrap(),
        ReleaseOutcome::NotFound
    );
    assert_eq!(counts(store, a).await.held, 1);
    assert_eq!(counts(store, b).await.held, 1);
}

pub async fn concurrent_reserves_never_hold_a_seat_twice(store: &dyn HoldStore) {
    let e = event(1);
    loaded(store, e, &[]).await;
    // 48 buyers, each wanting 3 of 40 seats, with heavy overlap.
    let mut held_seats = Vec::new();
    let mut buyers = Vec::new();
    for buyer in 0..48u32 {
        let wanted: Vec<u32> = (0..3).map(|k| (buyer * 7 + k * 13) % 40 + 1).collect();
        let wanted: Vec<u32> = {
            let mut seen = HashSet::new();
            wanted.into_iter().filter(|n| seen.insert(*n)).collect()
        };
        buyers.push(request(e, &format!("buyer-{buyer}"), &wanted, LONG));
    }
    let outcomes = futures_util::future::join_all(buyers.iter().map(|r| store.reserve(r))).await;
    for outcome in outcomes {
        if let ReserveOutcome::Held(hold) = outcome.unwrap() {
            held_seats.extend(hold.seats);
        }
    }
    let distinct: HashSet<_> = held_seats.iter().collect();
    assert_eq!(distinct.len(), held_seats.len(), "a seat was held twice");
    assert_eq!(counts(store, e).await.held as usize, held_seats.len());
}

pub async fn info_reports_a_version_and_a_clock(store: &dyn HoldStore) {
    let info = store.info().await.unwrap();
    assert!(!info.version.is_empty());
    let drift = (info.current_time - chrono::Utc::now()).num_seconds().abs();
    assert!(drift < 5, "the store's clock is {drift} s off");
}

pub async fn a_load_that_was_not_begun_is_stale(store: &dyn HoldStore) {
    let e = event(1);
    assert_eq!(store.load(e, &[]).await.unwrap(), LoadOutcome::Stale);
    assert_eq!(store.counts(e, GRACE).await.unwrap(), None);
    assert_eq!(
        store
            .reserve(&request(e, "alice", &[1], LONG))
            .await
            .unwrap(),
        ReserveOutcome::NotLoaded
    );
    loaded(store, e, &[]).await;
    held(store, e, "alice", &[1]).await;
}

pub async fn a_confirm_finished_while_loading_stays_booked(store: &dyn HoldStore) {
    let e = event(1);
    store.begin_load(e).await.unwrap();
    // Committed after the loader read the repo: the load does not know it.
    let committed = super::hold(e, "alice", &[3, 4]);
    store.finish_confirm(&committed).await.unwrap();
    assert_eq!(store.load(e, &[]).await.unwrap(), LoadOutcome::Loaded);
    assert_eq!(counts(store, e).await.booked, 2);
    assert_eq!(
        store.reserve(&request(e, "bob", &[3], LONG)).await.unwrap(),
        ReserveOutcome::Unavailable(seats(&[3]))
    );
}

pub async fn confirms_pending_too_long_are_listed_as_stale(store: &dyn HoldStore) {
    let e = event(1);
    loaded(store, e, &[]).await;
    let pending = held(store, e, "alice", &[1, 2]).await;
    let only_held = held(store, e, "bob", &[3]).await;
    let BeginConfirm::Pending(hold) = store
        .begin_confirm(e, pending, &user("alice"))
        .await
        .unwrap()
    else {
        panic!("a live hold should go pending");
    };
    let age = Duration::from_millis(300);
    assert_eq!(store.stale_pending(e, age).await.unwrap(), vec![]);
    assert_eq!(
        store.counts(e, age).await.unwrap().unwrap().stale_pending,
        0
    );
    tokio::time::sleep(Duration::from_millis(700)).await;

    let stale = store.stale_pending(e, age).await.unwrap();
    assert_eq!(stale.len(), 1);
    assert_eq!(stale[0].id, pending);
    assert_eq!(stale[0].user, user("alice"));
    assert_eq!(stale[0].seats, seats(&[1, 2]));
    assert_ne!(stale[0].id, only_held);
    assert_eq!(
        store.counts(e, age).await.unwrap().unwrap().stale_pending,
        1
    );
    assert_eq!(
        store.counts(e, GRACE).await.unwrap().unwrap().stale_pending,
        0
    );

    store.finish_confirm(&hold).await.unwrap();
    assert_eq!(store.stale_pending(e, age).await.unwrap(), vec![]);
    assert_eq!(
        store.counts(e, age).await.unwrap().unwrap().stale_pending,
        0
    );
}
