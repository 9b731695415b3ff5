//! A Redis of the run's own. The machine's Redis serves everyone's tests
//! too, and Redis is one process: its CPU per operation can only be read
//! when nobody else uses it. Configured as docker/compose.yml runs it in
//! production (no persistence: holds are short-lived, booked seats reload
//! from Postgres).

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct OwnRedis {
    child: Child,
    pub url: String,
    dir: std::path::PathBuf,
}

impl OwnRedis {
    /// Starts `redis-server` on a free local port and waits for its PING.
    pub fn start() -> anyhow::Result<Self> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let dir = std::env::temp_dir().join(format!("bench-redis-{port}"));
        std::fs::create_dir_all(&dir)?;
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| anyhow::anyhow!("cannot start redis-server (is it installed?): {e}"))?;
        let redis = Self {
            child,
            url: format!("redis://127.0.0.1:{port}"),
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !redis.answers_ping(port) {
            anyhow::ensure!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(redis)
    }

    fn answers_ping(&self, port: u16) -> bool {
        Command::new("redis-cli")
            .args(["-p", &port.to_string(), "PING"])
            .output()
            .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "PONG")
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The pid of the Redis at `url`, when it runs on this machine: what its
/// `INFO server` says. Used when the run is given a Redis to share.
pub fn pid_of(url: &str) -> Option<u32> {
    let (host, port) = crate::server::redis_host_port(url);
    let out = Command::new("redis-cli")
        .args(["-h", &host, "-p", &port.to_string(), "INFO", "server"])
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("process_id:"))
        .and_then(|pid| pid.trim().parse().ok())
}
