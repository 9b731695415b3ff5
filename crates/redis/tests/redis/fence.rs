//! The fence: a Redis whose data is older than it claims (restarted from an
//! older RDB snapshot or from its AOF, or a promoted replica) answers "not
//! loaded" before it serves a reserve, so the ledger reloads the event from
//! the source of truth; a save on a healthy server changes nothing.
//! Private servers only: these tests kill and restart them.

use std::time::{Duration, Instant};

use booking_domain::contract::{event, request, seats, user};
use booking_domain::{EventId, HoldStore, Mirror, ReleaseOutcome, ReserveOutcome};
use booking_redis::{EventKeys, KeyPrefix, Part, RedisHoldStore};

use crate::helpers::{book, counted, counts, hold, load, LONG};
use crate::private_server::PrivateRedis;

fn store_on(server: &PrivateRedis) -> RedisHoldStore {
    RedisHoldStore::connect(&server.url(), "booking", 2).unwrap()
}

fn key(e: EventId, part: Part) -> String {
    let prefix = KeyPrefix::parse("booking").unwrap();
    EventKeys::new(&prefix, e).key(part).to_string()
}

/// Every mirror-gated call answers `NotLoaded`.
async fn assert_not_loaded(store: &RedisHoldStore, e: EventId) {
    let r = request(e, "zoe", &[5], LONG);
    assert_eq!(store.reserve(&r).await.unwrap(), Mirror::NotLoaded);
    assert_eq!(counts(store, e).await, Mirror::NotLoaded);
    assert_eq!(store.seat_map(e).await.unwrap(), Mirror::NotLoaded);
    assert_eq!(
        store.begin_confirm(e, r.id, &r.user).await.unwrap(),
        Mirror::NotLoaded
    );
}

fn exists(server: &PrivateRedis, e: EventId, part: Part) -> u32 {
    server.query(redis::cmd("EXISTS").arg(key(e, part)))
}

fn server_time(server: &PrivateRedis) -> (u64, u64) {
    let (secs, micros): (String, String) = server.query(&mut redis::cmd("TIME"));
    (secs.parse().unwrap(), micros.parse().unwrap())
}

fn lastsave(server: &PrivateRedis) -> u64 {
    server.query(&mut redis::cmd("LASTSAVE"))
}

fn stamp(server: &PrivateRedis, e: EventId) -> (u64, u64) {
    let (ls, sec): (u64, u64) = server.query(
        redis::cmd("HMGET")
            .arg(key(e, Part::Meta))
            .arg("ls")
            .arg("sec"),
    );
    (ls, sec)
}

fn copy(server: &PrivateRedis, from: &str, to: &str) {
    std::fs::copy(server.dir().join(from), server.dir().join(to)).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_restarted_from_an_older_snapshot_answers_not_loaded_until_reloaded() {
    let mut server = PrivateRedis::start(&[]);
    let store = store_on(&server);
    let e = event(1);
    load(&store, e, 10, &[]).await;
    let first = book(&store, e, "alice", &[1]).await;
    let second = book(&store, e, "bob", &[2]).await;
    let released = hold(&store, e, "erin", &[4]).await;
    let _: () = server.query(&mut redis::cmd("SAVE"));
    copy(&server, "dump.rdb", "older.rdb");
    // After the snapshot: seat 3 is booked, seat 1's booking cancelled,
    // Erin's hold released.
    let third = book(&store, e, "carol", &[3]).await;
    store.unbook(e, first, &seats(&[1])).await.unwrap();
    let erin = user("erin");
    assert_eq!(
        store.release(e, released.id, &erin).await.unwrap(),
        Mirror::Ready(ReleaseOutcome::Released)
    );

    server.stop();
    copy(&server, "older.rdb", "dump.rdb");
    server.restart();
    let store = store_on(&server);
    // The old mirror is back, with seat 3 free: it must not be served.
    let st: String = server.query(redis::cmd("HGET").arg(key(e, Part::Meta)).arg("st"));
    assert_eq!(st, "ready", "the snapshot's mirror claims to be loaded");
    assert_not_loaded(&store, e).await;
    // Erin's released hold is back in the snapshot: not to be shown,
    // extended or released again.
    assert_eq!(store.hold(e, released.id).await.unwrap(), Mirror::NotLoaded);
    assert_eq!(
        store
            .extend(e, released.id, &erin, LONG, LONG * 2)
            .await
            .unwrap(),
        Mirror::NotLoaded
    );
    assert_eq!(
        store.release(e, released.id, &erin).await.unwrap(),
        Mirror::NotLoaded
    );

    // The ledger reloads from the source of truth: 2 and 3 booked.
    load(&store, e, 10, &[(2, second), (3, third)]).await;
    assert_eq!(counts(&store, e).await, counted(2, 0));
    assert_eq!(
        store.hold(e, released.id).await.unwrap(),
        Mirror::Ready(None)
    );
    assert_eq!(
        store
            .reserve(&request(e, "dave", &[1, 3], LONG))
            .await
            .unwrap(),
        Mirror::Ready(ReserveOutcome::Unavailable(seats(&[3])))
    );
    hold(&store, e, "dave", &[1]).await;
}

/// The tricky timing: a save, a restamp and the snapshot in the very second
/// of the stamp, and the restart in that second too, so the restarted
/// server's LASTSAVE (its boot second) equals the stamped one. Only the rule
/// "the stamp's second must be after its LASTSAVE" keeps the fast path shut.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_and_restart_in_the_second_of_the_stamp_is_noticed() {
    let e = event(1);
    for _attempt in 0..5 {
        let mut server = PrivateRedis::start(&[]);
        // Start at the top of a second, to have all of it.
        loop {
            let (_, micros) = server_time(&server);
            if micros < 100_000 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(((1_000_000 - micros) / 1000).max(1))).await;
        }
        let (second, _) = server_time(&server);
        let store = store_on(&server);
        load(&store, e, 10, &[]).await;
        let _: () = server.query(&mut redis::cmd("SAVE"));
        // The save moved LASTSAVE: the fence restamps through its slow path.
        assert_eq!(counts(&store, e).await, counted(0, 0));
        let _: () = server.query(&mut redis::cmd("SAVE"));
        copy(&server, "dump.rdb", "older.rdb");
        let booking = book(&store, e, "alice", &[1]).await;
        server.stop();
        copy(&server, "older.rdb", "dump.rdb");
        server.restart();
        if server_time(&server).0 != second {
            continue;
        }
        assert_eq!(
            stamp(&server, e),
            (lastsave(&server), second),
            "the restored stamp's LASTSAVE is the restarted server's"
        );
        let store = store_on(&server);
        assert_not_loaded(&store, e).await;
        load(&store, e, 10, &[(1, booking)]).await;
        assert_eq!(counts(&store, e).await, counted(1, 0));
        return;
    }
    panic!("could not fit a load, two saves and a restart into one second in 5 attempts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_restarted_from_its_aof_answers_not_loaded() {
    let mut server = PrivateRedis::start(&["--appendonly", "yes", "--appendfsync", "always"]);
    let store = store_on(&server);
    let e = event(1);
    load(&store, e, 10, &[]).await;
    let booking = book(&store, e, "alice", &[1]).await;
    hold(&store, e, "bob", &[2]).await;
    server.stop();
    server.restart();
    let store = store_on(&server);
    // Everything was replayed but the node-local mark, never written to it.
    assert_eq!(
        (
            exists(&server, e, Part::Meta),
            exists(&server, e, Part::Local)
        ),
        (1, 0)
    );
    assert_not_loaded(&store, e).await;
    load(&store, e, 10, &[(1, booking)]).await;
    // The fence cannot tell a complete AOF from an older one: the holds
    // of data it cannot vouch for go (a hold released after a snapshot
    // would otherwise come back); the booking is loaded again.
    assert_eq!(
        counts(&store, e).await,
        counted(1, 0),
        "bob's hold went with the data the fence could not vouch for"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saving_a_healthy_server_does_not_make_events_reload() {
    let server = PrivateRedis::start(&[]);
    let store = store_on(&server);
    let e = event(1);
    load(&store, e, 10, &[]).await;
    hold(&store, e, "alice", &[1]).await;
    let _: () = server.query(&mut redis::cmd("SAVE"));
    assert_eq!(counts(&store, e).await, counted(0, 1));
    assert_eq!(stamp(&server, e).0, lastsave(&server), "restamped");

    let before = lastsave(&server);
    // BGSAVE may refuse while the SAVE's second is still running: retry.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let _: () = server.query(&mut redis::cmd("BGSAVE"));
    let started = Instant::now();
    while lastsave(&server) == before {
        assert!(started.elapsed() < Duration::from_secs(10), "BGSAVE hung");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    hold(&store, e, "bob", &[2]).await;
    assert_eq!(counts(&store, e).await, counted(0, 2));
    let map = store.seat_map(e).await.unwrap();
    assert!(matches!(map, Mirror::Ready(_)));
    // Past the save's second, the fast path holds again.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let id = hold(&store, e, "carol", &[3]).await.id;
    assert!(matches!(
        store.begin_confirm(e, id, &user("carol")).await.unwrap(),
        Mirror::Ready(_)
    ));
    let (ls, sec) = stamp(&server, e);
    assert!(sec > ls, "the stamp is on the fast path: {sec} > {ls}");
}

async fn wait_for_sync(replica: &PrivateRedis) {
    let started = Instant::now();
    loop {
        let info: String = replica.query(redis::cmd("INFO").arg("replication"));
        if info.contains("master_link_status:up") {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "no sync");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the master's writes so far are on the replica.
fn wait_for_replication(master: &PrivateRedis) {
    let acked: i64 = master.query(redis::cmd("WAIT").arg(1).arg(5000));
    assert_eq!(acked, 1, "the replica did not acknowledge");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_promoted_replica_answers_not_loaded() {
    let master = PrivateRedis::start(&[]);
    let replica = PrivateRedis::start(&["--replicaof", "127.0.0.1", &master.port.to_string()]);
    wait_for_sync(&replica).await;
    let on_master = store_on(&master);
    let e = event(1);
    load(&on_master, e, 10, &[]).await;
    let booking = book(&on_master, e, "alice", &[1]).await;
    wait_for_replication(&master);

    // The replica has the whole mirror but the node-local mark.
    assert_eq!(
        (
            exists(&replica, e, Part::State),
            exists(&replica, e, Part::Local)
        ),
        (1, 0)
    );
    let _: () = replica.query(redis::cmd("REPLICAOF").arg("NO").arg("ONE"));
    let promoted = store_on(&replica);
    assert_not_loaded(&promoted, e).await;
    load(&promoted, e, 10, &[(1, booking)]).await;
    assert_eq!(counts(&promoted, e).await, counted(1, 0));
}

/// A replica that joins after the load gets the mark in its full sync (an
/// RDB of everything); the fence then rests on LASTSAVE and the run_id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_that_synced_after_the_load_and_is_promoted_answers_not_loaded() {
    let master = PrivateRedis::start(&[]);
    let on_master = store_on(&master);
    let e = event(1);
    load(&on_master, e, 10, &[]).await;
    let booking = book(&on_master, e, "alice", &[1]).await;
    // Boot the replica in a later second than the master's LASTSAVE.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let replica = PrivateRedis::start(&["--replicaof", "127.0.0.1", &master.port.to_string()]);
    wait_for_sync(&replica).await;
    wait_for_replication(&master);
    assert_eq!(
        exists(&replica, e, Part::Local),
        1,
        "the full sync carried the mark"
    );
    let _: () = replica.query(redis::cmd("REPLICAOF").arg("NO").arg("ONE"));
    let promoted = store_on(&replica);
    assert_not_loaded(&promoted, e).await;
    load(&promoted, e, 10, &[(1, booking)]).await;
    assert_eq!(counts(&promoted, e).await, counted(1, 0));
}

/// An AOF rewrite puts the whole dataset, the node-local mark included,
/// into the AOF's RDB base; a restart from it still leaves the fast path
/// (LASTSAVE becomes the boot second) and the run_id tells it apart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_restarted_from_a_rewritten_aof_answers_not_loaded() {
    let mut server = PrivateRedis::start(&["--appendonly", "yes", "--appendfsync", "always"]);
    let store = store_on(&server);
    let e = event(1);
    load(&store, e, 10, &[]).await;
    let booking = book(&store, e, "alice", &[1]).await;
    let _: () = server.query(&mut redis::cmd("BGREWRITEAOF"));
    let started = Instant::now();
    loop {
        let info: String = server.query(redis::cmd("INFO").arg("persistence"));
        if info.contains("aof_rewrite_in_progress:0") && info.contains("aof_rewrite_scheduled:0") {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "no rewrite");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.stop();
    server.restart();
    assert_eq!(
        exists(&server, e, Part::Local),
        1,
        "the rewrite kept the mark"
    );
    let store = store_on(&server);
    assert_not_loaded(&store, e).await;
    load(&store, e, 10, &[(1, booking)]).await;
    assert_eq!(counts(&store, e).await, counted(1, 0));
}
