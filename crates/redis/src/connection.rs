//! One adapter, two topologies: a single Redis (the pool of `pool.rs`) or
//! a Redis Cluster (one shared `ClusterConnection`). The store asks for a
//! [`Conn`] and runs every script and command through it unchanged.
//!
//! Cluster mode is redis-rs' `cluster_async`: the connection keeps one
//! multiplexed connection per node, routes each command by its first key's
//! slot (every key of an event shares the `{e:<id>}` tag, so every script
//! goes to the master of its event's slot), follows MOVED and ASK, and
//! refreshes its slot map when the cluster changes. `redis::Script` sends
//! EVALSHA and on NOSCRIPT sends `SCRIPT LOAD`, which the cluster client
//! fans out to every master, then EVALSHA again: a node restarted empty,
//! or a replica promoted before it ever ran a script, loads it on its
//! first call. It is `Clone` and multiplexed, so there is no pool: a clone
//! per call is two reference counts.
//!
//! The single-node path is as it was: a pooled connection, one round trip
//! per call, no extra allocation (`Conn` only adds a match).

use std::num::NonZeroUsize;
use std::time::Duration;

use booking_domain::StoreError;
use redis::aio::ConnectionLike;
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisError, RedisFuture, Value};

use crate::errors::{self, STORE};
use crate::pool::{self, Pool, TIMEOUT};

/// How many times the cluster client retries one command (MOVED and ASK
/// redirects, TRYAGAIN, reconnects after a node died), waiting 50-500 ms
/// between attempts when it waits. With [`CLUSTER_OVERALL`] it bounds how
/// long a call can take while a failover is under way.
const CLUSTER_RETRIES: u32 = 5;
const CLUSTER_MIN_WAIT_MS: u64 = 50;
const CLUSTER_MAX_WAIT_MS: u64 = 500;
/// The longest one call may take on a cluster, retries and redirects
/// included: past it, the caller gets `StoreError::Unavailable` (503).
pub(crate) const CLUSTER_OVERALL: Duration = Duration::from_secs(3);
/// Connection attempts to one node before the client drops it from its
/// map until the next topology refresh (a dead master is not retried for
/// ever while its replica takes over).
const CLUSTER_CONNECT_ATTEMPTS: usize = 3;

/// Where the store's Redis is.
pub(crate) enum Backend {
    Single(Pool),
    Cluster(ClusterConnection),
}

impl Backend {
    pub fn single(url: &str, pool_size: usize) -> Result<Self, StoreError> {
        pool::build(url, pool_size).map(Self::Single)
    }

    /// A cluster client started from `seeds` (any live node will do; it
    /// learns the others from it). Connects in the background: this
    /// succeeds while the cluster is down, and calls then answer
    /// `Unavailable` within [`CLUSTER_OVERALL`].
    ///
    /// Must be called inside a Tokio runtime (the client's task is spawned
    /// on it, and lives as long as the store).
    pub fn cluster(seeds: &[String]) -> Result<Self, StoreError> {
        if seeds.is_empty() {
            return Err(StoreError::internal(
                STORE,
                "a Redis Cluster needs at least one seed URL",
            ));
        }
        let client = ClusterClientBuilder::new(seeds.iter().map(String::as_str))
            .connection_timeout(TIMEOUT)
            .response_timeout(TIMEOUT)
            .overall_response_timeout(Some(CLUSTER_OVERALL))
            .retries(CLUSTER_RETRIES)
            .min_retry_wait(CLUSTER_MIN_WAIT_MS)
            .max_retry_wait(CLUSTER_MAX_WAIT_MS)
            .max_connection_attempts(
                NonZeroUsize::new(CLUSTER_CONNECT_ATTEMPTS).unwrap_or(NonZeroUsize::MIN),
            )
            .build()
            // A malformed URL, or seeds with different credentials.
            .map_err(|e| StoreError::internal(STORE, e))?;
        let config = redis::cluster::ClusterConfig::new();
        Ok(Self::Cluster(
            client.get_pending_async_connection_with_config(config),
        ))
    }

    pub fn is_cluster(&self) -> bool {
        matches!(self, Self::Cluster(_))
    }

    /// A connection for one call.
    pub async fn get(&self) -> Result<Conn, StoreError> {
        match self {
            Self::Single(pool) => pool
                .get()
                .await
                .map(Conn::Single)
                .map_err(errors::from_pool),
            Self::Cluster(cluster) => Ok(Conn::Cluster(cluster.clone())),
        }
    }

    /// A connection for one call that other calls may share at the same
    /// time: the pooled connection goes back to the pool at once, so
    /// concurrent calls go out (and are read by Redis) in one write
    /// instead of one each. Report its failure with [`Self::failed`].
    pub async fn shared(&self) -> Result<Link, StoreError> {
        let conn = self.get().await?;
        Ok(conn.link())
    }

    /// Maps a shared call's error; a broken connection on a single node
    /// makes the pool forget every idle connection, since the one that
    /// broke is back among them (and a restarted server broke them all):
    /// the next calls connect afresh. The cluster client repairs its own.
    pub fn failed(&self, e: RedisError) -> StoreError {
        if let Self::Single(pool) = self {
            if errors::is_unavailable(&e) {
                pool.retain(|_, _| false);
            }
        }
        errors::from_redis(e)
    }

    /// The single-node pool's size and idle connections; `None` on a
    /// cluster (it keeps one multiplexed connection per node, no pool).
    pub fn pool_status(&self) -> Option<deadpool_redis::Status> {
        match self {
            Self::Single(pool) => Some(pool.status()),
            Self::Cluster(_) => None,
        }
    }
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Single(pool) => f.debug_tuple("Single").field(&pool.status()).finish(),
            // The URLs may carry a password: not printed.
            Self::Cluster(_) => f.write_str("Cluster"),
        }
    }
}

/// One call's connection, whichever the topology.
pub(crate) enum Conn {
    Single(pool::Connection),
    Cluster(ClusterConnection),
}

impl Conn {
    /// Maps the error and, on a single node, drops a broken connection
    /// rather than hand it to the next caller (the pool does not ping
    /// recently used ones). The cluster client repairs its own.
    pub fn failed(self, e: RedisError) -> StoreError {
        if let Self::Single(conn) = self {
            if errors::is_unavailable(&e) {
                drop(pool::Connection::take(conn));
            }
        }
        errors::from_redis(e)
    }
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(conn) => conn.req_packed_command(cmd),
            Self::Cluster(conn) => conn.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(conn) => conn.req_packed_commands(pipeline, offset, count),
            Self::Cluster(conn) => conn.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(conn) => conn.get_db(),
            Self::Cluster(conn) => conn.get_db(),
        }
    }
}

/// A clone of one call's connection, for requests sent side by side on it
/// (both kinds are multiplexed, so clones share the link).
#[derive(Clone)]
pub(crate) enum Link {
    Single(redis::aio::MultiplexedConnection),
    Cluster(ClusterConnection),
}

impl Conn {
    pub fn link(&self) -> Link {
        match self {
            Self::Single(conn) => Link::Single((**conn).clone()),
            Self::Cluster(conn) => Link::Cluster(conn.clone()),
        }
    }
}

impl ConnectionLike for Link {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(conn) => conn.req_packed_command(cmd),
            Self::Cluster(conn) => conn.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(conn) => conn.req_packed_commands(pipeline, offset, count),
            Self::Cluster(conn) => conn.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(conn) => conn.get_db(),
            Self::Cluster(conn) => conn.get_db(),
        }
    }
}
