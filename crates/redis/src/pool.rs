//! The connection pool: deadpool over redis-rs multiplexed connections.
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
use deadpool::Runtime;
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, RedisError};

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

    async fn create(&self) -> Result<MultiplexedConnection, RedisError> {
        self.0.create().await
    }

    async fn recycle(
        &self,
        conn: &mut MultiplexedConnection,
        metrics: &Metrics,
    ) -> RecycleResult<RedisError> {
        if metrics.last_used() < TRUSTED_IDLE {
            return Ok(());
        }
        self.0.recycle(conn, metrics).await
    }
}

/// Builds the pool without connecting: connections are made on first use.
pub(crate) fn build(url: &str, size: usize) -> Result<Pool, StoreError> {
    if size == 0 {
        return Err(StoreError::internal(
            STORE,
            "the Redis pool size must be at least 1",
        ));
    }
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(TIMEOUT))
        .set_response_timeout(Some(TIMEOUT));
    // A malformed URL is a configuration mistake, not an outage.
    let manager = deadpool_redis::Manager::new_with_config(url, config)
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
