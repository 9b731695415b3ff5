//! Black-box tests: the real app on port 0, driven over HTTP as a client
//! would drive it, each test with stores of its own.

#[macro_use]
mod helpers;

mod bad_input;
mod bookings;
mod docs;
mod events;
mod health;
mod idempotency;
mod identity;
mod metrics;
mod race;
mod rate_limits;
mod real_stores;
mod rules;
