//! Fault injection for the black-box tests and the fault soak: stores of a
//! test's own to kill, freeze, rewind or fail over, and a proxy to break
//! the network between the app and a store. Nothing here touches the
//! shared Redis or Postgres beyond reading it, except
//! [`PgAdmin::terminate_backends`] on a test's own database.
//!
//! | tool | simulates |
//! | --- | --- |
//! | [`RedisServer`] | a Redis that stops (orderly or killed), hangs (`pause`: SIGSTOP), restarts empty, or comes back OLDER than it was (`snapshot` then `restart_from`), with RDB or AOF persistence as configured |
//! | [`RedisCluster`] | 3 masters + 3 replicas: a master that dies and is failed over (`kill_master_for`, `wait_for_failover`), a planned failover (`manual_failover`), a node back with no data (`restart_node_empty`) |
//! | [`TcpProxy`] | the network: latency (`set_delay`), dropped connections (`cut`), a peer that hangs (`blackhole`), a port that resets (`refuse`) |
//! | [`PgAdmin`] | the app's Postgres connections dying under it (`terminate_backends`), and what they are doing (`backends`) |
//! | [`PgServer`], [`PgReplica`] | a private Postgres to kill, freeze or restart, and a streaming replica of it that lags, hangs or is promoted |
//!
//! A fault test starts the tool, points the app at it (its `url()`, or the
//! proxy's port in the store's URL), injects the fault while requests run,
//! and checks what the client sees and what the stores hold afterwards:
//!
//! ```no_run
//! # async fn example() {
//! use std::time::Duration;
//! use booking_tests::harness::{wait_until, RedisServer, TcpProxy};
//!
//! let redis = RedisServer::spawn().await;
//! let proxy = TcpProxy::to_port(redis.port()).await;
//! let url = format!("redis://127.0.0.1:{}", proxy.port()); // the app's Redis URL
//! proxy.blackhole(true); // requests now hang until the app's own timeouts
//! proxy.blackhole(false);
//! wait_until(Duration::from_secs(5), "the app to recover", || async { true }).await;
//! # let _ = url;
//! # }
//! ```
//!
//! Every wait is bounded and panics saying what it waited for and what it
//! saw last ([`wait_for`]); every process dies with its handle, on a panic
//! too ([`ProcessGuard`]), and every temp dir goes with it ([`TempDir`]).
//! Ports come from [`free_port`], so tests run in parallel. A test binary
//! killed outright (SIGKILL) cannot clean up: its servers are left running
//! until killed by hand (`pgrep -af booking-harness` lists the
//! redis-servers by their title and the postmasters by their data dir).

pub mod ports;
pub mod postgres;
pub mod process;
pub mod redis_cluster;
pub mod redis_control;
pub mod redis_server;
pub mod signals;
pub mod tcp_proxy;
pub mod temp_dir;
pub mod wait;

pub use ports::free_port;
pub use postgres::{Backend, PgAdmin, PgReplica, PgServer};
pub use process::ProcessGuard;
pub use redis_cluster::{Node, RedisCluster};
pub use redis_server::{AofFsync, RedisOptions, RedisServer, Snapshot};
pub use signals::Signal;
pub use tcp_proxy::{ProxyStats, TcpProxy};
pub use temp_dir::TempDir;
pub use wait::{wait_for, wait_until};
