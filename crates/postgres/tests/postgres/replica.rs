//! Reads that may lag go to the read replica when there is one.

use booking_domain::contract::{hold, new_event, user};
use booking_domain::BookingRepo;
use booking_postgres::testing::TestDatabase;
use booking_postgres::{PostgresOptions, PostgresRepo};

use crate::common::created;

#[tokio::test]
async fn lagging_reads_go_to_the_replica_and_events_fall_back_to_the_primary() {
    let primary = TestDatabase::create().await;
    // A "replica" that has not caught up at all: another empty database.
    let replica = TestDatabase::create().await;
    let repo = PostgresRepo::connect(
        primary.url(),
        PostgresOptions {
            read_url: Some(replica.url().to_owned()),
            ..TestDatabase::options()
        },
    )
    .unwrap();
    let event = created(&repo, &new_event(5)).await;
    // Not on the replica yet: read from the primary.
    assert_eq!(repo.event(event.id).await.unwrap(), Some(event.clone()));
    repo.confirm(&hold(event.id, "alice", &[1])).await.unwrap();
    // A user's bookings come from the replica, lag and all.
    let page = repo.user_bookings(&user("alice"), None, 10).await.unwrap();
    assert!(page.bookings.is_empty(), "read from the replica");
    // Writes and the reads that must be fresh stay on the primary.
    assert_eq!(repo.booked_seats(event.id).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_replica_that_is_down_is_read_around() {
    let primary = TestDatabase::create().await;
    let repo = PostgresRepo::connect(
        primary.url(),
        PostgresOptions {
            read_url: Some("postgres://postgres@127.0.0.1:1/replica".into()),
            ..TestDatabase::options()
        },
    )
    .unwrap();
    let event = created(&repo, &new_event(5)).await;
    repo.confirm(&hold(event.id, "alice", &[1])).await.unwrap();
    assert_eq!(repo.event(event.id).await.unwrap(), Some(event));
    let page = repo.user_bookings(&user("alice"), None, 10).await.unwrap();
    assert_eq!(page.bookings.len(), 1);
}
