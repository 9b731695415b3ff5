//! The repo's handle: a connection pool, built without touching the
//! database, with timeouts on everything that could wait for it.

use std::time::Duration;

use booking_domain::StoreError;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

use crate::errors::{self, STORE};

/// How long to wait for a TCP connection and a free pooled connection.
/// Short, so a down database answers 503 within seconds instead of holding
/// requests until the client gives up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const WAIT_TIMEOUT: Duration = Duration::from_secs(3);

/// `BookingRepo` on Postgres. Cheap to clone: clones share one pool.
#[derive(Clone)]
pub struct PostgresRepo {
    pool: Pool,
}

/// A snapshot of the pool, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    /// The most connections the pool may open.
    pub max_size: usize,
    /// Connections open now, idle or in use.
    pub size: usize,
    /// Idle connections.
    pub available: usize,
    /// Callers waiting for a connection.
    pub waiting: usize,
}

impl PostgresRepo {
    /// A repo on the database at `url` (`postgres://user:pass@host/db`, or
    /// the `key=value` form), with at most `pool_size` connections.
    ///
    /// Connects lazily: this succeeds with the database down, and the
    /// first call that needs it fails with `StoreError::Unavailable`
    /// within a few seconds. Fails only on a malformed URL.
    pub fn connect(url: &str, pool_size: usize) -> Result<Self, StoreError> {
        let mut config: tokio_postgres::Config =
            url.parse().map_err(|e| StoreError::internal(STORE, e))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("booking-api");
        }
        // Notices a peer that vanished without closing the connection.
        config.keepalives(true);
        // Every statement here is a short indexed lookup or write whose best
        // plan does not depend on its parameters. Left to choose, Postgres
        // re-plans the confirm on every call (its seat array's size is
        // unknown, so the generic plan looks dearer), and planning that
        // statement costs as much as running it: the benchmark's (c) went
        // from ~2,000 to ~3,000 bookings/s with generic plans.
        let options = match config.get_options() {
            Some(options) => format!("{options} -c plan_cache_mode=force_generic_plan"),
            None => "-c plan_cache_mode=force_generic_plan".to_owned(),
        };
        config.options(options);
        let manager = Manager::from_config(
            config,
            NoTls,
            // Fast: a checkout costs no round trip; a broken connection is
            // noticed by its first statement and dropped then.
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(WAIT_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .recycle_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|e| StoreError::internal(STORE, e))?;
        Ok(Self { pool })
    }

    /// Applies the migrations of `migrations/` that the database lacks.
    ///
    /// Safe to run at every start-up and from several instances at once:
    /// they queue on an advisory lock, and each finds the work done by the
    /// first. A database of the original Node API upgrades in place. Fails
    /// with `StoreError::Internal` when a migration refuses the data it
    /// found (its message says what to fix; nothing was changed).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        crate::migrate::run(&self.pool).await
    }

    /// How the pool stands now. Reads counters only; no I/O.
    pub fn pool_status(&self) -> PoolStatus {
        let status = self.pool.status();
        PoolStatus {
            max_size: status.max_size,
            size: status.size,
            available: status.available,
            waiting: status.waiting,
        }
    }

    /// Closes the pool: idle connections now, the others when returned.
    /// Later calls fail with `StoreError::Unavailable`. For shutdown.
    pub fn close(&self) {
        self.pool.close();
    }

    pub(crate) async fn client(&self) -> Result<Object, StoreError> {
        self.pool.get().await.map_err(errors::pool)
    }
}

impl std::fmt::Debug for PostgresRepo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The pool's own Debug would print the connection config.
        f.debug_struct("PostgresRepo")
            .field("pool", &self.pool_status())
            .finish()
    }
}
