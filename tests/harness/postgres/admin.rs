//! An admin connection to a Postgres server, to see and end the backends of
//! a database: the app's pool then finds its connections dead, as after a
//! server restart or a failover.

use tokio_postgres::Client;

use super::{bounded, connect};

/// How long `pg_terminate_backend` waits for each backend to be gone.
const TERMINATE_WAIT_MS: i64 = 5000;

/// A client backend of a database, from `pg_stat_activity`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backend {
    pub pid: i32,
    pub application_name: String,
    /// `active`, `idle`, `idle in transaction`, ...
    pub state: Option<String>,
    /// The running statement, or the last one of an idle backend.
    pub query: String,
}

#[derive(Debug)]
pub struct PgAdmin {
    client: Client,
}

impl PgAdmin {
    /// An admin connection to the server of `url`.
    ///
    /// # Panics
    /// When it cannot connect.
    pub async fn connect(url: &str) -> Self {
        let client = connect(url)
            .await
            .unwrap_or_else(|e| panic!("admin connection to Postgres: {e}"));
        Self { client }
    }

    /// An admin connection to the test server (`BOOKING_TEST_PG_URL`, or
    /// the local one), where `TestDatabase`s live.
    pub async fn local() -> Self {
        Self::connect(&super::local_url()).await
    }

    /// The client backends connected to `database`, this connection's own
    /// left out.
    pub async fn backends(&self, database: &str) -> Vec<Backend> {
        let rows = self
            .run(
                "SELECT pid, application_name, state, coalesce(query, '') \
                 FROM pg_stat_activity \
                 WHERE datname = $1 AND backend_type = 'client backend' \
                   AND pid <> pg_backend_pid() \
                 ORDER BY pid",
                &[&database],
            )
            .await;
        rows.iter()
            .map(|row| Backend {
                pid: row.get(0),
                application_name: row.get(1),
                state: row.get(2),
                query: row.get(3),
            })
            .collect()
    }

    /// Ends the backends of `database` whose `application_name` is LIKE
    /// `application_name_like` (`%` for all), and returns how many. Each is
    /// gone when this returns (`pg_terminate_backend` with a wait, Postgres
    /// 14+): their clients' next statement fails.
    pub async fn terminate_backends(&self, database: &str, application_name_like: &str) -> u64 {
        let rows = self
            .run(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, $3)) \
                 FROM pg_stat_activity \
                 WHERE datname = $1 AND application_name LIKE $2 \
                   AND backend_type = 'client backend' AND pid <> pg_backend_pid()",
                &[&database, &application_name_like, &TERMINATE_WAIT_MS],
            )
            .await;
        let terminated: i64 = rows[0].get(0);
        u64::try_from(terminated).unwrap()
    }

    /// The admin client itself, for anything else.
    pub fn client(&self) -> &Client {
        &self.client
    }

    async fn run(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Vec<tokio_postgres::Row> {
        bounded(sql, self.client.query(sql, params)).await
    }
}
