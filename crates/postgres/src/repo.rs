//! The repo's handle: connection pools built without touching the
//! database, and the one way statements run: one checkout per call, a
//! client-side deadline over all of it, re-runs of lost races, and failures
//! translated by what they leave unknown.

use std::sync::Arc;
use std::time::Duration;

use booking_domain::StoreError;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use tokio::time::Instant;
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};

use crate::errors::{self, Access, LostRaces, STORE};
use crate::PostgresOptions;

/// How often one call runs its statement at most: the first run and
/// re-runs after lost races. One re-run settles a race with a committed
/// writer; more only matter under heavy contention on the same rows.
const ATTEMPTS: u32 = 4;

/// `BookingRepo` on Postgres. Cheap to clone: clones share the pools.
#[derive(Clone)]
pub struct PostgresRepo {
    primary: Pool,
    /// Reads that may lag; `None` reads everything from the primary.
    replica: Option<Pool>,
    options: Arc<PostgresOptions>,
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

/// Which database a call reads from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    Primary,
    /// The replica when there is one, else the primary.
    Replica,
}

/// A statement as the repo runs it.
#[derive(Debug)]
pub(crate) struct Statement {
    pub(crate) sql: &'static str,
    pub(crate) access: Access,
    /// Whether a unique violation is a lost race that a re-run resolves
    /// (another confirm of the same seats committed first).
    pub(crate) unique_is_race: bool,
}

impl Statement {
    pub(crate) const fn read(sql: &'static str) -> Self {
        Self {
            sql,
            access: Access::Read,
            unique_is_race: false,
        }
    }

    pub(crate) const fn write(sql: &'static str) -> Self {
        Self {
            sql,
            access: Access::Write,
            unique_is_race: false,
        }
    }
}

/// What a run of a statement came to, as its caller reads the rows.
pub(crate) enum Step<T> {
    Done(T),
    /// The statement wrote nothing because a concurrent writer committed
    /// what its snapshot could not see: run it again to see it.
    Rerun,
}

impl PostgresRepo {
    /// A repo on the database at `url` (`postgres://user:pass@host/db`, or
    /// the `key=value` form), with the pool, timeouts and optional replica
    /// of `options`.
    ///
    /// Connects lazily: this succeeds with the database down, and the
    /// first call that needs it fails with `StoreError::Unavailable`
    /// within [`PostgresRepo::longest_call`]. Fails only on a malformed URL.
    pub fn connect(url: &str, options: PostgresOptions) -> Result<Self, StoreError> {
        let primary = pool(url, &options)?;
        let replica = options
            .read_url
            .as_deref()
            .map(|url| pool(url, &options))
            .transpose()?;
        Ok(Self {
            primary,
            replica,
            options: Arc::new(options),
        })
    }

    /// Applies the migrations of `migrations/` that the database lacks.
    ///
    /// Safe to run at every start-up and from several instances at once:
    /// they queue on an advisory lock, and each finds the work done by the
    /// first. A database of the original Node API upgrades in place. Fails
    /// with `StoreError::Internal` when a migration refuses the data it
    /// found (its message says what to fix; nothing was changed).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        crate::migrate::run(&self.primary, &self.options).await
    }

    /// The options the repo was built with.
    pub fn options(&self) -> &PostgresOptions {
        &self.options
    }

    /// The longest one call of the repo can take before it answers, error
    /// or not: a pool checkout (waiting for a free connection, then opening
    /// one) plus the client's deadline for the call's statements, re-runs
    /// included. A confirm whose answer is lost stays pending until it is
    /// settled, so the ledger's `pending_grace` must be comfortably above
    /// this. (A read of an event that falls back from the replica to the
    /// primary makes two calls' worth.)
    pub fn longest_call(&self) -> Duration {
        self.options.checkout_timeout() + self.options.client_timeout()
    }

    pub(crate) fn has_replica(&self) -> bool {
        self.replica.is_some()
    }

    /// How the primary's pool stands now. Reads counters only; no I/O.
    pub fn pool_status(&self) -> PoolStatus {
        let status = self.primary.status();
        PoolStatus {
            max_size: status.max_size,
            size: status.size,
            available: status.available,
            waiting: status.waiting,
        }
    }

    /// Closes the pools: idle connections now, the others when returned.
    /// Later calls fail with `StoreError::Unavailable`. For shutdown.
    pub fn close(&self) {
        self.primary.close();
        if let Some(replica) = &self.replica {
            replica.close();
        }
    }

    /// One call's connection and deadline.
    pub(crate) async fn session(&self, target: Target) -> Result<Session<'_>, StoreError> {
        let pool = match (target, &self.replica) {
            (Target::Replica, Some(replica)) => replica,
            _ => &self.primary,
        };
        let client = pool.get().await.map_err(errors::pool)?;
        Ok(Session {
            client: Some(client),
            deadline: Instant::now() + self.options.client_timeout(),
            options: &self.options,
        })
    }

    /// Runs `statement` once in a session of its own; see [`Session::run`].
    pub(crate) async fn run<T>(
        &self,
        target: Target,
        statement: &Statement,
        params: &[&(dyn ToSql + Sync)],
        read: impl FnMut(Vec<Row>) -> Result<Step<T>, StoreError>,
    ) -> Result<T, StoreError> {
        self.session(target)
            .await?
            .run(statement, params, read)
            .await
    }
}

/// A pooled connection for one call, and the client's deadline for it.
pub(crate) struct Session<'a> {
    /// `None` once discarded.
    client: Option<Object>,
    deadline: Instant,
    options: &'a PostgresOptions,
}

impl Session<'_> {
    /// Runs `statement` and hands its rows to `read`, re-running it when it
    /// lost a race (a serialization failure, a deadlock, a unique violation
    /// where `statement.unique_is_race`, or `read` answering `Rerun`), at
    /// most `ATTEMPTS` times and before the session's deadline.
    ///
    /// When the deadline passes first, the connection is discarded (its
    /// state is unknown), the server is asked to cancel the statement, and
    /// the call fails: `Indeterminate` for a write that was sent.
    pub(crate) async fn run<T>(
        &mut self,
        statement: &Statement,
        params: &[&(dyn ToSql + Sync)],
        mut read: impl FnMut(Vec<Row>) -> Result<Step<T>, StoreError>,
    ) -> Result<T, StoreError> {
        let Some(client) = self.client.as_ref() else {
            return Err(errors::bad_data("a discarded session was used again"));
        };
        let mut attempt = 1;
        loop {
            let mut sent = false;
            let answer = tokio::time::timeout_at(self.deadline, async {
                let prepared = client
                    .prepare_cached(statement.sql)
                    .await
                    .map_err(Failure::Unsent)?;
                if client.is_closed() {
                    return Err(Failure::Gone);
                }
                sent = true;
                client.query(&prepared, params).await.map_err(Failure::Sent)
            })
            .await;
            let failure = match answer {
                Ok(Ok(rows)) => match read(rows)? {
                    Step::Done(value) => return Ok(value),
                    Step::Rerun if attempt < ATTEMPTS => {
                        tracing::debug!(attempt, "a concurrent writer won; re-running");
                        attempt += 1;
                        continue;
                    }
                    Step::Rerun => return Err(errors::lost_races(LostRaces { attempts: attempt })),
                },
                Ok(Err(failure)) => failure,
                Err(_elapsed) => {
                    self.discard();
                    return Err(errors::no_answer(
                        self.options.client_timeout(),
                        sent,
                        statement.access,
                    ));
                }
            };
            // A connection closing, or closed, must not go back to the
            // pool, where the next call could pick it up before it is seen
            // closed.
            match failure {
                Failure::Gone => {
                    self.discard();
                    return Err(errors::gone());
                }
                Failure::Unsent(e) => {
                    if errors::breaks_connection(&e) {
                        self.discard();
                    }
                    return Err(errors::before_send(e));
                }
                Failure::Sent(e) if errors::breaks_connection(&e) => {
                    self.discard();
                    return Err(errors::after_send(e, statement.access));
                }
                Failure::Sent(e) if errors::is_race(&e, statement.unique_is_race) => {
                    // The server rolled the statement back: nothing written.
                    let backoff = Duration::from_millis(5 * u64::from(attempt));
                    if attempt >= ATTEMPTS || Instant::now() + backoff >= self.deadline {
                        return Err(errors::lost_races(e));
                    }
                    tracing::debug!(attempt, code = ?e.code(), "lost a race; re-running");
                    tokio::time::sleep(backoff).await;
                    attempt += 1;
                }
                Failure::Sent(e) => return Err(errors::after_send(e, statement.access)),
            }
        }
    }

    /// Drops the connection rather than return it to the pool, and asks
    /// the server, best effort and in the background, to cancel whatever
    /// it was running.
    fn discard(&mut self) {
        let Some(client) = self.client.take() else {
            return;
        };
        let token = client.cancel_token();
        let patience = self.options.connect_timeout;
        tokio::spawn(async move {
            let _ = tokio::time::timeout(patience, token.cancel_query(NoTls)).await;
        });
        drop(Object::take(client));
    }
}

/// How a run of a statement failed.
enum Failure {
    /// Before sending it (its preparation): nothing happened.
    Unsent(tokio_postgres::Error),
    /// The connection was found closed before sending: nothing happened.
    Gone,
    /// After sending it.
    Sent(tokio_postgres::Error),
}

fn pool(url: &str, options: &PostgresOptions) -> Result<Pool, StoreError> {
    let mut config: tokio_postgres::Config =
        url.parse().map_err(|e| StoreError::internal(STORE, e))?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(options.connect_timeout);
    }
    if config.get_application_name().is_none() {
        config.application_name("booking-api");
    }
    // Notice a peer that vanished without closing the connection, while
    // idle (keepalives) and while waiting for acknowledgements.
    config
        .keepalives(true)
        .keepalives_idle(options.keepalive_idle)
        .keepalives_interval(options.keepalive_interval)
        .keepalives_retries(options.keepalive_retries)
        .tcp_user_timeout(options.tcp_user_timeout);
    let settings = match config.get_options() {
        Some(own) => format!("{own} {}", options.server_settings()),
        None => options.server_settings(),
    };
    config.options(settings);
    let manager = Manager::from_config(
        config,
        NoTls,
        // Fast: a checkout costs no round trip; a connection found closed
        // is dropped then, one that broke later fails its statement.
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(options.pool_size.max(1))
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(options.pool_wait_timeout))
        .create_timeout(Some(options.connect_timeout))
        .recycle_timeout(Some(options.connect_timeout))
        .build()
        .map_err(|e| StoreError::internal(STORE, e))
}

impl std::fmt::Debug for PostgresRepo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The pool's own Debug would print the connection config.
        f.debug_struct("PostgresRepo")
            .field("pool", &self.pool_status())
            .field("replica", &self.replica.is_some())
            .field("options", &self.options)
            .finish()
    }
}
