//! Postgres faults: end the backends of a database on the shared server
//! ([`PgAdmin`]), or run a private server ([`PgServer`]) and a streaming
//! replica of it ([`PgReplica`]) to kill, freeze, promote or lag.
//!
//! The replica copies a private primary, not the shared server at
//! 127.0.0.1:5432: that one's `pg_hba.conf` has no `replication` line (the
//! `all` database does not cover replication connections), and adding one
//! would mean editing the server's config under /etc and reloading it for
//! everyone. It would also copy every other test's databases. A private
//! primary is initdb'd in under a second, allows replication from
//! 127.0.0.1 by initdb's defaults, and is the test's alone.
//!
//! When the tests run as root (as here and in CI), the private servers run
//! as the `postgres` user, which the server requires; their temp dirs are
//! handed to that user.

mod admin;
mod install;
mod replica;
mod server;

use std::future::Future;
use std::time::Duration;

use tokio_postgres::{Client, Config, NoTls};

pub use admin::{Backend, PgAdmin};
pub use install::{binary, BIN_ENV};
pub use replica::PgReplica;
pub use server::PgServer;

/// Connecting, startup and authentication included.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// One statement the harness runs for itself.
const STATEMENT_TIMEOUT: Duration = Duration::from_secs(10);

/// The shared test server, as `booking_postgres::testing` finds it.
pub fn local_url() -> String {
    std::env::var("BOOKING_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A connection to `url`, given up after 5 s (a paused server accepts the
/// TCP connection and then says nothing).
pub async fn connect(url: &str) -> Result<Client, String> {
    let config: Config = url.parse().map_err(|e| format!("{url}: {e}"))?;
    let connecting = async {
        let (client, connection) = config.connect(NoTls).await.map_err(|e| e.to_string())?;
        tokio::spawn(async move {
            // Ends when the client is dropped; an error then is no news.
            let _ = connection.await;
        });
        Ok(client)
    };
    tokio::time::timeout(CONNECT_TIMEOUT, connecting)
        .await
        .unwrap_or_else(|_| Err(format!("no connection to {url} within {CONNECT_TIMEOUT:?}")))
}

/// Runs a statement of the harness' own, bounded in time.
async fn bounded<T, E: std::fmt::Display>(
    what: &str,
    statement: impl Future<Output = Result<T, E>>,
) -> T {
    tokio::time::timeout(STATEMENT_TIMEOUT, statement)
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer within {STATEMENT_TIMEOUT:?}"))
        .unwrap_or_else(|e| panic!("{what}: {e}"))
}

#[cfg(test)]
mod tests;
