//! How long the repo waits for anything, and where it reads from.

use std::time::Duration;

/// The repo's pool and time limits. `Default` gives values fit for a
/// booking api: short statements, and a down or hung server noticed within
/// seconds.
///
/// Every wait has a bound:
/// - a pool checkout: `pool_wait_timeout` for a free connection, then
///   `connect_timeout` to open one (TCP connect and start-up alike);
/// - a statement, in the server: `statement_timeout`, and `lock_timeout`
///   for each lock it waits on;
/// - a statement, in the client: `statement_timeout + client_timeout_margin`
///   for all attempts of one call together, because a hung server (stopped,
///   or cut off behind a silent network) never enforces its own timeout.
///   When it fires, the connection is discarded: its state is unknown.
///
/// [`PostgresRepo::longest_call`](crate::PostgresRepo::longest_call) adds
/// these up.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresOptions {
    /// The most connections the pool opens.
    pub pool_size: usize,
    /// How long a checkout waits for a free connection when all are busy.
    pub pool_wait_timeout: Duration,
    /// How long opening a connection may take, start-up included.
    pub connect_timeout: Duration,
    /// The server's `statement_timeout`: it cancels a statement running
    /// longer. Must be at least 1 ms.
    pub statement_timeout: Duration,
    /// The server's `lock_timeout`: a statement waiting longer for one lock
    /// fails, and the call answers `StoreError::Unavailable`.
    pub lock_timeout: Duration,
    /// The server's `idle_in_transaction_session_timeout`: a session that
    /// sits in an open transaction longer is closed by the server (the repo
    /// opens none, but a client that dies mid-transaction must not keep its
    /// locks).
    pub idle_in_transaction_timeout: Duration,
    /// How much longer than `statement_timeout` the client waits for an
    /// answer before it gives up on the connection.
    pub client_timeout_margin: Duration,
    /// TCP keepalives: probes start after this long without traffic...
    pub keepalive_idle: Duration,
    /// ...are sent this often...
    pub keepalive_interval: Duration,
    /// ...and this many unanswered ones close the connection.
    pub keepalive_retries: u32,
    /// The longest sent data may stay unacknowledged before the kernel
    /// closes the connection (`TCP_USER_TIMEOUT`; Linux only).
    pub tcp_user_timeout: Duration,
    /// The server's `client_connection_check_interval` (Postgres 14 and
    /// later): a statement whose client has gone (after a client timeout,
    /// say) is cancelled within this long instead of running on. `None`
    /// for servers that do not know the setting.
    pub client_connection_check_interval: Option<Duration>,
    /// A second database to read from when a little lag does not matter (a
    /// replica): a user's bookings, and events (read from the primary when
    /// the replica does not have the event yet). `None` reads everything
    /// from the primary.
    pub read_url: Option<String>,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            pool_size: 16,
            pool_wait_timeout: Duration::from_secs(3),
            connect_timeout: Duration::from_secs(3),
            statement_timeout: Duration::from_secs(5),
            lock_timeout: Duration::from_secs(2),
            idle_in_transaction_timeout: Duration::from_secs(10),
            client_timeout_margin: Duration::from_secs(1),
            keepalive_idle: Duration::from_secs(10),
            keepalive_interval: Duration::from_secs(5),
            keepalive_retries: 3,
            tcp_user_timeout: Duration::from_secs(10),
            client_connection_check_interval: Some(Duration::from_secs(1)),
            read_url: None,
        }
    }
}

impl PostgresOptions {
    /// How long the client waits for the answers of one call's statements.
    pub fn client_timeout(&self) -> Duration {
        self.statement_timeout + self.client_timeout_margin
    }

    /// The longest a pool checkout can take: waiting for a free slot, then
    /// opening a connection (recycling one costs no round trip).
    pub fn checkout_timeout(&self) -> Duration {
        self.pool_wait_timeout + self.connect_timeout
    }

    /// The server settings every connection starts with, as `-c` options.
    pub(crate) fn server_settings(&self) -> String {
        let mut settings = vec![
            // Every statement here is a short indexed lookup or write whose
            // best plan does not depend on its parameters. Left to choose,
            // Postgres re-plans the confirm on every call (its seat array's
            // size is unknown, so the generic plan looks dearer), and
            // planning that statement costs as much as running it: the
            // benchmark's (c) went from ~2,000 to ~3,000 bookings/s with
            // generic plans.
            "plan_cache_mode=force_generic_plan".to_owned(),
            format!("statement_timeout={}", millis(self.statement_timeout)),
            format!("lock_timeout={}", millis(self.lock_timeout)),
            format!(
                "idle_in_transaction_session_timeout={}",
                millis(self.idle_in_transaction_timeout)
            ),
        ];
        if let Some(interval) = self.client_connection_check_interval {
            settings.push(format!(
                "client_connection_check_interval={}",
                millis(interval)
            ));
        }
        settings
            .iter()
            .map(|s| format!("-c {s}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Whole milliseconds, rounded up and at least 1: Postgres reads 0 as "no
/// limit".
pub(crate) fn millis(d: Duration) -> u128 {
    d.as_micros().div_ceil(1000).max(1)
}

impl std::fmt::Debug for PostgresOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresOptions")
            .field("pool_size", &self.pool_size)
            .field("pool_wait_timeout", &self.pool_wait_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("statement_timeout", &self.statement_timeout)
            .field("lock_timeout", &self.lock_timeout)
            .field(
                "idle_in_transaction_timeout",
                &self.idle_in_transaction_timeout,
            )
            .field("client_timeout_margin", &self.client_timeout_margin)
            .field("keepalive_idle", &self.keepalive_idle)
            .field("keepalive_interval", &self.keepalive_interval)
            .field("keepalive_retries", &self.keepalive_retries)
            .field("tcp_user_timeout", &self.tcp_user_timeout)
            .field(
                "client_connection_check_interval",
                &self.client_connection_check_interval,
            )
            // A URL may carry a password.
            .field("read_url", &self.read_url.as_ref().map(|_| "***"))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_whole_milliseconds_and_never_zero() {
        let options = PostgresOptions {
            statement_timeout: Duration::from_micros(1500),
            lock_timeout: Duration::ZERO,
            client_connection_check_interval: None,
            ..PostgresOptions::default()
        };
        assert_eq!(
            options.server_settings(),
            "-c plan_cache_mode=force_generic_plan -c statement_timeout=2 -c lock_timeout=1 \
             -c idle_in_transaction_session_timeout=10000"
        );
        assert!(PostgresOptions::default()
            .server_settings()
            .ends_with("-c client_connection_check_interval=1000"));
    }

    #[test]
    fn the_client_waits_a_little_longer_than_the_server() {
        let options = PostgresOptions::default();
        assert_eq!(options.client_timeout(), Duration::from_secs(6));
        assert_eq!(options.checkout_timeout(), Duration::from_secs(6));
    }

    #[test]
    fn debug_output_hides_the_read_url() {
        let options = PostgresOptions {
            read_url: Some("postgres://u:secret@replica/db".into()),
            ..PostgresOptions::default()
        };
        let printed = format!("{options:?}");
        assert!(!printed.contains("secret"), "{printed}");
        assert!(printed.contains("***"));
    }
}
