//! Events: create one, read its details and counts, read its seat map.

use booking_domain::contract::{new_event, new_event_with, rows};
use booking_domain::{
    Availability, CreateEventError, EventDetailsError, EventId, IdempotencyKey, NewEvent,
    SeatMapError, SeatState,
};

use crate::faulty::{Call, Fault};
use crate::{names, user, App};

fn keyed(new: NewEvent, caller: &str, key: &str, fingerprint: &str) -> NewEvent {
    NewEvent {
        idempotency: Some(IdempotencyKey {
            caller: Some(user(caller)),
            key: key.to_owned(),
            fingerprint: fingerprint.to_owned(),
        }),
        ..new
    }
}

#[tokio::test]
async fn an_event_of_one_row_names_its_seats_s1_to_sn() {
    let app = App::new();

    let created = app.service.create_event(new_event(5)).await.unwrap();

    assert!(!created.replayed);
    assert!(created.event.layout.is_single_row());
    assert_eq!(created.event.total_seats(), 5);
    assert_eq!(
        app.seats(&created.event, SeatState::Available).await,
        names(&["S1", "S2", "S3", "S4", "S5"])
    );
}

#[tokio::test]
async fn an_event_with_rows_keeps_them_in_venue_order() {
    let app = App::new();

    let event = app.event(&[3, 2]).await;

    assert_eq!(event.total_seats(), 5);
    assert_eq!(
        app.seats(&event, SeatState::Available).await,
        names(&["A1", "A2", "A3", "B1", "B2"])
    );
    let hold = app.hold(&event, "alice", &["B2"]).await;
    assert_eq!(event.codes(&hold.seats), crate::codes(&["B2"]));
}

#[tokio::test]
async fn an_event_with_more_seats_than_the_limit_is_refused_and_nothing_is_stored() {
    let app = App::new();

    for too_big in [new_event(1_001), new_event_with(rows(&[600, 401]))] {
        let err = app.service.create_event(too_big).await.unwrap_err();
        assert!(
            matches!(err, CreateEventError::TooManySeats { max: 1_000 }),
            "{err:?}"
        );
    }

    assert_eq!(app.repo.calls(Call::CreateEvent), 0);
    let largest = app.service.create_event(new_event(1_000)).await.unwrap();
    assert_eq!(largest.event.total_seats(), 1_000);
}

#[tokio::test]
async fn a_create_replayed_with_its_idempotency_key_returns_the_same_event() {
    let app = App::new();
    let request = keyed(new_event(10), "admin", "key-1", "body-1");

    let first = app.service.create_event(request.clone()).await.unwrap();
    let again = app.service.create_event(request).await.unwrap();

    assert!(!first.replayed);
    assert!(again.replayed);
    assert_eq!(again.event.id, first.event.id);
    // One event, whose mirror was loaded once.
    let next = EventId::new(first.event.id.get() + 1).unwrap();
    assert!(matches!(
        app.service.event_details(next).await,
        Err(EventDetailsError::EventNotFound)
    ));
    assert_eq!(app.holds.calls(Call::BeginLoad), 1);
}

#[tokio::test]
async fn an_idempotency_key_used_with_another_request_is_refused() {
    let app = App::new();
    let first = app
        .service
        .create_event(keyed(new_event(10), "admin", "key-1", "body-1"))
        .await
        .unwrap();

    let err = app
        .service
        .create_event(keyed(new_event(20), "admin", "key-1", "body-2"))
        .await
        .unwrap_err();

    assert!(matches!(err, CreateEventError::KeyReused), "{err:?}");
    // Keys belong to their caller: another may use the same one.
    let other = app
        .service
        .create_event(keyed(new_event(20), "someone-else", "key-1", "body-2"))
        .await
        .unwrap();
    assert!(!other.replayed);
    assert_ne!(other.event.id, first.event.id);
}

#[tokio::test]
async fn a_new_events_mirror_is_loaded_at_creation_so_its_first_buyer_does_not_wait() {
    let app = App::new();

    let event = app.event(&[10]).await;
    assert_eq!(app.holds.calls(Call::BeginLoad), 1);

    app.hold(&event, "alice", &["A1"]).await;
    app.availability(&event).await;
    assert_eq!(app.holds.calls(Call::BeginLoad), 1);
}

#[tokio::test]
async fn an_event_is_created_even_when_its_mirror_cannot_be_loaded_yet() {
    let app = App::new();
    app.holds.fail(Call::BeginLoad, Fault::Unavailable);

    let event = app.event(&[10]).await;

    // The first use loads it instead.
    app.hold(&event, "alice", &["A1"]).await;
    assert_eq!(app.holds.calls(Call::BeginLoad), 2);
    assert_eq!(app.seats(&event, SeatState::Held).await, names(&["A1"]));
}

#[tokio::test]
async fn event_details_of_an_unknown_event_is_not_found() {
    let app = App::new();

    let err = app
        .service
        .event_details(EventId::new(42).unwrap())
        .await
        .unwrap_err();

    assert!(matches!(err, EventDetailsError::EventNotFound), "{err:?}");
}

#[tokio::test]
async fn event_details_count_booked_and_held_seats_and_they_add_up() {
    let app = App::new();
    let event = app.event(&[5, 5]).await;
    app.book(&event, "alice", &["A1", "A2"]).await;
    app.hold(&event, "bob", &["B1", "B2", "B3"]).await;

    let (details, availability) = app.service.event_details(event.id).await.unwrap();

    assert_eq!(details, event);
    assert_eq!(
        availability,
        Availability {
            total: 10,
            confirmed: 2,
            held: 3
        }
    );
    assert_eq!(availability.available(), 5);
}

#[tokio::test]
async fn an_event_is_read_from_the_repo_once_and_then_served_from_memory() {
    let app = App::new();
    let event = app.event(&[10]).await;
    let other = app.another_instance();

    for _ in 0..3 {
        other.availability(&event).await;
    }
    other.seats(&event, SeatState::Available).await;
    other.hold(&event, "alice", &["A1"]).await;

    assert_eq!(other.repo.calls(Call::Event), 1);
    // The instance that created it never had to ask.
    app.availability(&event).await;
    assert_eq!(app.repo.calls(Call::Event), 0);
}

#[tokio::test]
async fn an_unknown_event_is_not_looked_up_again_for_a_moment() {
    let app = App::new();
    let unknown = EventId::new(42).unwrap();

    for _ in 0..3 {
        assert!(matches!(
            app.service.event_details(unknown).await,
            Err(EventDetailsError::EventNotFound)
        ));
    }

    assert_eq!(app.repo.calls(Call::Event), 1);
}

#[tokio::test]
async fn the_seat_map_shows_each_seat_available_held_or_booked_in_venue_order() {
    let app = App::new();
    let event = app.event(&[3, 3]).await;
    app.book(&event, "alice", &["A2"]).await;
    app.hold(&event, "bob", &["B3", "B1"]).await;

    let (shown, map) = app.service.seat_map(event.id).await.unwrap();

    assert_eq!(shown, event);
    use SeatState::{Available, Booked, Held};
    assert_eq!(
        map.states,
        [Available, Booked, Available, Held, Available, Held]
    );
    assert_eq!(app.seats(&event, Held).await, names(&["B1", "B3"]));
}

#[tokio::test]
async fn the_seat_map_of_an_unknown_event_is_not_found() {
    let app = App::new();

    let err = app
        .service
        .seat_map(EventId::new(42).unwrap())
        .await
        .unwrap_err();

    assert!(matches!(err, SeatMapError::EventNotFound), "{err:?}");
}
