//! Driver failures translated into the domain's `StoreError`.
//!
//! - Before a statement was sent (no connection from the pool, or the
//!   connection already gone): `Unavailable`, nothing happened.
//! - A server error (it has a SQLSTATE) ends the statement's transaction:
//!   nothing happened. Transient ones (the server is away, busy, restarting,
//!   or timed the statement out) are `Unavailable`, others `Internal`.
//! - After a write was sent, a lost connection, an I/O error, no answer in
//!   time, or a FATAL server error (the session is ended, perhaps by a
//!   crash after the commit reached the disk) are `Indeterminate`: it may
//!   have happened. For a read they are `Unavailable`.
//!
//! The driver's text stays in the error's source, which only the logs
//! print; what the domain shows is "postgres is unavailable" and the like.

use std::io;
use std::time::Duration;

use booking_domain::StoreError;
use deadpool_postgres::PoolError;
use tokio_postgres::error::{Severity, SqlState};

pub(crate) const STORE: &str = "postgres";

/// Whether a statement may change data, which decides what a lost answer
/// means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    Write,
}

/// A pool checkout that failed: every way it fails means no connection.
pub(crate) fn pool(e: PoolError) -> StoreError {
    match e {
        PoolError::NoRuntimeSpecified => StoreError::internal(STORE, e),
        _ => StoreError::unavailable(STORE, e),
    }
}

/// A statement that failed before it was sent: nothing happened.
pub(crate) fn before_send(e: tokio_postgres::Error) -> StoreError {
    if e.code().is_some() {
        return server(e);
    }
    if is_lost_connection(&e) {
        StoreError::unavailable(STORE, e)
    } else {
        StoreError::internal(STORE, e)
    }
}

/// A statement that failed after it was sent.
pub(crate) fn after_send(e: tokio_postgres::Error, access: Access) -> StoreError {
    match (breaks_connection(&e), access) {
        (true, Access::Write) => StoreError::indeterminate(STORE, e),
        (true, Access::Read) => StoreError::unavailable(STORE, e),
        (false, _) if e.code().is_some() => server(e),
        // Conversion errors and the like: our own bugs.
        (false, _) => StoreError::internal(STORE, e),
    }
}

/// A connection found closed before a statement was sent on it.
pub(crate) fn gone() -> StoreError {
    StoreError::unavailable(STORE, Gone)
}

/// No answer in time: the client gave up on the connection.
pub(crate) fn no_answer(waited: Duration, sent: bool, access: Access) -> StoreError {
    let e = NoAnswer { waited };
    if sent && access == Access::Write {
        StoreError::indeterminate(STORE, e)
    } else {
        StoreError::unavailable(STORE, e)
    }
}

/// A statement that kept losing races (serialization failures, deadlocks,
/// a confirm's seats taken under it) and was tried as often as it may be:
/// nothing was written, and a later call may well succeed.
pub(crate) fn lost_races(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> StoreError {
    StoreError::unavailable(STORE, e)
}

/// A migration that failed: `Unavailable` when the connection was lost on
/// the way (start-up may retry), `Internal` when a migration refused.
pub(crate) fn migration(e: refinery::Error) -> StoreError {
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        if let Some(driver) = cause.downcast_ref::<tokio_postgres::Error>() {
            if is_transient(driver) || (driver.code().is_none() && is_lost_connection(driver)) {
                return StoreError::unavailable(STORE, e);
            }
        }
        source = cause.source();
    }
    StoreError::internal(STORE, e)
}

/// Data the store holds but the domain cannot represent, or an answer the
/// statements cannot give.
pub(crate) fn bad_data(what: &'static str) -> StoreError {
    StoreError::internal(STORE, what)
}

/// A column that could not be read as the type asked for: our bug.
pub(crate) fn column(e: tokio_postgres::Error) -> StoreError {
    StoreError::internal(STORE, e)
}

/// Whether a failed statement lost a race that running it again resolves:
/// a serialization failure or a deadlock (the transaction was rolled back),
/// and for statements that say so, a unique violation (another writer of
/// the same key committed first).
pub(crate) fn is_race(e: &tokio_postgres::Error, unique_is_race: bool) -> bool {
    e.code().is_some_and(|code| {
        *code == SqlState::T_R_SERIALIZATION_FAILURE
            || *code == SqlState::T_R_DEADLOCK_DETECTED
            || (unique_is_race && *code == SqlState::UNIQUE_VIOLATION)
    })
}

/// Whether the connection is lost with this failure: closed, broken, or
/// ended by the server.
pub(crate) fn breaks_connection(e: &tokio_postgres::Error) -> bool {
    match e.as_db_error() {
        Some(db) => ends_session(db),
        None => is_lost_connection(e),
    }
}

/// A server error, which rolled its statement back.
fn server(e: tokio_postgres::Error) -> StoreError {
    if is_transient(&e) {
        StoreError::unavailable(STORE, e)
    } else {
        StoreError::internal(STORE, e)
    }
}

/// FATAL and PANIC end the session, whatever the statement had reached:
/// `pg_terminate_backend`, a shutdown, or another backend's crash (after
/// which a commit already on disk survives recovery).
fn ends_session(db: &tokio_postgres::error::DbError) -> bool {
    match db.parsed_severity() {
        Some(severity) => matches!(severity, Severity::Fatal | Severity::Panic),
        // Servers before 9.6 send the localized text only.
        None => matches!(db.severity(), "FATAL" | "PANIC"),
    }
}

fn is_lost_connection(e: &tokio_postgres::Error) -> bool {
    e.is_closed() || std::error::Error::source(e).is_some_and(|s| s.is::<io::Error>())
}

fn is_transient(e: &tokio_postgres::Error) -> bool {
    let Some(code) = e.code() else {
        return false;
    };
    let code = code.code();
    // 08: connection exception; 53: out of connections, memory or disk;
    // 57P0x: shutting down or starting up; 57014: statement timeout;
    // 55P03: lock timeout; 25006: a read-only standby after a failover;
    // 40001/40P01: contention that a retry resolves.
    code.starts_with("08")
        || code.starts_with("53")
        || code.starts_with("57P0")
        || code == SqlState::QUERY_CANCELED.code()
        || code == SqlState::LOCK_NOT_AVAILABLE.code()
        || code == SqlState::READ_ONLY_SQL_TRANSACTION.code()
        || code == SqlState::T_R_SERIALIZATION_FAILURE.code()
        || code == SqlState::T_R_DEADLOCK_DETECTED.code()
}

/// The client stopped waiting for the server.
#[derive(Debug, thiserror::Error)]
#[error("no answer from the server within {waited:?}; the connection was discarded")]
pub(crate) struct NoAnswer {
    waited: Duration,
}

/// A connection that closed while idle in the pool.
#[derive(Debug, thiserror::Error)]
#[error("the connection was closed before the statement was sent")]
pub(crate) struct Gone;

/// A statement re-run as often as it may be, every time finding that a
/// concurrent writer changed what it had read.
#[derive(Debug, thiserror::Error)]
#[error("lost a race with concurrent writers {attempts} times")]
pub(crate) struct LostRaces {
    pub(crate) attempts: u32,
}
