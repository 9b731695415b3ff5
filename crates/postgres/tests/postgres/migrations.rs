//! Migrations: idempotent, safe to run from several instances at once, and
//! able to adopt a database of the original Node API.

use std::time::Duration;

use booking_domain::contract::{hold, new_event, seats, user};
use booking_domain::{
    BookingRepo, BookingStatus, CancelOutcome, ConfirmOutcome, EventId, HoldId, SeatNo,
    SettleOutcome,
};
use booking_postgres::testing::TestDatabase;
use chrono::{TimeZone, Utc};
use tokio_postgres::Client;
use uuid::Uuid;

use crate::common::{chain, created};

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

/// The bookings of the original-API database below.
struct Original {
    /// Event 1, S1: CONFIRMED.
    alice: Uuid,
    /// Event 1, S2: CANCELLED.
    bob: Uuid,
    /// Event 2, S1 and S2: CONFIRMED, made before `carol_cancelled`.
    carol: Uuid,
    /// Event 2, S3: CANCELLED.
    carol_cancelled: Uuid,
}

/// An original-API database: event 1 of three seats (S1 booked by alice,
/// S2 booked by bob and cancelled), event 2 of four (S1 and S2 booked
/// together by carol, S3 booked by carol and cancelled).
async fn original_database(raw: &Client) -> Original {
    raw.batch_execute(ORIGINAL_SCHEMA).await.unwrap();
    raw.batch_execute(
        "INSERT INTO events (name, event_date, location, total_seats, created_at)
         VALUES ('Old show', TIMESTAMP '2030-06-01 19:30:00', 'Old hall', 3,
                 TIMESTAMP '2024-01-02 03:04:05'),
                ('Older show', TIMESTAMP '2030-07-01 19:30:00', 'Old hall', 4,
                 TIMESTAMP '2024-01-03 03:04:05');
         INSERT INTO seats (event_id, seat_code, status)
         VALUES (1, 'S1', 'BOOKED'), (1, 'S2', 'AVAILABLE'), (1, 'S3', 'AVAILABLE'),
                (2, 'S1', 'BOOKED'), (2, 'S2', 'BOOKED'), (2, 'S3', 'AVAILABLE'),
                (2, 'S4', 'AVAILABLE');",
    )
    .await
    .unwrap();
    let original = Original {
        alice: Uuid::new_v4(),
        bob: Uuid::new_v4(),
        carol: Uuid::new_v4(),
        carol_cancelled: Uuid::new_v4(),
    };
    let book =
        "INSERT INTO bookings (booking_group_id, event_id, seat_id, user_id, status, created_at)
                VALUES ($1, $2, (SELECT id FROM seats WHERE event_id = $2 AND seat_code = $3),
                        $4, $5, TIMESTAMP '2024-02-01 00:00:00' + $6 * interval '1 minute')";
    for (group, event, seat, user, status, minute) in [
        (original.alice, 1_i32, "S1", "alice", "CONFIRMED", 1),
        (original.bob, 1, "S2", "bob", "CANCELLED", 2),
        (original.carol, 2, "S1", "carol", "CONFIRMED", 3),
        (original.carol, 2, "S2", "carol", "CONFIRMED", 3),
        (original.carol_cancelled, 2, "S3", "carol", "CANCELLED", 4),
    ] {
        raw.execute(
            book,
            &[&group, &event, &seat, &user, &status, &f64::from(minute)],
        )
        .await
        .unwrap();
    }
    original
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

fn seat(n: u32) -> SeatNo {
    SeatNo::new(n).unwrap()
}

#[tokio::test]
async fn migrations_applied_twice_are_a_no_op() {
    let db = TestDatabase::create().await;
    let raw = db.raw_client().await;
    let versions = applied_versions(&raw).await;
    assert_eq!(versions, vec![1, 2, 3]);
    db.migrate().await.unwrap();
    assert_eq!(applied_versions(&raw).await, versions);
    created(&*db, &new_event(3)).await;
}

#[tokio::test]
async fn instances_starting_together_migrate_once() {
    let db = TestDatabase::create_empty().await;
    // As four instances starting at once would, each on its own connection.
    let outcomes = tokio::join!(db.migrate(), db.migrate(), db.migrate(), db.migrate());
    for outcome in [outcomes.0, outcomes.1, outcomes.2, outcomes.3] {
        outcome.unwrap();
    }
    assert_eq!(
        applied_versions(&db.raw_client().await).await,
        vec![1, 2, 3]
    );
}

#[tokio::test]
async fn an_original_api_database_upgrades_in_place() {
    let db = TestDatabase::create_empty().await;
    let raw = db.raw_client().await;
    let original = original_database(&raw).await;

    db.migrate().await.unwrap();
    assert_eq!(applied_versions(&raw).await, vec![1, 2, 3]);

    // Old rows read back, their zoneless times taken as UTC, their seats
    // numbered from their codes.
    let (first, second) = (EventId::new(1).unwrap(), EventId::new(2).unwrap());
    let event = db
        .event(first)
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
    assert!(event.layout.is_single_row());
    assert_eq!(event.total_seats(), 3);
    let numbered: Vec<(i64, String, i32)> = raw
        .query(
            "SELECT event_id, seat_code, seat_no FROM seats ORDER BY event_id, seat_no",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect();
    for (event, code, n) in &numbered {
        assert_eq!(code, &format!("S{n}"), "event {event}");
    }
    assert_eq!(numbered.len(), 7);

    // Each old booking became a group.
    let groups: Vec<(Uuid, i64, String, String, i32, bool)> = raw
        .query(
            "SELECT id, event_id, user_id, status, seat_count, unbook_pending
             FROM booking_groups ORDER BY created_at",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| {
            (
                row.get(0),
                row.get(1),
                row.get(2),
                row.get(3),
                row.get(4),
                row.get(5),
            )
        })
        .collect();
    let group = |id, event, user: &str, status: &str, count| {
        (id, event, user.to_owned(), status.to_owned(), count, false)
    };
    assert_eq!(
        groups,
        vec![
            group(original.alice, 1, "alice", "CONFIRMED", 1),
            group(original.bob, 1, "bob", "CANCELLED", 1),
            group(original.carol, 2, "carol", "CONFIRMED", 2),
            group(original.carol_cancelled, 2, "carol", "CANCELLED", 1),
        ]
    );

    let alice = HoldId::from_uuid(original.alice);
    assert_eq!(
        db.booked_seats(first).await.unwrap(),
        vec![(seat(1), alice)]
    );
    let booking = db.booking(alice).await.unwrap().unwrap();
    assert_eq!(
        (booking.status, booking.seats),
        (BookingStatus::Confirmed, vec![seat(1)])
    );
    let bob = HoldId::from_uuid(original.bob);
    assert_eq!(
        db.booking(bob).await.unwrap().unwrap().status,
        BookingStatus::Cancelled
    );
    assert!(matches!(
        db.cancel(bob).await.unwrap(),
        CancelOutcome::AlreadyCancelled(_)
    ));
    let carol = HoldId::from_uuid(original.carol);
    assert_eq!(
        db.booking(carol).await.unwrap().unwrap().seats,
        seats(&[1, 2])
    );
    // Old cancels need no unbook: mirrors load CONFIRMED rows only.
    assert_eq!(db.unbooks_due(Duration::ZERO, 10).await.unwrap(), vec![]);
    let page = db.user_bookings(&user("carol"), None, 10).await.unwrap();
    let listed: Vec<HoldId> = page.bookings.iter().map(|b| b.id).collect();
    assert_eq!(
        listed,
        vec![HoldId::from_uuid(original.carol_cancelled), carol]
    );

    // Old and new bookings live under the same rules.
    assert_eq!(
        db.confirm(&hold(first, "dave", &[1, 2])).await.unwrap(),
        ConfirmOutcome::SeatsTaken(vec![seat(1)])
    );
    assert!(matches!(
        db.confirm(&hold(first, "dave", &[2, 3])).await.unwrap(),
        ConfirmOutcome::Created(_)
    ));
    assert!(matches!(
        db.cancel(carol).await.unwrap(),
        CancelOutcome::Cancelled(_)
    ));
    let due = db.unbooks_due(Duration::ZERO, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!((due[0].id, due[0].seats.clone()), (carol, seats(&[1, 2])));
    assert!(matches!(
        db.confirm(&hold(second, "erin", &[1, 2, 4])).await.unwrap(),
        ConfirmOutcome::Created(_)
    ));
    let settled = db.settle(&hold(second, "x", &[3])).await.unwrap();
    assert_eq!(settled, SettleOutcome::Aborted);
    let new = created(&*db, &new_event(2)).await;
    assert_eq!(
        new.id,
        EventId::new(3).unwrap(),
        "ids continue from the old ones"
    );

    let types: Vec<(String, String)> = raw
        .query(
            "SELECT table_name || '.' || column_name, data_type
             FROM information_schema.columns
             WHERE table_schema = current_schema()
               AND (column_name IN ('event_date', 'created_at', 'cancelled_at')
                    OR column_name IN ('id', 'event_id', 'seat_id') AND table_name <> 'booking_groups')
             ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    assert!(types.len() >= 12, "{types:?}");
    for (column, data_type) in types {
        let expected = if column.ends_with("id") {
            "bigint"
        } else {
            "timestamp with time zone"
        };
        assert_eq!(data_type, expected, "{column}");
    }
    let sequences: Vec<i64> = raw
        .query(
            "SELECT max_value FROM pg_sequences
             WHERE sequencename IN ('events_id_seq', 'seats_id_seq', 'bookings_id_seq')",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(sequences, vec![i64::MAX; 3]);
}

#[tokio::test]
async fn an_upgrade_refuses_double_bookings_and_says_how_to_fix_them() {
    let db = TestDatabase::create_empty().await;
    let raw = db.raw_client().await;
    original_database(&raw).await;
    // The original API could do this: two confirms of one seat.
    let second = Uuid::new_v4();
    raw.execute(
        "INSERT INTO bookings (booking_group_id, event_id, seat_id, user_id, status)
         VALUES ($1, 1, (SELECT id FROM seats WHERE event_id = 1 AND seat_code = 'S1'), 'dave', 'CONFIRMED')",
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
    assert_eq!(applied_versions(&raw).await, vec![1, 2, 3]);
}

#[tokio::test]
async fn an_upgrade_refuses_seats_whose_number_it_cannot_derive() {
    let db = TestDatabase::create_empty().await;
    let raw = db.raw_client().await;
    original_database(&raw).await;
    // Hand-made seats: a name that is no number, and one beyond the event.
    raw.batch_execute("INSERT INTO seats (event_id, seat_code) VALUES (1, 'VIP1'), (1, 'S4');")
        .await
        .unwrap();

    let err = db.migrate().await.expect_err("V3 must refuse");
    let message = chain(&err);
    assert!(
        message.contains("migration V3 refused: 2 seat(s)"),
        "{message}"
    );
    assert!(message.contains("'S4'"), "names an example: {message}");
    // V2 is in, V3 changed nothing.
    assert_eq!(applied_versions(&raw).await, vec![1, 2]);
    let id_type: String = raw
        .query_one(
            "SELECT data_type FROM information_schema.columns
             WHERE table_name = 'seats' AND column_name = 'id'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(id_type, "integer");

    raw.batch_execute("DELETE FROM seats WHERE seat_code IN ('VIP1', 'S4');")
        .await
        .unwrap();
    db.migrate().await.unwrap();
    assert_eq!(applied_versions(&raw).await, vec![1, 2, 3]);
}

#[tokio::test]
async fn an_upgrade_refuses_bookings_that_mix_statuses() {
    let db = TestDatabase::create_empty().await;
    let raw = db.raw_client().await;
    let original = original_database(&raw).await;
    // Half of carol's booking cancelled by hand.
    raw.execute(
        "UPDATE bookings SET status = 'CANCELLED'
         WHERE booking_group_id = $1 AND seat_id = (SELECT id FROM seats WHERE event_id = 2 AND seat_code = 'S2')",
        &[&original.carol],
    )
    .await
    .unwrap();
    let message = chain(&db.migrate().await.expect_err("V3 must refuse"));
    assert!(
        message.contains("1 booking group(s) mix events, users or statuses"),
        "{message}"
    );
    assert!(message.contains(&original.carol.to_string()), "{message}");
    assert_eq!(applied_versions(&raw).await, vec![1, 2]);
}
