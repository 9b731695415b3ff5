//! What only the real stores can show: durability across restarts, Redis
//! flushed or stopped mid-sale, Postgres failing mid-confirm, and a flash
//! sale checked in Postgres itself.

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use booking_api::settings::Secret;
use serde_json::json;

use crate::helpers::{spawn_app_with, As, Stores, TestApp, STORES};

async fn spawn_real_app(change: impl FnOnce(&mut booking_api::Settings)) -> TestApp {
    STORES
        .scope(Stores::PostgresRedis, spawn_app_with(change))
        .await
}

/// Seats of the event with more than one CONFIRMED row, read from Postgres.
pub(crate) async fn double_booked_seats(app: &TestApp, event: i64) -> i64 {
    let client = app.database.as_ref().unwrap().raw_client().await;
    let row = client
        .query_one(
            "SELECT count(*) FROM (SELECT seat_id FROM bookings WHERE event_id = $1 \
             AND status = 'CONFIRMED' GROUP BY seat_id HAVING count(*) > 1) d",
            &[&event],
        )
        .await
        .unwrap();
    row.get(0)
}

pub(crate) async fn confirmed_rows(app: &TestApp, event: i64) -> i64 {
    let client = app.database.as_ref().unwrap().raw_client().await;
    client
        .query_one(
            "SELECT count(*) FROM bookings WHERE event_id = $1 AND status = 'CONFIRMED'",
            &[&event],
        )
        .await
        .unwrap()
        .get(0)
}

/// Deletes every Redis key of the app, as a FLUSHALL would, without
/// touching other tests' keys on the shared server.
async fn flush_app_keys(app: &TestApp) {
    let client = redis::Client::open(app.settings.redis.url.expose()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let pattern = format!("{}*", app.settings.redis.key_prefix);
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(&pattern)
        .query_async(&mut conn)
        .await
        .unwrap();
    if !keys.is_empty() {
        let _: () = redis::cmd("DEL")
            .arg(&keys)
            .query_async(&mut conn)
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_pg_and_readiness_report_both_stores() {
    let app = spawn_real_app(|_| {}).await;
    let answer = app.send("GET", "/test-pg", As::Nobody, None).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body["connected"], true);
    assert!(
        answer.str("version").starts_with("PostgreSQL"),
        "{:?}",
        answer.body
    );
    assert!(answer.body["holdStore"]["version"]
        .as_str()
        .unwrap()
        .contains("Redis"));
    let text = answer.body.to_string();
    assert!(
        !text.contains("postgres://")
            && !text.contains("redis://")
            && !text.contains("booking_test")
    );
    let ready = app.send("GET", "/health/ready", As::Nobody, None).await;
    assert_eq!(ready.status, 200, "{:?}", ready.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bookings_survive_a_restart_of_the_service() {
    let mut first = spawn_real_app(|_| {}).await;
    let event = first.create_event(10).await;
    let booking = first.book(event, "alice", &["S1", "S2"]).await;
    let database = first.database.take();
    let settings = first.settings.clone();
    drop(first);

    let mut second = spawn_real_app(|s| {
        s.postgres.url = settings.postgres.url.clone();
        s.redis.key_prefix = settings.redis.key_prefix.clone();
    })
    .await;
    second.database = database;
    assert_eq!(
        second.booking(&booking, As::Header("alice")).await.status,
        200
    );
    assert_eq!(second.counts(event).await, (2, 0, 8, 10));
    second
        .reserve(event, "bob", &["S2"])
        .await
        .assert_error(409, "SEATS_UNAVAILABLE");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_redis_loses_its_data_no_booked_seat_can_be_held_again() {
    let app = spawn_real_app(|_| {}).await;
    let event = app.create_event(10).await;
    let booking = app.book(event, "alice", &["S1", "S2"]).await;
    app.hold(event, "bob", &["S3"]).await;
    flush_app_keys(&app).await;

    // The unconfirmed hold is lost; the bookings are not.
    assert_eq!(app.counts(event).await, (2, 0, 8, 10));
    let taken = app.reserve(event, "mallory", &["S2", "S4"]).await;
    taken.assert_error(409, "SEATS_UNAVAILABLE");
    assert_eq!(taken.body["seats"], json!(["S2"]));
    flush_app_keys(&app).await;
    app.reserve(event, "mallory", &["S1"])
        .await
        .assert_error(409, "SEATS_UNAVAILABLE");
    app.hold(event, "bob", &["S3"]).await;
    // A cancel after a flush still frees the seats.
    flush_app_keys(&app).await;
    assert_eq!(app.cancel(&booking, As::Header("alice")).await.status, 200);
    app.hold(event, "carol", &["S1", "S2"]).await;
    assert_eq!(double_booked_seats(&app, event).await, 0);
}

/// A Redis server of the test's own, on a free port, that it can stop.
struct OwnRedis {
    port: u16,
    child: Option<Child>,
}

impl OwnRedis {
    async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut redis = Self { port, child: None };
        redis.restart().await;
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--dir", "/tmp"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server is installed (apt-get install redis-server)");
        self.child = Some(child);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("redis-server did not start on port {}", self.port);
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_stopped_and_started_again_answers_503_then_recovers_with_bookings_intact() {
    let mut redis = OwnRedis::start().await;
    let url = redis.url();
    let app = spawn_real_app(|s| s.redis.url = Secret::new(url)).await;
    let event = app.create_event(10).await;
    let booking = app.book(event, "alice", &["S1", "S2"]).await;
    app.hold(event, "bob", &["S3"]).await;

    redis.stop();
    let down = app.reserve(event, "carol", &["S4"]).await;
    down.assert_error(503, "SERVICE_UNAVAILABLE");
    app.event(event)
        .await
        .assert_error(503, "SERVICE_UNAVAILABLE");
    assert!(!down.body.to_string().contains("redis://"));
    // Every 503 says when to retry.
    assert_eq!(down.headers["retry-after"], "2");
    let ready = app.send("GET", "/health/ready", As::Nobody, None).await;
    assert_eq!(ready.status, 503);
    assert_eq!(ready.headers["retry-after"], "2");
    let test_pg = app.send("GET", "/test-pg", As::Nobody, None).await;
    test_pg.assert_error(503, "SERVICE_UNAVAILABLE");
    assert_eq!(test_pg.headers["retry-after"], "2");
    // Postgres alone still answers for the bookings it keeps.
    assert_eq!(app.booking(&booking, As::Header("alice")).await.status, 200);

    redis.restart().await;
    // The service reconnects by itself; the empty Redis is reloaded.
    let mut counts = None;
    for _ in 0..50 {
        if app.event(event).await.status == 200 {
            counts = Some(app.counts(event).await);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(counts, Some((2, 0, 8, 10)), "the service did not recover");
    app.reserve(event, "carol", &["S1"])
        .await
        .assert_error(409, "SEATS_UNAVAILABLE");
    app.hold(event, "carol", &["S3", "S4"]).await;
    assert_eq!(
        app.send("GET", "/health/ready", As::Nobody, None)
            .await
            .status,
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_failure_mid_confirm_leaves_the_seats_unbooked_and_a_retry_books_them_once() {
    let app = spawn_real_app(|_| {}).await;
    let event = app.create_event(10).await;
    let hold = app.hold(event, "alice", &["S1", "S2"]).await;
    let database = app.database.as_ref().unwrap();

    // Stall the confirm on a lock, then kill the app's Postgres sessions
    // while it waits: its commit never happens.
    let mut saboteur = database.raw_client().await;
    let lock = saboteur.transaction().await.unwrap();
    lock.batch_execute("LOCK TABLE bookings IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let confirm = {
        let (client, address, hold) = (app.client.clone(), app.address.clone(), hold.clone());
        tokio::spawn(async move {
            client
                .post(format!("{address}/events/{event}/seats/confirm"))
                .json(&json!({"userId": "alice", "holdGroupId": hold}))
                .send()
                .await
                .unwrap()
                .status()
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let killer = database.raw_client().await;
    killer
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid() \
             AND query ILIKE '%bookings%' AND query NOT ILIKE '%LOCK TABLE%'",
            &[],
        )
        .await
        .unwrap();
    let status = confirm.await.unwrap();
    lock.rollback().await.unwrap();
    assert_eq!(status, 503, "a confirm that could not commit is a 503");
    assert_eq!(confirmed_rows(&app, event).await, 0, "nothing was booked");
    let (confirmed, held, _, _) = app.counts(event).await;
    assert_eq!(confirmed, 0);
    assert_eq!(held, 2, "the seats went back to the hold");

    let retry = app.confirm(event, "alice", &hold).await;
    assert_eq!(retry.status, 200, "{:?}", retry.body);
    assert_eq!(confirmed_rows(&app, event).await, 2);
    assert_eq!(app.counts(event).await, (2, 0, 8, 10));
    assert_eq!(double_booked_seats(&app, event).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_down_is_a_503_and_confirmed_bookings_are_kept() {
    let app = spawn_real_app(|_| {}).await;
    let event = app.create_event(10).await;
    let booking = app.book(event, "alice", &["S1"]).await;
    // Refuse new connections to the test's database and end the current
    // ones: as far as the app can tell, Postgres is down.
    let database = app.database.as_ref().unwrap();
    let name = database.name().to_owned();
    let admin_url = format!("{}/postgres", url_of_server(database.url()));
    let (admin, conn) = tokio_postgres::connect(&admin_url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    admin
        .batch_execute(&format!(
            "ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS false"
        ))
        .await
        .unwrap();
    admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
            &[&name],
        )
        .await
        .unwrap();
    let down = app.booking(&booking, As::Header("alice")).await;
    down.assert_error(503, "SERVICE_UNAVAILABLE");
    let test_pg = app.send("GET", "/test-pg", As::Nobody, None).await;
    assert_eq!(test_pg.status, 503);
    assert!(!test_pg.body.to_string().contains("postgres://"));

    admin
        .batch_execute(&format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS true"))
        .await
        .unwrap();
    let mut view = None;
    for _ in 0..50 {
        let answer = app.booking(&booking, As::Header("alice")).await;
        if answer.status == 200 {
            view = Some(answer);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let view = view.expect("the service recovers when Postgres is back");
    assert_eq!(view.body[0]["status"], "CONFIRMED");
}

/// `postgres://user@host:port/db` without its `/db`.
fn url_of_server(url: &str) -> String {
    let (server, _) = url.rsplit_once('/').unwrap();
    server.to_owned()
}

/// 200 buyers with overlapping choices buy 1,000 seats until none is left;
/// Redis loses its keys halfway through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flash_sale_sells_every_seat_once_even_when_redis_is_flushed_mid_sale() {
    const SEATS: usize = 1000;
    let app = Arc::new(spawn_real_app(|_| {}).await);
    let event = app.create_event(SEATS as u32).await;
    let unsold = Arc::new(Mutex::new((1..=SEATS).collect::<Vec<_>>()));
    let sold = Arc::new(Mutex::new(Vec::<String>::new()));
    let flushed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let buyers = (0..200u64).map(|buyer| {
        let (app, unsold, sold, flushed) =
            (app.clone(), unsold.clone(), sold.clone(), flushed.clone());
        tokio::spawn(async move {
            let user = format!("buyer-{buyer}");
            let mut rng = buyer
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            for _ in 0..400 {
                let wanted: Vec<String> = {
                    let unsold = unsold.lock().unwrap();
                    if unsold.is_empty() {
                        return;
                    }
                    let mut picks = HashSet::new();
                    let want = 1 + (rng % 4) as usize;
                    while picks.len() < want.min(unsold.len()) {
                        rng ^= rng << 13;
                        rng ^= rng >> 7;
                        rng ^= rng << 17;
                        picks.insert(unsold[(rng % unsold.len() as u64) as usize]);
                    }
                    picks.into_iter().map(|n| format!("S{n}")).collect()
                };
                let codes: Vec<&str> = wanted.iter().map(String::as_str).collect();
                let answer = app.reserve(event, &user, &codes).await;
                assert!(answer.status.as_u16() < 500, "{:?}", answer.body);
                if answer.status != 201 {
                    continue;
                }
                let confirmed = app.confirm(event, &user, &answer.str("holdGroupId")).await;
                assert!(confirmed.status.as_u16() < 500, "{:?}", confirmed.body);
                if confirmed.status == 200 {
                    let mut unsold = unsold.lock().unwrap();
                    unsold.retain(|n| !wanted.contains(&format!("S{n}")));
                    sold.lock().unwrap().extend(wanted.iter().cloned());
                    if unsold.len() < SEATS / 2
                        && !flushed.swap(true, std::sync::atomic::Ordering::SeqCst)
                    {
                        let app = app.clone();
                        tokio::spawn(async move { flush_app_keys(&app).await });
                    }
                }
            }
        })
    });
    for buyer in futures_util::future::join_all(buyers).await {
        buyer.expect("a buyer failed");
    }
    assert!(
        flushed.load(std::sync::atomic::Ordering::SeqCst),
        "Redis was flushed mid-sale"
    );
    let sold = sold.lock().unwrap().clone();
    let distinct: HashSet<_> = sold.iter().collect();
    assert_eq!(distinct.len(), sold.len(), "a seat was sold twice");
    assert_eq!(sold.len(), SEATS, "every seat is sold in the end");
    assert_eq!(double_booked_seats(&app, event).await, 0);
    assert_eq!(confirmed_rows(&app, event).await, SEATS as i64);
    assert_eq!(app.counts(event).await, (SEATS as u64, 0, 0, SEATS as u64));
    // No booked seat can be held again after the flush.
    app.reserve(event, "late", &["S1"])
        .await
        .assert_error(409, "SEATS_UNAVAILABLE");
}

/// The Redis store the app uses, opened beside it, to leave a confirm half
/// done as a crashed process would.
fn same_hold_store(app: &TestApp) -> booking_redis::RedisHoldStore {
    booking_redis::RedisHoldStore::connect(
        app.settings.redis.url.expose(),
        &app.settings.redis.key_prefix,
        2,
    )
    .unwrap()
}

async fn crash_mid_confirm(app: &TestApp, event: i64, hold: &str) -> booking_domain::Hold {
    use booking_domain::HoldStore;
    let id = booking_domain::HoldId::parse(hold).unwrap();
    let event = booking_domain::EventId::new(event).unwrap();
    let user = booking_domain::UserId::parse("alice").unwrap();
    match same_hold_store(app)
        .begin_confirm(event, id, &user)
        .await
        .unwrap()
    {
        booking_domain::Mirror::Ready(booking_domain::BeginConfirm::Pending(hold)) => hold,
        other => panic!("the hold should go pending, got {other:?}"),
    }
}

/// Short Postgres timeouts, so a confirm may be presumed dead after 3 s
/// (the grace must be twice the longest a Postgres call can take).
fn quick_settling(s: &mut booking_api::Settings) {
    s.postgres.pool_wait_ms = 100;
    s.postgres.connect_timeout_ms = 100;
    s.postgres.statement_timeout_ms = 200;
    s.holds.pending_grace_seconds = 3;
    s.ledger.maintenance_interval_ms = 200;
}

/// Retries `check` every 100 ms for up to `within`, until it is true.
async fn eventually<F, Fut>(within: Duration, what: &str, check: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = std::time::Instant::now();
    while !check().await {
        assert!(
            started.elapsed() < within,
            "{what} did not happen within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confirm_that_died_before_its_commit_gives_the_seats_back() {
    let app = spawn_real_app(|s| {
        quick_settling(s);
        s.holds.ttl_seconds = 1;
    })
    .await;
    let event = app.create_event(10).await;
    let hold = app.hold(event, "alice", &["S1", "S2"]).await;
    crash_mid_confirm(&app, event, &hold).await;
    // Pending seats do not expire with the hold: they stay taken...
    tokio::time::sleep(Duration::from_millis(1200)).await;
    app.reserve(event, "bob", &["S1"])
        .await
        .assert_error(409, "SEATS_UNAVAILABLE");
    // ...until the confirm is past its grace and Postgres says it never
    // committed (and now never will): then they are free.
    eventually(
        Duration::from_secs(6),
        "the dead confirm settled",
        || async { app.reserve(event, "bob", &["S1"]).await.status == 201 },
    )
    .await;
    assert_eq!(app.counts(event).await, (0, 1, 9, 10));
    assert_eq!(confirmed_rows(&app, event).await, 0);
    // The dead confirm arriving late cannot book the seats any more.
    let late = app.confirm(event, "alice", &hold).await;
    late.assert_error(410, "HOLD_EXPIRED");
    assert_eq!(confirmed_rows(&app, event).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confirm_that_died_after_its_commit_ends_booked() {
    use booking_domain::BookingRepo;
    let app = spawn_real_app(quick_settling).await;
    let event = app.create_event(10).await;
    let hold = app.hold(event, "alice", &["S1", "S2"]).await;
    let pending = crash_mid_confirm(&app, event, &hold).await;
    let repo = app.database.as_ref().unwrap().repo();
    assert!(matches!(
        repo.confirm(&pending).await.unwrap(),
        booking_domain::ConfirmOutcome::Created(_)
    ));
    // Reading the event notices the dead confirm; settling books its seats.
    eventually(
        Duration::from_secs(8),
        "the dead confirm settled as booked",
        || async { app.counts(event).await == (2, 0, 8, 10) },
    )
    .await;
    app.reserve(event, "bob", &["S2"])
        .await
        .assert_error(409, "SEATS_UNAVAILABLE");
    assert_eq!(app.booking(&hold, As::Header("alice")).await.status, 200);
    // The owner's retry answers as a successful confirm does.
    assert_eq!(app.confirm(event, "alice", &hold).await.status, 200);
    assert_eq!(confirmed_rows(&app, event).await, 2);
}

/// Two api instances on one Postgres and one Redis sell one event: a hold
/// taken through one is confirmed through the other, and no seat is ever
/// booked twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_sell_one_event_without_double_booking() {
    let first = spawn_real_app(|_| {}).await;
    let (url, prefix) = (
        first.settings.postgres.url.clone(),
        first.settings.redis.key_prefix.clone(),
    );
    let second = spawn_real_app(|s| {
        s.postgres.url = url;
        s.redis.key_prefix = prefix;
    })
    .await;
    let apps = [&first, &second];
    let event = first.create_event(30).await;
    let buyers = (0..60usize).map(|buyer| async move {
        let user = format!("buyer-{buyer}");
        let seats: Vec<String> = (0..2)
            .map(|k| format!("S{}", (buyer * 7 + k * 11) % 30 + 1))
            .collect();
        let codes: Vec<&str> = seats.iter().map(String::as_str).collect();
        let answer = apps[buyer % 2].reserve(event, &user, &codes).await;
        if answer.status != 201 {
            assert_eq!(answer.status, 409, "{:?}", answer.body);
            return 0;
        }
        let confirmed = apps[(buyer + 1) % 2]
            .confirm(event, &user, &answer.str("holdGroupId"))
            .await;
        assert_eq!(confirmed.status, 200, "{:?}", confirmed.body);
        seats.len() as i64
    });
    let sold: i64 = futures_util::future::join_all(buyers)
        .await
        .into_iter()
        .sum();
    assert!(sold > 0);
    assert_eq!(double_booked_seats(&first, event).await, 0);
    assert_eq!(confirmed_rows(&first, event).await, sold);
    let (one, other) = (first.counts(event).await, second.counts(event).await);
    assert_eq!(one, other, "both instances see the same event");
    assert_eq!(one.0 as i64, sold);
}
