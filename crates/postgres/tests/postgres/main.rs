//! The Postgres adapter against a real server: one test binary, each test
//! on a database of its own (see `booking_postgres::testing`).

mod contract;
mod migrations;
mod schema;
mod unavailable;
