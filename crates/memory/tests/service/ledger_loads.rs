//! The ledger's loads of a mirror, seen through the service: once, shared,
//! fenced against other instances' loads, authoritative, and never a
//! reason for a request to fail but with "try again" (503).

use std::time::{Duration, Instant};

use booking_domain::contract::spec;
use booking_domain::{
    BeginLoad, BookingRepo, EventDetailsError, HoldStore, LedgerConfig, LoadStep, LoadToken,
    SeatState, StoreError,
};

use crate::faulty::{Call, Fault};
use crate::{codes, ledger, limits, names, owner, user, App};

#[tokio::test]
async fn a_mirror_that_is_not_loaded_is_loaded_once_from_the_repo_and_the_request_answered() {
    let app = App::new();
    let event = app.event(&[5]).await;
    app.book(&event, "alice", &["A1", "A2"]).await;
    app.book(&event, "bob", &["A5"]).await;
    let fresh = app.with_fresh_hold_store();

    let availability = fresh.availability(&event).await;

    assert_eq!((availability.confirmed, availability.held), (3, 0));
    assert_eq!(fresh.holds.calls(Call::BeginLoad), 1);
    // Three booked seats, two a call.
    assert_eq!(fresh.holds.calls(Call::LoadBooked), 2);
    assert_eq!(
        fresh.seats(&event, SeatState::Booked).await,
        names(&["A1", "A2", "A5"])
    );
    assert_eq!(
        fresh.refused(&event, "carol", &["A2", "A3"]).await,
        codes(&["A2"])
    );
    fresh.hold(&event, "carol", &["A3"]).await;
    assert_eq!(fresh.holds.calls(Call::BeginLoad), 1);
}

#[tokio::test]
async fn a_reserve_or_confirm_that_finds_the_mirror_gone_loads_it_and_goes_on() {
    let app = App::new();
    let event = app.event(&[5]).await;
    app.book(&event, "bob", &["A5"]).await;

    app.holds.fail(Call::Reserve, Fault::NotLoaded);
    let hold = app.hold(&event, "alice", &["A1"]).await;
    app.holds.fail(Call::BeginConfirm, Fault::NotLoaded);
    let booked = app.service.confirm(event.id, &user("alice"), hold.id).await;

    assert_eq!(booked.unwrap(), hold.id);
    assert_eq!(app.holds.calls(Call::BeginLoad), 3, "created, then twice");
    assert_eq!(
        app.seats(&event, SeatState::Booked).await,
        names(&["A1", "A5"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_on_a_not_loaded_event_share_one_load() {
    let app = App::new();
    let event = app.event(&[10]).await;
    app.book(&event, "alice", &["A1"]).await;
    let fresh = app.with_fresh_hold_store();
    fresh.repo.pause(Call::BookedSeats);

    let mut requests = tokio::task::JoinSet::new();
    for n in 2..=9u32 {
        let service = fresh.service.clone();
        let id = event.id;
        requests.spawn(async move {
            if n % 2 == 0 {
                service
                    .event_details(id)
                    .await
                    .map(|_| ())
                    .map_err(|e| format!("{e:?}"))
            } else {
                let seat = crate::codes(&[&format!("A{n}")]);
                let wanted = booking_domain::SeatRequest::Codes(seat);
                service
                    .reserve(id, user("u"), wanted)
                    .await
                    .map(|_| ())
                    .map_err(|e| format!("{e:?}"))
            }
        });
    }
    fresh.repo.reached(Call::BookedSeats, 1).await;
    // Every request has found the mirror missing; give them time to line
    // up behind the one load.
    fresh
        .holds
        .reached_together(&[Call::Counts, Call::Reserve], 8)
        .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    fresh.repo.resume(Call::BookedSeats);

    while let Some(outcome) = requests.join_next().await {
        outcome.unwrap().unwrap();
    }
    assert_eq!(fresh.holds.calls(Call::BeginLoad), 1);
    assert_eq!(fresh.repo.calls(Call::BookedSeats), 1);
    assert_eq!(fresh.seats(&event, SeatState::Booked).await, names(&["A1"]));
    assert_eq!(fresh.availability(&event).await.held, 4);
}

#[tokio::test]
async fn a_request_waits_for_another_instances_load_and_answers_from_it() {
    let app = App::new();
    let event = app.event(&[5]).await;
    app.book(&event, "alice", &["A1", "A2"]).await;
    let fresh = app.with_fresh_hold_store();
    // Another instance begins loading the event into the same store.
    let store = fresh.holds.inner().clone();
    let token = LoadToken::generate();
    let begun = store
        .begin_load(
            event.id,
            token,
            &spec(event.layout.clone(), Duration::from_secs(30)),
        )
        .await
        .unwrap();
    assert_eq!(begun, BeginLoad::Begun);

    let service = fresh.service.clone();
    let id = event.id;
    let waiting = tokio::spawn(async move { service.event_details(id).await });
    fresh.holds.reached(Call::BeginLoad, 1).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!waiting.is_finished(), "it must wait for the other load");
    // The other instance finishes with what it read from the repo.
    let booked = app.repo.inner().booked_seats(event.id).await.unwrap();
    assert_eq!(
        store.load_booked(event.id, token, &booked).await.unwrap(),
        LoadStep::Done
    );
    assert_eq!(
        store.finish_load(event.id, token).await.unwrap(),
        LoadStep::Done
    );

    let (_, availability) = waiting.await.unwrap().unwrap();
    assert_eq!(availability.confirmed, 2);
    assert_eq!(
        fresh.holds.calls(Call::BeginLoad),
        1,
        "it never loaded itself"
    );
}

#[tokio::test]
async fn a_request_gives_up_waiting_for_another_instances_load_after_load_wait() {
    let load_wait = Duration::from_millis(300);
    let app = App::with(
        limits(),
        LedgerConfig {
            load_wait,
            ..ledger()
        },
    );
    let event = app.event(&[5]).await;
    let fresh = app.with_fresh_hold_store();
    // Another instance begins a load and never finishes it.
    let begun = fresh
        .holds
        .inner()
        .begin_load(
            event.id,
            LoadToken::generate(),
            &spec(event.layout.clone(), Duration::from_secs(30)),
        )
        .await
        .unwrap();
    assert_eq!(begun, BeginLoad::Begun);

    let started = Instant::now();
    let err = fresh.service.event_details(event.id).await.unwrap_err();

    assert!(
        matches!(
            err,
            EventDetailsError::Store(StoreError::Unavailable { .. })
        ),
        "{err:?}"
    );
    assert!(started.elapsed() >= load_wait, "{:?}", started.elapsed());
}

/// A ledger whose loads' locks lapse at once, so that a load abandoned
/// by `Fault::Stale` (as if another had taken it over) does not keep the
/// next one waiting.
fn lapsing_leases() -> App {
    App::with(
        limits(),
        LedgerConfig {
            load_lease: Duration::ZERO,
            ..ledger()
        },
    )
}

#[tokio::test]
async fn a_load_overtaken_by_another_is_begun_again_and_the_request_answered() {
    let app = lapsing_leases();
    let event = app.event(&[5]).await;
    app.book(&event, "alice", &["A1"]).await;
    let fresh = app.with_fresh_hold_store();
    fresh.holds.fail(Call::FinishLoad, Fault::Stale);

    let availability = fresh.availability(&event).await;

    assert_eq!(availability.confirmed, 1);
    assert_eq!(fresh.holds.calls(Call::BeginLoad), 2);
}

#[tokio::test]
async fn a_load_that_keeps_being_overtaken_gives_up_with_unavailable_not_internal() {
    let app = lapsing_leases();
    let event = app.event(&[5]).await;
    app.book(&event, "alice", &["A1"]).await;
    let fresh = app.with_fresh_hold_store();
    fresh.holds.fail_always(Call::LoadBooked, Fault::Stale);

    let err = fresh.service.event_details(event.id).await.unwrap_err();

    assert!(
        matches!(
            err,
            EventDetailsError::Store(StoreError::Unavailable { .. })
        ),
        "{err:?}"
    );
    assert_eq!(fresh.holds.calls(Call::BeginLoad), 3);
    assert_eq!(fresh.holds.calls(Call::FinishLoad), 0);
}

#[tokio::test]
async fn a_mirror_lost_again_right_after_its_load_is_loaded_once_more() {
    let app = App::new();
    let event = app.event(&[5]).await;
    app.book(&event, "alice", &["A1"]).await;
    app.holds.fail_times(Call::Counts, Fault::NotLoaded, 2);

    let availability = app.availability(&event).await;

    assert_eq!(availability.confirmed, 1);
    assert_eq!(app.holds.calls(Call::BeginLoad), 1 + 2);
}

#[tokio::test]
async fn a_mirror_that_never_stays_loaded_answers_unavailable_after_a_few_rounds() {
    let app = App::new();
    let event = app.event(&[5]).await;
    app.holds.fail_always(Call::Counts, Fault::NotLoaded);

    let err = app.service.event_details(event.id).await.unwrap_err();

    assert!(
        matches!(
            err,
            EventDetailsError::Store(StoreError::Unavailable { .. })
        ),
        "{err:?}"
    );
    // Asked three times, loaded between the asks and not after the last.
    assert_eq!(app.holds.calls(Call::Counts), 3);
    assert_eq!(app.holds.calls(Call::BeginLoad), 1 + 2);
}

#[tokio::test]
async fn a_load_that_failed_half_way_is_taken_over_once_its_lease_runs_out() {
    let load_lease = Duration::from_millis(300);
    let app = App::with(
        limits(),
        LedgerConfig {
            load_lease,
            ..ledger()
        },
    );
    let event = app.event(&[5]).await;
    app.book(&event, "alice", &["A1"]).await;
    let fresh = app.with_fresh_hold_store();
    fresh.repo.fail(Call::BookedSeats, Fault::Unavailable);

    let err = fresh.service.event_details(event.id).await.unwrap_err();
    assert!(
        matches!(
            err,
            EventDetailsError::Store(StoreError::Unavailable { .. })
        ),
        "{err:?}"
    );
    tokio::time::sleep(load_lease + Duration::from_millis(150)).await;

    assert_eq!(fresh.availability(&event).await.confirmed, 1);
    assert_eq!(fresh.holds.calls(Call::BeginLoad), 2);
}

#[tokio::test]
async fn a_reload_rebuilds_booked_seats_from_the_repo_and_keeps_live_holds() {
    let app = App::new();
    let event = app.event(&[5]).await;
    let cancelled = app.book(&event, "alice", &["A1"]).await;
    app.book(&event, "alice", &["A2"]).await;
    app.hold(&event, "bob", &["A3"]).await;
    // The cancel's unbook fails, so the mirror still has A1 booked...
    app.holds.fail(Call::Unbook, Fault::Unavailable);
    app.service
        .cancel(&owner("alice"), cancelled)
        .await
        .unwrap();
    assert_eq!(
        app.seats(&event, SeatState::Booked).await,
        names(&["A1", "A2"])
    );

    // ...until the mirror is lost and loaded again.
    app.holds.fail(Call::Counts, Fault::NotLoaded);
    let availability = app.availability(&event).await;

    assert_eq!((availability.confirmed, availability.held), (1, 1));
    assert_eq!(app.seats(&event, SeatState::Booked).await, names(&["A2"]));
    assert_eq!(app.seats(&event, SeatState::Held).await, names(&["A3"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_made_during_a_reload_is_not_undone_by_it() {
    let app = App::new();
    let event = app.event(&[5]).await;
    let booking = app.book(&event, "alice", &["A1"]).await;
    let loader = app.another_instance();
    // The loader's load reads the repo, then is held before writing.
    loader.holds.fail(Call::Counts, Fault::NotLoaded);
    loader.holds.pause(Call::LoadBooked);
    let service = loader.service.clone();
    let id = event.id;
    let loading = tokio::spawn(async move { service.event_details(id).await });
    loader.holds.reached(Call::LoadBooked, 1).await;

    app.service.cancel(&owner("alice"), booking).await.unwrap();
    loader.holds.resume(Call::LoadBooked);

    let (_, availability) = loading.await.unwrap().unwrap();
    assert_eq!(availability.confirmed, 0);
    assert_eq!(app.seats(&event, SeatState::Available).await.len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confirm_finished_during_a_reload_stays_booked() {
    let app = App::new();
    let event = app.event(&[5]).await;
    app.book(&event, "carol", &["A5"]).await;
    let hold = app.hold(&event, "alice", &["A1"]).await;
    // Alice's booking is written after the loader has read the repo.
    app.repo.pause(Call::Confirm);
    let service = app.service.clone();
    let id = event.id;
    let confirming =
        tokio::spawn(async move { service.confirm(id, &user("alice"), hold.id).await });
    // Carol's booking made the first confirm call: Alice's is the second
    // (waiting for the first let the loader begin before Alice's confirm
    // had its seats pending, and the confirm then waited out the load).
    app.repo.reached(Call::Confirm, 2).await;
    let loader = app.another_instance();
    loader.holds.fail(Call::Counts, Fault::NotLoaded);
    loader.holds.pause(Call::LoadBooked);
    let service = loader.service.clone();
    let loading = tokio::spawn(async move { service.event_details(id).await });
    loader.holds.reached(Call::LoadBooked, 1).await;

    app.repo.resume(Call::Confirm);
    assert_eq!(confirming.await.unwrap().unwrap(), hold.id);
    loader.holds.resume(Call::LoadBooked);

    let (_, availability) = loading.await.unwrap().unwrap();
    assert_eq!(availability.confirmed, 2);
    assert_eq!(
        app.seats(&event, SeatState::Booked).await,
        names(&["A1", "A5"])
    );
}

#[tokio::test]
async fn a_reload_forgets_the_hold_of_a_cancelled_booking_that_older_data_brought_back() {
    let app = App::new();
    let event = app.event(&[5]).await;
    let booking = app.book(&event, "alice", &["A1", "A2"]).await;
    app.service.cancel(&owner("alice"), booking).await.unwrap();
    // The hold store comes back from a snapshot taken before the confirm:
    // the hold is live again, and the mirror is found stale.
    let mut old = booking_domain::contract::request(event.id, "alice", &[1, 2], crate::TTL);
    old.id = booking;
    app.holds.inner().reserve(&old).await.unwrap();
    assert_eq!(app.availability(&event).await.held, 2);
    app.holds.fail(Call::Counts, Fault::NotLoaded);
    let asked = app.repo.calls(Call::SpentHolds);

    let availability = app.availability(&event).await;

    assert_eq!((availability.confirmed, availability.held), (0, 0));
    assert_eq!(app.repo.calls(Call::SpentHolds), asked + 1, "one reload");
    app.hold(&event, "bob", &["A1", "A2"]).await;
}
