//! The Redis adapter against a real Redis (`$BOOKING_TEST_REDIS_URL`, else
//! the local default): the port contract, then what only Redis can get
//! wrong. Each test has a key prefix or a private server of its own, so
//! they run in parallel.

mod contract;
mod fence;
mod helpers;
mod private_server;
