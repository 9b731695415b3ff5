//! The store in cluster mode on a real 3-master Redis Cluster: one
//! `RedisHoldStore::connect_cluster` serves events on every node, the
//! client sending each script to the master of its event's slot. A script
//! touching a key of another slot would fail there (CROSSSLOT, or "non
//! local key"), so a clean run shows every script stays in its event's
//! slot, as DESIGN.md promises. A master restarted empty answers NOSCRIPT
//! and the client reloads the script on it by itself.

use booking_domain::contract::ready;
use std::process::Command;
use std::time::{Duration, Instant};

use booking_domain::contract::{best, event, request, rows, seats, spec, user};
use booking_domain::{
    BeginConfirm, BeginLoad, EventId, ExtendOutcome, HoldId, HoldStore, LoadStep, LoadToken,
    Mirror, ReleaseOutcome, ReserveOutcome, SeatCounts, StoreError,
};
use booking_redis::{EventKeys, KeyPrefix, Part, RedisHoldStore, RedisOptions};

use crate::helpers::{book, counted, counts, load};
use crate::private_server::{free_port, PrivateRedis};

const LONG: Duration = Duration::from_secs(300);

struct Cluster {
    nodes: Vec<PrivateRedis>,
}

impl Cluster {
    fn start() -> Self {
        let cluster = Self::nodes_only();
        cluster.create();
        cluster
    }

    /// Three cluster-enabled nodes that are not a cluster yet: they refuse
    /// every key until [`Cluster::create`].
    fn nodes_only() -> Self {
        let nodes: Vec<PrivateRedis> = (0..3).map(|_| cluster_node()).collect();
        Self { nodes }
    }

    /// `redis-cli --cluster create` of the nodes, waiting for
    /// `cluster_state:ok` on all of them.
    fn create(&self) {
        let addresses: Vec<String> = self
            .nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let out = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .expect("redis-cli runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        let started = Instant::now();
        while !self.nodes.iter().all(|n| {
            let info: String = self.query(n.port, redis::cmd("CLUSTER").arg("INFO"));
            info.contains("cluster_state:ok")
        }) {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the cluster did not form"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn seeds(&self) -> Vec<String> {
        self.nodes.iter().map(PrivateRedis::url).collect()
    }

    fn node_mut(&mut self, port: u16) -> &mut PrivateRedis {
        self.nodes.iter_mut().find(|n| n.port == port).unwrap()
    }

    /// Waits until every node reports `cluster_state:ok` again.
    fn wait_ok(&self) {
        let started = Instant::now();
        while !self.nodes.iter().all(|n| {
            let url = format!("redis://127.0.0.1:{}", n.port);
            redis::Client::open(url)
                .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(1)))
                .and_then(|mut con| redis::cmd("CLUSTER").arg("INFO").query::<String>(&mut con))
                .is_ok_and(|info| info.contains("cluster_state:ok"))
        }) {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the cluster did not come back"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn query<T: redis::FromRedisValue>(&self, port: u16, cmd: &mut redis::Cmd) -> T {
        let url = format!("redis://127.0.0.1:{port}");
        let mut con = redis::Client::open(url).unwrap().get_connection().unwrap();
        cmd.query(&mut con).unwrap()
    }

    /// The port of the node serving `key`'s slot.
    fn owner(&self, key: &str) -> u16 {
        let any = self.nodes[0].port;
        let slot: i64 = self.query(any, redis::cmd("CLUSTER").arg("KEYSLOT").arg(key));
        // CLUSTER SLOTS: [[start, end, [ip, port, id], replicas...], ...]
        let ranges = self.query::<Vec<Vec<redis::Value>>>(any, redis::cmd("CLUSTER").arg("SLOTS"));
        let int = |v: &redis::Value| match v {
            redis::Value::Int(n) => *n,
            other => panic!("{other:?}"),
        };
        let port = ranges
            .iter()
            .find(|range| (int(&range[0])..=int(&range[1])).contains(&slot))
            .map(|range| match &range[2] {
                redis::Value::Array(node) => int(&node[1]),
                other => panic!("{other:?}"),
            })
            .expect("every slot is served");
        u16::try_from(port).unwrap()
    }
}

/// A cluster-enabled redis-server on its own, in no cluster yet.
fn cluster_node() -> PrivateRedis {
    let bus = free_port().to_string();
    PrivateRedis::start(&[
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        "nodes.conf",
        "--cluster-node-timeout",
        "2000",
        "--cluster-port",
        &bus,
    ])
}

/// The port of the master serving the event's slot.
fn owner_of(cluster: &Cluster, prefix: &KeyPrefix, e: EventId) -> u16 {
    cluster.owner(&EventKeys::new(prefix, e).key(Part::Meta).to_string())
}

fn cluster_store(cluster: &Cluster, prefix: &KeyPrefix) -> RedisHoldStore {
    RedisHoldStore::connect_cluster(&cluster.seeds(), prefix.as_str(), RedisOptions::default())
        .unwrap()
}

/// Every script, as the service would run them, on one event.
async fn every_script_runs(store: &RedisHoldStore, e: EventId) {
    let booking = HoldId::generate(e);
    let token = LoadToken::generate();
    let spec = spec(rows(&[5, 5]), LONG);
    assert_eq!(
        store.begin_load(e, token, &spec).await.unwrap(),
        BeginLoad::Begun
    );
    assert_eq!(
        store
            .load_booked(e, token, &[(seats(&[9])[0], booking)])
            .await
            .unwrap(),
        LoadStep::Done
    );
    assert_eq!(store.finish_load(e, token).await.unwrap(), LoadStep::Done);
    let ReserveOutcome::Held(hold) =
        ready(store.reserve(&request(e, "alice", &[1, 2], LONG)).await)
    else {
        panic!("free seats should be held");
    };
    assert!(ready(store.hold(e, hold.id).await).is_some());
    assert!(matches!(
        ready(
            store
                .extend(e, hold.id, &user("alice"), LONG, LONG * 2)
                .await
        ),
        ExtendOutcome::Extended(_)
    ));
    assert!(matches!(
        ready(store.reserve(&request(e, "bob", &[2, 9], LONG)).await),
        ReserveOutcome::Unavailable(_)
    ));
    let ReserveOutcome::Held(best_hold) = ready(store.reserve(&best(e, "bob", 3, LONG)).await)
    else {
        panic!("three seats together should be held");
    };
    assert_eq!(best_hold.seats, seats(&[3, 4, 5]));
    let BeginConfirm::Pending(pending) =
        ready(store.begin_confirm(e, hold.id, &user("alice")).await)
    else {
        panic!("a live hold should go pending");
    };
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert_eq!(
        store.stale_pending(e, Duration::ZERO).await.unwrap().len(),
        1
    );
    store.abort_confirm(e, hold.id).await.unwrap();
    ready(store.begin_confirm(e, hold.id, &user("alice")).await);
    store.finish_confirm(&pending).await.unwrap();
    store.unbook(e, booking, &seats(&[9])).await.unwrap();
    assert_eq!(
        ready(store.release(e, best_hold.id, &user("bob")).await),
        ReleaseOutcome::Released
    );
    assert_eq!(
        ready(store.counts(e, Duration::from_secs(60)).await),
        SeatCounts {
            booked: 2,
            held: 0,
            stale_pending: 0
        }
    );
    assert_eq!(
        ready(store.seat_map(e).await).counts(),
        SeatCounts {
            booked: 2,
            held: 0,
            stale_pending: 0
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_script_runs_on_a_redis_cluster_in_its_events_slot() {
    let cluster = tokio::task::spawn_blocking(Cluster::start).await.unwrap();
    let prefix = KeyPrefix::parse("booking").unwrap();
    // One store for the whole cluster, as the api builds it.
    let store = cluster_store(&cluster, &prefix);
    assert!(store.is_cluster());
    let info = store.info().await.unwrap();
    assert!(info.version.ends_with("(cluster)"), "{}", info.version);
    let mut ports = Vec::new();
    for id in 1..=6 {
        let e = event(id);
        every_script_runs(&store, e).await;
        ports.push(owner_of(&cluster, &prefix, e));
    }
    ports.sort();
    ports.dedup();
    assert!(
        ports.len() > 1,
        "the events should spread over several nodes"
    );

    // The slots are really sharded: a single-node store on a node that
    // does not own the event's slot is refused (MOVED), and reports it.
    let e = event(1);
    let owner = owner_of(&cluster, &prefix, e);
    let other = cluster
        .nodes
        .iter()
        .map(|n| n.port)
        .find(|p| *p != owner)
        .unwrap();
    let wrong =
        RedisHoldStore::connect(&format!("redis://127.0.0.1:{other}"), "booking", 1).unwrap();
    assert!(matches!(
        wrong.counts(e, Duration::from_secs(60)).await,
        Err(StoreError::Internal { .. } | StoreError::Unavailable { .. })
    ));
}

/// A master restarted with no data (no persistence, as advised) lost its
/// events' mirrors and every script: the next call gets NOSCRIPT, the
/// client loads the script on every master and calls again, and the
/// script answers "not loaded" (the mirror is gone) rather than serve a
/// seat as free. Events on the other masters keep their data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_master_restarted_empty_gets_its_scripts_back_and_its_events_reload() {
    let mut cluster = tokio::task::spawn_blocking(Cluster::start).await.unwrap();
    let prefix = KeyPrefix::parse("booking").unwrap();
    let store = cluster_store(&cluster, &prefix);
    // Two events on different masters, each with a booked seat.
    let first = event(1);
    let first_owner = owner_of(&cluster, &prefix, first);
    let second = (2..50)
        .map(event)
        .find(|e| owner_of(&cluster, &prefix, *e) != first_owner)
        .unwrap();
    for e in [first, second] {
        load(&store, e, 10, &[]).await;
        book(&store, e, "alice", &[1]).await;
        assert_eq!(counts(&store, e).await, counted(1, 0));
    }

    cluster = tokio::task::spawn_blocking(move || {
        cluster.node_mut(first_owner).restart();
        cluster.wait_ok();
        cluster
    })
    .await
    .unwrap();
    let hash = redis::Script::new(booking_redis::counts_script())
        .get_hash()
        .to_owned();
    let exists = |cluster: &Cluster| -> Vec<i64> {
        cluster.query(first_owner, redis::cmd("SCRIPT").arg("EXISTS").arg(&hash))
    };
    assert_eq!(exists(&cluster), [0], "the restarted master has no scripts");

    // The first calls may meet the reconnect; within a few seconds the
    // client reaches the restarted master, reloads the script there and
    // the event answers "not loaded".
    let started = Instant::now();
    let answer = loop {
        match store.counts(first, Duration::from_secs(60)).await {
            Ok(answer) => break answer,
            Err(StoreError::Unavailable { .. }) if started.elapsed() < Duration::from_secs(10) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("{e}"),
        }
    };
    assert_eq!(answer, Mirror::NotLoaded);
    assert_eq!(exists(&cluster), [1], "the client loaded the script there");
    // Reloaded from the source of truth, the booked seat is booked again.
    let booking = HoldId::generate(first);
    load(&store, first, 10, &[(1, booking)]).await;
    assert_eq!(counts(&store, first).await, counted(1, 0));
    assert!(matches!(
        store
            .reserve(&request(first, "bob", &[1], LONG))
            .await
            .unwrap(),
        Mirror::Ready(ReserveOutcome::Unavailable(_))
    ));
    // The other master kept its data, and its script.
    assert_eq!(counts(&store, second).await, counted(1, 0));
}

/// Seeds nobody listens on: building succeeds (it connects in the
/// background), calls answer Unavailable within the client's bounds.
#[tokio::test]
async fn a_cluster_that_cannot_be_reached_is_unavailable_within_seconds() {
    let seeds = vec![
        "redis://127.0.0.1:1".to_owned(),
        "redis://127.0.0.1:2".to_owned(),
    ];
    let store =
        RedisHoldStore::connect_cluster(&seeds, "booking-test", RedisOptions::default()).unwrap();
    let started = Instant::now();
    let e = event(1);
    assert!(matches!(
        store.counts(e, Duration::from_secs(60)).await,
        Err(StoreError::Unavailable { .. })
    ));
    assert!(matches!(
        store.info().await,
        Err(StoreError::Unavailable { .. })
    ));
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "took {:?}",
        started.elapsed()
    );
    assert!(RedisHoldStore::connect_cluster(&[], "booking", RedisOptions::default()).is_err());
}

/// The api may start before its cluster is formed (a deployment coming up
/// in any order): the store answers Unavailable meanwhile, and serves once
/// the cluster is there, without being rebuilt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_built_before_its_cluster_is_formed_serves_once_it_is() {
    let cluster = tokio::task::spawn_blocking(Cluster::nodes_only)
        .await
        .unwrap();
    let prefix = KeyPrefix::parse("booking").unwrap();
    let store = cluster_store(&cluster, &prefix);
    let e = event(1);
    assert!(matches!(
        store.counts(e, Duration::from_secs(60)).await,
        Err(StoreError::Unavailable { .. })
    ));
    assert!(matches!(
        store.info().await,
        Err(StoreError::Unavailable { .. })
    ));
    let cluster = tokio::task::spawn_blocking(move || {
        cluster.create();
        cluster
    })
    .await
    .unwrap();
    let started = Instant::now();
    loop {
        match store.counts(e, Duration::from_secs(60)).await {
            Ok(answer) => {
                assert_eq!(answer, Mirror::NotLoaded);
                break;
            }
            Err(StoreError::Unavailable { .. }) if started.elapsed() < Duration::from_secs(15) => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("{e}"),
        }
    }
    load(&store, e, 10, &[]).await;
    book(&store, e, "alice", &[1]).await;
    assert_eq!(counts(&store, e).await, counted(1, 0));
    assert!(store.info().await.is_ok());
    drop(cluster);
}

fn lastsave(node: &PrivateRedis) -> u64 {
    node.query(&mut redis::cmd("LASTSAVE"))
}

/// Waits for `done` to hold, for at most 10 s.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < Duration::from_secs(10), "{what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Nodes started together (by a script, by compose) boot in one second.
/// A replica among them that full-syncs after a load gets the master's
/// node-local mark in the sync's snapshot, and its LASTSAVE is the
/// stamp's: both fast checks pass on it. Once it is promoted, only the
/// node id in the stamp tells its copy (which may lack the master's last
/// writes) from a mirror it loaded itself: the event must reload.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_booted_with_its_master_that_synced_after_the_load_reloads_once_promoted() {
    let (master, replica) = tokio::task::spawn_blocking(|| {
        for _ in 0..10 {
            let (master, replica) = (cluster_node(), cluster_node());
            if lastsave(&master) == lastsave(&replica) {
                return (master, replica);
            }
        }
        panic!("no two nodes booted in one second in 10 tries");
    })
    .await
    .unwrap();
    let _: () = master.query(redis::cmd("CLUSTER").arg("ADDSLOTSRANGE").arg(0).arg(16383));
    wait_until("the one-master cluster did not form", || {
        let info: String = master.query(redis::cmd("CLUSTER").arg("INFO"));
        info.contains("cluster_state:ok")
    });
    // The stamp must be on the fast path: in a later second than the boot.
    let booted = lastsave(&master);
    wait_until("the clock did not move on", || {
        let (secs, _): (u64, u64) = master.query(&mut redis::cmd("TIME"));
        secs > booted
    });
    let store =
        RedisHoldStore::connect_cluster(&[master.url()], "booking", RedisOptions::default())
            .unwrap();
    let e = event(1);
    load(&store, e, 10, &[]).await;
    let booking = book(&store, e, "alice", &[1]).await;

    // The replica joins now: a full sync of everything, the mark included.
    let master_id: String = master.query(redis::cmd("CLUSTER").arg("MYID"));
    // Its bus port, in `ip:port@bus` on the line of `myself`.
    let nodes: String = master.query(redis::cmd("CLUSTER").arg("NODES"));
    let bus = nodes
        .lines()
        .find(|line| line.contains("myself"))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|address| address.split(['@', ',']).nth(1))
        .expect("CLUSTER NODES names the bus port")
        .to_owned();
    let _: () = replica.query(
        redis::cmd("CLUSTER")
            .arg("MEET")
            .arg("127.0.0.1")
            .arg(master.port)
            .arg(&bus),
    );
    wait_until("the replica did not meet the master", || {
        let nodes: String = replica.query(redis::cmd("CLUSTER").arg("NODES"));
        nodes.contains(&master_id) && !nodes.contains("handshake")
    });
    let _: () = replica.query(redis::cmd("CLUSTER").arg("REPLICATE").arg(&master_id));
    wait_until("the replica did not sync", || {
        let info: String = replica.query(redis::cmd("INFO").arg("replication"));
        info.contains("master_link_status:up")
    });
    let acked: i64 = master.query(redis::cmd("WAIT").arg(1).arg(5000));
    assert_eq!(acked, 1);
    // Both fast checks pass on the replica: the mark, and the stamp's
    // LASTSAVE (unless the sync moved it, when this test tests nothing).
    let prefix = KeyPrefix::parse("booking").unwrap();
    let keys = EventKeys::new(&prefix, e);
    let (local, stamped): (Option<String>, u64) = redis::pipe()
        .cmd("READONLY")
        .ignore()
        .cmd("GET")
        .arg(keys.key(Part::Local).to_string())
        .cmd("HGET")
        .arg(keys.key(Part::Meta).to_string())
        .arg("ls")
        .query(&mut replica.connection())
        .unwrap();
    assert!(local.is_some(), "the full sync carried the mark");
    assert_eq!(
        stamped,
        lastsave(&replica),
        "the replica's LASTSAVE is the stamp's"
    );

    let _: () = replica.query(redis::cmd("CLUSTER").arg("FAILOVER").arg("TAKEOVER"));
    wait_until("the replica was not promoted", || {
        let info: String = replica.query(redis::cmd("INFO").arg("replication"));
        info.contains("role:master")
    });
    let started = Instant::now();
    let answer = loop {
        match store.counts(e, LONG).await {
            Ok(answer) => break answer,
            Err(StoreError::Unavailable { .. }) if started.elapsed() < Duration::from_secs(10) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => panic!("{error}"),
        }
    };
    assert_eq!(answer, Mirror::NotLoaded, "the promoted copy was trusted");
    load(&store, e, 10, &[(1, booking)]).await;
    assert_eq!(counts(&store, e).await, counted(1, 0));
}
