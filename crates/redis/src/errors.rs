//! Redis failures in the domain's terms: the domain never sees a
//! `RedisError`.

use std::sync::Arc;

use booking_domain::StoreError;
use deadpool::managed::PoolError;
use redis::{ErrorKind, RedisError, ServerErrorKind};

pub(crate) const STORE: &str = "redis";

/// Whether the connection the error came from is broken or the server is
/// refusing service for now: the caller gets a 503, not a 500.
///
/// On a cluster that includes what a failover looks like from the client:
/// CLUSTERDOWN (a master is down and not yet replaced), TRYAGAIN, MOVED or
/// ASK still coming back once the client's bounded retries are spent (a
/// slot map in flux), no connection to the slot's node, and timeouts.
pub(crate) fn is_unavailable(e: &RedisError) -> bool {
    if e.is_io_error() || e.is_timeout() || e.is_connection_dropped() || e.is_connection_refusal() {
        return true;
    }
    match e.kind() {
        ErrorKind::Server(
            ServerErrorKind::BusyLoading
            | ServerErrorKind::TryAgain
            | ServerErrorKind::ClusterDown
            | ServerErrorKind::Moved
            | ServerErrorKind::Ask
            | ServerErrorKind::MasterDown
            | ServerErrorKind::ReadOnly,
        )
        | ErrorKind::ClusterConnectionNotFound
        | ErrorKind::AuthenticationFailed => true,
        // BUSY: a script runs too long; OOM: maxmemory reached. Both pass.
        _ => matches!(e.code(), Some("BUSY" | "OOM")),
    }
}

pub(crate) fn from_redis(e: RedisError) -> StoreError {
    if is_unavailable(&e) {
        StoreError::unavailable(STORE, e)
    } else {
        StoreError::internal(STORE, e)
    }
}

/// A pool that cannot hand out a connection in time means Redis is down
/// or overloaded; either way the request cannot be served now.
pub(crate) fn from_pool(e: PoolError<RedisError>) -> StoreError {
    match e {
        PoolError::Backend(e) => from_redis(e),
        other => StoreError::unavailable(STORE, other),
    }
}

/// A reply the adapter does not understand: a bug on one side, never a
/// panic.
pub(crate) fn unexpected(what: &str, reply: &impl std::fmt::Debug) -> StoreError {
    StoreError::internal(STORE, format!("unexpected reply to {what}: {reply:?}"))
}

/// A copy of an error that several callers share (a call made for all of
/// them): the same kind, so the same status, with the shared one as source.
pub(crate) fn copy(error: &Arc<StoreError>) -> StoreError {
    let source = Box::new(Arc::clone(error));
    match **error {
        StoreError::Unavailable { store, .. } => StoreError::Unavailable { store, source },
        StoreError::Indeterminate { store, .. } => StoreError::Indeterminate { store, source },
        StoreError::Internal { store, .. } => StoreError::Internal { store, source },
    }
}

/// Redis did not answer (down, or no reply within its timeout): what
/// waits behind such a call would fare no better, so it is failed at once.
pub(crate) fn is_outage(error: &StoreError) -> bool {
    matches!(
        error,
        StoreError::Unavailable { .. } | StoreError::Indeterminate { .. }
    )
}

/// The error for a call that was never sent because the one before it
/// found Redis unavailable: nothing was done, so never indeterminate.
pub(crate) fn unsent(cause: &Arc<StoreError>) -> StoreError {
    let store = match **cause {
        StoreError::Unavailable { store, .. }
        | StoreError::Indeterminate { store, .. }
        | StoreError::Internal { store, .. } => store,
    };
    StoreError::Unavailable {
        store,
        source: Box::new(Arc::clone(cause)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The error a server line such as `-BUSY ...` becomes in redis-rs.
    fn server_error(line: &str) -> RedisError {
        let value = redis::parse_redis_value(format!("-{line}\r\n").as_bytes()).unwrap();
        value.extract_error().unwrap_err()
    }

    #[test]
    fn transient_server_refusals_are_unavailable() {
        for line in [
            "BUSY Redis is busy running a script.",
            "LOADING Redis is loading the dataset in memory",
            "READONLY You can't write against a read only replica.",
            "TRYAGAIN Multiple keys request during rehashing of slot",
            "CLUSTERDOWN The cluster is down",
            "MASTERDOWN Link with MASTER is down",
            "MOVED 3999 127.0.0.1:6381",
            "ASK 3999 127.0.0.1:6381",
            "OOM command not allowed when used memory > 'maxmemory'.",
        ] {
            let e = server_error(line);
            assert!(is_unavailable(&e), "{line}: {e:?}");
            assert!(matches!(from_redis(e), StoreError::Unavailable { .. }));
        }
    }

    #[test]
    fn a_cluster_without_a_connection_to_the_slot_is_unavailable() {
        let e = RedisError::from((ErrorKind::ClusterConnectionNotFound, "No connections found"));
        assert!(matches!(from_redis(e), StoreError::Unavailable { .. }));
    }

    #[test]
    fn script_bugs_are_internal() {
        let e = server_error("ERR user_script:1: Script attempted to access nonexistent global");
        assert!(matches!(from_redis(e), StoreError::Internal { .. }));
        // A script touching a key of another slot is a bug, not an outage.
        let e = server_error("CROSSSLOT Keys in request don't hash to the same slot");
        assert!(matches!(from_redis(e), StoreError::Internal { .. }));
    }
}
