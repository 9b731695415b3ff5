//! The load benchmark of docs/PERFORMANCE.md: drives a running api over
//! HTTP from its own process, and measures the ceilings the stores allow
//! (the reserve's Lua script through `redis-benchmark`, the confirm's SQL
//! through `pgbench`) and the references of per-operation cost (Redis's
//! CPU per plain SET, the generator's own CPU, a bulk COPY beside event
//! creation) in the same run, so ratios compare like with like.
//!
//! `full` starts the release binary on a fresh database and key prefix;
//! `smoke` runs every scenario for a moment against any running server,
//! so the test suite keeps the benchmark from rotting.
//!
//! Depends on the adapters only to run exactly their script and SQL.

pub mod ceilings;
pub mod client;
pub mod cpu;
pub mod creation;
pub mod events;
pub mod fanout;
pub mod full;
pub mod own_redis;
pub mod report;
pub mod scenarios;
pub mod server;
mod smoke;
pub mod stats;
mod summary;

pub use scenarios::{Scenario, ScenarioResult};
pub use smoke::smoke;
