//! What the schema guarantees by itself, and how fast it takes an event.

use std::time::{Duration, Instant};

use booking_domain::contract::{hold, new_event};
use booking_domain::{BookingRepo, ConfirmOutcome};
use booking_postgres::testing::TestDatabase;
use tokio_postgres::error::SqlState;

#[tokio::test]
async fn the_database_itself_refuses_a_second_confirmed_booking_of_a_seat() {
    let db = TestDatabase::create().await;
    let event = db.create_event(&new_event(5)).await.unwrap();
    let first = hold(event.id, "alice", &[1]);
    assert!(matches!(
        db.confirm(&first).await.unwrap(),
        ConfirmOutcome::Created(_)
    ));

    let raw = db.raw_client().await;
    let insert = "
        INSERT INTO bookings (booking_group_id, event_id, seat_id, user_id, status)
        SELECT $1, event_id, id, 'mallory', $2 FROM seats WHERE event_id = $3 AND seat_code = 'S1'";
    let event_id = i32::try_from(event.id.get()).unwrap();
    let err = raw
        .execute(insert, &[&uuid::Uuid::new_v4(), &"CONFIRMED", &event_id])
        .await
        .expect_err("a second CONFIRMED row for seat S1 must be refused");
    assert_eq!(err.code(), Some(&SqlState::UNIQUE_VIOLATION));

    // Any number of cancelled rows may sit beside the confirmed one.
    let inserted = raw
        .execute(insert, &[&uuid::Uuid::new_v4(), &"CANCELLED", &event_id])
        .await
        .unwrap();
    assert_eq!(inserted, 1);
}

#[tokio::test]
async fn the_database_refuses_unknown_booking_statuses() {
    let db = TestDatabase::create().await;
    let event = db.create_event(&new_event(1)).await.unwrap();
    let err = db
        .raw_client()
        .await
        .execute(
            "INSERT INTO bookings (booking_group_id, event_id, seat_id, user_id, status)
             SELECT gen_random_uuid(), event_id, id, 'u', 'PENDING' FROM seats WHERE event_id = $1",
            &[&i32::try_from(event.id.get()).unwrap()],
        )
        .await
        .expect_err("PENDING is not a status");
    assert_eq!(err.code(), Some(&SqlState::CHECK_VIOLATION));
}

#[tokio::test]
async fn an_event_of_100k_seats_is_created_in_one_quick_statement() {
    let db = TestDatabase::create().await;
    // Warm the connection and statement cache, as a running server has.
    db.create_event(&new_event(1)).await.unwrap();

    let started = Instant::now();
    let event = db.create_event(&new_event(100_000)).await.unwrap();
    let elapsed = started.elapsed();
    println!("created an event of 100,000 seats in {elapsed:?}");

    let seats: i64 = db
        .raw_client()
        .await
        .query_one(
            "SELECT count(*) FROM seats WHERE event_id = $1 AND seat_code ~ '^S[1-9][0-9]*$'",
            &[&i32::try_from(event.id.get()).unwrap()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(seats, 100_000);
    let last = hold(event.id, "alice", &[100_000]);
    assert!(matches!(
        db.confirm(&last).await.unwrap(),
        ConfirmOutcome::Created(_)
    ));
    // Generous, so a busy CI machine does not fail it; the figure printed
    // above is the one to watch.
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
}

#[tokio::test]
async fn info_reports_a_short_version() {
    let db = TestDatabase::create().await;
    let info = db.info().await.unwrap();
    assert!(info.version.starts_with("PostgreSQL "), "{}", info.version);
    assert!(!info.version.contains(" on "), "{}", info.version);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_confirms_of_one_hold_book_it_once_and_all_succeed() {
    let db = TestDatabase::create().await;
    let event = db.create_event(&new_event(10)).await.unwrap();
    let h = hold(event.id, "alice", &[4, 2, 9]);
    let outcomes =
        futures_util::future::join_all((0..8).map(|_| async { db.confirm(&h).await })).await;
    let mut created = 0;
    for outcome in outcomes {
        match outcome.unwrap() {
            ConfirmOutcome::Created(_) => created += 1,
            ConfirmOutcome::Existing(booking) => assert_eq!(booking.seats.len(), 3),
            other => panic!("a retry of one's own hold is never refused: {other:?}"),
        }
    }
    assert_eq!(created, 1);
    assert_eq!(db.booked_seats(event.id).await.unwrap().len(), 3);
}
