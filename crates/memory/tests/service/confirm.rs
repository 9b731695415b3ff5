//! Confirming a hold: exactly once, by its owner, in its own event.

use booking_domain::{
    BookingRepo, BookingStatus, ConfirmError, ConfirmOutcome, EventId, Hold, HoldId, HoldViewError,
    SeatNo, SeatState,
};
use chrono::Utc;

use crate::faulty::{Call, Fault};
use crate::{codes, names, owner, short_holds, user, App, PAST_SHORT_TTL};

#[tokio::test]
async fn confirming_a_hold_books_its_seats_under_the_holds_id() {
    let app = App::new();
    let event = app.event(&[5]).await;
    let hold = app.hold(&event, "alice", &["A2", "A1"]).await;

    let booked = app.service.confirm(event.id, &user("alice"), hold.id).await;

    assert_eq!(booked.unwrap(), hold.id);
    let view = app.service.booking(&owner("alice"), hold.id).await.unwrap();
    assert_eq!(view.booking.status, BookingStatus::Confirmed);
    assert_eq!(view.booking.user, user("alice"));
    assert_eq!(view.event.codes(&view.booking.seats), codes(&["A1", "A2"]));
    assert_eq!(
        app.seats(&event, SeatState::Booked).await,
        names(&["A1", "A2"])
    );
    let availability = app.availability(&event).await;
    assert_eq!((availability.confirmed, availability.held), (2, 0));
    // The hold is spent.
    let gone = app.service.hold(&user("alice"), hold.id).await;
    assert!(matches!(gone, Err(HoldViewError::NotFound)), "{gone:?}");
}

#[tokio::test]
async fn confirm_in_an_unknown_event_is_not_found() {
    let app = App::new();
    let unknown = EventId::new(42).unwrap();

    let err = app
        .service
        .confirm(unknown, &user("alice"), HoldId::generate(unknown))
        .await
        .unwrap_err();

    assert!(matches!(err, ConfirmError::EventNotFound), "{err:?}");
}

#[tokio::test]
async fn confirm_of_a_live_hold_of_another_event_is_the_wrong_event_and_leaves_it_alone() {
    let app = App::new();
    let (here, there) = (app.event(&[5]).await, app.event(&[5]).await);
    let hold = app.hold(&there, "alice", &["A1"]).await;

    let err = app
        .service
        .confirm(here.id, &user("alice"), hold.id)
        .await
        .unwrap_err();

    assert!(matches!(err, ConfirmError::WrongEvent), "{err:?}");
    assert_eq!(app.seats(&there, SeatState::Held).await, names(&["A1"]));
    let booked = app.service.confirm(there.id, &user("alice"), hold.id).await;
    assert_eq!(booked.unwrap(), hold.id);
}

#[tokio::test]
async fn confirm_of_a_booked_hold_of_another_event_is_the_wrong_event() {
    let app = App::new();
    let (here, there) = (app.event(&[5]).await, app.event(&[5]).await);
    let booking = app.book(&there, "alice", &["A1"]).await;

    let err = app
        .service
        .confirm(here.id, &user("alice"), booking)
        .await
        .unwrap_err();

    assert!(matches!(err, ConfirmError::WrongEvent), "{err:?}");
}

#[tokio::test]
async fn confirm_of_an_unknown_hold_of_another_event_has_expired() {
    let app = App::new();
    let (here, there) = (app.event(&[5]).await, app.event(&[5]).await);

    let err = app
        .service
        .confirm(here.id, &user("alice"), HoldId::generate(there.id))
        .await
        .unwrap_err();

    assert!(matches!(err, ConfirmError::HoldExpired), "{err:?}");
}

#[tokio::test]
async fn confirm_by_someone_other_than_the_holder_is_refused_and_leaves_the_hold_alone() {
    let app = App::new();
    let event = app.event(&[5]).await;
    let hold = app.hold(&event, "alice", &["A1"]).await;

    let err = app
        .service
        .confirm(event.id, &user("bob"), hold.id)
        .await
        .unwrap_err();

    assert!(matches!(err, ConfirmError::NotOwner), "{err:?}");
    assert_eq!(app.seats(&event, SeatState::Held).await, names(&["A1"]));
    let booked = app.service.confirm(event.id, &user("alice"), hold.id).await;
    assert_eq!(booked.unwrap(), hold.id);
}

#[tokio::test]
async fn confirm_retried_by_its_owner_returns_the_same_booking_id() {
    let app = App::new();
    let event = app.event(&[5]).await;
    let booking = app.book(&event, "alice", &["A1", "A2"]).await;

    let again = app.service.confirm(event.id, &user("alice"), booking).await;

    assert_eq!(again.unwrap(), booking);
    // One booking, written once.
    assert_eq!(app.repo.calls(Call::Confirm), 1);
    let list = app
        .service
        .user_bookings(&owner("alice"), None, 10)
        .await
        .unwrap();
    assert_eq!(list.bookings.len(), 1);
    assert_eq!(
        app.seats(&event, SeatState::Booked).await,
        names(&["A1", "A2"])
    );
}

#[tokio::test]
async fn confirm_retried_by_another_user_is_refused() {
    let app = App::new();
    let event = app.event(&[5]).await;
    let booking = app.book(&event, "alice", &["A1"]).await;

    let err = app
        .service
        .confirm(event.id, &user("bob"), booking)
        .await
        .unwrap_err();

    assert!(matches!(err, ConfirmError::NotOwner), "{err:?}");
}

#[tokio::test]
async fn confirm_of_an_unknown_or_released_hold_has_expired() {
    let app = App::new();
    let event = app.event(&[5]).await;
    let released = app.hold(&event, "alice", &["A1"]).await;
    app.service
        .release(event.id, &user("alice"), released.id)
        .await
        .unwrap();

    for id in [HoldId::generate(event.id), released.id] {
        let err = app
            .service
            .confirm(event.id, &user("alice"), id)
            .await
            .unwrap_err();
        assert!(matches!(err, ConfirmError::HoldExpired), "{err:?}");
    }
    assert!(app.seats(&event, SeatState::Booked).await.is_empty());
}

#[tokio::test]
async fn confirm_of_an_expired_hold_has_expired_and_books_nothing() {
    let app = App::with(short_holds(), crate::ledger());
    let event = app.event(&[5]).await;
    let hold = app.hold(&event, "alice", &["A1"]).await;

    tokio::time::sleep(PAST_SHORT_TTL).await;
    let err = app
        .service
        .confirm(event.id, &user("alice"), hold.id)
        .await
        .unwrap_err();

    assert!(matches!(err, ConfirmError::HoldExpired), "{err:?}");
    assert_eq!(app.repo.calls(Call::Confirm), 0);
    assert_eq!(app.seats(&event, SeatState::Available).await.len(), 5);
}

#[tokio::test]
async fn confirm_retried_after_its_booking_was_cancelled_has_expired() {
    let app = App::new();
    let event = app.event(&[5]).await;
    let booking = app.book(&event, "alice", &["A1"]).await;
    app.service.cancel(&owner("alice"), booking).await.unwrap();

    let err = app
        .service
        .confirm(event.id, &user("alice"), booking)
        .await
        .unwrap_err();

    assert!(matches!(err, ConfirmError::HoldExpired), "{err:?}");
    // The seat stays on sale.
    app.book(&event, "bob", &["A1"]).await;
}

/// Two instances whose hold stores disagree: `stale` was loaded before
/// `fresh` booked `A1` (a Redis restored from an older snapshot looks the
/// same), so it lets bob hold a seat the repo has booked.
async fn booked_behind_the_mirrors_back() -> (App, App, std::sync::Arc<booking_domain::Event>, Hold)
{
    let fresh = App::new();
    let event = fresh.event(&[5]).await;
    let stale = fresh.with_fresh_hold_store();
    stale.availability(&event).await;
    fresh.book(&event, "alice", &["A1"]).await;
    let hold = stale.hold(&event, "bob", &["A1", "A2"]).await;
    (fresh, stale, event, hold)
}

#[tokio::test]
async fn confirm_of_seats_booked_meanwhile_names_them_frees_the_hold_and_reloads_the_mirror() {
    let (_, stale, event, hold) = booked_behind_the_mirrors_back().await;

    let err = stale
        .service
        .confirm(event.id, &user("bob"), hold.id)
        .await
        .unwrap_err();

    let ConfirmError::SeatsUnavailable(taken) = err else {
        panic!("expected SeatsUnavailable, got {err:?}");
    };
    assert_eq!(taken, codes(&["A1"]));
    // The mirror was rebuilt from the repo, and bob's hold is spent.
    assert_eq!(stale.holds.calls(Call::BeginLoad), 2);
    assert_eq!(stale.seats(&event, SeatState::Booked).await, names(&["A1"]));
    assert!(stale.seats(&event, SeatState::Held).await.is_empty());
    assert_eq!(
        stale.refused(&event, "carol", &["A1"]).await,
        codes(&["A1"])
    );
}

#[tokio::test]
async fn confirm_of_seats_booked_meanwhile_names_them_even_when_cleaning_up_fails() {
    let (_, stale, event, hold) = booked_behind_the_mirrors_back().await;
    stale.holds.fail(Call::AbortConfirm, Fault::Unavailable);
    stale.holds.fail(Call::Release, Fault::Unavailable);
    stale.repo.fail(Call::BookedSeats, Fault::Unavailable);

    let err = stale
        .service
        .confirm(event.id, &user("bob"), hold.id)
        .await
        .unwrap_err();

    let ConfirmError::SeatsUnavailable(taken) = err else {
        panic!("expected SeatsUnavailable, got {err:?}");
    };
    assert_eq!(taken, codes(&["A1"]));
    assert_eq!(
        stale.repo.calls(Call::BookedSeats),
        2,
        "the reload was tried"
    );
}

#[tokio::test]
async fn confirm_of_an_id_without_an_event_finds_its_booking_only_in_its_own_event() {
    // Ids of other origins carry no event, so only the booking can tell.
    let app = App::new();
    let (here, there) = (app.event(&[5]).await, app.event(&[5]).await);
    let id = HoldId::parse("67e55044-10b1-426f-9247-bb680e5fe0c8").unwrap();
    assert_eq!(id.event_hint(), None);
    let now = Utc::now();
    let written = app
        .repo
        .inner()
        .confirm(&Hold {
            id,
            event: there.id,
            user: user("alice"),
            seats: vec![SeatNo::new(1).unwrap()],
            created_at: now,
            expires_at: now + chrono::Duration::minutes(5),
        })
        .await
        .unwrap();
    assert!(matches!(written, ConfirmOutcome::Created(_)));

    let err = app
        .service
        .confirm(here.id, &user("alice"), id)
        .await
        .unwrap_err();

    assert!(matches!(err, ConfirmError::HoldExpired), "{err:?}");
    let booked = app.service.confirm(there.id, &user("alice"), id).await;
    assert_eq!(booked.unwrap(), id);
}
