//! Black-box tests: the real app on port 0, driven over HTTP as a client
//! would drive it, each test with stores of its own.

#[macro_use]
mod helpers;

mod bad_input;
mod bookings;
mod box_office;
mod breakable;
mod cluster;
mod docs;
mod events;
mod faults;
mod health;
mod idempotency;
mod identity;
mod live;
mod map_page;
mod metrics;
mod race;
mod rate_limits;
mod read_replica;
mod real_stores;
mod rules;
mod soak;
