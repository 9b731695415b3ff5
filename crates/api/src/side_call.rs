//! A budget for the store calls a request can do without: the rate
//! limiter's check (it fails open) and the idempotency records of a route
//! that keeps its key with its effect (`routes::Idempotency::Domain`).
//!
//! A store that hangs makes every call wait out its client's timeout (2 s
//! on Redis). A request that made such a call before its operation's own
//! would wait it out twice or three times before its answer: a reserve
//! with rate limits on took 4 s to get its 503, a create with an
//! `Idempotency-Key` 6 s to get its 201. With this budget the request's
//! answer comes within its operation's own timeout plus a quarter of a
//! second per side call, whatever the store does.

use std::future::Future;
use std::time::Duration;

use booking_domain::StoreError;

/// Far above what a working store takes (well under a millisecond here,
/// a few under load); a call past it is treated as failed.
pub(crate) const BUDGET: Duration = Duration::from_millis(250);

/// On the real stores these calls go to Redis; the memory ones answer at
/// once.
const STORE: &str = "redis";

/// `call`, or `Unavailable` once [`BUDGET`] has passed. Dropping a call
/// mid-way is safe: each is one command on a multiplexed connection, whose
/// late reply is discarded.
pub(crate) async fn within<T>(
    call: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    tokio::time::timeout(BUDGET, call)
        .await
        .unwrap_or_else(|elapsed| Err(StoreError::unavailable(STORE, elapsed)))
}

/// [`within`] when `survivable`, else `call` with only its store's own
/// timeout (a request that cannot do without the call waits for it).
pub(crate) async fn within_if<T>(
    survivable: bool,
    call: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    if survivable {
        within(call).await
    } else {
        call.await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_call_that_hangs_fails_as_unavailable_after_the_budget() {
        let hang = std::future::pending::<Result<(), StoreError>>();
        let started = std::time::Instant::now();
        let result = within(hang).await;
        assert!(matches!(result, Err(StoreError::Unavailable { .. })));
        let took = started.elapsed();
        assert!(took >= BUDGET && took < BUDGET * 4, "{took:?}");
        assert_eq!(within(async { Ok::<_, StoreError>(7) }).await.unwrap(), 7);
    }
}
