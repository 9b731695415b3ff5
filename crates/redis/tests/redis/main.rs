//! The Redis adapter against a real Redis (`$BOOKING_TEST_REDIS_URL`, else
//! the local default): the port contract, then what only Redis can get
//! wrong. Each test has a key prefix or a private server of its own, so
//! they run in parallel.

mod batched_reserves;
mod best_windows;
mod big_load;
mod cluster;
mod contract;
mod cost;
mod fence;
mod helpers;
mod layout;
mod lost_mirror;
mod private_server;
mod reserve_call;
mod restart;
mod unavailable;
