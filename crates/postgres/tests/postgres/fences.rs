//! How confirm and settle of one hold fence each other: the primary key of
//! `booking_groups` makes whichever commits first win, and the other, whose
//! snapshot could not see it, skip its write and re-run to find it.

use std::time::Duration;

use booking_domain::contract::{hold, new_event};
use booking_domain::{BookingRepo, ConfirmOutcome, SettleOutcome};
use booking_postgres::testing::TestDatabase;
use tokio_postgres::Client;

use crate::common::created;

/// Until a backend of `db` waits on a lock (or a transaction).
async fn until_waiting(watcher: &Client, db: &TestDatabase) {
    for _ in 0..200 {
        let waiting: i64 = watcher
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'",
                &[&db.name()],
            )
            .await
            .unwrap()
            .get(0);
        if waiting > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("nothing waits");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confirm_that_commits_after_a_settle_finds_the_hold_aborted_and_writes_nothing() {
    let db = TestDatabase::create().await;
    let event = created(&*db, &new_event(5)).await;
    let h = hold(event.id, "alice", &[1, 2]);
    let (settler, watcher) = (db.raw_client().await, db.raw_client().await);
    // A settle of the hold, not yet committed, as the confirm starts.
    settler
        .batch_execute(&format!(
            "BEGIN; INSERT INTO booking_groups (event_id, id, user_id, status, seat_count)
             VALUES ({}, '{}', 'alice', 'ABORTED', 2)",
            event.id, h.id
        ))
        .await
        .unwrap();
    let confirm = tokio::spawn({
        let (repo, h) = (db.repo().clone(), h.clone());
        async move { repo.confirm(&h).await }
    });
    // The confirm's snapshot cannot see the settle; its insert of the
    // group waits for it...
    until_waiting(&watcher, &db).await;
    settler.batch_execute("COMMIT").await.unwrap();
    // ...then skips, and the re-run reads the verdict.
    assert_eq!(confirm.await.unwrap().unwrap(), ConfirmOutcome::Aborted);
    assert_eq!(db.booking(h.id).await.unwrap(), None);
    assert_eq!(db.booked_seats(event.id).await.unwrap(), vec![]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_settle_that_commits_after_a_confirm_reads_the_booking() {
    let db = TestDatabase::create().await;
    let event = created(&*db, &new_event(5)).await;
    let h = hold(event.id, "alice", &[3]);
    let (confirmer, watcher) = (db.raw_client().await, db.raw_client().await);
    // A confirm of the hold, not yet committed, as the settle starts.
    confirmer
        .batch_execute(&format!(
            "BEGIN;
             INSERT INTO booking_groups (event_id, id, user_id, status, seat_count)
             VALUES ({e}, '{id}', 'alice', 'CONFIRMED', 1);
             INSERT INTO bookings (booking_group_id, event_id, seat_id, user_id, status)
             SELECT '{id}', {e}, id, 'alice', 'CONFIRMED' FROM seats WHERE event_id = {e} AND seat_no = 3;",
            e = event.id,
            id = h.id
        ))
        .await
        .unwrap();
    let settle = tokio::spawn({
        let (repo, h) = (db.repo().clone(), h.clone());
        async move { repo.settle(&h).await }
    });
    until_waiting(&watcher, &db).await;
    confirmer.batch_execute("COMMIT").await.unwrap();
    let SettleOutcome::Booked(booking) = settle.await.unwrap().unwrap() else {
        panic!("the committed confirm wins");
    };
    assert_eq!(booking.id, h.id);
    assert_eq!(booking.seats, h.seats);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confirm_held_up_until_after_its_settle_writes_nothing() {
    let db = TestDatabase::create().await;
    let event = created(&*db, &new_event(5)).await;
    let h = hold(event.id, "alice", &[4]);
    // Prepared first, so the confirm below is held up running, not planning.
    db.confirm(&hold(event.id, "warm", &[5])).await.unwrap();
    let (blocker, watcher) = (db.raw_client().await, db.raw_client().await);
    // Writes to bookings wait (reads do not), as a confirm stuck in a slow
    // server would.
    blocker
        .batch_execute("BEGIN; LOCK TABLE bookings IN EXCLUSIVE MODE")
        .await
        .unwrap();
    let confirm = tokio::spawn({
        let (repo, h) = (db.repo().clone(), h.clone());
        async move { repo.confirm(&h).await }
    });
    until_waiting(&watcher, &db).await;
    assert_eq!(db.settle(&h).await.unwrap(), SettleOutcome::Aborted);
    blocker.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(confirm.await.unwrap().unwrap(), ConfirmOutcome::Aborted);
    assert_eq!(db.booking(h.id).await.unwrap(), None);
}
