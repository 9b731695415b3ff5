//! How a private redis-server persists and what it is started with.

use std::path::Path;
use std::time::Duration;

/// When an AOF server fsyncs its log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AofFsync {
    /// After every write: a kill loses nothing acknowledged.
    Always,
    /// Once a second: a kill may lose the last second.
    EverySec,
}

/// How a [`RedisServer`](super::RedisServer) persists, and anything else to pass it.
///
/// The default persists nothing: a restart comes back empty, as the shared
/// test Redis is configured.
#[derive(Clone, Debug, Default)]
pub struct RedisOptions {
    rdb: bool,
    aof: Option<AofFsync>,
    cluster_node_timeout: Option<Duration>,
    args: Vec<String>,
}

impl RedisOptions {
    /// RDB snapshots to `dump.rdb` in the server's dir: every second after a
    /// write, and on `RedisServer::stop`. A restart keeps the data; a kill
    /// loses the writes since the last snapshot.
    pub fn rdb(mut self) -> Self {
        self.rdb = true;
        self
    }

    /// An append-only file, fsynced as `fsync` says.
    pub fn aof(mut self, fsync: AofFsync) -> Self {
        self.aof = Some(fsync);
        self
    }

    /// A cluster node (see `RedisCluster`): cluster mode on a bus port of
    /// its own, failing over after `node_timeout` whatever the replica's
    /// lag, and refusing reads while the cluster is down.
    pub fn cluster(mut self, node_timeout: Duration) -> Self {
        self.cluster_node_timeout = Some(node_timeout);
        self
    }

    /// A raw argument for redis-server, e.g. `--maxmemory`.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }
}

impl RedisOptions {
    pub(super) fn is_aof(&self) -> bool {
        self.aof.is_some()
    }

    pub(super) fn is_cluster(&self) -> bool {
        self.cluster_node_timeout.is_some()
    }

    /// The arguments of redis-server for this server.
    pub(super) fn command_line(&self, port: u16, bus_port: Option<u16>, dir: &Path) -> Vec<String> {
        let log = dir.join("redis.log").display().to_string();
        let dir = dir.display().to_string();
        let mut args: Vec<String> = [
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--daemonize",
            "no",
            "--dir",
            &dir,
            "--dbfilename",
            "dump.rdb",
            "--logfile",
            &log,
            "--save",
            if self.rdb { "1 1" } else { "" },
            "--appendonly",
            if self.aof.is_some() { "yes" } else { "no" },
            "--appendfsync",
            match self.aof {
                Some(AofFsync::Always) => "always",
                _ => "everysec",
            },
            // Replicas sync at once, not after the default 5 s wait for
            // more replicas to join the transfer.
            "--repl-diskless-sync-delay",
            "0",
            // Findable by `pgrep -f booking-harness` if a killed test leaves it.
            "--proc-title-template",
            "{title} {listen-addr} {server-mode} booking-harness",
        ]
        .map(String::from)
        .into();
        if let (Some(timeout), Some(bus_port)) = (self.cluster_node_timeout, bus_port) {
            args.extend(
                [
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--cluster-node-timeout",
                    &timeout.as_millis().to_string(),
                    // Not port + 10000, which may be taken: a port of its own.
                    "--cluster-port",
                    &bus_port.to_string(),
                    // A replica takes over however long it was cut off: the
                    // tests want the failover, not Redis' data-age caution.
                    "--cluster-replica-validity-factor",
                    "0",
                    "--cluster-allow-reads-when-down",
                    "no",
                ]
                .map(String::from),
            );
        }
        args.extend(self.args.iter().cloned());
        args
    }
}
