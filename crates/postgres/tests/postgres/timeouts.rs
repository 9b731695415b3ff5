//! Every wait has a bound, and a failure says what it leaves unknown:
//! `Unavailable` when nothing happened, `Indeterminate` when a write was
//! sent and its answer lost.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use booking_domain::contract::{hold, new_event};
use booking_domain::{BookingRepo, ConfirmOutcome, StoreError};
use booking_postgres::testing::TestDatabase;
use booking_postgres::{PostgresOptions, PostgresRepo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_postgres::Client;

use crate::common::created;

/// Short limits, so the tests wait for them quickly.
fn short() -> PostgresOptions {
    PostgresOptions {
        pool_size: 1,
        pool_wait_timeout: Duration::from_millis(500),
        connect_timeout: Duration::from_millis(500),
        statement_timeout: Duration::from_millis(700),
        lock_timeout: Duration::from_millis(300),
        client_timeout_margin: Duration::from_millis(500),
        ..PostgresOptions::default()
    }
}

fn is_unavailable(e: &StoreError) -> bool {
    matches!(e, StoreError::Unavailable { .. })
}

fn is_indeterminate(e: &StoreError) -> bool {
    matches!(e, StoreError::Indeterminate { .. })
}

#[tokio::test]
async fn a_confirm_stuck_behind_a_lock_is_unavailable_at_the_lock_or_statement_timeout() {
    let db = TestDatabase::create().await;
    let raw = db.raw_client().await;
    for (options, bound) in [
        // lock_timeout (300 ms) fires first.
        (short(), Duration::from_millis(300)),
        // statement_timeout (700 ms) fires first.
        (
            PostgresOptions {
                lock_timeout: Duration::from_secs(5),
                ..short()
            },
            Duration::from_millis(700),
        ),
    ] {
        let event = created(&*db, &new_event(10)).await;
        let repo = db.repo_with(options);
        // Prepared before the lock, so the statement itself is sent.
        repo.confirm(&hold(event.id, "warm", &[10])).await.unwrap();
        raw.batch_execute("BEGIN; LOCK TABLE booking_groups IN ACCESS EXCLUSIVE MODE")
            .await
            .unwrap();
        let h = hold(event.id, "alice", &[1]);
        let started = Instant::now();
        let err = repo.confirm(&h).await.unwrap_err();
        let took = started.elapsed();
        raw.batch_execute("ROLLBACK").await.unwrap();
        assert!(is_unavailable(&err), "{err:?}");
        assert_eq!(err.to_string(), "postgres is unavailable");
        assert!(
            took >= bound && took < bound + Duration::from_secs(1),
            "{took:?}"
        );
        // Nothing was written: the confirm goes through now.
        assert!(matches!(
            repo.confirm(&h).await.unwrap(),
            ConfirmOutcome::Created(_)
        ));
    }
}

/// The pid of the backend of `db` that waits on a lock, once there is one.
async fn waiting_backend(watcher: &Client, db: &TestDatabase) -> i32 {
    for _ in 0..100 {
        let found = watcher
            .query(
                "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'",
                &[&db.name()],
            )
            .await
            .unwrap();
        if let Some(row) = found.first() {
            return row.get(0);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no backend of {} waits on a lock", db.name());
}

#[tokio::test]
async fn a_backend_terminated_mid_statement_leaves_a_write_indeterminate_and_a_read_unavailable() {
    let db = TestDatabase::create().await;
    let event = created(&*db, &new_event(10)).await;
    let patient = PostgresOptions {
        statement_timeout: Duration::from_secs(20),
        lock_timeout: Duration::from_secs(20),
        ..short()
    };
    let repo = db.repo_with(patient);
    repo.confirm(&hold(event.id, "warm", &[10])).await.unwrap();
    repo.booked_seats(event.id).await.unwrap();
    let (raw, watcher) = (db.raw_client().await, db.raw_client().await);

    // A write: its transaction may or may not have committed when the
    // session ended, as far as the client can know.
    raw.batch_execute("BEGIN; LOCK TABLE booking_groups IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let h = hold(event.id, "alice", &[1]);
    let confirm = tokio::spawn({
        let (repo, h) = (repo.clone(), h.clone());
        async move { repo.confirm(&h).await }
    });
    let pid = waiting_backend(&watcher, &db).await;
    watcher
        .execute("SELECT pg_terminate_backend($1)", &[&pid])
        .await
        .unwrap();
    let err = confirm.await.unwrap().unwrap_err();
    raw.batch_execute("ROLLBACK").await.unwrap();
    assert!(is_indeterminate(&err), "{err:?}");
    assert_eq!(err.to_string(), "postgres did not confirm a write");

    // A read: nothing to be unsure of.
    raw.batch_execute("BEGIN; LOCK TABLE bookings IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let read = tokio::spawn({
        let repo = repo.clone();
        async move { repo.booked_seats(event.id).await }
    });
    let pid = waiting_backend(&watcher, &db).await;
    watcher
        .execute("SELECT pg_terminate_backend($1)", &[&pid])
        .await
        .unwrap();
    let err = read.await.unwrap().unwrap_err();
    raw.batch_execute("ROLLBACK").await.unwrap();
    assert!(is_unavailable(&err), "{err:?}");

    // The broken connections were dropped; the next call gets a new one.
    assert!(matches!(
        repo.confirm(&h).await.unwrap(),
        ConfirmOutcome::Created(_)
    ));
}

/// A TCP proxy to the test server that can hold back the server's
/// answers: to the client, the server looks hung (stopped, or cut off
/// behind a silent network) while it actually goes on working.
struct Proxy {
    addr: SocketAddr,
    hold: watch::Sender<bool>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (hold, held) = watch::channel(false);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let mut held = held.clone();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let (mut client_in, mut client_out) = client.into_split();
                    let (mut server_in, mut server_out) = server.into_split();
                    let up = tokio::io::copy(&mut client_in, &mut server_out);
                    let down = async {
                        let mut buf = vec![0; 16 * 1024];
                        loop {
                            let n = server_in.read(&mut buf).await?;
                            if n == 0 {
                                return Ok::<_, std::io::Error>(());
                            }
                            while *held.borrow_and_update() {
                                if held.changed().await.is_err() {
                                    return Ok(());
                                }
                            }
                            client_out.write_all(&buf[..n]).await?;
                        }
                    };
                    // Either side closing ends both.
                    tokio::select! {
                        _ = up => {}
                        _ = down => {}
                    }
                });
            }
        });
        Self { addr, hold }
    }

    fn hold_answers(&self, hold: bool) {
        self.hold.send_replace(hold);
    }

    /// `db`'s URL, through the proxy.
    fn url(&self, db: &TestDatabase) -> String {
        let config: tokio_postgres::Config = db.url().parse().unwrap();
        let mut url = format!(
            "host={} port={} dbname={}",
            self.addr.ip(),
            self.addr.port(),
            db.name()
        );
        if let Some(user) = config.get_user() {
            url.push_str(&format!(" user={user}"));
        }
        if let Some(password) = config.get_password() {
            url.push_str(&format!(" password={}", String::from_utf8_lossy(password)));
        }
        url
    }
}

/// The test server's address, from its URL.
fn server_addr(db: &TestDatabase) -> SocketAddr {
    let config: tokio_postgres::Config = db.url().parse().unwrap();
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
        _ => "127.0.0.1".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let host = if host == "localhost" {
        "127.0.0.1".into()
    } else {
        host
    };
    format!("{host}:{port}").parse().unwrap()
}

#[tokio::test]
async fn a_server_that_stops_answering_is_given_up_on_at_the_client_timeout() {
    let db = TestDatabase::create().await;
    let event = created(&*db, &new_event(10)).await;
    let proxy = Proxy::start(server_addr(&db)).await;
    let options = short();
    let client_timeout = options.client_timeout();
    let repo = PostgresRepo::connect(&proxy.url(&db), options).unwrap();
    let slack = Duration::from_secs(1);

    // A read: nothing changed, so simply unavailable.
    repo.event(event.id).await.unwrap().unwrap();
    proxy.hold_answers(true);
    let started = Instant::now();
    let err = repo.event(event.id).await.unwrap_err();
    let took = started.elapsed();
    assert!(is_unavailable(&err), "{err:?}");
    assert!(
        took >= client_timeout && took < client_timeout + slack,
        "{took:?}"
    );
    assert_eq!(repo.pool_status().size, 0, "the connection was discarded");
    proxy.hold_answers(false);

    // A write: the server got it and committed it, but the client cannot
    // know that.
    repo.confirm(&hold(event.id, "warm", &[10])).await.unwrap();
    proxy.hold_answers(true);
    let h = hold(event.id, "alice", &[1, 2]);
    let started = Instant::now();
    let err = repo.confirm(&h).await.unwrap_err();
    let took = started.elapsed();
    assert!(is_indeterminate(&err), "{err:?}");
    assert!(
        took >= client_timeout && took < client_timeout + slack,
        "{took:?}"
    );
    assert!(took < repo.longest_call());
    proxy.hold_answers(false);
    let booking = db.booking(h.id).await.unwrap();
    assert!(booking.is_some(), "the write happened after all");
    assert!(matches!(
        repo.confirm(&h).await.unwrap(),
        ConfirmOutcome::Existing(_)
    ));
}

#[tokio::test]
async fn a_server_that_never_answers_is_unavailable_within_the_longest_call() {
    // Accepts connections and never says a word.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut kept = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            kept.push(socket);
        }
    });
    let repo = PostgresRepo::connect(
        &format!("postgres://postgres@127.0.0.1:{port}/booking"),
        short(),
    )
    .unwrap();
    let event = booking_domain::EventId::new(1).unwrap();
    for _ in 0..2 {
        let started = Instant::now();
        let err = repo.confirm(&hold(event, "alice", &[1])).await.unwrap_err();
        let took = started.elapsed();
        // Nothing was ever sent.
        assert!(is_unavailable(&err), "{err:?}");
        assert!(took < repo.longest_call(), "{took:?}");
    }
}
