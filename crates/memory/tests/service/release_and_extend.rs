//! A hold's life before its confirm: seen by its owner, extended, released.

use booking_domain::{EventId, ExtendError, HoldId, HoldViewError, ReleaseError, SeatState};

use crate::faulty::{Call, Fault};
use crate::{codes, names, short_holds, user, App, MAX_TOTAL, PAST_SHORT_TTL, TTL};

fn chrono(duration: std::time::Duration) -> chrono::Duration {
    chrono::Duration::from_std(duration).unwrap()
}

#[tokio::test]
async fn releasing_a_hold_frees_its_seats_at_once() {
    let app = App::new();
    let event = app.event(&[3]).await;
    let hold = app.hold(&event, "alice", &["A1", "A2"]).await;

    app.service
        .release(event.id, &user("alice"), hold.id)
        .await
        .unwrap();

    assert_eq!(app.seats(&event, SeatState::Available).await.len(), 3);
    assert_eq!(app.availability(&event).await.held, 0);
    app.hold(&event, "bob", &["A1", "A2"]).await;
}

#[tokio::test]
async fn release_by_another_user_is_refused_and_frees_nothing() {
    let app = App::new();
    let event = app.event(&[3]).await;
    let hold = app.hold(&event, "alice", &["A1"]).await;

    let err = app
        .service
        .release(event.id, &user("bob"), hold.id)
        .await
        .unwrap_err();

    assert!(matches!(err, ReleaseError::NotOwner), "{err:?}");
    assert_eq!(app.seats(&event, SeatState::Held).await, names(&["A1"]));
}

#[tokio::test]
async fn release_of_an_unknown_or_already_released_hold_or_one_of_another_event_is_not_found() {
    let app = App::new();
    let (event, other) = (app.event(&[3]).await, app.event(&[3]).await);
    let released = app.hold(&event, "alice", &["A1"]).await;
    app.service
        .release(event.id, &user("alice"), released.id)
        .await
        .unwrap();
    let elsewhere = app.hold(&other, "alice", &["A1"]).await;

    for id in [released.id, HoldId::generate(event.id), elsewhere.id] {
        let err = app
            .service
            .release(event.id, &user("alice"), id)
            .await
            .unwrap_err();
        assert!(matches!(err, ReleaseError::HoldNotFound), "{err:?}");
    }
    assert_eq!(app.seats(&other, SeatState::Held).await, names(&["A1"]));
}

#[tokio::test]
async fn release_in_an_unknown_event_is_not_found() {
    let app = App::new();
    let unknown = EventId::new(42).unwrap();

    let err = app
        .service
        .release(unknown, &user("alice"), HoldId::generate(unknown))
        .await
        .unwrap_err();

    assert!(matches!(err, ReleaseError::EventNotFound), "{err:?}");
}

#[tokio::test]
async fn the_owner_sees_their_hold_with_its_event() {
    let app = App::new();
    let event = app.event(&[3]).await;
    let hold = app.hold(&event, "alice", &["A3", "A1"]).await;

    let seen = app.service.hold(&user("alice"), hold.id).await.unwrap();

    assert_eq!(seen.hold, hold);
    assert_eq!(seen.event, event);
}

#[tokio::test]
async fn another_user_may_not_see_a_hold() {
    let app = App::new();
    let event = app.event(&[3]).await;
    let hold = app.hold(&event, "alice", &["A1"]).await;

    let err = app.service.hold(&user("bob"), hold.id).await.unwrap_err();

    assert!(matches!(err, HoldViewError::NotOwner), "{err:?}");
}

#[tokio::test]
async fn an_unknown_hold_is_not_found_whatever_its_id_says() {
    let app = App::new();
    let event = app.event(&[3]).await;
    let no_event = HoldId::parse("67e55044-10b1-426f-9247-bb680e5fe0c8").unwrap();

    for id in [
        HoldId::generate(event.id),
        HoldId::generate(EventId::new(42).unwrap()),
        no_event,
    ] {
        let err = app.service.hold(&user("alice"), id).await.unwrap_err();
        assert!(matches!(err, HoldViewError::NotFound), "{err:?}");
    }
}

#[tokio::test]
async fn extending_a_hold_moves_its_expiry_by_the_hold_ttl() {
    let app = App::new();
    let event = app.event(&[3]).await;
    let hold = app.hold(&event, "alice", &["A1"]).await;

    let extended = app.service.extend(&user("alice"), hold.id).await.unwrap();

    assert_eq!(extended.event, event);
    assert_eq!(extended.hold.expires_at, hold.expires_at + chrono(TTL));
    assert_eq!(
        (extended.hold.id, &extended.hold.seats),
        (hold.id, &hold.seats)
    );
    let seen = app.service.hold(&user("alice"), hold.id).await.unwrap();
    assert_eq!(seen.hold.expires_at, extended.hold.expires_at);
}

#[tokio::test]
async fn extending_stops_at_the_maximum_total_and_then_answers_at_limit() {
    let app = App::new();
    let event = app.event(&[3]).await;
    let hold = app.hold(&event, "alice", &["A1"]).await;
    let cap = hold.created_at + chrono(MAX_TOTAL);

    // 60 s + 60 s, then capped at 150 s: 60 + 60 + 30.
    app.service.extend(&user("alice"), hold.id).await.unwrap();
    let last = app.service.extend(&user("alice"), hold.id).await.unwrap();
    let err = app
        .service
        .extend(&user("alice"), hold.id)
        .await
        .unwrap_err();

    assert_eq!(last.hold.expires_at, cap);
    assert!(
        matches!(
            err,
            ExtendError::AtLimit {
                max_total_seconds: 150
            }
        ),
        "{err:?}"
    );
    let seen = app.service.hold(&user("alice"), hold.id).await.unwrap();
    assert_eq!(seen.hold.expires_at, cap);
}

#[tokio::test]
async fn another_users_hold_cannot_be_extended() {
    let app = App::new();
    let event = app.event(&[3]).await;
    let hold = app.hold(&event, "alice", &["A1"]).await;

    let err = app.service.extend(&user("bob"), hold.id).await.unwrap_err();

    assert!(matches!(err, ExtendError::NotOwner), "{err:?}");
    let seen = app.service.hold(&user("alice"), hold.id).await.unwrap();
    assert_eq!(seen.hold.expires_at, hold.expires_at);
}

#[tokio::test]
async fn an_unknown_hold_cannot_be_extended_whatever_its_id_says() {
    let app = App::new();
    let event = app.event(&[3]).await;
    let no_event = HoldId::parse("67e55044-10b1-426f-9247-bb680e5fe0c8").unwrap();

    for id in [
        HoldId::generate(event.id),
        HoldId::generate(EventId::new(42).unwrap()),
        no_event,
    ] {
        let err = app.service.extend(&user("alice"), id).await.unwrap_err();
        assert!(matches!(err, ExtendError::HoldExpired), "{err:?}");
    }
}

#[tokio::test]
async fn a_hold_being_confirmed_can_be_neither_extended_nor_released() {
    let app = App::new();
    let event = app.event(&[3]).await;
    let hold = app.hold(&event, "alice", &["A1"]).await;
    // The repo may or may not have the booking: the confirm is in doubt.
    app.repo.fail(Call::Confirm, Fault::Indeterminate);
    let in_doubt = app.service.confirm(event.id, &user("alice"), hold.id).await;
    assert!(in_doubt.is_err());

    let extend = app.service.extend(&user("alice"), hold.id).await;
    let release = app.service.release(event.id, &user("alice"), hold.id).await;

    assert!(matches!(extend, Err(ExtendError::Confirming)), "{extend:?}");
    assert!(
        matches!(release, Err(ReleaseError::HoldNotFound)),
        "{release:?}"
    );
    assert_eq!(app.seats(&event, SeatState::Held).await, names(&["A1"]));
}

#[tokio::test]
async fn an_expired_hold_can_be_neither_seen_nor_extended_nor_released() {
    let app = App::with(short_holds(), crate::ledger());
    let event = app.event(&[3]).await;
    let hold = app.hold(&event, "alice", &["A1"]).await;

    tokio::time::sleep(PAST_SHORT_TTL).await;

    let seen = app.service.hold(&user("alice"), hold.id).await;
    let extend = app.service.extend(&user("alice"), hold.id).await;
    let release = app.service.release(event.id, &user("alice"), hold.id).await;
    assert!(matches!(seen, Err(HoldViewError::NotFound)), "{seen:?}");
    assert!(
        matches!(extend, Err(ExtendError::HoldExpired)),
        "{extend:?}"
    );
    assert!(
        matches!(release, Err(ReleaseError::HoldNotFound)),
        "{release:?}"
    );
}

#[tokio::test]
async fn an_extended_hold_keeps_its_seats_past_its_first_expiry() {
    let app = App::with(short_holds(), crate::ledger());
    let event = app.event(&[3]).await;
    let hold = app.hold(&event, "alice", &["A1"]).await;
    app.service.extend(&user("alice"), hold.id).await.unwrap();

    tokio::time::sleep(PAST_SHORT_TTL).await;

    assert_eq!(app.refused(&event, "bob", &["A1"]).await, codes(&["A1"]));
    let booked = app.service.confirm(event.id, &user("alice"), hold.id).await;
    assert_eq!(booked.unwrap(), hold.id);
}
