use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;
use crate::harness::redis_server::RedisServer;
use crate::harness::wait::wait_until;

/// An echo server on a free port, for as long as the test runs.
async fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut from, mut to) = stream.split();
                let _ = tokio::io::copy(&mut from, &mut to).await;
            });
        }
    });
    address
}

async fn connect(proxy: &TcpProxy) -> TcpStream {
    TcpStream::connect(proxy.address()).await.unwrap()
}

async fn round_trip(stream: &mut TcpStream, message: &[u8]) -> io::Result<Vec<u8>> {
    stream.write_all(message).await?;
    let mut answer = vec![0; message.len()];
    stream.read_exact(&mut answer).await?;
    Ok(answer)
}

/// Whether the connection was closed under the reader (reset or EOF).
async fn is_closed(stream: &mut TcpStream) -> bool {
    let mut byte = [0];
    match tokio::time::timeout(Duration::from_secs(2), stream.read(&mut byte)).await {
        Ok(Ok(0) | Err(_)) => true,
        Ok(Ok(_)) | Err(_) => false,
    }
}

#[tokio::test]
async fn bytes_pass_through_both_ways_and_connections_are_counted() {
    let proxy = TcpProxy::start(echo_server().await).await;
    let mut stream = connect(&proxy).await;
    let payload: Vec<u8> = (0..4 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    let (mut from, mut to) = stream.split();
    let (_, echoed) = tokio::join!(async { to.write_all(&payload).await.unwrap() }, async {
        let mut echoed = vec![0; payload.len()];
        from.read_exact(&mut echoed).await.unwrap();
        echoed
    });
    assert!(echoed == payload, "the echo differs from what was sent");
    assert_eq!(
        proxy.stats(),
        ProxyStats {
            accepted: 1,
            active: 1,
            ..ProxyStats::default()
        }
    );

    drop(stream);
    wait_until(
        Duration::from_secs(2),
        "the connection to close",
        || async { proxy.stats().active == 0 },
    )
    .await;
}

#[tokio::test]
async fn a_delay_is_added_to_each_direction() {
    let proxy = TcpProxy::start(echo_server().await).await;
    let mut stream = connect(&proxy).await;
    proxy.set_delay(Duration::from_millis(200));

    let started = Instant::now();
    assert_eq!(round_trip(&mut stream, b"slow").await.unwrap(), b"slow");
    let slow = started.elapsed();

    proxy.set_delay(Duration::ZERO);
    let started = Instant::now();
    round_trip(&mut stream, b"fast").await.unwrap();
    let fast = started.elapsed();

    assert!(slow >= Duration::from_millis(400), "{slow:?}");
    assert!(slow < Duration::from_millis(1000), "{slow:?}");
    assert!(fast < Duration::from_millis(100), "{fast:?}");
}

#[tokio::test]
async fn a_cut_closes_open_connections_and_new_ones_still_pass() {
    let proxy = TcpProxy::start(echo_server().await).await;
    let mut before = connect(&proxy).await;
    round_trip(&mut before, b"hello").await.unwrap();

    proxy.cut();

    assert!(is_closed(&mut before).await);
    let mut after = connect(&proxy).await;
    assert_eq!(round_trip(&mut after, b"again").await.unwrap(), b"again");
    assert_eq!(proxy.stats().cut, 1);
}

#[tokio::test]
async fn a_blackhole_holds_traffic_until_lifted() {
    let proxy = TcpProxy::start(echo_server().await).await;
    let mut open = connect(&proxy).await;
    round_trip(&mut open, b"hello").await.unwrap();

    proxy.blackhole(true);
    let mut new = connect(&proxy).await;
    let mut held = Vec::new();
    for stream in [&mut open, &mut new] {
        let answer =
            tokio::time::timeout(Duration::from_millis(300), round_trip(stream, b"held")).await;
        assert!(answer.is_err(), "a blackholed connection answered");
        held.push(stream);
    }

    proxy.blackhole(false);
    for stream in held {
        // "held" was sent and is answered now; the partial read above was
        // cancelled before it read anything.
        let mut answer = [0; 4];
        tokio::time::timeout(Duration::from_secs(2), stream.read_exact(&mut answer))
            .await
            .expect("held traffic is delivered once the blackhole is lifted")
            .unwrap();
        assert_eq!(&answer, b"held");
    }
}

/// A server that counts the bytes it receives, on all connections.
async fn counting_server() -> (SocketAddr, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let received = Arc::new(AtomicU64::new(0));
    let counter = received.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut buffer = [0; 1024];
                while let Ok(n @ 1..) = stream.read(&mut buffer).await {
                    counter.fetch_add(n as u64, Ordering::SeqCst);
                }
            });
        }
    });
    (address, received)
}

#[tokio::test]
async fn a_cut_drops_held_traffic_even_when_the_blackhole_ends_at_once() {
    let (server, received) = counting_server().await;
    let proxy = TcpProxy::start(server).await;
    let mut streams = Vec::new();
    for _ in 0..10 {
        let mut stream = connect(&proxy).await;
        stream.write_all(b"x").await.unwrap();
        streams.push(stream);
    }
    wait_until(Duration::from_secs(2), "the first bytes", || async {
        received.load(Ordering::SeqCst) == 10
    })
    .await;

    proxy.blackhole(true);
    for stream in &mut streams {
        stream.write_all(b"held").await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    // As a link that dies while hung: what it held is lost, whichever way
    // each connection's relay sees the two changes.
    proxy.cut();
    proxy.blackhole(false);

    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        received.load(Ordering::SeqCst),
        10,
        "held bytes got through a cut"
    );
    assert_eq!(proxy.stats().cut, 10);
}

#[tokio::test]
async fn refusing_resets_new_connections_only() {
    let proxy = TcpProxy::start(echo_server().await).await;
    let mut open = connect(&proxy).await;
    // Accepted by the proxy, not just by the kernel: refusing applies at
    // the proxy's accept.
    round_trip(&mut open, b"hello").await.unwrap();

    proxy.refuse(true);
    // The reset may come before the client's connect has returned.
    if let Ok(mut refused) = TcpStream::connect(proxy.address()).await {
        assert!(is_closed(&mut refused).await);
    }
    assert_eq!(round_trip(&mut open, b"still").await.unwrap(), b"still");

    proxy.refuse(false);
    let mut later = connect(&proxy).await;
    assert_eq!(round_trip(&mut later, b"again").await.unwrap(), b"again");
    assert_eq!(proxy.stats().refused, 1);
    assert_eq!(proxy.stats().accepted, 2);
}

#[tokio::test]
async fn dropping_the_proxy_closes_its_connections() {
    let proxy = TcpProxy::start(echo_server().await).await;
    let mut stream = connect(&proxy).await;
    round_trip(&mut stream, b"hello").await.unwrap();
    let address = proxy.address();
    drop(proxy);
    assert!(is_closed(&mut stream).await);
    // The accept task goes when the runtime gets to the abort.
    wait_until(
        Duration::from_secs(2),
        "the proxy port to close",
        || async { TcpStream::connect(address).await.is_err() },
    )
    .await;
}

#[tokio::test]
async fn redis_through_the_proxy_fails_on_cut_and_hangs_in_a_blackhole() {
    let server = RedisServer::spawn().await;
    let proxy = TcpProxy::to_port(server.port()).await;
    let client = redis::Client::open(format!("redis://127.0.0.1:{}", proxy.port())).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let ping = redis::cmd("PING");
    assert_eq!(
        ping.query_async::<String>(&mut connection).await.unwrap(),
        "PONG"
    );

    proxy.cut();
    let after_cut = tokio::time::timeout(
        Duration::from_secs(2),
        ping.query_async::<String>(&mut connection),
    )
    .await
    .expect("a cut connection fails at once");
    assert!(after_cut.is_err(), "{after_cut:?}");

    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    assert_eq!(
        ping.query_async::<String>(&mut connection).await.unwrap(),
        "PONG"
    );
    proxy.blackhole(true);
    let hung = tokio::time::timeout(
        Duration::from_millis(300),
        ping.query_async::<String>(&mut connection),
    )
    .await;
    assert!(hung.is_err(), "a blackholed Redis answered: {hung:?}");
}

/// A client of the test Postgres server, through `proxy`.
async fn postgres_via(proxy: &TcpProxy) -> tokio_postgres::Client {
    let local: tokio_postgres::Config = local_postgres_url().parse().unwrap();
    // A fresh config: `host` and `port` add to a config's list, they do not
    // replace it.
    let mut config = tokio_postgres::Config::new();
    config
        .host("127.0.0.1")
        .port(proxy.port())
        .user(local.get_user().unwrap_or("postgres"))
        .dbname(local.get_dbname().unwrap_or("postgres"))
        .connect_timeout(Duration::from_secs(3));
    if let Some(password) = local.get_password() {
        config.password(password);
    }
    let (client, connection) = config.connect(tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

fn local_postgres_url() -> String {
    std::env::var("BOOKING_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

fn local_postgres_address() -> SocketAddr {
    let config: tokio_postgres::Config = local_postgres_url().parse().unwrap();
    let port = config.get_ports().first().copied().unwrap_or(5432);
    SocketAddr::from(([127, 0, 0, 1], port))
}

#[tokio::test]
async fn postgres_through_the_proxy_is_slowed_cut_and_hung() {
    let proxy = TcpProxy::start(local_postgres_address()).await;
    let client = postgres_via(&proxy).await;
    client.simple_query("SELECT 1").await.unwrap();

    proxy.set_delay(Duration::from_millis(200));
    let started = Instant::now();
    client.simple_query("SELECT 1").await.unwrap();
    let slowed = started.elapsed();
    assert!(slowed >= Duration::from_millis(200), "{slowed:?}");
    proxy.set_delay(Duration::ZERO);

    let (in_flight, ()) = tokio::join!(
        tokio::time::timeout(
            Duration::from_secs(2),
            client.simple_query("SELECT pg_sleep(1)")
        ),
        async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            proxy.cut();
        }
    );
    assert!(
        in_flight.as_ref().is_ok_and(Result::is_err),
        "a query in flight across a cut should fail: {in_flight:?}"
    );
    let after_cut =
        tokio::time::timeout(Duration::from_secs(2), client.simple_query("SELECT 1")).await;
    assert!(
        after_cut.as_ref().is_ok_and(Result::is_err),
        "a cut connection should fail at once: {after_cut:?}"
    );

    let client = postgres_via(&proxy).await;
    client.simple_query("SELECT 1").await.unwrap();
    proxy.blackhole(true);
    let hung =
        tokio::time::timeout(Duration::from_millis(500), client.simple_query("SELECT 1")).await;
    assert!(hung.is_err(), "a blackholed Postgres answered: {hung:?}");
}
