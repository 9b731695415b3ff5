//! `BookingRepo` on Postgres: events, seats and bookings, the source of
//! truth.
//!
//! [`PostgresRepo`] owns deadpool-postgres pools that connect lazily, so
//! building it never needs the database up, and every wait has a bound
//! ([`PostgresOptions`]): the server's statement and lock timeouts, and a
//! client-side deadline over each call, because a hung server enforces
//! nothing. A down or hung database is a quick
//! [`StoreError::Unavailable`](booking_domain::StoreError), or
//! `Indeterminate` for a write whose answer was lost.
//! [`PostgresRepo::migrate`] applies `migrations/` (embedded at build time)
//! under an advisory lock, so several instances may start at once.
//!
//! Every use case is one statement, one round trip, set-based; the partial
//! unique index `bookings_one_confirmed_per_seat` is what finally makes a
//! double booking impossible, and the primary key of `booking_groups` is
//! what makes a confirm exactly-once and fences it against settling. Keys
//! all include `event_id`, so the schema can be distributed by event.
//!
//! Depends on the domain and the Postgres driver stack only. With the
//! `testing` feature, [`testing::TestDatabase`] gives tests a fresh
//! database of their own.

mod errors;
mod migrate;
mod options;
mod queries;
mod repo;
mod rows;
mod sql;
#[cfg(feature = "testing")]
pub mod testing;

pub use options::PostgresOptions;
pub use repo::{PoolStatus, PostgresRepo};
pub use sql::confirm_statement;
