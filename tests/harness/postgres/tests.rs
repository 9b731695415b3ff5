use std::time::Duration;

use booking_postgres::testing::TestDatabase;
use tokio_postgres::error::SqlState;

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_written_on_the_primary_appears_on_the_replica_which_refuses_writes() {
    let primary = PgServer::spawn().await;
    let replica = PgReplica::of(&primary).await;
    primary
        .connect()
        .await
        .batch_execute("CREATE TABLE seats (code text); INSERT INTO seats VALUES ('A1')")
        .await
        .unwrap();

    replica.wait_caught_up().await;

    let on_replica = replica.connect().await;
    let code: String = on_replica
        .query_one("SELECT code FROM seats", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(code, "A1");
    let refused = on_replica
        .batch_execute("INSERT INTO seats VALUES ('A2')")
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some(&SqlState::READ_ONLY_SQL_TRANSACTION));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_replica_answers_nothing_and_catches_up_after_resume() {
    let primary = PgServer::spawn().await;
    let mut replica = PgReplica::of(&primary).await;
    let reader = replica.connect().await;
    let writer = primary.connect().await;
    writer
        .batch_execute("CREATE TABLE seats (code text)")
        .await
        .unwrap();

    replica.pause();
    let hung =
        tokio::time::timeout(Duration::from_millis(300), reader.simple_query("SELECT 1")).await;
    assert!(hung.is_err(), "a paused replica answered");
    writer
        .batch_execute("INSERT INTO seats VALUES ('A1')")
        .await
        .expect("the primary does not wait for an asynchronous replica");

    replica.resume();
    replica.wait_caught_up().await;
    let rows = reader.query("SELECT code FROM seats", &[]).await.unwrap();
    assert_eq!(rows.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_promoted_replica_takes_writes() {
    let primary = PgServer::spawn().await;
    let replica = PgReplica::of(&primary).await;

    replica.promote().await;

    replica
        .connect()
        .await
        .batch_execute("CREATE TABLE after_failover (n int); INSERT INTO after_failover VALUES (1)")
        .await
        .unwrap();
    assert!(replica.replay_lsn().await.is_none() || !replica.is_in_recovery().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_loses_its_connections_and_restarts_with_its_rows() {
    let mut server = PgServer::spawn().await;
    let client = server.connect().await;
    client
        .batch_execute("CREATE TABLE seats (code text); INSERT INTO seats VALUES ('A1')")
        .await
        .unwrap();
    let pid = server.pid();

    server.kill();
    assert!(client.simple_query("SELECT 1").await.is_err());
    assert!(connect(&server.url()).await.is_err());
    server.start().await;

    assert_ne!(server.pid(), pid);
    let rows = server
        .connect()
        .await
        .query("SELECT code FROM seats", &[])
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_servers_stops_them_and_removes_their_dirs() {
    let primary = PgServer::spawn().await;
    let mut replica = PgReplica::of(&primary).await;
    replica.pause();
    let ports = [primary.port(), replica.port()];
    let dirs = [primary.dir().to_owned(), replica.dir().to_owned()];
    let pids = [primary.pid(), replica.pid()];

    drop(replica);
    drop(primary);

    for dir in dirs {
        assert!(!dir.exists(), "{} is left", dir.display());
    }
    for port in ports {
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
    }
    for pid in pids {
        // No backend of theirs lingers either.
        assert!(crate::harness::signals::descendants(pid).is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_backends_ends_the_matching_connections_only() {
    let database = TestDatabase::create_empty().await;
    let url = |app: &str| format!("{}?application_name={app}", database.url());
    let victim = connect(&url("harness-victim-1")).await.unwrap();
    let bystander = connect(&url("harness-bystander")).await.unwrap();
    let admin = PgAdmin::local().await;

    let mut names: Vec<String> = admin
        .backends(database.name())
        .await
        .into_iter()
        .map(|b| b.application_name)
        .collect();
    names.sort();
    assert!(
        names.contains(&"harness-bystander".to_owned())
            && names.contains(&"harness-victim-1".to_owned()),
        "{names:?}"
    );

    let terminated = admin
        .terminate_backends(database.name(), "harness-victim-%")
        .await;

    assert_eq!(terminated, 1);
    assert!(victim.simple_query("SELECT 1").await.is_err());
    bystander.simple_query("SELECT 1").await.unwrap();
    let left: Vec<String> = admin
        .backends(database.name())
        .await
        .into_iter()
        .map(|b| b.application_name)
        .collect();
    assert!(
        !left.iter().any(|n| n.starts_with("harness-victim")),
        "{left:?}"
    );
}
