//! Reserving the best `n` available seats.

use std::collections::HashSet;

use booking_domain::{Event, EventId, ReserveError, SeatCode, SeatRequest, SeatState};

use crate::{codes, names, user, App};

async fn best(
    app: &App,
    event: &Event,
    who: &str,
    quantity: u32,
) -> Result<Vec<SeatCode>, ReserveError> {
    let reservation = app
        .service
        .reserve(event.id, user(who), SeatRequest::Best(quantity))
        .await?;
    Ok(event.codes(&reservation.hold.seats))
}

#[tokio::test]
async fn best_available_takes_adjacent_seats_in_the_lowest_row_that_has_them() {
    let app = App::new();
    let event = app.event(&[4, 4, 4]).await;
    app.book(&event, "carol", &["A2"]).await;

    // Row A has only A3-A4 together.
    assert_eq!(
        best(&app, &event, "alice", 3).await.unwrap(),
        codes(&["B1", "B2", "B3"])
    );
    assert_eq!(
        best(&app, &event, "bob", 2).await.unwrap(),
        codes(&["A3", "A4"])
    );
    assert_eq!(best(&app, &event, "dave", 1).await.unwrap(), codes(&["A1"]));
}

#[tokio::test]
async fn best_available_splits_across_rows_only_when_no_row_has_the_seats_together() {
    let app = App::new();
    let event = app.event(&[2, 2]).await;
    app.hold(&event, "carol", &["A1"]).await;
    app.hold(&event, "dave", &["B2"]).await;

    let seats = best(&app, &event, "alice", 2).await.unwrap();

    // The first two available in venue order.
    assert_eq!(seats, codes(&["A2", "B1"]));
}

#[tokio::test]
async fn best_available_answers_not_enough_seats_when_too_few_are_free_and_holds_none() {
    let app = App::new();
    let event = app.event(&[2, 2]).await;
    app.book(&event, "carol", &["A1"]).await;
    app.hold(&event, "dave", &["B2"]).await;

    let err = best(&app, &event, "alice", 3).await.unwrap_err();

    assert!(
        matches!(err, ReserveError::NotEnoughSeats { quantity: 3 }),
        "{err:?}"
    );
    assert_eq!(app.seats(&event, SeatState::Held).await, names(&["B2"]));
    assert_eq!(
        best(&app, &event, "alice", 2).await.unwrap(),
        codes(&["A2", "B1"])
    );
}

#[tokio::test]
async fn a_quantity_of_zero_or_over_the_hold_maximum_is_refused_before_the_event_is_looked_up() {
    let app = App::new();
    let unknown = EventId::new(42).unwrap();

    let zero = app
        .service
        .reserve(unknown, user("alice"), SeatRequest::Best(0))
        .await;
    let five = app
        .service
        .reserve(unknown, user("alice"), SeatRequest::Best(5))
        .await;

    assert!(matches!(zero, Err(ReserveError::NoQuantity)), "{zero:?}");
    assert!(
        matches!(five, Err(ReserveError::TooManySeats { max: 4 })),
        "{five:?}"
    );
}

#[tokio::test]
async fn best_available_keeps_the_hold_limit() {
    let app = App::new();
    let event = app.event(&[20]).await;
    app.hold(&event, "alice", &["A1", "A2", "A3", "A4"]).await;

    let err = best(&app, &event, "alice", 3).await.unwrap_err();

    assert!(
        matches!(err, ReserveError::HoldLimit { max: 6, held: 4 }),
        "{err:?}"
    );
    assert_eq!(
        best(&app, &event, "alice", 2).await.unwrap(),
        codes(&["A5", "A6"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_best_available_requests_never_share_a_seat() {
    let app = App::new();
    let event = app.event(&[5, 5]).await;

    let mut requests = tokio::task::JoinSet::new();
    for who in ["u1", "u2", "u3", "u4", "u5", "u6"] {
        let service = app.service.clone();
        let id = event.id;
        requests.spawn(async move { service.reserve(id, user(who), SeatRequest::Best(2)).await });
    }
    let (mut held, mut refused) = (Vec::new(), 0);
    while let Some(outcome) = requests.join_next().await {
        match outcome.unwrap() {
            Ok(reservation) => held.extend(reservation.hold.seats),
            Err(ReserveError::NotEnoughSeats { quantity: 2 }) => refused += 1,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    assert_eq!((held.len(), refused), (10, 1));
    assert_eq!(held.iter().collect::<HashSet<_>>().len(), 10, "{held:?}");
    assert!(app.seats(&event, SeatState::Available).await.is_empty());
}
