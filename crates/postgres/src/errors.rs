//! Driver failures translated into the domain's `StoreError`: transient
//! ones (the server is away, busy or restarting) become `Unavailable` (503,
//! worth a retry), everything else `Internal`. The driver's text stays in
//! the error's source, which only the logs print.

use std::io;

use booking_domain::StoreError;
use deadpool_postgres::PoolError;
use tokio_postgres::error::SqlState;

pub(crate) const STORE: &str = "postgres";

/// A pool checkout that failed: every way it fails means no connection.
pub(crate) fn pool(e: PoolError) -> StoreError {
    match e {
        PoolError::NoRuntimeSpecified => StoreError::internal(STORE, e),
        _ => StoreError::unavailable(STORE, e),
    }
}

/// A statement that failed.
pub(crate) fn query(e: tokio_postgres::Error) -> StoreError {
    if is_transient(&e) {
        StoreError::unavailable(STORE, e)
    } else {
        StoreError::internal(STORE, e)
    }
}

/// A migration that failed: `Unavailable` when the connection was lost on
/// the way (start-up may retry), `Internal` when a migration refused.
pub(crate) fn migration(e: refinery::Error) -> StoreError {
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        if let Some(driver) = cause.downcast_ref::<tokio_postgres::Error>() {
            if is_transient(driver) {
                return StoreError::unavailable(STORE, e);
            }
        }
        source = cause.source();
    }
    StoreError::internal(STORE, e)
}

/// Data the store holds but the domain cannot represent.
pub(crate) fn bad_data(what: &'static str) -> StoreError {
    StoreError::internal(STORE, what)
}

fn is_transient(e: &tokio_postgres::Error) -> bool {
    if let Some(code) = e.code() {
        let code = code.code();
        // 08: connection exception; 53: out of connections, memory or disk;
        // 57P0x: shutting down or starting up; 57014: statement timeout;
        // 25006: a read-only standby after a failover; 40001/40P01/55P03:
        // contention that a retry resolves.
        return code.starts_with("08")
            || code.starts_with("53")
            || code.starts_with("57P0")
            || code == SqlState::QUERY_CANCELED.code()
            || code == SqlState::READ_ONLY_SQL_TRANSACTION.code()
            || code == SqlState::T_R_SERIALIZATION_FAILURE.code()
            || code == SqlState::T_R_DEADLOCK_DETECTED.code()
            || code == SqlState::LOCK_NOT_AVAILABLE.code();
    }
    // Without a server error code, only a lost connection is transient;
    // conversion errors and the like are our own bugs.
    e.is_closed() || std::error::Error::source(e).is_some_and(|s| s.is::<io::Error>())
}

/// Whether a confirm that failed with `e` lost a race that re-running it
/// resolves (another confirm of the same seats committed first).
pub(crate) fn is_race(e: &tokio_postgres::Error) -> bool {
    e.code().is_some_and(|code| {
        *code == SqlState::UNIQUE_VIOLATION
            || *code == SqlState::T_R_DEADLOCK_DETECTED
            || *code == SqlState::T_R_SERIALIZATION_FAILURE
    })
}
