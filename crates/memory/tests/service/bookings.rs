//! Bookings: cancel one, view one, list one's own.

use booking_domain::{BookingStatus, CancelError, HoldId, SeatState, ViewBookingError};

use crate::{admin, codes, names, owner, user, App};

#[tokio::test]
async fn the_owner_may_cancel_their_booking_and_its_seats_go_back_on_sale_at_once() {
    let app = App::new();
    let event = app.event(&[3]).await;
    let booking = app.book(&event, "alice", &["A1", "A2"]).await;

    app.service.cancel(&owner("alice"), booking).await.unwrap();

    let view = app.service.booking(&owner("alice"), booking).await.unwrap();
    assert_eq!(view.booking.status, BookingStatus::Cancelled);
    assert_eq!(app.seats(&event, SeatState::Available).await.len(), 3);
    assert_eq!(app.availability(&event).await.confirmed, 0);
    app.book(&event, "bob", &["A1", "A2"]).await;
}

#[tokio::test]
async fn an_admin_may_cancel_someone_elses_booking() {
    let app = App::new();
    let event = app.event(&[3]).await;
    let booking = app.book(&event, "alice", &["A1"]).await;

    app.service.cancel(&admin("carol"), booking).await.unwrap();

    let view = app.service.booking(&owner("alice"), booking).await.unwrap();
    assert_eq!(view.booking.status, BookingStatus::Cancelled);
    assert!(app.seats(&event, SeatState::Booked).await.is_empty());
}

#[tokio::test]
async fn cancelling_someone_elses_booking_is_forbidden_and_changes_nothing() {
    let app = App::new();
    let event = app.event(&[3]).await;
    let booking = app.book(&event, "alice", &["A1"]).await;

    let err = app
        .service
        .cancel(&owner("bob"), booking)
        .await
        .unwrap_err();

    assert!(matches!(err, CancelError::Forbidden), "{err:?}");
    let view = app.service.booking(&owner("alice"), booking).await.unwrap();
    assert_eq!(view.booking.status, BookingStatus::Confirmed);
    assert_eq!(app.seats(&event, SeatState::Booked).await, names(&["A1"]));
}

#[tokio::test]
async fn cancelling_twice_answers_already_cancelled_and_frees_nothing_again() {
    let app = App::new();
    let event = app.event(&[3]).await;
    let first = app.book(&event, "alice", &["A1"]).await;
    app.service.cancel(&owner("alice"), first).await.unwrap();
    app.book(&event, "bob", &["A1"]).await;

    let err = app
        .service
        .cancel(&owner("alice"), first)
        .await
        .unwrap_err();

    assert!(matches!(err, CancelError::AlreadyCancelled), "{err:?}");
    assert_eq!(app.seats(&event, SeatState::Booked).await, names(&["A1"]));
    assert_eq!(app.refused(&event, "carol", &["A1"]).await, codes(&["A1"]));
}

#[tokio::test]
async fn cancelling_an_unknown_booking_or_a_hold_not_yet_confirmed_is_not_found() {
    let app = App::new();
    let event = app.event(&[3]).await;
    let hold = app.hold(&event, "alice", &["A1"]).await;

    for id in [HoldId::generate(event.id), hold.id] {
        let err = app.service.cancel(&owner("alice"), id).await.unwrap_err();
        assert!(matches!(err, CancelError::NotFound), "{err:?}");
    }
    assert_eq!(app.seats(&event, SeatState::Held).await, names(&["A1"]));
}

#[tokio::test]
async fn the_owner_sees_their_booking_with_its_event() {
    let app = App::new();
    let event = app.event(&[3, 3]).await;
    let booking = app.book(&event, "alice", &["B1", "A3"]).await;

    let view = app.service.booking(&owner("alice"), booking).await.unwrap();

    assert_eq!(view.booking.id, booking);
    assert_eq!(view.booking.event, event.id);
    assert_eq!(view.booking.user, user("alice"));
    assert_eq!(view.booking.status, BookingStatus::Confirmed);
    assert_eq!(view.event, event);
    // In venue order.
    assert_eq!(view.event.codes(&view.booking.seats), codes(&["A3", "B1"]));
}

#[tokio::test]
async fn an_admin_may_view_someone_elses_booking_but_another_user_may_not() {
    let app = App::new();
    let event = app.event(&[3]).await;
    let booking = app.book(&event, "alice", &["A1"]).await;

    let seen = app.service.booking(&admin("carol"), booking).await;
    let err = app
        .service
        .booking(&owner("bob"), booking)
        .await
        .unwrap_err();

    assert_eq!(seen.unwrap().booking.user, user("alice"));
    assert!(matches!(err, ViewBookingError::Forbidden), "{err:?}");
}

#[tokio::test]
async fn an_unknown_booking_is_not_found() {
    let app = App::new();
    let event = app.event(&[3]).await;

    let err = app
        .service
        .booking(&owner("alice"), HoldId::generate(event.id))
        .await
        .unwrap_err();

    assert!(matches!(err, ViewBookingError::NotFound), "{err:?}");
}

#[tokio::test]
async fn a_users_bookings_come_newest_first_a_page_at_a_time() {
    let app = App::new();
    let (event, other) = (app.event(&[10]).await, app.event(&[10]).await);
    let mut made = Vec::new();
    for seat in ["A1", "A2", "A3", "A4"] {
        made.push(app.book(&event, "alice", &[seat]).await);
    }
    made.push(app.book(&other, "alice", &["A1"]).await);
    app.book(&event, "bob", &["A9"]).await;
    app.service.cancel(&owner("alice"), made[1]).await.unwrap();

    let mut pages = Vec::new();
    let mut cursor = None;
    loop {
        let page = app
            .service
            .user_bookings(&owner("alice"), cursor, 2)
            .await
            .unwrap();
        pages.push(
            page.bookings
                .iter()
                .map(|v| v.booking.id)
                .collect::<Vec<_>>(),
        );
        for view in &page.bookings {
            assert_eq!(view.event.id, view.booking.event);
            assert_eq!(view.booking.user, user("alice"));
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }

    made.reverse();
    assert_eq!(pages, [&made[0..2], &made[2..4], &made[4..5]]);
    // Cancelled bookings are listed too, as cancelled.
    let all = app
        .service
        .user_bookings(&owner("alice"), None, 3)
        .await
        .unwrap();
    let statuses: Vec<_> = all.bookings.iter().map(|v| v.booking.status).collect();
    use BookingStatus::{Cancelled, Confirmed};
    assert_eq!(statuses, [Confirmed, Confirmed, Confirmed]);
    let oldest = app
        .service
        .user_bookings(&owner("alice"), all.next, 3)
        .await
        .unwrap();
    let statuses: Vec<_> = oldest.bookings.iter().map(|v| v.booking.status).collect();
    assert_eq!(statuses, [Cancelled, Confirmed]);
}

#[tokio::test]
async fn the_page_size_is_kept_between_one_and_the_configured_maximum() {
    let app = App::new();
    let event = app.event(&[10]).await;
    for seat in ["A1", "A2", "A3", "A4", "A5"] {
        app.book(&event, "alice", &[seat]).await;
    }

    let big = app
        .service
        .user_bookings(&owner("alice"), None, 1_000)
        .await
        .unwrap();
    let zero = app
        .service
        .user_bookings(&owner("alice"), None, 0)
        .await
        .unwrap();

    assert_eq!(big.bookings.len(), 3);
    assert!(big.next.is_some());
    assert_eq!(zero.bookings.len(), 1);
    assert_eq!(zero.bookings[0].booking.id, big.bookings[0].booking.id);
}

#[tokio::test]
async fn a_user_without_bookings_gets_one_empty_last_page() {
    let app = App::new();
    let event = app.event(&[3]).await;
    app.book(&event, "bob", &["A1"]).await;

    let list = app
        .service
        .user_bookings(&owner("alice"), None, 3)
        .await
        .unwrap();

    assert!(list.bookings.is_empty());
    assert!(list.next.is_none());
}
