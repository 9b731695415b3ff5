//! The server under test: the release binary on a database and a Redis key
//! prefix of its own, started and cleaned up by the benchmark.

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::client::Conn;
use crate::cpu::Watched;

#[derive(Debug)]
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    pub database: String,
    pub prefix: String,
    admin_url: String,
    redis_url: String,
}

impl Server {
    /// Creates database `booking_bench_<random>` on the server at
    /// `admin_url`, then starts `binary` on it with Redis key prefix
    /// `bench-<random>`, and waits until it is ready.
    ///
    /// It runs as production does (config/production.toml): real stores,
    /// JSON logs at `log_level`, or else at the server's default level,
    /// which is production's (one line per request), the default workers
    /// (one per core) and pools. Two things differ: identity is `trust`
    /// (the generator names its users in the body rather than signing a
    /// JWT per user), and the log goes to /dev/null (the api still formats
    /// and writes every line; no log shipper reads it).
    pub async fn start(
        binary: &Path,
        admin_url: &str,
        redis_url: &str,
        log_level: Option<&str>,
        extra_env: &[(String, String)],
    ) -> anyhow::Result<Self> {
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        let database = format!("booking_bench_{}", &suffix[..12]);
        let prefix = format!("bench-{}", &suffix[..12]);
        admin(admin_url, &format!("CREATE DATABASE \"{database}\"")).await?;
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut command = Command::new(binary);
        command
            .env("BOOKING__STORAGE", "postgres_redis")
            .env(
                "BOOKING__POSTGRES__URL",
                with_database(admin_url, &database),
            )
            .env("BOOKING__REDIS__URL", redis_url)
            .env("BOOKING__REDIS__KEY_PREFIX", &prefix)
            .env("BOOKING__SERVER__HOST", "127.0.0.1")
            .env("BOOKING__SERVER__PORT", port.to_string())
            .env("BOOKING__LOG__FORMAT", "json")
            // Measures the service, not its rate limits (off by default
            // outside production; said explicitly so it stays so).
            .env("BOOKING__RATE_LIMITS__ENABLED", "false")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        if let Some(level) = log_level {
            command.env("BOOKING__LOG__LEVEL", level);
        }
        for (key, value) in extra_env {
            command.env(key, value);
        }
        let child = command.spawn()?;
        let server = Self {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            database,
            prefix,
            admin_url: admin_url.to_owned(),
            redis_url: redis_url.to_owned(),
        };
        server.wait_ready().await?;
        Ok(server)
    }

    async fn wait_ready(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(mut conn) = Conn::open(self.addr).await {
                if conn.get("/health/ready").await.status == 200 {
                    return Ok(());
                }
            }
            anyhow::ensure!(Instant::now() < deadline, "the server did not become ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The processes of this server and its stores, for CPU figures.
    pub fn watched(&self, redis_pid: Option<u32>) -> Watched {
        Watched {
            api: Some(self.pid()),
            redis: redis_pid,
            database: Some(self.database.clone()),
        }
    }

    pub fn database_url(&self) -> String {
        with_database(&self.admin_url, &self.database)
    }

    /// The server's peak resident set so far (VmHWM), in KiB.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        rss_field(self.child.id(), "VmHWM:")
    }

    /// Stops the server and removes its database and keys.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
        admin(
            &self.admin_url,
            &format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.database),
        )
        .await?;
        let (host, port) = redis_host_port(&self.redis_url);
        let _ = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "redis-cli -h {host} -p {port} --scan --pattern '{}:*' | xargs -r -n 500 redis-cli -h {host} -p {port} del > /dev/null",
                self.prefix
            ))
            .status();
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Never leave a server behind, whatever went wrong.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn rss_field(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

async fn admin(admin_url: &str, sql: &str) -> anyhow::Result<()> {
    let (client, connection) = tokio_postgres::connect(admin_url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    client.batch_execute(sql).await?;
    Ok(())
}

/// `postgres://u@h:p/any` → `postgres://u@h:p/<database>`.
pub fn with_database(url: &str, database: &str) -> String {
    let (server, _) = url.rsplit_once('/').unwrap_or((url, ""));
    format!("{server}/{database}")
}

/// Host and port of a `redis://host:port[/db]` URL.
pub fn redis_host_port(url: &str) -> (String, u16) {
    let rest = url.trim_start_matches("redis://");
    let rest = rest.split('/').next().unwrap_or(rest);
    let rest = rest.rsplit('@').next().unwrap_or(rest);
    match rest.rsplit_once(':') {
        Some((host, port)) => (host.to_owned(), port.parse().unwrap_or(6379)),
        None => (rest.to_owned(), 6379),
    }
}
