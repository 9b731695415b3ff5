//! The connection pools: deadpool over redis-rs multiplexed connections,
//! one pool per thread that calls.
//!
//! A multiplexed connection has a task of its own that writes and reads
//! the socket, on the runtime of the thread that opened it, and each actix
//! worker is a runtime on a thread of its own. A call from one worker on a
//! connection another worker opened wakes that worker to send it, and is
//! woken from there for the reply: two cross-thread wake-ups, each a
//! syscall and often a context switch, per call. With a pool per thread
//! every call's connection is driven where the call runs.
//!
//! deadpool-redis' own pool pings every connection it hands out, which
//! would double the round trips of a reserve. This pool creates connections
//! with deadpool-redis' manager but trusts a connection that was used a
//! moment ago; one idle for longer is pinged first. Calls share pooled
//! connections (`connection.rs`), so a broken one empties the pool of idle
//! connections (`Backend::failed`).

use std::time::Duration;

use booking_domain::StoreError;
use deadpool::managed::{self, Metrics, RecycleResult};
use deadpool::{Runtime, Status};
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, ConnectionInfo, IntoConnectionInfo, RedisError};
use thread_local::ThreadLocal;

use crate::errors::STORE;

/// How long connecting, waiting for a free connection and waiting for a
/// reply may take, so a down Redis answers "unavailable" fast, never hangs.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(2);

/// A connection idle longer than this is pinged before use: the server may
/// have closed it (its `timeout` setting, a restart) in the meantime.
const TRUSTED_IDLE: Duration = Duration::from_secs(5);

pub(crate) type Pool = managed::Pool<Manager>;

#[derive(Debug)]
pub(crate) struct Manager(deadpool_redis::Manager);

impl managed::Manager for Manager {
    type Type = MultiplexedConnection;
    type Error = RedisError;

    // Connecting and pinging are boxed: the pool's `get` future holds
    // both, and inline they made every Redis call's future about 14 KB,
    // allocated and copied per call (per GET: docs/PERFORMANCE.md, "fifth
    // session"), for paths a call seldom takes.
    async fn create(&self) -> Result<MultiplexedConnection, RedisError> {
        Box::pin(self.0.create()).await
    }

    async fn recycle(
        &self,
        conn: &mut MultiplexedConnection,
        metrics: &Metrics,
    ) -> RecycleResult<RedisError> {
        if metrics.last_used() < TRUSTED_IDLE {
            return Ok(());
        }
        Box::pin(self.0.recycle(conn, metrics)).await
    }
}

/// A pool for each thread that calls, of up to `size` connections each;
/// see the module doc. Connections are made on first use.
pub(crate) struct Pools {
    server: ConnectionInfo,
    size: usize,
    pools: ThreadLocal<Pool>,
}

impl Pools {
    pub fn new(url: &str, size: usize) -> Result<Self, StoreError> {
        if size == 0 {
            return Err(StoreError::internal(
                STORE,
                "the Redis pool size must be at least 1",
            ));
        }
        // A malformed URL is a configuration mistake, not an outage: it
        // fails here, at start, not on the first call.
        let server = url
            .into_connection_info()
            .map_err(|e| StoreError::internal(STORE, e))?;
        Ok(Self {
            server,
            size,
            pools: ThreadLocal::new(),
        })
    }

    /// This thread's pool.
    pub fn local(&self) -> Result<&Pool, StoreError> {
        self.pools
            .get_or_try(|| build(self.server.clone(), self.size))
    }

    /// Forgets every idle connection of every thread's pool: after a
    /// restart of the server they are all broken.
    pub fn forget_idle(&self) {
        for pool in self.pools.iter() {
            pool.retain(|_, _| false);
        }
    }

    /// All threads' pools added up. Before any thread has called there is
    /// no pool yet, and the bound is one pool's.
    pub fn status(&self) -> Status {
        let mut sum = Status {
            max_size: 0,
            size: 0,
            available: 0,
            waiting: 0,
        };
        let mut pools = 0;
        for one in self.pools.iter().map(Pool::status) {
            pools += 1;
            sum.size += one.size;
            sum.available += one.available;
            sum.waiting += one.waiting;
        }
        sum.max_size = self.size * pools.max(1);
        sum
    }
}

fn build(server: ConnectionInfo, size: usize) -> Result<Pool, StoreError> {
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(TIMEOUT))
        .set_response_timeout(Some(TIMEOUT));
    let manager = deadpool_redis::Manager::new_with_config(server, config)
        .map_err(|e| StoreError::internal(STORE, e))?;
    Pool::builder(Manager(manager))
        .max_size(size)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(TIMEOUT))
        .create_timeout(Some(TIMEOUT))
        .recycle_timeout(Some(TIMEOUT))
        .build()
        .map_err(|e| StoreError::internal(STORE, e))
}
