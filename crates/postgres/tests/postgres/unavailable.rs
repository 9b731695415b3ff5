//! A database that is not there is a quick `Unavailable`, never a hang.

use std::time::{Duration, Instant};

use booking_domain::{BookingRepo, EventId, StoreError};
use booking_postgres::{PostgresOptions, PostgresRepo};

fn options() -> PostgresOptions {
    PostgresOptions {
        pool_size: 2,
        ..PostgresOptions::default()
    }
}

#[tokio::test]
async fn a_down_database_is_unavailable_within_seconds() {
    // Building the pool needs no server; port 1 has none.
    let repo = PostgresRepo::connect("postgres://postgres@127.0.0.1:1/booking", options()).unwrap();
    let started = Instant::now();
    let err = repo.event(EventId::new(1).unwrap()).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err:?}");
    assert!(started.elapsed() < repo.longest_call());
    let err = repo.migrate().await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err:?}");
    // What a response could show carries no driver text or address.
    assert_eq!(err.to_string(), "postgres is unavailable");
}

#[tokio::test]
async fn an_unroutable_database_is_unavailable_within_the_connect_timeout() {
    // 10.255.255.1 drops packets instead of refusing: only a timeout ends it.
    let repo =
        PostgresRepo::connect("postgres://postgres@10.255.255.1:5432/booking", options()).unwrap();
    let started = Instant::now();
    let err = repo.info().await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err:?}");
    assert!(
        started.elapsed() < options().connect_timeout + Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_malformed_url_is_refused_without_echoing_it() {
    let err =
        PostgresRepo::connect("postgres://user:secret@host:notaport/db", options()).unwrap_err();
    assert!(!format!("{err} {:?}", std::error::Error::source(&err)).contains("secret"));
}

#[test]
fn the_longest_call_is_a_checkout_and_the_client_deadline() {
    let repo = PostgresRepo::connect("postgres://postgres@127.0.0.1:1/booking", options()).unwrap();
    // 3 s waiting for a connection, 3 s opening one, 5 s + 1 s statement.
    assert_eq!(repo.longest_call(), Duration::from_secs(12));
}
