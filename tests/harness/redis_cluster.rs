//! A Redis Cluster of a test's own: 3 masters with a replica each, every
//! node a [`RedisServer`] on free ports. Kill a master and watch its
//! replica take over, force a failover, or bring a node back empty.
//!
//! Nodes persist nothing. A node restarted by
//! [`RedisCluster::restart_node_empty`] keeps its `nodes.conf`, so it keeps
//! its id and rejoins as the cluster knows it: a replica resyncs from its
//! master; a master that failed over while it was down comes back as the
//! replica of its successor; a master restarted before its replica took
//! over comes back master of its slots with NO data (and its replica then
//! resyncs to empty too) - the classic no-persistence hazard, there to be
//! tested on purpose. To have the replica take over instead:
//! `kill_node`, `wait_for_failover`, then `restart_node_empty`.

mod topology;

use std::time::Duration;

pub use topology::NodeEntry;

use super::process::run_bounded;
use super::redis_control::{self, field_of, info_field, query};
use super::redis_server::{RedisOptions, RedisServer};
use super::wait::wait_for;

/// How long a node may be unreachable before it is failed over: short, so
/// failovers take a second or two.
const NODE_TIMEOUT: Duration = Duration::from_millis(1000);
/// Detecting the failure, electing a replica, spreading the news.
const FAILOVER_TIMEOUT: Duration = Duration::from_secs(20);
/// Forming, rejoining and full resyncs of a few keys.
const HEALTHY_TIMEOUT: Duration = Duration::from_secs(20);
const MASTERS: usize = 3;
const SLOTS: usize = 16384;

/// A node of the cluster, by its port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Node {
    port: u16,
}

impl Node {
    pub fn port(self) -> u16 {
        self.port
    }

    pub fn url(self) -> String {
        redis_control::url(self.port)
    }
}

#[derive(Debug)]
pub struct RedisCluster {
    servers: Vec<RedisServer>,
}

impl RedisCluster {
    /// Six nodes made into 3 masters with a replica each by
    /// `redis-cli --cluster create`, returned once every node agrees,
    /// reports `cluster_state:ok`, and every replica is in sync.
    ///
    /// # Panics
    /// When the cluster does not form within the bounds.
    pub async fn spawn() -> Self {
        let mut servers = Vec::new();
        for _ in 0..MASTERS * 2 {
            servers
                .push(RedisServer::spawn_with(RedisOptions::default().cluster(NODE_TIMEOUT)).await);
        }
        let addresses: Vec<String> = servers
            .iter()
            .map(|s| format!("127.0.0.1:{}", s.port()))
            .collect();
        run_bounded(
            "redis-cli --cluster create",
            tokio::process::Command::new("redis-cli")
                .args(["--cluster", "create"])
                .args(&addresses)
                .args(["--cluster-replicas", "1", "--cluster-yes"]),
            Duration::from_secs(30),
        )
        .await;
        let cluster = Self { servers };
        cluster.wait_healthy().await;
        cluster
    }

    pub fn nodes(&self) -> Vec<Node> {
        self.servers
            .iter()
            .map(|s| Node { port: s.port() })
            .collect()
    }

    /// Every node's URL, for a cluster client to start from.
    pub fn seed_urls(&self) -> Vec<String> {
        self.nodes().into_iter().map(Node::url).collect()
    }

    /// The node's server, to pause, resume or query it.
    ///
    /// # Panics
    /// When `node` is not of this cluster.
    pub fn server(&self, node: Node) -> &RedisServer {
        self.servers
            .iter()
            .find(|s| s.port() == node.port)
            .unwrap_or_else(|| panic!("{node:?} is not a node of this cluster"))
    }

    /// # Panics
    /// When `node` is not of this cluster.
    pub fn server_mut(&mut self, node: Node) -> &mut RedisServer {
        self.servers
            .iter_mut()
            .find(|s| s.port() == node.port)
            .unwrap_or_else(|| panic!("{node:?} is not a node of this cluster"))
    }

    /// The slot of `key` (CLUSTER KEYSLOT).
    pub async fn slot_of(&self, key: &str) -> u16 {
        let (port, _) = self.any_view().await;
        let slot: i64 = query(port, redis::cmd("CLUSTER").arg("KEYSLOT").arg(key))
            .await
            .unwrap_or_else(|e| panic!("CLUSTER KEYSLOT: {e}"));
        u16::try_from(slot).unwrap()
    }

    /// The cluster as a live node sees it.
    pub async fn topology(&self) -> Vec<NodeEntry> {
        self.any_view().await.1
    }

    /// The master a live node names for `slot` (it may be down: the
    /// cluster still names it until a replica takes over).
    pub async fn master_for_slot(&self, slot: u16) -> Node {
        let (port, view) = self.any_view().await;
        view.iter()
            .find(|n| n.is_master() && n.owns(slot))
            .map(|n| Node { port: n.port })
            .unwrap_or_else(|| panic!("node {port} names no master for slot {slot}"))
    }

    pub async fn master_for_key(&self, key: &str) -> Node {
        let slot = self.slot_of(key).await;
        self.master_for_slot(slot).await
    }

    /// The replica of `master`, a healthy one if there is one.
    ///
    /// # Panics
    /// When `master` has no replica.
    pub async fn replica_of(&self, master: Node) -> Node {
        let (port, view) = self.any_view().await;
        let id = &view
            .iter()
            .find(|n| n.port == master.port)
            .unwrap_or_else(|| panic!("node {port} does not know {master:?}"))
            .id;
        let mut replicas: Vec<&NodeEntry> = view
            .iter()
            .filter(|n| n.master_id.as_ref() == Some(id))
            .collect();
        replicas.sort_by_key(|n| n.is_failing());
        replicas
            .first()
            .map(|n| Node { port: n.port })
            .unwrap_or_else(|| panic!("node {port} sees no replica of {master:?}"))
    }

    /// SIGKILL to one node.
    pub fn kill_node(&mut self, node: Node) {
        self.server_mut(node).kill();
    }

    /// Kills the master of `key`'s slot, and returns it.
    pub async fn kill_master_for(&mut self, key: &str) -> Node {
        let master = self.master_for_key(key).await;
        self.kill_node(master);
        master
    }

    /// Waits until a live node owns `key`'s slot in every live node's view
    /// and every live node reports `cluster_state:ok`; returns the new
    /// master.
    ///
    /// # Panics
    /// After 20 s, saying what the cluster looked like.
    pub async fn wait_for_failover(&self, key: &str) -> Node {
        let slot = self.slot_of(key).await;
        let live = self.live_ports();
        let what = format!("a live node to take over slot {slot} with cluster_state:ok");
        let owner = wait_for(FAILOVER_TIMEOUT, &what, || async {
            let mut owner = None;
            for &port in &live {
                expect_cluster_ok(port).await?;
                let view = view(port).await?;
                let master = view
                    .iter()
                    .find(|n| n.is_master() && n.owns(slot))
                    .ok_or_else(|| format!("{port} names no master for slot {slot}"))?;
                if !live.contains(&master.port) {
                    return Err(format!("{port} still names {} (down)", master.port));
                }
                if owner.is_some_and(|o| o != master.port) {
                    return Err(format!(
                        "{port} names {}, another node names {owner:?}",
                        master.port
                    ));
                }
                owner = Some(master.port);
            }
            owner.ok_or_else(|| "no live node".to_owned())
        })
        .await;
        Node { port: owner }
    }

    /// CLUSTER FAILOVER on `replica`: it takes over from its master, which
    /// becomes its replica, without losing writes. Waits until every live
    /// node sees it master and reports `cluster_state:ok`.
    ///
    /// # Panics
    /// When it is refused or not done within 20 s.
    pub async fn manual_failover(&self, replica: Node) {
        let reply: String = query(replica.port, redis::cmd("CLUSTER").arg("FAILOVER"))
            .await
            .unwrap_or_else(|e| panic!("CLUSTER FAILOVER: {e}"));
        assert_eq!(reply, "OK", "CLUSTER FAILOVER on {replica:?}");
        let live = self.live_ports();
        let what = format!("{} to take over from its master", replica.port);
        wait_for(FAILOVER_TIMEOUT, &what, || async {
            for &port in &live {
                expect_cluster_ok(port).await?;
                let view = view(port).await?;
                let seen = view
                    .iter()
                    .find(|n| n.port == replica.port)
                    .ok_or_else(|| format!("{port} does not know {}", replica.port))?;
                if !(seen.is_master() && seen.slot_count() > 0) {
                    return Err(format!("{port} sees {} as {:?}", replica.port, seen.flags));
                }
            }
            Ok(())
        })
        .await;
    }

    /// Kills `node`, deletes its data (keeping `nodes.conf`, see the module
    /// doc for what follows), starts it on its port, and waits until the
    /// whole cluster is healthy again.
    pub async fn restart_node_empty(&mut self, node: Node) {
        self.server_mut(node).restart_empty().await;
        self.wait_healthy().await;
    }

    /// Waits until every node agrees on one topology of 3 masters (all
    /// slots) with a replica each, none failing, every node reports
    /// `cluster_state:ok` and every replica's link to its master is up
    /// (its sync done).
    ///
    /// # Panics
    /// When a node is down or paused, or after 20 s.
    pub async fn wait_healthy(&self) {
        let ports: Vec<u16> = self.servers.iter().map(RedisServer::port).collect();
        assert_eq!(
            self.live_ports(),
            ports,
            "a healthy cluster needs every node up and running"
        );
        let what = "every node to agree on 3 masters with a replica each, \
                    cluster_state:ok and replicas in sync";
        wait_for(HEALTHY_TIMEOUT, what, || async {
            let mut agreed: Option<Vec<NodeEntry>> = None;
            for &port in &ports {
                expect_cluster_ok(port).await?;
                let view = shape(view(port).await?);
                if view.len() != ports.len() {
                    return Err(format!("{port} knows {} nodes", view.len()));
                }
                if let Some(n) = view.iter().find(|n| n.is_failing()) {
                    return Err(format!("{port} sees {} as {:?}", n.port, n.flags));
                }
                match &agreed {
                    Some(seen) if *seen != view => {
                        return Err(format!("{port} sees another topology than {}", ports[0]));
                    }
                    _ => agreed = Some(view),
                }
            }
            let view = agreed.unwrap_or_default();
            let masters: Vec<&NodeEntry> = view.iter().filter(|n| n.is_master()).collect();
            let slots: usize = masters.iter().map(|m| m.slot_count()).sum();
            if masters.len() != MASTERS || slots != SLOTS {
                return Err(format!("{} masters serving {slots} slots", masters.len()));
            }
            for master in masters {
                let replicas = view
                    .iter()
                    .filter(|n| n.master_id.as_ref() == Some(&master.id))
                    .count();
                if replicas != 1 {
                    return Err(format!("{} has {replicas} replicas", master.port));
                }
            }
            for replica in view.iter().filter(|n| !n.is_master()) {
                let link = info_field(replica.port, "replication", "master_link_status").await?;
                if link != "up" {
                    return Err(format!("{}: master_link_status:{link}", replica.port));
                }
            }
            Ok(())
        })
        .await;
    }

    /// Nodes that run and are not paused: the ones that can answer.
    fn live_ports(&self) -> Vec<u16> {
        self.servers
            .iter()
            .filter(|s| s.is_running() && !s.is_paused())
            .map(RedisServer::port)
            .collect()
    }

    async fn any_view(&self) -> (u16, Vec<NodeEntry>) {
        let mut errors = Vec::new();
        for port in self.live_ports() {
            match view(port).await {
                Ok(view) => return (port, view),
                Err(e) => errors.push(e),
            }
        }
        panic!("no live node answers CLUSTER NODES: {errors:?}");
    }
}

/// The node's CLUSTER NODES.
async fn view(port: u16) -> Result<Vec<NodeEntry>, String> {
    let text: String = query(port, redis::cmd("CLUSTER").arg("NODES")).await?;
    topology::parse(&text)
}

/// A view without what differs from node to node ("myself"), sorted, so
/// views of the same topology compare equal.
fn shape(mut view: Vec<NodeEntry>) -> Vec<NodeEntry> {
    for node in &mut view {
        node.flags.retain(|f| f != "myself");
    }
    view.sort_by(|a, b| a.id.cmp(&b.id));
    view
}

async fn expect_cluster_ok(port: u16) -> Result<(), String> {
    let info: String = query(port, redis::cmd("CLUSTER").arg("INFO")).await?;
    match field_of(&info, "cluster_state").as_deref() {
        Some("ok") => Ok(()),
        state => Err(format!("{port}: cluster_state {state:?}")),
    }
}

#[cfg(test)]
mod tests;
