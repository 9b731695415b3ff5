//! A streaming replica of a private [`PgServer`]: for tests of reads that
//! lag, a replica that hangs, or a promotion.

use std::ops::{Deref, DerefMut};
use std::time::Duration;

use tokio_postgres::types::PgLsn;

use super::install::binary;
use super::server::{as_server_user, server_dir, PgServer};
use super::{bounded, connect};
use crate::harness::process::run_bounded;
use crate::harness::wait::{wait_for, wait_until};

const SETUP_TIMEOUT: Duration = Duration::from_secs(60);
/// Replay of a test's few rows takes milliseconds; allow for a busy box.
const REPLAY_TIMEOUT: Duration = Duration::from_secs(10);

/// A hot standby, streaming from its primary without a replication slot.
/// Derefs to its [`PgServer`] for the URL, pause, kill and the rest.
#[derive(Debug)]
pub struct PgReplica {
    server: PgServer,
    primary_url: String,
}

impl PgReplica {
    /// `pg_basebackup -R -X stream` of `primary` into a temp dir, started
    /// on a free port and answering read-only queries.
    ///
    /// # Panics
    /// When the backup or the start fails.
    pub async fn of(primary: &PgServer) -> Self {
        let dir = server_dir("pg-replica");
        let mut backup = tokio::process::Command::new(binary("pg_basebackup"));
        backup
            .args(["-h", "127.0.0.1", "-p", &primary.port().to_string()])
            .args(["-U", "postgres", "-D"])
            .arg(dir.join("data"))
            // -R: standby.signal and primary_conninfo, so it starts as a
            // replica; -c fast: no wait for a checkpoint.
            .args(["-R", "-X", "stream", "-c", "fast", "--no-sync"]);
        as_server_user(&mut backup, dir.path());
        run_bounded("pg_basebackup", &mut backup, SETUP_TIMEOUT).await;
        let server = PgServer::start_on_free_port("replica", dir).await;
        let replica = Self {
            server,
            primary_url: primary.url(),
        };
        assert!(
            replica.is_in_recovery().await,
            "the replica started as a primary"
        );
        replica
    }

    /// `pg_last_wal_replay_lsn()`: how far it has replayed.
    pub async fn replay_lsn(&self) -> Option<PgLsn> {
        let client = self.connect().await;
        let statement = client.query_one("SELECT pg_last_wal_replay_lsn()", &[]);
        bounded("pg_last_wal_replay_lsn", statement).await.get(0)
    }

    /// Waits until it has replayed the WAL up to `lsn`.
    ///
    /// # Panics
    /// After 10 s, with how far it got.
    pub async fn wait_replayed(&self, lsn: PgLsn) {
        let url = self.url();
        let what = format!("the replica to replay up to {lsn:?}");
        wait_for(REPLAY_TIMEOUT, &what, || async {
            let client = connect(&url).await?;
            let row = client
                .query_one("SELECT pg_last_wal_replay_lsn()", &[])
                .await
                .map_err(|e| e.to_string())?;
            match row.get::<_, Option<PgLsn>>(0) {
                Some(replayed) if replayed >= lsn => Ok(()),
                replayed => Err(format!("replayed up to {replayed:?}")),
            }
        })
        .await;
    }

    /// Waits until it has replayed all the primary has written by now.
    pub async fn wait_caught_up(&self) {
        let primary = connect(&self.primary_url)
            .await
            .unwrap_or_else(|e| panic!("connecting to the primary: {e}"));
        let statement = primary.query_one("SELECT pg_current_wal_lsn()", &[]);
        let written = bounded("pg_current_wal_lsn on the primary", statement).await;
        self.wait_replayed(written.get(0)).await;
    }

    /// Makes it a primary (`pg_promote`), as a failover would, and waits
    /// until it accepts writes.
    pub async fn promote(&self) {
        let client = self.connect().await;
        let statement = client.query_one("SELECT pg_promote(true, 10)", &[]);
        let promoted: bool = bounded("pg_promote", statement).await.get(0);
        assert!(promoted, "the replica was not promoted within 10 s");
        wait_until(
            REPLAY_TIMEOUT,
            "the promoted replica to leave recovery",
            || async { !self.is_in_recovery().await },
        )
        .await;
    }

    pub async fn is_in_recovery(&self) -> bool {
        let client = self.connect().await;
        let statement = client.query_one("SELECT pg_is_in_recovery()", &[]);
        bounded("pg_is_in_recovery", statement).await.get(0)
    }
}

impl Deref for PgReplica {
    type Target = PgServer;

    fn deref(&self) -> &PgServer {
        &self.server
    }
}

impl DerefMut for PgReplica {
    fn deref_mut(&mut self) -> &mut PgServer {
        &mut self.server
    }
}
