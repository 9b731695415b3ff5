//! One adapter, two topologies: a single Redis (the pool of `pool.rs`) or
//! a Redis Cluster (one shared `ClusterConnection`). The store asks the
//! [`Backend`] for a [`Link`] and runs every script and command through it
//! unchanged.
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
//! On a single node a call takes a multiplexed connection from its
//! thread's pool, hands it straight back and runs on a clone of it, so
//! concurrent calls share a few connections and go out (and are read by
//! Redis) together instead of a write each; one round trip per call either
//! way.

use std::future::Future;
use std::num::NonZeroUsize;
use std::time::Duration;

use booking_domain::StoreError;
use deadpool::managed::PoolError;
use redis::aio::ConnectionLike;
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisError, RedisFuture, ScriptInvocation, Value};

use crate::errors::{self, STORE};
use crate::pool::{Pools, TIMEOUT};

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
    /// Boxed: a thread-local table is several hundred bytes.
    Single(Box<Pools>),
    Cluster(ClusterConnection),
}

impl Backend {
    pub fn single(url: &str, pool_size: usize) -> Result<Self, StoreError> {
        Pools::new(url, pool_size).map(|pools| Self::Single(Box::new(pools)))
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

    /// A connection for one call (or a few sent side by side), which other
    /// calls may share at the same time. Report its failure with
    /// [`Self::failed`].
    pub async fn shared(&self) -> Result<Link, StoreError> {
        match self {
            Self::Single(pools) => {
                let conn = match pools.local()?.get().await {
                    Ok(conn) => conn,
                    // No connection could be made: the server is down, or
                    // back as a new process, and either way the other
                    // threads' idle connections are broken too.
                    Err(PoolError::Backend(e)) => return Err(self.failed(e)),
                    Err(e) => return Err(errors::from_pool(e)),
                };
                // Back to the pool at once: the clone keeps the link.
                Ok(Link::Single((*conn).clone()))
            }
            Self::Cluster(cluster) => Ok(Link::Cluster(cluster.clone())),
        }
    }

    /// One script call on a shared connection.
    pub async fn run(&self, invocation: &ScriptInvocation<'_>) -> Result<Value, StoreError> {
        self.bounded(async {
            let mut link = self.shared().await?;
            let reply = invocation.invoke_async(&mut link).await;
            reply.map_err(|e| self.failed(e))
        })
        .await
    }

    /// A call, from taking its connection to its reply, within one
    /// [`TIMEOUT`]. On a single node taking a connection may ping an idle
    /// one or connect afresh, each with a timeout of its own before the
    /// call's: against a frozen server they added up to 4 s. The cluster
    /// client bounds its calls itself ([`CLUSTER_OVERALL`]).
    pub async fn bounded<T>(
        &self,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        match self {
            Self::Single(pools) => match tokio::time::timeout(TIMEOUT, call).await {
                Ok(result) => result,
                Err(elapsed) => {
                    pools.forget_idle();
                    Err(StoreError::unavailable(STORE, elapsed))
                }
            },
            Self::Cluster(_) => call.await,
        }
    }

    /// Maps a call's error; a broken connection on a single node makes the
    /// pools forget every idle connection, since the one that broke is back
    /// among them (and a restarted server broke them all): the next calls
    /// connect afresh. The cluster client repairs its own.
    pub fn failed(&self, e: RedisError) -> StoreError {
        if let Self::Single(pools) = self {
            if errors::is_unavailable(&e) {
                pools.forget_idle();
            }
        }
        errors::from_redis(e)
    }

    /// The single-node pools' size and idle connections, all threads'
    /// added up; `None` on a cluster (it keeps one multiplexed connection
    /// per node, no pool).
    pub fn pool_status(&self) -> Option<deadpool_redis::Status> {
        match self {
            Self::Single(pools) => Some(pools.status()),
            Self::Cluster(_) => None,
        }
    }
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Single(pools) => f.debug_tuple("Single").field(&pools.status()).finish(),
            // The URLs may carry a password: not printed.
            Self::Cluster(_) => f.write_str("Cluster"),
        }
    }
}

/// A call's connection; clones share it (both kinds are multiplexed), so
/// requests can be sent side by side on it.
#[derive(Clone)]
pub(crate) enum Link {
    Single(redis::aio::MultiplexedConnection),
    Cluster(ClusterConnection),
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
