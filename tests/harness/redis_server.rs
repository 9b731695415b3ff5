//! A redis-server of a test's own, on a free loopback port in a temp dir:
//! stop it, kill it, freeze it, or bring it back empty or OLDER than it was
//! (from a snapshot), without touching the shared Redis.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use redis::FromRedisValue;

use super::ports::free_port;
use super::process::ProcessGuard;
use super::redis_control::{self, info_field, ping};
use super::signals::Signal;
use super::temp_dir::TempDir;
use super::wait::{wait_for, wait_until};

mod options;

pub use options::{AofFsync, RedisOptions};

/// How long a start may take until the server answers PING.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// A new free port is tried when another process took the one picked.
const START_ATTEMPTS: u32 = 5;

/// An RDB file set aside by [`RedisServer::snapshot`], in the server's
/// dir: it goes when the server is dropped.
#[derive(Debug)]
pub struct Snapshot {
    path: PathBuf,
}

impl Snapshot {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[derive(Debug)]
pub struct RedisServer {
    // Before `dir`: fields drop in order, and the process must be dead
    // before its files are removed.
    process: Option<ProcessGuard>,
    port: u16,
    bus_port: Option<u16>,
    options: RedisOptions,
    snapshots: u32,
    dir: TempDir,
}

/// Why a start failed; a taken port is worth another try elsewhere.
#[derive(Debug)]
struct StartFailure {
    message: String,
    port_taken: bool,
}

impl RedisServer {
    /// A server persisting nothing, answering PING.
    pub async fn spawn() -> Self {
        Self::spawn_with(RedisOptions::default()).await
    }

    /// A server with `options`, answering PING.
    ///
    /// # Panics
    /// When redis-server is missing or does not start.
    pub async fn spawn_with(options: RedisOptions) -> Self {
        let mut attempt = 1;
        loop {
            let mut server = Self {
                process: None,
                port: free_port(),
                bus_port: options.is_cluster().then(free_port),
                options: options.clone(),
                snapshots: 0,
                dir: TempDir::new("redis"),
            };
            match server.try_start(&[]).await {
                Ok(()) => return server,
                Err(failure) if failure.port_taken && attempt < START_ATTEMPTS => attempt += 1,
                Err(failure) => panic!("{}", failure.message),
            }
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        redis_control::url(self.port)
    }

    /// The server's directory: `dump.rdb`, `appendonlydir`, `nodes.conf`,
    /// `redis.log`.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// # Panics
    /// When the server is not running.
    pub fn pid(&self) -> u32 {
        self.running().pid()
    }

    /// Running, paused or not (a killed or stopped server is not).
    pub fn is_running(&self) -> bool {
        self.process.is_some()
    }

    pub fn is_paused(&self) -> bool {
        self.process.as_ref().is_some_and(ProcessGuard::is_paused)
    }

    /// SIGSTOP: connections stay open and commands queue unanswered, as
    /// with a hung host or a long fork.
    ///
    /// # Panics
    /// When the server is not running.
    pub fn pause(&mut self) {
        self.running_mut().pause();
    }

    /// SIGCONT: the queued commands are answered.
    ///
    /// # Panics
    /// When the server is not running.
    pub fn resume(&mut self) {
        self.running_mut().resume();
    }

    /// SIGKILL, to a snapshotting child too: gone at once, nothing saved
    /// since the last snapshot or fsync.
    pub fn kill(&mut self) {
        if let Some(process) = self.process.take() {
            process.kill_with_descendants();
        }
    }

    /// SIGTERM, as an orderly shutdown: Redis saves (with
    /// [`RedisOptions::rdb`]) or fsyncs (AOF) first. Waits for the exit.
    ///
    /// # Panics
    /// When it has not exited within 10 s.
    pub async fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            process
                .stop_with(Signal::Term, Duration::from_secs(10))
                .await;
        }
    }

    /// Starts the stopped or killed server again on the same port, and
    /// waits until it answers PING (not just accepts: it may be loading).
    ///
    /// # Panics
    /// When it is running already, or does not answer within 10 s.
    pub async fn start(&mut self) {
        if let Err(failure) = self.try_start(&[]).await {
            panic!("{}", failure.message);
        }
    }

    /// [`RedisServer::stop`], then [`RedisServer::start`].
    pub async fn restart(&mut self) {
        self.stop().await;
        self.start().await;
    }

    /// Kills the server and starts it with no data: no RDB, no AOF. A
    /// cluster node keeps its `nodes.conf`, so it keeps its identity.
    pub async fn restart_empty(&mut self) {
        self.kill();
        self.remove_data();
        self.start().await;
    }

    /// Runs SAVE and sets the RDB file aside, for
    /// [`RedisServer::restart_from`].
    ///
    /// # Panics
    /// When the server does not save.
    pub async fn snapshot(&mut self) -> Snapshot {
        // With RDB on, the server saves in the background on its own
        // schedule, and refuses a SAVE meanwhile: wait for it to finish.
        let port = self.port;
        let reply: String = wait_for(
            Duration::from_secs(10),
            "a SAVE between background saves",
            || async move {
                match redis_control::query::<String>(port, &redis::cmd("SAVE")).await {
                    Err(e) if e.contains("save already in progress") => Err(e),
                    Ok(reply) => Ok(reply),
                    Err(e) => panic!("SAVE on {port}: {e}"),
                }
            },
        )
        .await;
        assert_eq!(reply, "OK", "SAVE on {}", self.port);
        self.snapshots += 1;
        let path = self.dir.join(format!("snapshot-{}.rdb", self.snapshots));
        std::fs::copy(self.dir.join("dump.rdb"), &path)
            .unwrap_or_else(|e| panic!("copying the snapshot of {}: {e}", self.port));
        Snapshot { path }
    }

    /// Kills the server and starts it from `snapshot`: it comes back OLDER
    /// than it was, as after a failover to a lagging replica or a restore.
    ///
    /// An AOF server would ignore the RDB file and start empty, so it starts
    /// with AOF off, turns it on (which rewrites the AOF from the loaded
    /// data) and waits for that rewrite: later restarts keep the old data.
    pub async fn restart_from(&mut self, snapshot: &Snapshot) {
        self.kill();
        self.remove_data();
        std::fs::copy(&snapshot.path, self.dir.join("dump.rdb"))
            .unwrap_or_else(|e| panic!("restoring {}: {e}", snapshot.path.display()));
        if !self.options.is_aof() {
            self.start().await;
            return;
        }
        if let Err(failure) = self.try_start(&["--appendonly", "no"]).await {
            panic!("{}", failure.message);
        }
        let _: String = self
            .query(redis::cmd("CONFIG").arg("SET").arg("appendonly").arg("yes"))
            .await;
        let port = self.port;
        wait_until(
            Duration::from_secs(10),
            "the AOF rewrite after restoring a snapshot",
            || aof_rewritten(port),
        )
        .await;
    }

    /// The server's run id (INFO server): a new one after every start.
    pub async fn run_id(&self) -> String {
        info_field(self.port, "server", "run_id")
            .await
            .unwrap_or_else(|e| panic!("INFO server: {e}"))
    }

    /// Runs `cmd` on the server, bounded in time.
    ///
    /// # Panics
    /// On any error: use `redis_control::query` to see errors.
    pub async fn query<T: FromRedisValue>(&self, cmd: &redis::Cmd) -> T {
        redis_control::query(self.port, cmd)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn running(&self) -> &ProcessGuard {
        self.process
            .as_ref()
            .unwrap_or_else(|| panic!("redis-server on {} is not running", self.port))
    }

    fn running_mut(&mut self) -> &mut ProcessGuard {
        let port = self.port;
        self.process
            .as_mut()
            .unwrap_or_else(|| panic!("redis-server on {port} is not running"))
    }

    fn remove_data(&self) {
        for stale in ["dump.rdb", "appendonlydir"] {
            let path = self.dir.join(stale);
            let removed = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            if let Err(e) = removed {
                assert_eq!(
                    e.kind(),
                    std::io::ErrorKind::NotFound,
                    "removing {}: {e}",
                    path.display()
                );
            }
        }
    }

    /// Starts redis-server with its arguments, then `overrides` (a later
    /// argument wins), and waits until it answers PING.
    async fn try_start(&mut self, overrides: &[&str]) -> Result<(), StartFailure> {
        assert!(
            self.process.is_none(),
            "redis-server on {} is running already",
            self.port
        );
        let output = std::fs::File::create(self.dir.join("stdout.log"))
            .unwrap_or_else(|e| panic!("creating the output file of redis-server: {e}"));
        let mut command = std::process::Command::new("redis-server");
        command
            .args(
                self.options
                    .command_line(self.port, self.bus_port, self.dir.path()),
            )
            .args(overrides)
            .stdin(Stdio::null())
            .stdout(Stdio::from(output.try_clone().unwrap()))
            .stderr(Stdio::from(output));
        let process = ProcessGuard::spawn(&format!("redis-server on {}", self.port), &mut command)
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run redis-server ({e}); install Redis (apt-get install redis-server)"
                )
            });
        let process = self.process.insert(process);
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = process.exited() {
                self.process = None;
                let log = self.log_tail();
                return Err(StartFailure {
                    port_taken: log.contains("Address already in use"),
                    message: format!(
                        "redis-server on {} exited at start ({status}):\n{log}",
                        self.port
                    ),
                });
            }
            let last_seen = match ping(self.port).await {
                Ok(()) => return Ok(()),
                Err(e) => e,
            };
            assert!(
                Instant::now() < deadline,
                "redis-server on {} did not answer PING within {START_TIMEOUT:?} \
                 (last seen: {last_seen}):\n{}",
                self.port,
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The last lines of the server's log and output, for failure messages.
    fn log_tail(&self) -> String {
        let mut text = String::new();
        for name in ["stdout.log", "redis.log"] {
            let content = std::fs::read_to_string(self.dir.join(name)).unwrap_or_default();
            let lines: Vec<&str> = content.lines().collect();
            for line in &lines[lines.len().saturating_sub(15)..] {
                text.push_str(line);
                text.push('\n');
            }
        }
        text
    }
}

/// Whether the AOF rewrite that `CONFIG SET appendonly yes` started is done.
async fn aof_rewritten(port: u16) -> bool {
    let info: String = match redis_control::query(port, redis::cmd("INFO").arg("persistence")).await
    {
        Ok(info) => info,
        Err(_) => return false,
    };
    let field = |name| redis_control::field_of(&info, name);
    field("aof_rewrite_in_progress").as_deref() == Some("0")
        && field("aof_rewrite_scheduled").as_deref() == Some("0")
        && field("aof_last_bgrewrite_status").as_deref() == Some("ok")
}

#[cfg(test)]
mod tests;
