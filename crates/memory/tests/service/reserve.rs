//! Reserving named seats: all or none, checked before any store is asked.

use booking_domain::{EventId, ReserveError, SeatRequest, SeatState};

use crate::faulty::Call;
use crate::{codes, names, short_holds, user, App, PAST_SHORT_TTL, TTL};

async fn reserve(app: &App, event: EventId, who: &str, seats: &[&str]) -> ReserveError {
    app.service
        .reserve(event, user(who), SeatRequest::Codes(codes(seats)))
        .await
        .unwrap_err()
}

#[tokio::test]
async fn reserving_free_seats_holds_them_in_the_order_asked_for_the_hold_ttl() {
    let app = App::new();
    let event = app.event(&[5, 5]).await;

    let reservation = app
        .service
        .reserve(
            event.id,
            user("alice"),
            SeatRequest::Codes(codes(&["B2", "A1"])),
        )
        .await
        .unwrap();

    let hold = reservation.hold;
    assert_eq!(reservation.event, event);
    assert_eq!(event.codes(&hold.seats), codes(&["B2", "A1"]));
    assert_eq!(hold.user, user("alice"));
    assert_eq!(
        (hold.event, hold.id.event_hint()),
        (event.id, Some(event.id))
    );
    assert_eq!(
        hold.expires_at - hold.created_at,
        chrono::Duration::from_std(TTL).unwrap()
    );
    assert_eq!(
        app.seats(&event, SeatState::Held).await,
        names(&["A1", "B2"])
    );
}

#[tokio::test]
async fn an_empty_request_is_refused_before_the_event_is_looked_up() {
    let app = App::new();

    let err = reserve(&app, EventId::new(42).unwrap(), "alice", &[]).await;

    assert!(matches!(err, ReserveError::NoSeats), "{err:?}");
    assert_eq!(app.repo.calls(Call::Event), 0);
}

#[tokio::test]
async fn duplicate_seats_are_named_once_each() {
    let app = App::new();

    let err = reserve(
        &app,
        EventId::new(42).unwrap(),
        "alice",
        &["S1", "S1", "S1", "S2", "S3", "S2"],
    )
    .await;

    let ReserveError::DuplicateSeats(duplicates) = err else {
        panic!("expected DuplicateSeats, got {err:?}");
    };
    assert_eq!(duplicates, codes(&["S1", "S2"]));
    assert_eq!(app.repo.calls(Call::Event), 0);
}

#[tokio::test]
async fn more_seats_than_one_hold_may_take_are_refused() {
    let app = App::new();
    let event = app.event(&[10]).await;

    let err = reserve(&app, event.id, "alice", &["A1", "A2", "A3", "A4", "A5"]).await;

    assert!(
        matches!(err, ReserveError::TooManySeats { max: 4 }),
        "{err:?}"
    );
    assert!(app.seats(&event, SeatState::Held).await.is_empty());
    app.hold(&event, "alice", &["A1", "A2", "A3", "A4"]).await;
}

#[tokio::test]
async fn seats_the_event_does_not_have_are_named_and_nothing_is_held() {
    let app = App::new();
    let event = app.event(&[5]).await;

    let err = reserve(&app, event.id, "alice", &["A1", "A6", "B1", "S1"]).await;

    let ReserveError::UnknownSeats(unknown) = err else {
        panic!("expected UnknownSeats, got {err:?}");
    };
    assert_eq!(unknown, codes(&["A6", "B1", "S1"]));
    assert!(app.seats(&event, SeatState::Held).await.is_empty());
}

#[tokio::test]
async fn seats_held_or_booked_by_others_are_named_by_code_and_nothing_is_held() {
    let app = App::new();
    let event = app.event(&[5]).await;
    app.hold(&event, "bob", &["A2"]).await;
    app.book(&event, "carol", &["A4"]).await;

    let taken = app
        .refused(&event, "alice", &["A1", "A2", "A3", "A4"])
        .await;

    assert_eq!(taken, codes(&["A2", "A4"]));
    assert_eq!(
        app.seats(&event, SeatState::Available).await,
        names(&["A1", "A3", "A5"])
    );
}

#[tokio::test]
async fn a_user_may_hold_only_so_many_seats_of_an_event_at_once() {
    let app = App::new();
    let event = app.event(&[20]).await;
    app.hold(&event, "alice", &["A1", "A2", "A3", "A4"]).await;

    let err = reserve(&app, event.id, "alice", &["A5", "A6", "A7"]).await;

    assert!(
        matches!(err, ReserveError::HoldLimit { max: 6, held: 4 }),
        "{err:?}"
    );
    app.hold(&event, "alice", &["A5", "A6"]).await;
    // The limit is per user and per event.
    app.hold(&event, "bob", &["A7", "A8", "A9"]).await;
    let other = app.event(&[10]).await;
    app.hold(&other, "alice", &["A1", "A2", "A3", "A4"]).await;
}

#[tokio::test]
async fn booked_seats_no_longer_count_against_the_hold_limit() {
    let app = App::new();
    let event = app.event(&[20]).await;
    app.book(&event, "alice", &["A1", "A2", "A3", "A4"]).await;
    app.book(&event, "alice", &["A5", "A6"]).await;

    app.hold(&event, "alice", &["A7", "A8", "A9", "A10"]).await;
}

#[tokio::test]
async fn reserving_in_an_unknown_event_is_not_found() {
    let app = App::new();

    let err = reserve(&app, EventId::new(42).unwrap(), "alice", &["S1"]).await;

    assert!(matches!(err, ReserveError::EventNotFound), "{err:?}");
}

#[tokio::test]
async fn a_hold_that_expires_frees_its_seats_at_once() {
    let app = App::with(short_holds(), crate::ledger());
    let event = app.event(&[5]).await;
    app.hold(&event, "alice", &["A1", "A2", "A3", "A4"]).await;
    assert_eq!(app.refused(&event, "bob", &["A1"]).await, codes(&["A1"]));
    assert_eq!(app.availability(&event).await.held, 4);

    tokio::time::sleep(PAST_SHORT_TTL).await;

    // No sweeper needed: counts, the map and new holds see it at once.
    assert_eq!(app.availability(&event).await.held, 0);
    assert_eq!(app.seats(&event, SeatState::Available).await.len(), 5);
    app.hold(&event, "bob", &["A1"]).await;
    // Nor does the user's limit (4 expired + 4 new would be over 6).
    app.hold(&event, "alice", &["A2", "A3", "A4", "A5"]).await;
}
