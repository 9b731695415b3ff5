//! The `HoldStore` port on Redis: holds with their expiry, and a mirror of
//! which seats are booked, so a reserve costs one round trip and no Postgres.
//!
//! Every operation is one Lua script (in `src/scripts/*.lua`, each with a
//! header giving its KEYS, ARGV and replies), so its checks and writes are
//! one atomic step. Expiry is data judged by the Redis server's own clock
//! (`TIME` inside the scripts): counts are exact the instant a hold expires,
//! with no sweeper. Every key of one event shares the hash tag `{e:<id>}`
//! and every key a script touches is passed in `KEYS`, so the scripts run
//! unchanged on Redis Cluster. The data model is described in [`keys`].
//!
//! Depends on the domain (the port and its types), deadpool and redis-rs.
//! Nothing else of ours depends on it but the api, which wires it in.
//!
//! Beside the port, the api's shared rate limits (`rate_limit`) and
//! idempotency records (`idempotency`) live here, under the same prefix.

mod errors;
pub mod idempotency;
pub mod keys;
mod pool;
pub mod rate_limit;
mod replies;
mod scoped;
mod scripts;
mod store;
#[cfg(feature = "testing")]
pub mod testing;

pub use idempotency::RedisIdempotencyStore;
pub use keys::{EventKeys, InvalidPrefix, Key, KeyPrefix};
pub use rate_limit::RedisRateLimiter;
pub use scripts::{reserve_args, reserve_keys, reserve_script};
pub use store::RedisHoldStore;
