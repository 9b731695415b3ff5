//! Migrations: idempotent, safe to run from several instances at once, and
//! able to adopt a database of the original Node API.

use booking_domain::contract::{hold, new_event};
use booking_domain::{BookingRepo, BookingStatus, ConfirmOutcome, EventId, HoldId, SeatNo};
use booking_postgres::testing::TestDatabase;
use chrono::{TimeZone, Utc};
use tokio_postgres::Client;
use uuid::Uuid;

/// The original API's schema, as it created it.
const ORIGINAL_SCHEMA: &str = "
CREATE TABLE events (
    id SERIAL PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    event_date TIMESTAMP NOT NULL,
    location VARCHAR(255),
    total_seats INTEGER NOT NULL,
    created_at TIMESTAMP DEFAULT NOW()
);
CREATE TABLE seats (
    id SERIAL PRIMARY KEY,
    event_id INTEGER REFERENCES events(id),
    seat_code VARCHAR(10) NOT NULL,
    status VARCHAR(20) DEFAULT 'AVAILABLE',
    UNIQUE(event_id, seat_code)
);
CREATE TABLE bookings (
    id SERIAL PRIMARY KEY,
    booking_group_id UUID NOT NULL,
    event_id INTEGER REFERENCES events(id),
    seat_id INTEGER REFERENCES seats(id),
    user_id VARCHAR(255) NOT NULL,
    status VARCHAR(20) DEFAULT 'CONFIRMED',
    created_at TIMESTAMP DEFAULT NOW()
);";

/// An original-API database with one event of three seats, seat S1 booked
/// by `alice` and a cancelled booking of S2.
async fn original_database(raw: &Client, alice: Uuid, cancelled: Uuid) {
    raw.batch_execute(ORIGINAL_SCHEMA).await.unwrap();
    raw.batch_execute(
        "INSERT INTO events (name, event_date, location, total_seats, created_at)
         VALUES ('Old show', TIMESTAMP '2030-06-01 19:30:00', 'Old hall', 3,
                 TIMESTAMP '2024-01-02 03:04:05');
         INSERT INTO seats (event_id, seat_code, status)
         VALUES (1, 'S1', 'BOOKED'), (1, 'S2', 'AVAILABLE'), (1, 'S3', 'AVAILABLE');",
    )
    .await
    .unwrap();
    let book = "INSERT INTO bookings (booking_group_id, event_id, seat_id, user_id, status)
                VALUES ($1, 1, (SELECT id FROM seats WHERE seat_code = $2), $3, $4)";
    raw.execute(book, &[&alice, &"S1", &"alice", &"CONFIRMED"])
        .await
        .unwrap();
    raw.execute(book, &[&cancelled, &"S2", &"bob", &"CANCELLED"])
        .await
        .unwrap();
}

async fn applied_versions(raw: &Client) -> Vec<i32> {
    raw.query(
        "SELECT version FROM refinery_schema_history ORDER BY version",
        &[],
    )
    .await
    .unwrap()
    .iter()
    .map(|row| row.get(0))
    .collect()
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

#[tokio::test]
async fn migrations_applied_twice_are_a_no_op() {
    let db = TestDatabase::create().await;
    let raw = db.raw_client().await;
    let versions = applied_versions(&raw).await;
    assert_eq!(versions, vec![1, 2]);
    db.migrate().await.unwrap();
    assert_eq!(applied_versions(&raw).await, versions);
    db.create_event(&new_event(3)).await.unwrap();
}

#[tokio::test]
async fn instances_starting_together_migrate_once() {
    let db = TestDatabase::create_empty().await;
    // As four instances starting at once would, each on its own connection.
    let outcomes = tokio::join!(db.migrate(), db.migrate(), db.migrate(), db.migrate());
    for outcome in [outcomes.0, outcomes.1, outcomes.2, outcomes.3] {
        outcome.unwrap();
    }
    assert_eq!(applied_versions(&db.raw_client().await).await, vec![1, 2]);
}

#[tokio::test]
async fn an_original_api_database_upgrades_in_place() {
    let db = TestDatabase::create_empty().await;
    let raw = db.raw_client().await;
    let (alice, cancelled) = (Uuid::new_v4(), Uuid::new_v4());
    original_database(&raw, alice, cancelled).await;

    db.migrate().await.unwrap();

    // Old rows read back, their zoneless times taken as UTC.
    let old = EventId::new(1).unwrap();
    let event = db
        .event(old)
        .await
        .unwrap()
        .expect("the old event survives");
    assert_eq!(event.name, "Old show");
    assert_eq!(
        event.date,
        Utc.with_ymd_and_hms(2030, 6, 1, 19, 30, 0).unwrap()
    );
    assert_eq!(
        event.created_at,
        Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 5).unwrap()
    );
    let seat = |n| SeatNo::new(n).unwrap();
    let alice = HoldId::from_uuid(alice);
    assert_eq!(db.booked_seats(old).await.unwrap(), vec![(seat(1), alice)]);
    let booking = db.booking(alice).await.unwrap().unwrap();
    assert_eq!(
        (booking.status, booking.seats),
        (BookingStatus::Confirmed, vec![seat(1)])
    );
    let cancelled = db
        .booking(HoldId::from_uuid(cancelled))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cancelled.status, BookingStatus::Cancelled);

    // Old and new bookings live under the same rules.
    assert_eq!(
        db.confirm(&hold(old, "carol", &[1, 2])).await.unwrap(),
        ConfirmOutcome::SeatsTaken(vec![seat(1)])
    );
    assert!(matches!(
        db.confirm(&hold(old, "carol", &[2, 3])).await.unwrap(),
        ConfirmOutcome::Created(_)
    ));
    let new = db.create_event(&new_event(2)).await.unwrap();
    assert_eq!(
        new.id,
        EventId::new(2).unwrap(),
        "ids continue from the old ones"
    );

    let types: Vec<(String, String)> = raw
        .query(
            "SELECT table_name || '.' || column_name, data_type
             FROM information_schema.columns
             WHERE column_name IN ('event_date', 'created_at') ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    for (column, data_type) in types {
        assert_eq!(data_type, "timestamp with time zone", "{column}");
    }
    let width: i32 = raw
        .query_one(
            "SELECT character_maximum_length FROM information_schema.columns
             WHERE table_name = 'seats' AND column_name = 'seat_code'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(width, 32);
}

#[tokio::test]
async fn an_upgrade_refuses_double_bookings_and_says_how_to_fix_them() {
    let db = TestDatabase::create_empty().await;
    let raw = db.raw_client().await;
    original_database(&raw, Uuid::new_v4(), Uuid::new_v4()).await;
    // The original API could do this: two confirms of one seat.
    let second = Uuid::new_v4();
    raw.execute(
        "INSERT INTO bookings (booking_group_id, event_id, seat_id, user_id, status)
         VALUES ($1, 1, (SELECT id FROM seats WHERE seat_code = 'S1'), 'dave', 'CONFIRMED')",
        &[&second],
    )
    .await
    .unwrap();

    let err = db
        .migrate()
        .await
        .expect_err("V2 must refuse double bookings");
    let message = chain(&err);
    assert!(
        message.contains("1 seat(s) have more than one CONFIRMED booking"),
        "{message}"
    );
    assert!(message.contains("CANCELLED"), "says how to fix: {message}");
    // Nothing changed: V2 did not half-apply.
    let event_date_type: String = raw
        .query_one(
            "SELECT data_type FROM information_schema.columns
             WHERE table_name = 'events' AND column_name = 'event_date'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(event_date_type, "timestamp without time zone");
    assert_eq!(applied_versions(&raw).await, vec![1]);

    // Following the advice lets the upgrade through.
    raw.execute(
        "UPDATE bookings SET status = 'CANCELLED' WHERE booking_group_id = $1",
        &[&second],
    )
    .await
    .unwrap();
    db.migrate().await.unwrap();
    assert_eq!(applied_versions(&raw).await, vec![1, 2]);
}
