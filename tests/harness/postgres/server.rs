//! A Postgres server of a test's own (initdb in a temp dir, a free port):
//! kill it, freeze it, restart it, or replicate it, without touching the
//! shared server.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio_postgres::types::PgLsn;
use tokio_postgres::Client;

use super::install::{binary, server_user};
use super::{bounded, connect};
use crate::harness::ports::free_port;
use crate::harness::process::{run_bounded, ProcessGuard};
use crate::harness::signals::Signal;
use crate::harness::temp_dir::TempDir;

/// A start includes crash recovery after a kill.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// initdb and pg_basebackup of an empty cluster take about a second.
const SETUP_TIMEOUT: Duration = Duration::from_secs(60);
const START_ATTEMPTS: u32 = 5;

#[derive(Debug)]
pub struct PgServer {
    // Before `dir`: fields drop in order, and the server must be down
    // before its files are removed.
    process: Option<ProcessGuard>,
    port: u16,
    label: &'static str,
    dir: TempDir,
}

impl PgServer {
    /// A new cluster (initdb, trust auth, user `postgres`), started and
    /// answering. It allows replication from 127.0.0.1, as initdb's
    /// defaults do.
    ///
    /// # Panics
    /// When the binaries are missing or the server does not start.
    pub async fn spawn() -> Self {
        let dir = server_dir("pg-primary");
        let mut initdb = tokio::process::Command::new(binary("initdb"));
        initdb
            .arg("-D")
            .arg(dir.join("data"))
            .args(["-U", "postgres", "--auth=trust", "--no-sync"])
            .args(["-E", "UTF8", "--locale=C"]);
        as_server_user(&mut initdb, dir.path());
        run_bounded("initdb", &mut initdb, SETUP_TIMEOUT).await;
        Self::start_on_free_port("primary", dir).await
    }

    /// Starts a server on the cluster in `dir/data`, trying another port
    /// when the one picked was taken meanwhile.
    pub(super) async fn start_on_free_port(label: &'static str, dir: TempDir) -> Self {
        let mut server = Self {
            process: None,
            port: 0,
            label,
            dir,
        };
        for attempt in 1..=START_ATTEMPTS {
            server.port = free_port();
            match server.try_start().await {
                Ok(()) => return server,
                Err(log) if log.contains("Address already in use") && attempt < START_ATTEMPTS => {}
                Err(log) => panic!(
                    "the {label} Postgres on {} did not start:\n{log}",
                    server.port
                ),
            }
        }
        unreachable!("the last attempt panics")
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of database `postgres` as user `postgres`.
    pub fn url(&self) -> String {
        self.url_for("postgres")
    }

    pub fn url_for(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// The directory holding `data/`, the socket and `postgres.log`.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// The postmaster's pid.
    ///
    /// # Panics
    /// When the server is not running.
    pub fn pid(&self) -> u32 {
        self.running().pid()
    }

    pub fn is_running(&self) -> bool {
        self.process.is_some()
    }

    /// SIGSTOP to the postmaster and every backend and worker: connections
    /// stay open, nothing answers, replication stops, as with a hung host.
    pub fn pause(&mut self) {
        self.running_mut().pause();
    }

    /// SIGCONT to all of them.
    pub fn resume(&mut self) {
        self.running_mut().resume();
    }

    /// SIGKILL to the postmaster and every backend at once, as when the
    /// host dies: connections reset now, and the next start runs crash
    /// recovery. (A SIGKILL to the postmaster alone leaves its backends to
    /// notice a moment later, answering a query or two meanwhile.)
    pub fn kill(&mut self) {
        if let Some(process) = self.process.take() {
            process.kill_with_descendants();
        }
    }

    /// Immediate shutdown (SIGQUIT, as `pg_ctl stop -m immediate`): every
    /// connection is dropped without a goodbye. Waits for the exit.
    ///
    /// # Panics
    /// When it has not exited within 10 s.
    pub async fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            process
                .stop_with(Signal::Quit, Duration::from_secs(10))
                .await;
        }
    }

    /// Starts the stopped or killed server again on the same port, and
    /// waits until it answers queries.
    ///
    /// # Panics
    /// When it is running already or does not answer within 30 s.
    pub async fn start(&mut self) {
        if let Err(log) = self.try_start().await {
            panic!(
                "the {} Postgres on {} did not start:\n{log}",
                self.label, self.port
            );
        }
    }

    /// A connection to database `postgres`.
    ///
    /// # Panics
    /// When it cannot connect.
    pub async fn connect(&self) -> Client {
        connect(&self.url())
            .await
            .unwrap_or_else(|e| panic!("connecting to the {} Postgres: {e}", self.label))
    }

    /// `pg_current_wal_lsn()`: how far this server has written.
    pub async fn current_wal_lsn(&self) -> PgLsn {
        let client = self.connect().await;
        let statement = client.query_one("SELECT pg_current_wal_lsn()", &[]);
        bounded("pg_current_wal_lsn", statement).await.get(0)
    }

    fn running(&self) -> &ProcessGuard {
        self.process.as_ref().unwrap_or_else(|| {
            panic!(
                "the {} Postgres on {} is not running",
                self.label, self.port
            )
        })
    }

    fn running_mut(&mut self) -> &mut ProcessGuard {
        let (label, port) = (self.label, self.port);
        self.process
            .as_mut()
            .unwrap_or_else(|| panic!("the {label} Postgres on {port} is not running"))
    }

    /// Starts the postmaster and waits until it answers `SELECT 1`; the
    /// error is the end of its log.
    async fn try_start(&mut self) -> Result<(), String> {
        assert!(
            self.process.is_none(),
            "the {} Postgres on {} is running already",
            self.label,
            self.port
        );
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("postgres.log"))
            .unwrap_or_else(|e| panic!("opening the Postgres log: {e}"));
        let mut command = std::process::Command::new(binary("postgres"));
        command
            .arg("-D")
            .arg(self.data_dir())
            .args(["-p", &self.port.to_string()])
            .arg("-k")
            .arg(self.dir.path())
            .args(SETTINGS.iter().flat_map(|setting| ["-c", setting]))
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log));
        if let Some((uid, gid)) = server_user() {
            command.uid(uid).gid(gid);
        }
        let process = ProcessGuard::spawn(&format!("the {} Postgres", self.label), &mut command)
            .unwrap_or_else(|e| panic!("cannot run postgres: {e}"))
            // Immediate shutdown on drop: the postmaster takes its backends
            // and shared memory down with it, which a SIGKILL would not.
            .with_shutdown(Signal::Quit, Duration::from_secs(5));
        let url = self.url();
        let process = self.process.insert(process);
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if process.exited().is_some() {
                self.process = None;
                return Err(self.log_tail());
            }
            let last_seen = match connect(&url).await {
                Ok(client) => match client.simple_query("SELECT 1").await {
                    Ok(_) => return Ok(()),
                    Err(e) => e.to_string(),
                },
                Err(e) => e.to_string(),
            };
            assert!(
                Instant::now() < deadline,
                "the {} Postgres on {} did not answer within {START_TIMEOUT:?} \
                 (last seen: {last_seen}):\n{}",
                self.label,
                self.port,
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("postgres.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

/// Settings of every private server: small, fast, loopback only. No fsync:
/// the tests crash the server, never the machine.
const SETTINGS: &[&str] = &[
    "listen_addresses=127.0.0.1",
    "fsync=off",
    "full_page_writes=off",
    "shared_buffers=16MB",
    "max_connections=50",
    "max_wal_senders=5",
    // A replica retries its primary quickly after a pause or restart.
    "wal_retrieve_retry_interval=200ms",
    "logging_collector=off",
];

/// A temp dir the server's user owns (it creates `data/` and its socket
/// there).
pub(super) fn server_dir(label: &str) -> TempDir {
    let dir = TempDir::new(label);
    if let Some((uid, gid)) = server_user() {
        std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))
            .unwrap_or_else(|e| panic!("handing {} to postgres: {e}", dir.path().display()));
    }
    dir
}

/// Runs a tool (initdb, pg_basebackup) as the server's user, from a
/// directory that user can enter.
pub(super) fn as_server_user(command: &mut tokio::process::Command, cwd: &Path) {
    command.current_dir(cwd);
    if let Some((uid, gid)) = server_user() {
        command.uid(uid).gid(gid);
    }
}
