use std::time::Duration;

use super::*;

async fn get(server: &RedisServer, key: &str) -> Option<String> {
    server.query(redis::cmd("GET").arg(key)).await
}

async fn set(server: &RedisServer, key: &str, value: &str) {
    let _: String = server.query(redis::cmd("SET").arg(key).arg(value)).await;
}

#[tokio::test]
async fn a_key_written_after_a_snapshot_is_gone_after_restart_from() {
    let mut server = RedisServer::spawn().await;
    set(&server, "before", "1").await;
    let snapshot = server.snapshot().await;
    set(&server, "after", "2").await;
    let run_id = server.run_id().await;

    server.restart_from(&snapshot).await;

    assert_ne!(
        server.run_id().await,
        run_id,
        "the server was not restarted"
    );
    assert_eq!(get(&server, "before").await.as_deref(), Some("1"));
    assert_eq!(get(&server, "after").await, None);
}

#[tokio::test]
async fn an_aof_server_restored_from_a_snapshot_stays_old_across_restarts() {
    let mut server = RedisServer::spawn_with(RedisOptions::default().aof(AofFsync::Always)).await;
    set(&server, "before", "1").await;
    let snapshot = server.snapshot().await;
    set(&server, "after", "2").await;

    server.restart_from(&snapshot).await;
    assert_eq!(get(&server, "after").await, None);
    set(&server, "later", "3").await;
    // Killed: only the AOF rebuilt from the snapshot, and what followed,
    // can bring the data back.
    server.kill();
    server.start().await;

    assert_eq!(get(&server, "before").await.as_deref(), Some("1"));
    assert_eq!(get(&server, "after").await, None);
    assert_eq!(get(&server, "later").await.as_deref(), Some("3"));
}

#[tokio::test]
async fn a_paused_server_answers_nothing_until_resumed() {
    let mut server = RedisServer::spawn().await;
    let client = redis::Client::open(server.url()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    server.pause();

    let ping = redis::cmd("PING");
    let answered = tokio::time::timeout(
        Duration::from_millis(300),
        ping.query_async::<String>(&mut connection),
    )
    .await;
    assert!(answered.is_err(), "a paused server answered: {answered:?}");
    assert!(redis_control::ping(server.port()).await.is_err());

    server.resume();
    let pong = tokio::time::timeout(
        Duration::from_secs(2),
        ping.query_async::<String>(&mut connection),
    )
    .await
    .expect("the resumed server answers")
    .unwrap();
    assert_eq!(pong, "PONG");
}

#[tokio::test]
async fn run_id_changes_across_restarts_and_rdb_keeps_the_data() {
    let mut server = RedisServer::spawn_with(RedisOptions::default().rdb()).await;
    set(&server, "kept", "1").await;
    let first = server.run_id().await;
    let pid = server.pid();

    server.restart().await;

    assert_ne!(server.run_id().await, first);
    assert_ne!(server.pid(), pid);
    assert_eq!(get(&server, "kept").await.as_deref(), Some("1"));
}

#[tokio::test]
async fn restart_empty_loses_everything_and_a_killed_server_refuses() {
    let mut server = RedisServer::spawn_with(RedisOptions::default().rdb()).await;
    set(&server, "lost", "1").await;
    let _ = server.snapshot().await;

    server.kill();
    assert!(!server.is_running());
    assert!(redis_control::ping(server.port()).await.is_err());
    server.restart_empty().await;

    assert_eq!(get(&server, "lost").await, None);
}

#[tokio::test]
async fn dropping_the_server_kills_it_and_removes_its_dir() {
    let mut server = RedisServer::spawn().await;
    server.pause();
    let (port, dir) = (server.port(), server.dir().to_owned());
    drop(server);
    assert!(!dir.exists());
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}
