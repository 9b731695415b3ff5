//! Store failures, use case by use case: each passes a store's error on as
//! its own `Store` variant and leaves the state as it was. Health reports
//! each store on its own. Last, the port mocks, for answers no correct
//! store gives: the service must survive them without lying or panicking.

use std::sync::Arc;

use booking_domain::contract::new_event;
use booking_domain::{
    Booking, BookingPage, BookingRepo, BookingService, BookingStatus, CancelError, ConfirmError,
    CreateEventError, CreateOutcome, Event, EventDetailsError, EventId, ExtendError, HoldId,
    HoldViewError, Mirror, MockBookingRepo, MockHoldStore, ReleaseError, ReserveError,
    ReserveOutcome, SeatCounts, SeatMapError, SeatNo, SeatRequest, SeatState, StoreError,
    UserBookingsError, ViewBookingError,
};
use booking_memory::{MemoryBookingRepo, MemoryHoldStore};
use chrono::Utc;

use crate::faulty::{Call, Fault};
use crate::{codes, ledger, limits, names, owner, user, App};

#[tokio::test]
async fn create_event_passes_a_repo_failure_on_and_loads_nothing() {
    let app = App::new();
    app.repo.fail(Call::CreateEvent, Fault::Unavailable);

    let err = app.service.create_event(new_event(10)).await.unwrap_err();

    assert!(
        matches!(err, CreateEventError::Store(StoreError::Unavailable { .. })),
        "{err:?}"
    );
    assert_eq!(app.holds.calls(Call::BeginLoad), 0);
}

#[tokio::test]
async fn event_details_pass_either_stores_failure_on() {
    let app = App::new();
    let event = app.event(&[3]).await;
    let other = app.another_instance();
    other.repo.fail(Call::Event, Fault::Unavailable);
    app.holds.fail(Call::Counts, Fault::Internal);

    let repo_down = other.service.event_details(event.id).await.unwrap_err();
    let holds_confused = app.service.event_details(event.id).await.unwrap_err();

    assert!(
        matches!(
            repo_down,
            EventDetailsError::Store(StoreError::Unavailable { .. })
        ),
        "{repo_down:?}"
    );
    assert!(
        matches!(
            holds_confused,
            EventDetailsError::Store(StoreError::Internal { .. })
        ),
        "{holds_confused:?}"
    );
    // A failure is not remembered as "no such event".
    other.availability(&event).await;
}

#[tokio::test]
async fn the_seat_map_passes_a_hold_store_failure_on() {
    let app = App::new();
    let event = app.event(&[3]).await;
    app.holds.fail(Call::SeatMap, Fault::Unavailable);

    let err = app.service.seat_map(event.id).await.unwrap_err();

    assert!(
        matches!(err, SeatMapError::Store(StoreError::Unavailable { .. })),
        "{err:?}"
    );
}

#[tokio::test]
async fn reserve_passes_a_hold_store_failure_on_and_holds_nothing() {
    let app = App::new();
    let event = app.event(&[3]).await;
    app.holds.fail(Call::Reserve, Fault::Unavailable);

    let err = app
        .service
        .reserve(event.id, user("alice"), SeatRequest::Codes(codes(&["A1"])))
        .await
        .unwrap_err();

    assert!(
        matches!(err, ReserveError::Store(StoreError::Unavailable { .. })),
        "{err:?}"
    );
    assert!(app.seats(&event, SeatState::Held).await.is_empty());
}

#[tokio::test]
async fn confirm_passes_a_hold_store_failure_on_before_anything_is_written() {
    let app = App::new();
    let event = app.event(&[3]).await;
    let hold = app.hold(&event, "alice", &["A1"]).await;
    app.holds.fail(Call::BeginConfirm, Fault::Unavailable);

    let err = app
        .service
        .confirm(event.id, &user("alice"), hold.id)
        .await
        .unwrap_err();

    assert!(
        matches!(err, ConfirmError::Store(StoreError::Unavailable { .. })),
        "{err:?}"
    );
    assert_eq!(app.repo.calls(Call::Confirm), 0);
    // Not pending: the hold is alice's as before.
    app.service.extend(&user("alice"), hold.id).await.unwrap();
}

#[tokio::test]
async fn confirm_in_the_wrong_event_passes_a_failure_to_look_the_hold_up_on() {
    let app = App::new();
    let (here, there) = (app.event(&[3]).await, app.event(&[3]).await);
    let hold = app.hold(&there, "alice", &["A1"]).await;
    app.holds.fail(Call::Hold, Fault::Unavailable);

    let err = app
        .service
        .confirm(here.id, &user("alice"), hold.id)
        .await
        .unwrap_err();

    assert!(
        matches!(err, ConfirmError::Store(StoreError::Unavailable { .. })),
        "{err:?}"
    );
}

#[tokio::test]
async fn release_passes_a_hold_store_failure_on_and_keeps_the_hold() {
    let app = App::new();
    let event = app.event(&[3]).await;
    let hold = app.hold(&event, "alice", &["A1"]).await;
    app.holds.fail(Call::Release, Fault::Unavailable);

    let err = app
        .service
        .release(event.id, &user("alice"), hold.id)
        .await
        .unwrap_err();

    assert!(
        matches!(err, ReleaseError::Store(StoreError::Unavailable { .. })),
        "{err:?}"
    );
    assert_eq!(app.seats(&event, SeatState::Held).await, names(&["A1"]));
}

#[tokio::test]
async fn hold_view_and_extend_pass_a_hold_store_failure_on() {
    let app = App::new();
    let event = app.event(&[3]).await;
    let hold = app.hold(&event, "alice", &["A1"]).await;
    app.holds.fail(Call::Hold, Fault::Unavailable);
    app.holds.fail(Call::Extend, Fault::Unavailable);

    let seen = app.service.hold(&user("alice"), hold.id).await;
    let extend = app.service.extend(&user("alice"), hold.id).await;

    assert!(
        matches!(
            seen,
            Err(HoldViewError::Store(StoreError::Unavailable { .. }))
        ),
        "{seen:?}"
    );
    assert!(
        matches!(
            extend,
            Err(ExtendError::Store(StoreError::Unavailable { .. }))
        ),
        "{extend:?}"
    );
    let seen = app.service.hold(&user("alice"), hold.id).await.unwrap();
    assert_eq!(seen.hold.expires_at, hold.expires_at);
}

#[tokio::test]
async fn cancel_passes_a_repo_failure_on_and_cancels_nothing() {
    let app = App::new();
    let event = app.event(&[3]).await;
    let booking = app.book(&event, "alice", &["A1"]).await;
    app.repo.fail(Call::Booking, Fault::Unavailable);
    app.repo.fail(Call::Cancel, Fault::Unavailable);

    let lookup = app.service.cancel(&owner("alice"), booking).await;
    let cancel = app.service.cancel(&owner("alice"), booking).await;

    for err in [lookup, cancel] {
        assert!(
            matches!(err, Err(CancelError::Store(StoreError::Unavailable { .. }))),
            "{err:?}"
        );
    }
    let view = app.service.booking(&owner("alice"), booking).await.unwrap();
    assert_eq!(view.booking.status, BookingStatus::Confirmed);
    assert_eq!(app.seats(&event, SeatState::Booked).await, names(&["A1"]));
}

#[tokio::test]
async fn booking_view_and_list_pass_a_repo_failure_on() {
    let app = App::new();
    let event = app.event(&[3]).await;
    let booking = app.book(&event, "alice", &["A1"]).await;
    app.repo.fail(Call::Booking, Fault::Unavailable);
    app.repo.fail(Call::UserBookings, Fault::Unavailable);

    let view = app.service.booking(&owner("alice"), booking).await;
    let list = app.service.user_bookings(&owner("alice"), None, 3).await;

    assert!(
        matches!(
            view,
            Err(ViewBookingError::Store(StoreError::Unavailable { .. }))
        ),
        "{view:?}"
    );
    assert!(
        matches!(
            list,
            Err(UserBookingsError::Store(StoreError::Unavailable { .. }))
        ),
        "{list:?}"
    );
}

#[tokio::test]
async fn health_reports_each_store_on_its_own() {
    let app = App::new();

    app.holds.fail(Call::Info, Fault::Unavailable);
    let holds_down = app.service.health().await;
    app.repo.fail(Call::Info, Fault::Unavailable);
    let repo_down = app.service.health().await;
    let both_up = app.service.health().await;

    assert_eq!(
        holds_down.bookings.unwrap().version,
        "in-memory booking store"
    );
    assert_eq!(holds_down.holds.unwrap_err().store(), "hold store");
    assert_eq!(repo_down.bookings.unwrap_err().store(), "repo");
    assert_eq!(repo_down.holds.unwrap().version, "in-memory hold store");
    assert!(
        both_up.bookings.is_ok() && both_up.holds.is_ok(),
        "{both_up:?}"
    );
}

// Mocks: answers no correct store gives.

fn event_of(id: i64, seats: u32) -> Event {
    Event {
        id: EventId::new(id).unwrap(),
        name: "Concert".to_owned(),
        date: Utc::now(),
        location: None,
        layout: Arc::new(booking_domain::Layout::single_row(seats).unwrap()),
        created_at: Utc::now(),
    }
}

/// A memory repo with one event of `seats` seats, created behind the
/// service's back (so nothing asks the mocked hold store to load it).
async fn repo_with_event(seats: u32) -> (Arc<MemoryBookingRepo>, EventId) {
    let repo = Arc::new(MemoryBookingRepo::new());
    let CreateOutcome::Created(event) = repo.create_event(&new_event(seats)).await.unwrap() else {
        panic!("a fresh repo creates");
    };
    (repo, event.id)
}

#[tokio::test]
async fn event_details_never_count_more_seats_than_the_event_has_even_if_the_hold_store_does() {
    let (repo, id) = repo_with_event(10).await;
    let mut holds = MockHoldStore::new();
    holds.expect_counts().times(1).returning(|_, _| {
        Ok(Mirror::Ready(SeatCounts {
            booked: 8,
            held: 5,
            stale_pending: 0,
        }))
    });
    let service = BookingService::new(Arc::new(holds), repo, limits(), ledger());

    let (_, availability) = service.event_details(id).await.unwrap();

    assert_eq!((availability.confirmed, availability.held), (8, 2));
    assert_eq!(availability.available(), 0);
}

#[tokio::test]
async fn a_seat_the_hold_store_names_beyond_the_venue_is_still_named() {
    let (repo, id) = repo_with_event(10).await;
    let mut holds = MockHoldStore::new();
    holds.expect_reserve().times(1).returning(|_| {
        Ok(Mirror::Ready(ReserveOutcome::Unavailable(vec![
            SeatNo::new(1).unwrap(),
            SeatNo::new(11).unwrap(),
        ])))
    });
    let service = BookingService::new(Arc::new(holds), repo, limits(), ledger());

    let err = service
        .reserve(id, user("alice"), SeatRequest::Codes(codes(&["S1"])))
        .await
        .unwrap_err();

    let ReserveError::SeatsUnavailable(taken) = err else {
        panic!("expected SeatsUnavailable, got {err:?}");
    };
    assert_eq!(taken, codes(&["S1", "X11"]));
}

#[tokio::test]
async fn a_booking_whose_event_the_repo_lost_is_left_out_of_lists_and_not_found_alone() {
    let (known, lost) = (event_of(1, 10), event_of(2, 10));
    let booking = |event: &Event| Booking {
        id: HoldId::generate(event.id),
        event: event.id,
        user: user("alice"),
        status: BookingStatus::Confirmed,
        seats: vec![SeatNo::new(1).unwrap()],
        created_at: Utc::now(),
    };
    let (kept, orphan) = (booking(&known), booking(&lost));
    let mut repo = MockBookingRepo::new();
    let page = BookingPage {
        bookings: vec![orphan.clone(), kept.clone()],
        next: None,
    };
    repo.expect_user_bookings()
        .times(1)
        .returning(move |_, _, _| Ok(page.clone()));
    let found = orphan.clone();
    repo.expect_booking()
        .times(1)
        .returning(move |_| Ok(Some(found.clone())));
    repo.expect_event()
        .returning(move |id| Ok((id == known.id).then(|| known.clone())));
    let holds = Arc::new(MemoryHoldStore::new());
    let service = BookingService::new(holds, Arc::new(repo), limits(), ledger());

    let list = service
        .user_bookings(&owner("alice"), None, 3)
        .await
        .unwrap();
    let view = service.booking(&owner("alice"), orphan.id).await;

    let listed: Vec<HoldId> = list.bookings.iter().map(|v| v.booking.id).collect();
    assert_eq!(listed, [kept.id]);
    assert!(matches!(view, Err(ViewBookingError::NotFound)), "{view:?}");
}
