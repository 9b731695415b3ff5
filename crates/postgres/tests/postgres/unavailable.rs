//! A database that is not there is a quick `Unavailable`, never a hang.

use std::time::{Duration, Instant};

use booking_domain::{BookingRepo, EventId, StoreError};
use booking_postgres::PostgresRepo;

#[tokio::test]
async fn a_down_database_is_unavailable_within_seconds() {
    // Building the pool needs no server; port 1 has none.
    let repo = PostgresRepo::connect("postgres://postgres@127.0.0.1:1/booking", 2).unwrap();
    let started = Instant::now();
    let err = repo.event(EventId::new(1).unwrap()).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    let err = repo.migrate().await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err:?}");
    // What a response could show carries no driver text or address.
    assert_eq!(err.to_string(), "postgres is unavailable");
}

#[tokio::test]
async fn an_unroutable_database_is_unavailable_within_the_connect_timeout() {
    // 10.255.255.1 drops packets instead of refusing: only a timeout ends it.
    let repo = PostgresRepo::connect("postgres://postgres@10.255.255.1:5432/booking", 2).unwrap();
    let started = Instant::now();
    let err = repo.info().await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_malformed_url_is_refused_without_echoing_it() {
    let err = PostgresRepo::connect("postgres://user:secret@host:notaport/db", 2).unwrap_err();
    assert!(!format!("{err} {:?}", std::error::Error::source(&err)).contains("secret"));
}
