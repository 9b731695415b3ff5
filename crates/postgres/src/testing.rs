//! A fresh database per test, dropped when the test ends: tests run in
//! parallel without seeing each other's rows, and leave nothing behind.
//!
//! The server is the one at `BOOKING_TEST_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); its user must be allowed
//! to create databases. Used by this crate's tests and the api's.

use std::ops::Deref;
use std::time::Duration;

use tokio_postgres::{Client, Config, NoTls};

use crate::{PostgresOptions, PostgresRepo};

/// The variable naming the server to create test databases on.
pub const URL_ENV: &str = "BOOKING_TEST_PG_URL";
pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

const HOW_TO_START: &str = "start the local server with \
    `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, \
    or point BOOKING_TEST_PG_URL at one";

/// The repo's statements by name, for tests of their plans.
pub fn statements() -> Vec<(&'static str, &'static str)> {
    use crate::sql;
    vec![
        ("create_event", sql::CREATE_EVENT.sql),
        ("create_event_keyed", sql::CREATE_EVENT_KEYED.sql),
        ("event", sql::EVENT.sql),
        ("confirm", sql::CONFIRM.sql),
        ("settle", sql::SETTLE.sql),
        ("booking", sql::BOOKING.sql),
        ("cancel", sql::CANCEL.sql),
        ("unbooks_due", sql::UNBOOKS_DUE.sql),
        ("unbooked", sql::UNBOOKED.sql),
        ("booked_seats", sql::BOOKED_SEATS.sql),
        ("spent_holds", sql::SPENT_HOLDS.sql),
        ("user_bookings", sql::USER_BOOKINGS.sql),
    ]
}

/// A database of its own for one test, with a [`PostgresRepo`] on it
/// (what this derefs to). Dropping it drops the database.
pub struct TestDatabase {
    name: String,
    admin_url: String,
    url: String,
    repo: PostgresRepo,
}

impl TestDatabase {
    /// A new database with every migration applied.
    ///
    /// # Panics
    /// When the server cannot be reached or refuses, with a message saying
    /// how to start it: a test without its database must fail, not pass.
    pub async fn create() -> Self {
        let db = Self::create_empty().await;
        if let Err(e) = db.repo.migrate().await {
            panic!("migrating test database {}: {}", db.name, error_chain(&e));
        }
        db
    }

    /// A new database with no tables at all, to test migrations on.
    ///
    /// # Panics
    /// As [`TestDatabase::create`].
    pub async fn create_empty() -> Self {
        let admin_url = std::env::var(URL_ENV).unwrap_or_else(|_| DEFAULT_URL.to_owned());
        let name = format!("booking_test_{}", uuid::Uuid::new_v4().simple());
        let admin = connect(&admin_url).await.unwrap_or_else(|e| {
            panic!(
                "cannot reach the test Postgres server ({URL_ENV} or its default): {}; {HOW_TO_START}",
                error_chain(&e)
            )
        });
        if let Err(e) = admin
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .await
        {
            panic!("creating test database {name}: {}", error_chain(&e));
        }
        let url = with_database(&admin_url, &name);
        let repo = PostgresRepo::connect(&url, Self::options())
            .unwrap_or_else(|e| panic!("{URL_ENV} is not a valid URL: {e}"));
        Self {
            name,
            admin_url,
            url,
            repo,
        }
    }

    /// The options of the database's own repo: the defaults, with a pool
    /// of 8.
    pub fn options() -> PostgresOptions {
        PostgresOptions {
            pool_size: 8,
            ..PostgresOptions::default()
        }
    }

    /// Another repo on this database, e.g. with shorter timeouts. It is
    /// not closed when the database is dropped (the drop forces its
    /// connections off).
    ///
    /// # Panics
    /// When the URL is not valid, which `create` already ruled out.
    pub fn repo_with(&self, options: PostgresOptions) -> PostgresRepo {
        PostgresRepo::connect(&self.url, options).expect("the test database's URL is valid")
    }

    /// The database's URL, e.g. for an app under test to connect to.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn repo(&self) -> &PostgresRepo {
        &self.repo
    }

    /// A plain connection to the database, for raw SQL in tests.
    ///
    /// # Panics
    /// When it cannot connect.
    pub async fn raw_client(&self) -> Client {
        connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("connecting to {}: {}", self.name, error_chain(&e)))
    }
}

impl Deref for TestDatabase {
    type Target = PostgresRepo;

    fn deref(&self) -> &PostgresRepo {
        &self.repo
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        self.repo.close();
        let name = std::mem::take(&mut self.name);
        let admin_url = std::mem::take(&mut self.admin_url);
        // Drop runs inside the test's runtime, which cannot be blocked on;
        // a thread with a runtime of its own can.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let admin = connect(&admin_url).await.map_err(|e| error_chain(&e))?;
                // FORCE: connections the test left open must not keep it.
                admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .await
                    .map_err(|e| error_chain(&e))
            })?;
            Ok::<_, String>(name)
        })
        .join();
        match dropped {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => eprintln!("could not drop a test database: {e}"),
            Err(_) => eprintln!("dropping a test database panicked"),
        }
    }
}

impl std::fmt::Debug for TestDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDatabase")
            .field("name", &self.name)
            .finish()
    }
}

async fn connect(url: &str) -> Result<Client, tokio_postgres::Error> {
    let mut config: Config = url.parse()?;
    config.connect_timeout(Duration::from_secs(3));
    let (client, connection) = config.connect(NoTls).await?;
    tokio::spawn(async move {
        // Ends when the client is dropped; an error then is no news.
        let _ = connection.await;
    });
    Ok(client)
}

/// `url` naming database `name` instead of its own.
fn with_database(url: &str, name: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        // key=value form: a later key overrides an earlier one.
        return format!("{url} dbname={name}");
    };
    let rest_start = scheme_end + 3;
    let query_start = url[rest_start..]
        .find('?')
        .map_or(url.len(), |i| rest_start + i);
    let path_start = url[rest_start..query_start]
        .find('/')
        .map_or(query_start, |i| rest_start + i);
    format!("{}/{name}{}", &url[..path_start], &url[query_start..])
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn urls_are_pointed_at_another_database() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "t1"),
            "postgres://u:p@h/t1?sslmode=disable"
        );
        assert_eq!(
            with_database("postgresql://h:5432", "t1"),
            "postgresql://h:5432/t1"
        );
        assert_eq!(
            with_database("postgres://h?x=1", "t1"),
            "postgres://h/t1?x=1"
        );
        assert_eq!(
            with_database("host=h user=u", "t1"),
            "host=h user=u dbname=t1"
        );
    }
}
