//! The `HoldStore` port on Redis: holds with their expiry, and a mirror of
//! which seats are booked, so a reserve costs one round trip and no Postgres.
//!
//! Every operation is one Lua script (in `src/scripts/*.lua`, each with a
//! header giving its KEYS, ARGV and replies; shared helpers in
//! `src/scripts/lib/` are prepended at build time), so its checks and
//! writes are one atomic step and one round trip. Expiry is data judged by
//! the Redis server's own clock (`TIME` inside the scripts): each script
//! first frees what expired, so answers are exact with no sweeper. Every
//! key of one event shares the hash tag `{e:<id>}` and every script gets
//! all of them in `KEYS`, so the scripts run unchanged on Redis Cluster.
//! Every key of an event expires when the event is idle
//! ([`RedisOptions::idle_ttl`]) or past its `keep_until`. Mirror-gated
//! calls are fenced: a Redis restarted from an older snapshot or its AOF,
//! or a promoted replica, answers "not loaded" (`scripts/lib/fence.lua`).
//! The data layout is described in [`keys`].
//!
//! One server or a Redis Cluster (`connection.rs`): the same store and
//! scripts run on both, the cluster client routing each call to the
//! master of its event's slot.
//!
//! Depends on the domain (the port and its types), deadpool and redis-rs.
//! Nothing else of ours depends on it but the api, which wires it in.
//!
//! Beside the port, the api's shared rate limits (`rate_limit`) and
//! idempotency records (`idempotency`) live here, under the same prefix.

mod connection;
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
pub use keys::{AllKeys, EventKeys, InvalidPrefix, Key, KeyPrefix, Part};
pub use rate_limit::RedisRateLimiter;
pub use scripts::{counts_script, reserve_args, reserve_keys, reserve_script};
pub use store::{RedisHoldStore, RedisOptions};
