//! `postgres.read_url`: reads that may lag go to a streaming replica. The
//! harness runs a private primary and a real streaming replica of it
//! (`pg_basebackup`), and the replica's replay is paused to make the lag
//! deterministic: a user's bookings come from the replica (lag and all),
//! event details fall back to the primary when the replica does not have
//! the event yet, and every write goes to the primary.

use std::time::Duration;

use booking_api::settings::Secret;
use booking_tests::harness::{wait_until, PgReplica, PgServer};
use reqwest::StatusCode;

use crate::helpers::{spawn_app_with, As, Stores, TestApp, STORES};

const DATABASE: &str = "booking";

/// An instance on the private primary, reading from its replica, with
/// the Redis key prefix of `beside` when given (one deployment).
async fn spawn_on(primary: &PgServer, replica: &PgReplica, beside: Option<&TestApp>) -> TestApp {
    let (url, read_url) = (primary.url_for(DATABASE), replica.url_for(DATABASE));
    let prefix = beside.map(|app| app.settings.redis.key_prefix.clone());
    STORES
        .scope(
            Stores::PostgresRedis,
            spawn_app_with(|s| {
                s.postgres.url = Secret::new(url);
                s.postgres.read_url = Secret::new(read_url);
                if let Some(prefix) = prefix {
                    s.redis.key_prefix = prefix;
                }
            }),
        )
        .await
}

async fn set_replay(replica: &PgReplica, paused: bool) {
    let function = if paused {
        "pg_wal_replay_pause"
    } else {
        "pg_wal_replay_resume"
    };
    let client = replica.connect().await;
    tokio::time::timeout(
        Duration::from_secs(10),
        client.execute(&format!("SELECT {function}()"), &[]),
    )
    .await
    .expect("the replica answers")
    .unwrap_or_else(|e| panic!("{function}: {e}"));
}

async fn my_bookings(app: &TestApp, user: &str) -> Vec<String> {
    let answer = app
        .send("GET", "/users/me/bookings", As::Header(user), None)
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    answer.body["bookings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["bookingGroupId"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_on_a_streaming_replica_reads_lagging_data_there_and_writes_to_the_primary() {
    let primary = PgServer::spawn().await;
    primary
        .connect()
        .await
        .batch_execute(&format!("CREATE DATABASE {DATABASE}"))
        .await
        .unwrap();
    let replica = PgReplica::of(&primary).await;
    // Two instances (the second with a cold event cache), as behind a load
    // balancer. The first migrates the primary; the replica follows.
    let first = spawn_on(&primary, &replica, None).await;
    let second = spawn_on(&primary, &replica, Some(&first)).await;
    replica.wait_caught_up().await;
    let event = first.create_event(10).await;
    let booking = first.book(event, "alice", &["S1", "S2"]).await;
    replica.wait_caught_up().await;
    assert_eq!(
        my_bookings(&second, "alice").await,
        std::slice::from_ref(&booking)
    );

    // The replica stops replaying: from now on it lags.
    set_replay(&replica, true).await;
    let later = first.create_event(5).await;
    // Writes go to the primary: the replica is read-only, and paused.
    let hold = first.hold(later, "alice", &["S1"]).await;
    let answer = second.confirm(later, "alice", &hold).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    let newer = answer.str("bookingGroupId");
    // The second instance has never seen the new event and the replica
    // does not have it: details come from the primary.
    let details = second.event(later).await;
    assert_eq!(details.status, StatusCode::OK, "{:?}", details.body);
    assert_eq!(second.counts(later).await, (1, 0, 4, 5));
    // A booking itself is read where it is fresh.
    assert_eq!(
        second.booking(&newer, As::Header("alice")).await.status,
        StatusCode::OK
    );
    // "My bookings" come from the replica, which lags.
    assert_eq!(
        my_bookings(&second, "alice").await,
        std::slice::from_ref(&booking)
    );

    set_replay(&replica, false).await;
    replica.wait_caught_up().await;
    let what = "the replica to serve the newer booking";
    wait_until(Duration::from_secs(10), what, || async {
        my_bookings(&second, "alice").await.contains(&newer)
    })
    .await;
    assert_eq!(my_bookings(&first, "alice").await, [newer, booking]);
}
