//! `BookingRepo` on Postgres: events, seats and bookings, the source of
//! truth.
//!
//! [`PostgresRepo`] owns a deadpool-postgres pool that connects lazily, so
//! building it never needs the database up, and its timeouts turn a down
//! database into a quick [`StoreError::Unavailable`](booking_domain::StoreError)
//! rather than a hang. [`PostgresRepo::migrate`] applies `migrations/`
//! (embedded at build time) under an advisory lock, so several instances
//! may start at once. Every use case is one statement, one round trip; the
//! partial unique index of V2 is what finally makes a double booking
//! impossible, and its violations come back as domain outcomes.
//!
//! Depends on the domain and the Postgres driver stack only. With the
//! `testing` feature, [`testing::TestDatabase`] gives tests a fresh
//! database of their own.

mod errors;
mod migrate;
mod queries;
mod repo;
mod rows;
#[cfg(feature = "testing")]
pub mod testing;

pub use queries::confirm_statement;
pub use repo::{PoolStatus, PostgresRepo};
