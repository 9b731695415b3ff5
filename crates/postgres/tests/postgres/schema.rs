//! What the schema guarantees by itself, whatever the code does.

use booking_domain::contract::{hold, new_event, new_event_with, rows};
use booking_domain::{BookingRepo, ConfirmOutcome, EventId, SettleOutcome};
use booking_postgres::testing::TestDatabase;
use tokio_postgres::error::SqlState;
use tokio_postgres::Client;

use crate::common::created;

#[tokio::test]
async fn the_database_itself_refuses_a_second_confirmed_booking_of_a_seat() {
    let db = TestDatabase::create().await;
    let event = created(&*db, &new_event(5)).await;
    let first = hold(event.id, "alice", &[1]);
    assert!(matches!(
        db.confirm(&first).await.unwrap(),
        ConfirmOutcome::Created(_)
    ));

    let raw = db.raw_client().await;
    let group = uuid::Uuid::new_v4();
    raw.execute(
        "INSERT INTO booking_groups (event_id, id, user_id, status, seat_count)
         VALUES ($1, $2, 'mallory', 'CONFIRMED', 1)",
        &[&event.id.get(), &group],
    )
    .await
    .unwrap();
    let insert = "
        INSERT INTO bookings (booking_group_id, event_id, seat_id, user_id, status)
        SELECT $1, event_id, id, 'mallory', $2 FROM seats WHERE event_id = $3 AND seat_no = 1";
    let err = raw
        .execute(insert, &[&group, &"CONFIRMED", &event.id.get()])
        .await
        .expect_err("a second CONFIRMED row for seat 1 must be refused");
    assert_eq!(err.code(), Some(&SqlState::UNIQUE_VIOLATION));

    // Any number of cancelled rows may sit beside the confirmed one.
    let inserted = raw
        .execute(insert, &[&group, &"CANCELLED", &event.id.get()])
        .await
        .unwrap();
    assert_eq!(inserted, 1);
}

#[tokio::test]
async fn a_booking_row_needs_its_group_and_a_seat_of_its_own_event() {
    let db = TestDatabase::create().await;
    let (a, b) = (
        created(&*db, &new_event(2)).await.id,
        created(&*db, &new_event(2)).await.id,
    );
    let h = hold(a, "alice", &[1]);
    db.confirm(&h).await.unwrap();
    let raw = db.raw_client().await;
    // No group of that id in the event.
    let err = raw
        .execute(
            "INSERT INTO bookings (booking_group_id, event_id, seat_id, user_id, status)
             SELECT $1, event_id, id, 'u', 'CANCELLED' FROM seats WHERE event_id = $2 AND seat_no = 2",
            &[&uuid::Uuid::new_v4(), &a.get()],
        )
        .await
        .expect_err("a row without its group");
    assert_eq!(err.code(), Some(&SqlState::FOREIGN_KEY_VIOLATION));
    // A seat of event b under event a.
    let err = raw
        .execute(
            "INSERT INTO bookings (booking_group_id, event_id, seat_id, user_id, status)
             SELECT $1, $2, id, 'u', 'CANCELLED' FROM seats WHERE event_id = $3 AND seat_no = 2",
            &[&h.id.uuid(), &a.get(), &b.get()],
        )
        .await
        .expect_err("a seat of another event");
    assert_eq!(err.code(), Some(&SqlState::FOREIGN_KEY_VIOLATION));
}

#[tokio::test]
async fn the_database_refuses_unknown_statuses() {
    let db = TestDatabase::create().await;
    let event = created(&*db, &new_event(1)).await;
    let h = hold(event.id, "alice", &[1]);
    db.confirm(&h).await.unwrap();
    let raw = db.raw_client().await;
    let err = raw
        .execute(
            "INSERT INTO bookings (booking_group_id, event_id, seat_id, user_id, status)
             SELECT $1, event_id, id, 'u', 'PENDING' FROM seats WHERE event_id = $2",
            &[&h.id.uuid(), &event.id.get()],
        )
        .await
        .expect_err("PENDING is not a booking status");
    assert_eq!(err.code(), Some(&SqlState::CHECK_VIOLATION));
    let err = raw
        .execute(
            "UPDATE booking_groups SET status = 'PENDING' WHERE id = $1",
            &[&h.id.uuid()],
        )
        .await
        .expect_err("PENDING is not a group status");
    assert_eq!(err.code(), Some(&SqlState::CHECK_VIOLATION));
}

#[tokio::test]
async fn a_settled_hold_keeps_its_key_so_nothing_can_book_it_later() {
    let db = TestDatabase::create().await;
    let event = created(&*db, &new_event(3)).await;
    let h = hold(event.id, "alice", &[2]);
    assert_eq!(db.settle(&h).await.unwrap(), SettleOutcome::Aborted);
    // Even a hand-written group of that id is refused: the key is taken.
    let err = db
        .raw_client()
        .await
        .execute(
            "INSERT INTO booking_groups (event_id, id, user_id, status, seat_count)
             VALUES ($1, $2, 'alice', 'CONFIRMED', 1)",
            &[&event.id.get(), &h.id.uuid()],
        )
        .await
        .expect_err("one group per hold");
    assert_eq!(err.code(), Some(&SqlState::UNIQUE_VIOLATION));
    assert_eq!(db.confirm(&h).await.unwrap(), ConfirmOutcome::Aborted);
}

#[tokio::test]
async fn events_of_rows_store_each_seat_with_its_number_and_code() {
    let db = TestDatabase::create().await;
    let event = created(&*db, &new_event_with(rows(&[2, 3]))).await;
    let seats: Vec<(i32, String)> = db
        .raw_client()
        .await
        .query(
            "SELECT seat_no, seat_code FROM seats WHERE event_id = $1 ORDER BY seat_no",
            &[&event.id.get()],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    let expected: Vec<(i32, String)> = [(1, "A1"), (2, "A2"), (3, "B1"), (4, "B2"), (5, "B3")]
        .into_iter()
        .map(|(n, code)| (n, code.to_owned()))
        .collect();
    assert_eq!(seats, expected);
    // The original single row stores no rows: its absence means row S.
    let single = created(&*db, &new_event(4)).await;
    let stored: i64 = db
        .raw_client()
        .await
        .query_one(
            "SELECT count(*) FROM event_rows WHERE event_id = $1",
            &[&single.id.get()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(stored, 0);
    assert!(db
        .event(single.id)
        .await
        .unwrap()
        .unwrap()
        .layout
        .is_single_row());
}

#[tokio::test]
async fn ids_beyond_32_bits_work_end_to_end() {
    let db = TestDatabase::create().await;
    let raw = db.raw_client().await;
    raw.batch_execute(
        "SELECT setval(pg_get_serial_sequence('events', 'id'), 5000000000);
         SELECT setval(pg_get_serial_sequence('seats', 'id'), 6000000000);
         SELECT setval(pg_get_serial_sequence('bookings', 'id'), 7000000000);",
    )
    .await
    .unwrap();
    let event = created(&*db, &new_event(3)).await;
    assert_eq!(event.id, EventId::new(5_000_000_001).unwrap());
    assert_eq!(db.event(event.id).await.unwrap(), Some(event.clone()));
    let h = hold(event.id, "alice", &[3]);
    assert!(matches!(
        db.confirm(&h).await.unwrap(),
        ConfirmOutcome::Created(_)
    ));
    assert_eq!(db.booked_seats(event.id).await.unwrap().len(), 1);
    let max: i64 = raw
        .query_one(
            "SELECT max_value FROM pg_sequences WHERE sequencename = 'events_id_seq'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(max, i64::MAX);
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
    let event = created(&*db, &new_event(10)).await;
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

/// Tables distributed by `event_id` when the database is Citus.
const DISTRIBUTED: [&str; 4] = ["seats", "bookings", "booking_groups", "event_rows"];

/// What would keep the distributed tables from being distributed by
/// `event_id` (Citus): a primary key, unique index or exclusion
/// constraint without `event_id` as a plain column, or a foreign key that
/// does not pair `event_id` with the referenced table's distribution
/// column (`events.id`, or `event_id`).
async fn distribution_blockers(raw: &Client) -> Vec<String> {
    let tables: Vec<String> = DISTRIBUTED.iter().map(|t| (*t).to_owned()).collect();
    let mut blockers = Vec::new();
    let indexes = raw
        .query(
            "SELECT c.relname, i.relname,
                    EXISTS (SELECT 1 FROM pg_attribute a
                            WHERE a.attrelid = c.oid AND a.attname = 'event_id'
                              AND a.attnum = ANY (x.indkey::int2[]))
             FROM pg_index x
             JOIN pg_class i ON i.oid = x.indexrelid
             JOIN pg_class c ON c.oid = x.indrelid
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = current_schema() AND c.relname = ANY ($1)
               AND (x.indisunique OR x.indisexclusion)",
            &[&tables],
        )
        .await
        .unwrap();
    for row in indexes {
        if !row.get::<_, bool>(2) {
            blockers.push(format!(
                "unique index {} on {} lacks event_id",
                row.get::<_, String>(1),
                row.get::<_, String>(0)
            ));
        }
    }
    // Each foreign key from or to a distributed table, with the column
    // pairs it matches.
    let keys = raw
        .query(
            "SELECT k.conname, src.relname, dst.relname,
                    ARRAY(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY AS u (n, o)
                          JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n
                          ORDER BY u.o),
                    ARRAY(SELECT a.attname::text FROM unnest(k.confkey) WITH ORDINALITY AS u (n, o)
                          JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n
                          ORDER BY u.o)
             FROM pg_constraint k
             JOIN pg_class src ON src.oid = k.conrelid
             JOIN pg_class dst ON dst.oid = k.confrelid
             JOIN pg_namespace n ON n.oid = src.relnamespace
             WHERE k.contype = 'f' AND n.nspname = current_schema()
               AND (src.relname = ANY ($1) OR dst.relname = ANY ($1))",
            &[&tables],
        )
        .await
        .unwrap();
    for row in keys {
        let (name, from, to): (String, String, String) = (row.get(0), row.get(1), row.get(2));
        let (columns, referenced): (Vec<String>, Vec<String>) = (row.get(3), row.get(4));
        let distribution = if to == "events" { "id" } else { "event_id" };
        let paired = columns
            .iter()
            .zip(&referenced)
            .any(|(c, r)| c == "event_id" && r == distribution);
        let colocated = tables.contains(&from) && (to == "events" || tables.contains(&to));
        if !paired || !colocated {
            blockers.push(format!(
                "foreign key {name} from {from} ({}) to {to} ({}) does not pair event_id with \
                 {to}.{distribution}",
                columns.join(", "),
                referenced.join(", ")
            ));
        }
    }
    blockers
}

#[tokio::test]
async fn every_key_of_the_event_tables_includes_event_id_so_they_can_be_distributed() {
    let db = TestDatabase::create().await;
    let raw = db.raw_client().await;
    let blockers = distribution_blockers(&raw).await;
    assert!(
        blockers.is_empty(),
        "not distributable by event_id:\n{}",
        blockers.join("\n")
    );

    // The check itself catches what it is for.
    raw.batch_execute(
        "CREATE UNIQUE INDEX seats_by_code_alone ON seats (seat_code);
         CREATE TABLE seat_notes (seat_id bigint, event_id bigint,
                                  FOREIGN KEY (event_id, seat_id) REFERENCES seats (event_id, id));
         ALTER TABLE booking_groups ADD CONSTRAINT by_user UNIQUE (user_id, id);
         ALTER TABLE bookings ADD CONSTRAINT seat_alone
             FOREIGN KEY (seat_id, event_id) REFERENCES seats (id, event_id);",
    )
    .await
    .unwrap_or_else(|e| panic!("{}", crate::common::chain(&e)));
    let blockers = distribution_blockers(&raw).await;
    let named = |name: &str| blockers.iter().any(|b| b.contains(name));
    assert!(named("seats_by_code_alone"), "{blockers:?}");
    assert!(named("by_user"), "{blockers:?}");
    // A table that is not distributed by event cannot reference one that is.
    assert!(named("seat_notes"), "{blockers:?}");
    // (seat_id, event_id) -> (id, event_id) pairs event_id correctly.
    assert!(!named("seat_alone"), "{blockers:?}");
    assert_eq!(blockers.len(), 3, "{blockers:?}");
}

#[tokio::test]
async fn the_unbook_queue_takes_any_age() {
    let db = TestDatabase::create().await;
    let event = created(&*db, &new_event(1)).await;
    let h = hold(event.id, "alice", &[1]);
    db.confirm(&h).await.unwrap();
    db.cancel(h.id).await.unwrap();
    assert_eq!(
        db.unbooks_due(std::time::Duration::MAX, 10).await.unwrap(),
        vec![]
    );
}
