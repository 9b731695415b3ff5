//! The Postgres adapter against a real server: one test binary, each test
//! on a database of its own (see `booking_postgres::testing`).

mod common;
mod contract;
mod creation;
mod fences;
mod migrations;
mod plans;
mod replica;
mod schema;
mod timeouts;
mod unavailable;
