//! The load benchmark of docs/PERFORMANCE.md: drives a running api over
//! HTTP from its own process, and measures the ceilings the stores allow
//! (the reserve's Lua script through `redis-benchmark`, the confirm's SQL
//! through `pgbench`) in the same run, so ratios compare like with like.
//!
//! `full` starts the release binary on a fresh database and key prefix;
//! `smoke` runs every scenario for a moment against any running server,
//! so the test suite keeps the benchmark from rotting.
//!
//! Depends on the adapters only to run exactly their script and SQL.

pub mod ceilings;
pub mod client;
pub mod cpu;
pub mod report;
pub mod scenarios;
pub mod server;
pub mod stats;

pub use scenarios::{Scenario, ScenarioResult};
pub mod full;
mod smoke;

pub use smoke::smoke;
