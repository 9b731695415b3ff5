//! Bounded waiting. Every wait in the harness has a deadline and names what
//! it waited for when it gives up, so a broken fault test fails in seconds
//! with a sentence instead of hanging the suite.

use std::future::Future;
use std::time::Duration;

use tokio::time::{sleep, timeout_at, Instant};

/// Between two checks: short, as most waits here are for local processes.
const POLL: Duration = Duration::from_millis(20);

/// Checks until `check` returns `Ok`, and returns its value.
///
/// An `Err` says what was seen instead; the last one goes into the panic
/// message. Each check is itself cut at the deadline, so a check that hangs
/// (a query to a paused server) cannot stretch the wait.
///
/// # Panics
/// When `within` has passed: "timed out after {within} waiting for {what}
/// (last seen: ...)".
pub async fn wait_for<T, F, Fut>(within: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + within;
    let mut last_seen = String::from("nothing: no check finished");
    loop {
        match timeout_at(deadline, check()).await {
            Ok(Ok(value)) => return value,
            Ok(Err(seen)) => last_seen = seen,
            Err(_) => last_seen = format!("the last check hung ({last_seen} before it)"),
        }
        let now = Instant::now();
        if now >= deadline {
            panic!("timed out after {within:?} waiting for {what} (last seen: {last_seen})");
        }
        sleep(POLL.min(deadline - now)).await;
    }
}

/// Checks until `check` returns true.
///
/// # Panics
/// As [`wait_for`], when `within` has passed.
pub async fn wait_until<F, Fut>(within: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    wait_for(within, what, || {
        let done = check();
        async move {
            if done.await {
                Ok(())
            } else {
                Err("not yet".to_owned())
            }
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[tokio::test]
    async fn returns_as_soon_as_the_check_passes() {
        let calls = AtomicU32::new(0);
        let n = wait_for(Duration::from_secs(2), "the third call", || async {
            let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
            if n == 3 {
                Ok(n)
            } else {
                Err(format!("call {n}"))
            }
        })
        .await;
        assert_eq!(n, 3);
    }

    #[tokio::test]
    #[should_panic(expected = "waiting for a miracle (last seen: still nothing)")]
    async fn panics_at_the_deadline_with_what_it_saw() {
        wait_for(Duration::from_millis(100), "a miracle", || async {
            Err::<(), _>("still nothing".to_owned())
        })
        .await;
    }

    #[tokio::test]
    async fn a_hanging_check_cannot_stretch_the_deadline() {
        let started = std::time::Instant::now();
        let waited = tokio::spawn(wait_until(
            Duration::from_millis(200),
            "a check that never returns",
            std::future::pending::<bool>,
        ))
        .await;
        let panic = waited.unwrap_err().into_panic();
        let message = panic.downcast_ref::<String>().unwrap();
        assert!(message.contains("the last check hung"), "{message}");
        assert!(started.elapsed() < Duration::from_secs(1));
    }
}
