//! Fault-injection harness (doc written below once the tools are in).

pub mod ports;
pub mod process;
pub mod redis_cluster;
pub mod redis_control;
pub mod redis_server;
pub mod tcp_proxy;
pub mod temp_dir;
pub mod wait;
