//! The statements stay index lookups as the tables grow: generic plans
//! (what `plan_cache_mode=force_generic_plan` runs) on tables of a
//! realistic size, read from EXPLAIN.

use booking_domain::contract::{hold, new_event_with, rows};
use booking_domain::BookingRepo;
use booking_postgres::testing::{statements, TestDatabase};

use crate::common::created;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_statement_is_planned_as_index_lookups() {
    let db = TestDatabase::create().await;
    let raw = db.raw_client().await;
    // 2,000 events, half of them with rows; 40 of 1,000 seats with 30,000
    // bookings of 500 users, a tenth of them cancelled and queued.
    raw.batch_execute(
        "INSERT INTO events (name, event_date, location, total_seats)
         SELECT 'e' || n, now(), 'hall', 1000 FROM generate_series(1, 2000) AS n;
         INSERT INTO event_rows (event_id, position, label, seats)
         SELECT e, r, chr(64 + r), 200 FROM generate_series(1, 1000) AS e, generate_series(1, 5) AS r;
         INSERT INTO seats (event_id, seat_no, seat_code)
         SELECT e, n, 'S' || n FROM generate_series(1001, 1040) AS e, generate_series(1, 1000) AS n;
         WITH g AS (
             INSERT INTO booking_groups (event_id, id, user_id, status, seat_count, created_at,
                                         cancelled_at, unbook_pending)
             SELECT 1001 + n % 40, gen_random_uuid(), 'user-' || (n % 500),
                    CASE WHEN n % 10 = 0 THEN 'CANCELLED' ELSE 'CONFIRMED' END, 1,
                    now() - n * interval '1 second',
                    CASE WHEN n % 10 = 0 THEN now() END, n % 10 = 0
             FROM generate_series(1, 30000) AS n
             RETURNING event_id, id, user_id, status
         )
         INSERT INTO bookings (booking_group_id, event_id, seat_id, user_id, status)
         SELECT g.id, g.event_id, s.id, g.user_id, g.status
         FROM (SELECT g.*, row_number() OVER (PARTITION BY g.event_id) AS k FROM g) AS g
         JOIN seats s ON s.event_id = g.event_id AND s.seat_no = g.k;",
    )
    .await
    .unwrap();
    // And the repo's own writes on top.
    let event = created(&*db, &new_event_with(rows(&[10, 10]))).await;
    db.confirm(&hold(event.id, "alice", &[4])).await.unwrap();
    raw.batch_execute("ANALYZE; SET plan_cache_mode = force_generic_plan")
        .await
        .unwrap();

    let mut scans = Vec::new();
    for (name, sql) in statements() {
        let params = raw.prepare(sql).await.unwrap().params().len();
        raw.batch_execute(&format!("PREPARE {name} AS {sql}"))
            .await
            .unwrap();
        let nulls = vec!["NULL"; params].join(", ");
        let plan: Vec<String> = raw
            .query(&format!("EXPLAIN EXECUTE {name}({nulls})"), &[])
            .await
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect();
        println!("-- {name}\n{}\n", plan.join("\n"));
        for line in plan {
            for table in [
                "seats",
                "bookings",
                "booking_groups",
                "event_rows",
                "events",
            ] {
                if line.contains(&format!("Seq Scan on {table} ")) {
                    scans.push(format!("{name}: {}", line.trim()));
                }
            }
        }
    }
    assert!(scans.is_empty(), "whole-table scans:\n{}", scans.join("\n"));
}
