//! Loading the mirror: fenced, single-flight, authoritative, chunked.

use std::time::Duration;

use super::holds::{begin, held, loaded, reserve, LONG};
use super::{counts, event, load, ready, request, seat, seats, single_row, spec};
use crate::{
    BeginConfirm, BeginLoad, HoldId, HoldStore, LoadStep, LoadToken, Mirror, ReserveOutcome,
    SeatCounts,
};

const GRACE: Duration = Duration::from_secs(60);

pub async fn the_event_answers_not_loaded_while_a_load_runs(store: &dyn HoldStore) {
    let e = event(1);
    loaded(store, e).await;
    let id = held(store, e, "alice", &[1]).await;
    let token = LoadToken::generate();
    let spec = spec(single_row(100), LONG);
    assert_eq!(
        store.begin_load(e, token, &spec).await.unwrap(),
        BeginLoad::Begun
    );
    let r = request(e, "bob", &[2], LONG);
    assert_eq!(store.reserve(&r).await.unwrap(), Mirror::NotLoaded);
    assert_eq!(store.counts(e, GRACE).await.unwrap(), Mirror::NotLoaded);
    assert_eq!(store.seat_map(e).await.unwrap(), Mirror::NotLoaded);
    assert_eq!(
        store.begin_confirm(e, id, &r.user).await.unwrap(),
        Mirror::NotLoaded
    );
    assert_eq!(store.finish_load(e, token).await.unwrap(), LoadStep::Done);
    assert_eq!(counts(store, e).await.held, 1, "the hold was kept");
    held(store, e, "bob", &[2]).await;
}

pub async fn a_load_is_authoritative_for_booked_seats(store: &dyn HoldStore) {
    let e = event(1);
    let (cancelled, kept) = (HoldId::generate(e), HoldId::generate(e));
    load(
        store,
        e,
        single_row(10),
        &[(seat(3), cancelled), (seat(4), kept)],
    )
    .await;
    assert_eq!(counts(store, e).await.booked, 2);
    // The source of truth no longer has seat 3 booked (the cancel's
    // unbook was lost): a reload must free it.
    load(store, e, single_row(10), &[(seat(4), kept)]).await;
    assert_eq!(
        counts(store, e).await,
        SeatCounts {
            booked: 1,
            held: 0,
            stale_pending: 0
        }
    );
    held(store, e, "alice", &[3]).await;
    assert_eq!(
        reserve(store, &request(e, "bob", &[4], LONG)).await,
        ReserveOutcome::Unavailable(seats(&[4]))
    );
}

pub async fn a_load_keeps_holds_but_booked_seats_win(store: &dyn HoldStore) {
    let e = event(1);
    loaded(store, e).await;
    let id = held(store, e, "alice", &[1, 2]).await;
    let booking = HoldId::generate(e);
    load(store, e, single_row(100), &[(seat(2), booking)]).await;
    assert!(ready(store.hold(e, id).await).is_some());
    assert_eq!(
        counts(store, e).await,
        SeatCounts {
            booked: 1,
            held: 1,
            stale_pending: 0
        }
    );
    // Releasing the hold frees only the seat it still has.
    ready(store.release(e, id, &super::user("alice")).await);
    assert_eq!(
        counts(store, e).await,
        SeatCounts {
            booked: 1,
            held: 0,
            stale_pending: 0
        }
    );
    assert_eq!(
        reserve(store, &request(e, "bob", &[1, 2], LONG)).await,
        ReserveOutcome::Unavailable(seats(&[2]))
    );
}

pub async fn a_second_load_is_busy_until_the_first_ends(store: &dyn HoldStore) {
    let e = event(1);
    let spec = spec(single_row(10), LONG);
    let (first, second) = (LoadToken::generate(), LoadToken::generate());
    assert_eq!(
        store.begin_load(e, first, &spec).await.unwrap(),
        BeginLoad::Begun
    );
    assert_eq!(
        store.begin_load(e, second, &spec).await.unwrap(),
        BeginLoad::Busy
    );
    assert_eq!(store.finish_load(e, first).await.unwrap(), LoadStep::Done);
    // The lock went with the load: a reload may begin at once.
    assert_eq!(
        store.begin_load(e, second, &spec).await.unwrap(),
        BeginLoad::Begun
    );
    assert_eq!(store.finish_load(e, second).await.unwrap(), LoadStep::Done);
    assert_eq!(counts(store, e).await, SeatCounts::default());
}

pub async fn a_load_whose_lease_ran_out_is_taken_over_and_goes_stale(store: &dyn HoldStore) {
    let e = event(1);
    let (dead, alive) = (LoadToken::generate(), LoadToken::generate());
    let short = spec(single_row(10), Duration::from_millis(300));
    assert_eq!(
        store.begin_load(e, dead, &short).await.unwrap(),
        BeginLoad::Begun
    );
    tokio::time::sleep(Duration::from_millis(800)).await;
    let long = spec(single_row(10), LONG);
    assert_eq!(
        store.begin_load(e, alive, &long).await.unwrap(),
        BeginLoad::Begun
    );
    let booking = HoldId::generate(e);
    assert_eq!(
        store
            .load_booked(e, dead, &[(seat(1), booking)])
            .await
            .unwrap(),
        LoadStep::Stale
    );
    assert_eq!(store.finish_load(e, dead).await.unwrap(), LoadStep::Stale);
    assert_eq!(store.counts(e, GRACE).await.unwrap(), Mirror::NotLoaded);
    assert_eq!(store.finish_load(e, alive).await.unwrap(), LoadStep::Done);
    assert_eq!(
        counts(store, e).await.booked,
        0,
        "the stale chunk changed nothing"
    );
}

pub async fn a_load_that_was_not_begun_is_stale(store: &dyn HoldStore) {
    let e = event(1);
    let token = LoadToken::generate();
    let booking = HoldId::generate(e);
    assert_eq!(
        store
            .load_booked(e, token, &[(seat(1), booking)])
            .await
            .unwrap(),
        LoadStep::Stale
    );
    assert_eq!(store.finish_load(e, token).await.unwrap(), LoadStep::Stale);
    assert_eq!(store.counts(e, GRACE).await.unwrap(), Mirror::NotLoaded);
    loaded(store, e).await;
    held(store, e, "alice", &[1]).await;
}

pub async fn a_confirm_finished_while_loading_stays_booked(store: &dyn HoldStore) {
    let e = event(1);
    let token = LoadToken::generate();
    let spec = spec(single_row(10), LONG);
    store.begin_load(e, token, &spec).await.unwrap();
    // Committed after the loader read the repo: the load does not know it.
    let committed = super::hold(e, "alice", &[3, 4]);
    store.finish_confirm(&committed).await.unwrap();
    assert_eq!(
        store.load_booked(e, token, &[]).await.unwrap(),
        LoadStep::Done
    );
    assert_eq!(store.finish_load(e, token).await.unwrap(), LoadStep::Done);
    assert_eq!(counts(store, e).await.booked, 2);
    assert_eq!(
        reserve(store, &request(e, "bob", &[3], LONG)).await,
        ReserveOutcome::Unavailable(seats(&[3]))
    );
}

pub async fn a_cancel_during_a_load_is_not_undone_by_it(store: &dyn HoldStore) {
    let e = event(1);
    let booking = HoldId::generate(e);
    load(store, e, single_row(10), &[(seat(3), booking)]).await;
    let token = LoadToken::generate();
    let spec = spec(single_row(10), LONG);
    store.begin_load(e, token, &spec).await.unwrap();
    // The loader read the repo before the cancel committed, so its chunk
    // still has seat 3 booked; the cancel's unbook runs meanwhile.
    store.unbook(e, booking, &seats(&[3])).await.unwrap();
    assert_eq!(
        store
            .load_booked(e, token, &[(seat(3), booking)])
            .await
            .unwrap(),
        LoadStep::Done
    );
    assert_eq!(store.finish_load(e, token).await.unwrap(), LoadStep::Done);
    assert_eq!(counts(store, e).await.booked, 0);
    held(store, e, "alice", &[3]).await;
}

pub async fn a_pending_confirm_survives_a_load(store: &dyn HoldStore) {
    let e = event(1);
    loaded(store, e).await;
    let id = held(store, e, "alice", &[1, 2]).await;
    let BeginConfirm::Pending(hold) = begin(store, e, id, "alice").await else {
        panic!("a live hold should go pending");
    };
    // The booking is not committed yet, so the load does not have it.
    loaded(store, e).await;
    assert_eq!(counts(store, e).await.held, 2);
    assert!(matches!(
        reserve(store, &request(e, "bob", &[1], LONG)).await,
        ReserveOutcome::Unavailable(_)
    ));
    assert!(matches!(
        begin(store, e, id, "alice").await,
        BeginConfirm::Pending(_)
    ));
    store.finish_confirm(&hold).await.unwrap();
    assert_eq!(counts(store, e).await.booked, 2);
}

pub async fn large_loads_arrive_in_chunks(store: &dyn HoldStore) {
    let e = event(1);
    let layout = single_row(20_000);
    let booking = HoldId::generate(e);
    let booked: Vec<_> = (1..=15_000).map(|n| (seat(n), booking)).collect();
    let token = LoadToken::generate();
    let spec = spec(layout, LONG);
    assert_eq!(
        store.begin_load(e, token, &spec).await.unwrap(),
        BeginLoad::Begun
    );
    for chunk in booked.chunks(5_000) {
        assert_eq!(
            store.load_booked(e, token, chunk).await.unwrap(),
            LoadStep::Done
        );
    }
    assert_eq!(store.finish_load(e, token).await.unwrap(), LoadStep::Done);
    assert_eq!(counts(store, e).await.booked, 15_000);
    assert_eq!(
        reserve(store, &request(e, "alice", &[15_000, 15_001], LONG)).await,
        ReserveOutcome::Unavailable(seats(&[15_000]))
    );
    held(store, e, "alice", &[20_000]).await;
}

pub async fn an_abandoned_load_lets_the_next_begin_at_once(store: &dyn HoldStore) {
    let e = event(1);
    let spec = spec(single_row(10), LONG);
    let (failed, next, stale) = (
        LoadToken::generate(),
        LoadToken::generate(),
        LoadToken::generate(),
    );
    assert_eq!(
        store.begin_load(e, failed, &spec).await.unwrap(),
        BeginLoad::Begun
    );
    // The repo read failed: the loader gives up its lease.
    store.abandon_load(e, failed).await.unwrap();
    assert_eq!(store.counts(e, GRACE).await.unwrap(), Mirror::NotLoaded);
    assert_eq!(
        store.begin_load(e, next, &spec).await.unwrap(),
        BeginLoad::Begun
    );
    // Giving up a token that is no longer current changes nothing.
    store.abandon_load(e, failed).await.unwrap();
    store.abandon_load(e, stale).await.unwrap();
    assert_eq!(
        store.begin_load(e, stale, &spec).await.unwrap(),
        BeginLoad::Busy
    );
    assert_eq!(store.finish_load(e, next).await.unwrap(), LoadStep::Done);
    assert_eq!(counts(store, e).await, SeatCounts::default());
}

pub async fn a_load_forgets_spent_holds_that_older_data_brought_back(store: &dyn HoldStore) {
    let e = event(1);
    loaded(store, e).await;
    // As a snapshot would bring them back: a hold whose booking was since
    // cancelled, one pending whose confirm was since settled as dead, and
    // a live hold that nothing spent.
    let cancelled = held(store, e, "alice", &[1, 2]).await;
    let dead = held(store, e, "bob", &[3]).await;
    assert!(matches!(
        begin(store, e, dead, "bob").await,
        BeginConfirm::Pending(_)
    ));
    let live = held(store, e, "carol", &[4]).await;
    let token = LoadToken::generate();
    let spec = spec(single_row(100), LONG);
    assert_eq!(
        store.begin_load(e, token, &spec).await.unwrap(),
        BeginLoad::Begun
    );
    // Seat 2 was booked by someone else since (booked wins).
    let other = HoldId::generate(e);
    assert_eq!(
        store
            .load_booked(e, token, &[(seat(2), other)])
            .await
            .unwrap(),
        LoadStep::Done
    );
    let unknown = HoldId::generate(e);
    store
        .forget_holds(e, &[cancelled, dead, unknown])
        .await
        .unwrap();
    assert_eq!(store.finish_load(e, token).await.unwrap(), LoadStep::Done);

    assert_eq!(ready(store.hold(e, cancelled).await), None);
    assert_eq!(ready(store.hold(e, dead).await), None);
    assert!(ready(store.hold(e, live).await).is_some());
    assert_eq!(
        store.stale_pending(e, Duration::ZERO).await.unwrap(),
        vec![]
    );
    assert_eq!(
        counts(store, e).await,
        SeatCounts {
            booked: 1,
            held: 1,
            stale_pending: 0
        }
    );
    // Their seats are free, but for the booked one; Alice's count of held
    // seats went with her hold.
    held(store, e, "dave", &[1, 3]).await;
    assert_eq!(
        reserve(store, &request(e, "dave", &[2], LONG)).await,
        ReserveOutcome::Unavailable(seats(&[2]))
    );
    let mut most = request(e, "alice", &[10, 11, 12, 13, 14], LONG);
    most.max_held_per_user = 5;
    assert!(matches!(
        reserve(store, &most).await,
        ReserveOutcome::Held(_)
    ));
    // Again, while ready, and for an event without a mirror: nothing.
    store.forget_holds(e, &[cancelled, dead]).await.unwrap();
    store.forget_holds(event(2), &[cancelled]).await.unwrap();
    assert!(ready(store.hold(e, live).await).is_some());
    assert_eq!(counts(store, e).await.held, 8);
}

pub async fn a_loaded_mirror_is_loaded_again_only_by_a_reload(store: &dyn HoldStore) {
    let e = event(1);
    let booking = HoldId::generate(e);
    load(store, e, single_row(10), &[(seat(3), booking)]).await;
    held(store, e, "alice", &[1]).await;
    // A request that found the mirror missing just before another load
    // finished: nothing to do.
    let once = crate::MirrorSpec {
        reload: false,
        ..spec(single_row(10), LONG)
    };
    assert_eq!(
        store
            .begin_load(e, LoadToken::generate(), &once)
            .await
            .unwrap(),
        BeginLoad::Loaded
    );
    assert_eq!(
        counts(store, e).await,
        SeatCounts {
            booked: 1,
            held: 1,
            stale_pending: 0
        }
    );
    // A mirror not loaded begins as usual.
    assert_eq!(
        store
            .begin_load(event(2), LoadToken::generate(), &once)
            .await
            .unwrap(),
        BeginLoad::Begun
    );
}
