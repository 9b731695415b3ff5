use std::time::Duration;

use super::*;

/// A read on a replica needs READONLY first, on the same connection.
async fn read_on(node: Node, key: &str) -> Option<String> {
    let client = redis::Client::open(node.url()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let (_, value): ((), Option<String>) = redis::pipe()
        .cmd("READONLY")
        .cmd("GET")
        .arg(key)
        .query_async(&mut connection)
        .await
        .unwrap();
    value
}

async fn set_replicated(master: Node, key: &str, value: &str) {
    let client = redis::Client::open(master.url()).unwrap();
    // WAIT blocks until the replica acknowledges, up to its own timeout:
    // the client's default (500 ms) must not cut it short (it did, on a
    // busy machine, just after the cluster formed).
    let config =
        redis::AsyncConnectionConfig::new().set_response_timeout(Some(Duration::from_secs(7)));
    let mut connection = client
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg(key)
        .arg(value)
        .query_async(&mut connection)
        .await
        .unwrap();
    let replicas: i64 = redis::cmd("WAIT")
        .arg(1)
        .arg(5000)
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(replicas, 1, "the write did not reach the replica");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_survives_the_failover_of_its_master_and_the_old_master_rejoins_empty() {
    let started = std::time::Instant::now();
    let mut cluster = RedisCluster::spawn().await;
    let formed = started.elapsed();
    let key = "harness:failover";
    let master = cluster.master_for_key(key).await;
    let replica = cluster.replica_of(master).await;
    set_replicated(master, key, "kept").await;
    // The slot is really sharded: another master refuses the key.
    let other = cluster
        .nodes()
        .into_iter()
        .find(|&n| n != master && n != replica)
        .unwrap();
    let refused = query::<Option<String>>(other.port(), redis::cmd("GET").arg(key)).await;
    assert!(
        refused.as_ref().is_err_and(|e| e.contains("Moved")),
        "{refused:?}"
    );

    let killed = cluster.kill_master_for(key).await;
    let new_master = cluster.wait_for_failover(key).await;
    let failed_over = started.elapsed();

    assert_eq!(killed, master);
    assert_eq!(new_master, replica);
    assert_eq!(cluster.master_for_key(key).await, replica);
    let value: Option<String> = cluster
        .server(new_master)
        .query(redis::cmd("GET").arg(key))
        .await;
    assert_eq!(value.as_deref(), Some("kept"));

    // Its data gone, the old master rejoins as its successor's replica and
    // gets the key back by replication.
    cluster.restart_node_empty(killed).await;
    assert_eq!(cluster.replica_of(new_master).await, killed);
    assert_eq!(read_on(killed, key).await.as_deref(), Some("kept"));
    eprintln!(
        "formed in {formed:?}, failed over at {failed_over:?}, rejoined at {:?}",
        started.elapsed()
    );
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manual_failover_swaps_master_and_replica_without_losing_writes() {
    let cluster = RedisCluster::spawn().await;
    let key = "harness:manual";
    let master = cluster.master_for_key(key).await;
    let replica = cluster.replica_of(master).await;
    set_replicated(master, key, "kept").await;

    cluster.manual_failover(replica).await;

    assert_eq!(cluster.master_for_key(key).await, replica);
    let value: Option<String> = cluster
        .server(replica)
        .query(redis::cmd("GET").arg(key))
        .await;
    assert_eq!(value.as_deref(), Some("kept"));
    cluster.wait_healthy().await;
    assert_eq!(cluster.replica_of(replica).await, master);
    assert_eq!(cluster.seed_urls().len(), 6);
}
