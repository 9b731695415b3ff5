//! The scripts on a real 3-node Redis Cluster. Each event's store talks to
//! the node owning the event's slot: a script touching a key of another
//! slot would fail there (CROSSSLOT, or "non local key"), so a clean run
//! shows every script stays in its event's slot, as DESIGN.md promises.

use std::process::Command;
use std::time::{Duration, Instant};

use booking_domain::contract::{best, event, request, rows, seats, spec, user};
use booking_domain::{
    BeginConfirm, BeginLoad, EventId, ExtendOutcome, HoldId, HoldStore, LoadStep, LoadToken,
    Mirror, ReleaseOutcome, ReserveOutcome, SeatCounts, StoreError,
};
use booking_redis::{EventKeys, KeyPrefix, Part, RedisHoldStore};

use crate::private_server::{free_port, PrivateRedis};

const LONG: Duration = Duration::from_secs(300);

struct Cluster {
    nodes: Vec<PrivateRedis>,
}

impl Cluster {
    fn start() -> Self {
        let nodes: Vec<PrivateRedis> = (0..3)
            .map(|_| {
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
            })
            .collect();
        let addresses: Vec<String> = nodes
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
        let cluster = Self { nodes };
        let started = Instant::now();
        while !cluster.nodes.iter().all(|n| {
            let info: String = cluster.query(n.port, redis::cmd("CLUSTER").arg("INFO"));
            info.contains("cluster_state:ok")
        }) {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the cluster did not form"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        cluster
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

async fn store_for(cluster: &Cluster, prefix: &KeyPrefix, e: EventId) -> (RedisHoldStore, u16) {
    let port = cluster.owner(&EventKeys::new(prefix, e).key(Part::Meta).to_string());
    let url = format!("redis://127.0.0.1:{port}");
    (
        RedisHoldStore::connect(&url, prefix.as_str(), 2).unwrap(),
        port,
    )
}

fn ready<T: std::fmt::Debug>(answer: Mirror<T>) -> T {
    match answer {
        Mirror::Ready(answer) => answer,
        Mirror::NotLoaded => panic!("the event should be loaded"),
    }
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
    let ReserveOutcome::Held(hold) = ready(
        store
            .reserve(&request(e, "alice", &[1, 2], LONG))
            .await
            .unwrap(),
    ) else {
        panic!("free seats should be held");
    };
    assert!(store.hold(e, hold.id).await.unwrap().is_some());
    assert!(matches!(
        store
            .extend(e, hold.id, &user("alice"), LONG, LONG * 2)
            .await
            .unwrap(),
        ExtendOutcome::Extended(_)
    ));
    assert!(matches!(
        ready(
            store
                .reserve(&request(e, "bob", &[2, 9], LONG))
                .await
                .unwrap()
        ),
        ReserveOutcome::Unavailable(_)
    ));
    let ReserveOutcome::Held(best_hold) =
        ready(store.reserve(&best(e, "bob", 3, LONG)).await.unwrap())
    else {
        panic!("three seats together should be held");
    };
    assert_eq!(best_hold.seats, seats(&[3, 4, 5]));
    let BeginConfirm::Pending(pending) = ready(
        store
            .begin_confirm(e, hold.id, &user("alice"))
            .await
            .unwrap(),
    ) else {
        panic!("a live hold should go pending");
    };
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert_eq!(
        store.stale_pending(e, Duration::ZERO).await.unwrap().len(),
        1
    );
    store.abort_confirm(e, hold.id).await.unwrap();
    ready(
        store
            .begin_confirm(e, hold.id, &user("alice"))
            .await
            .unwrap(),
    );
    store.finish_confirm(&pending).await.unwrap();
    store.unbook(e, booking, &seats(&[9])).await.unwrap();
    assert_eq!(
        store.release(e, best_hold.id, &user("bob")).await.unwrap(),
        ReleaseOutcome::Released
    );
    assert_eq!(
        ready(store.counts(e, Duration::from_secs(60)).await.unwrap()),
        SeatCounts {
            booked: 2,
            held: 0,
            stale_pending: 0
        }
    );
    assert_eq!(
        ready(store.seat_map(e).await.unwrap()).counts(),
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
    let mut ports = Vec::new();
    for id in 1..=6 {
        let e = event(id);
        let (store, port) = store_for(&cluster, &prefix, e).await;
        every_script_runs(&store, e).await;
        ports.push(port);
    }
    ports.sort();
    ports.dedup();
    assert!(
        ports.len() > 1,
        "the events should spread over several nodes"
    );

    // The slots are really sharded: a node that does not own the event's
    // slot refuses its keys (MOVED), and the store reports an error.
    let e = event(1);
    let (_, owner) = store_for(&cluster, &prefix, e).await;
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
