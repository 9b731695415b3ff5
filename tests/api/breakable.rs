//! The app on stores a test can break, for the fault tests and the soak: a
//! private redis-server (RDB on) and the test's own Postgres database, each
//! of them behind a [`TcpProxy`] when the test breaks the network. And
//! what Postgres itself holds, read beside the app: the truth the fault
//! tests check the app's answers against.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

use booking_api::settings::Secret;
use booking_api::Settings;
use booking_domain::EventId;
use booking_redis::{EventKeys, KeyPrefix, Part};
use booking_tests::harness::{RedisOptions, RedisServer, TcpProxy};

use crate::helpers::{spawn_app_with, Answer, Stores, TestApp, STORES};

/// Which store a test puts a proxy in front of.
#[derive(Clone, Copy, Debug, Default)]
pub struct Proxies {
    pub redis: bool,
    pub postgres: bool,
}

impl Proxies {
    pub const NONE: Self = Self {
        redis: false,
        postgres: false,
    };
    pub const BOTH: Self = Self {
        redis: true,
        postgres: true,
    };
}

/// An app on a private Redis and the test database, and the tools to
/// break them.
pub struct Rig {
    pub redis: RedisServer,
    pub redis_proxy: Option<TcpProxy>,
    pub pg_proxy: Option<TcpProxy>,
    pub app: TestApp,
}

impl Rig {
    /// A private redis-server with RDB snapshots, the proxies asked for,
    /// and the app on them with the test settings changed by `change`.
    pub async fn spawn(proxies: Proxies, change: impl FnOnce(&mut Settings)) -> Self {
        let redis = RedisServer::spawn_with(RedisOptions::default().rdb()).await;
        let redis_proxy = match proxies.redis {
            true => Some(TcpProxy::to_port(redis.port()).await),
            false => None,
        };
        let redis_port = redis_proxy.as_ref().map_or(redis.port(), TcpProxy::port);
        let pg_proxy = match proxies.postgres {
            true => Some(TcpProxy::start(test_server_address()).await),
            false => None,
        };
        let pg_port = pg_proxy.as_ref().map(TcpProxy::port);
        let app = STORES
            .scope(
                Stores::PostgresRedis,
                spawn_app_with(move |s| {
                    s.redis.url = Secret::new(format!("redis://127.0.0.1:{redis_port}"));
                    if let Some(port) = pg_port {
                        s.postgres.url = Secret::new(with_port(s.postgres.url.expose(), port));
                    }
                    change(s);
                }),
            )
            .await;
        Self {
            redis,
            redis_proxy,
            pg_proxy,
            app,
        }
    }

    /// Another instance on the same stores (the same proxies), as a load
    /// balancer would run beside the first.
    pub async fn another_instance(&self, change: impl FnOnce(&mut Settings)) -> TestApp {
        let first = self.app.settings.clone();
        STORES
            .scope(
                Stores::PostgresRedis,
                spawn_app_with(move |s| {
                    s.postgres.url = first.postgres.url.clone();
                    s.redis.url = first.redis.url.clone();
                    s.redis.key_prefix = first.redis.key_prefix.clone();
                    change(s);
                }),
            )
            .await
    }

    pub fn redis_proxy(&self) -> &TcpProxy {
        self.redis_proxy
            .as_ref()
            .expect("the rig has a Redis proxy")
    }

    pub fn pg_proxy(&self) -> &TcpProxy {
        self.pg_proxy
            .as_ref()
            .expect("the rig has a Postgres proxy")
    }

    pub fn truth(&self) -> Truth<'_> {
        Truth::of(&self.app)
    }

    /// Whether the hold is being confirmed (pending) in the private Redis.
    pub async fn is_pending(&self, event: i64, hold: &str) -> bool {
        let key = self.redis_key(event, Part::Pending);
        let score: Option<f64> = self
            .redis
            .query(redis::cmd("ZSCORE").arg(key).arg(hold))
            .await;
        score.is_some()
    }

    /// The name of an event's Redis key `part`, as the app writes it.
    pub fn redis_key(&self, event: i64, part: Part) -> String {
        event_key(&self.app.settings.redis.key_prefix, event, part)
    }

    /// How many loads of the event's mirror have begun since its mirror
    /// was last created from nothing: `begin_load` bumps the mirror's epoch
    /// (`meta` field `ep`) each time it begins one, and only then.
    pub async fn loads_begun(&self, event: i64) -> i64 {
        let key = self.redis_key(event, Part::Meta);
        let epoch: Option<i64> = self
            .redis
            .query(redis::cmd("HGET").arg(key).arg("ep"))
            .await;
        epoch.unwrap_or(0)
    }
}

/// The name of event `event`'s Redis key `part` under `prefix`.
pub fn event_key(prefix: &str, event: i64, part: Part) -> String {
    let prefix = KeyPrefix::parse(prefix).unwrap();
    let event = EventId::new(event).unwrap();
    EventKeys::new(&prefix, event).key(part).to_string()
}

/// The hold owning each held or pending seat of the event (seat number to
/// hold id), read from the Redis server at `port` itself.
pub async fn seat_owners(
    port: u16,
    prefix: &str,
    event: i64,
) -> Result<BTreeMap<i32, String>, String> {
    let key = event_key(prefix, event, Part::Owners);
    let owners: Vec<(String, String)> =
        booking_tests::harness::redis_control::query(port, redis::cmd("HGETALL").arg(key)).await?;
    Ok(owners
        .into_iter()
        .filter_map(|(seat, hold)| Some((seat.parse().ok()?, hold)))
        .collect())
}

/// Where the test databases live (`BOOKING_TEST_PG_URL`, or the local
/// server), as an address a proxy can forward to.
fn test_server_address() -> std::net::SocketAddr {
    use std::net::ToSocketAddrs;
    let url = booking_postgres::testing::DEFAULT_URL.to_owned();
    let url = std::env::var(booking_postgres::testing::URL_ENV).unwrap_or(url);
    let (host, port) = host_and_port(&url);
    (host.as_str(), port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut addresses| addresses.next())
        .unwrap_or_else(|| panic!("cannot resolve the test Postgres server in {url:?}"))
}

/// `host` and `port` of `postgres://[user[:password]@]host[:port][/db]`.
fn host_and_port(url: &str) -> (String, u16) {
    let rest = url
        .split_once("://")
        .unwrap_or_else(|| panic!("a proxied Postgres needs a URL, not {url:?}"))
        .1;
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let server = authority.rsplit_once('@').map_or(authority, |(_, s)| s);
    match server.rsplit_once(':') {
        Some((host, port)) => (host.to_owned(), port.parse().unwrap()),
        None => (server.to_owned(), 5432),
    }
}

/// `url` pointing at `127.0.0.1:port` instead of its server.
fn with_port(url: &str, port: u16) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let user = authority
        .rsplit_once('@')
        .map_or(String::new(), |(user, _)| format!("{user}@"));
    format!("{scheme}://{user}127.0.0.1:{port}{tail}")
}

/// What Postgres holds for the app's database, read on a connection of
/// the test's own (never through a proxy).
pub struct Truth<'a> {
    app: &'a TestApp,
}

/// A booking group as Postgres has it: its status and how many seat rows
/// it has (any status).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub status: String,
    pub rows: i64,
}

impl<'a> Truth<'a> {
    pub fn of(app: &'a TestApp) -> Self {
        Self { app }
    }

    async fn client(&self) -> tokio_postgres::Client {
        self.app
            .database
            .as_ref()
            .expect("the app runs on Postgres")
            .raw_client()
            .await
    }

    /// Seats of the event with more than one CONFIRMED row.
    pub async fn double_booked(&self, event: i64) -> i64 {
        self.client()
            .await
            .query_one(
                "SELECT count(*) FROM (SELECT seat_id FROM bookings WHERE event_id = $1 \
                 AND status = 'CONFIRMED' GROUP BY seat_id HAVING count(*) > 1) d",
                &[&event],
            )
            .await
            .unwrap()
            .get(0)
    }

    /// The event's seats with a CONFIRMED booking: number to code.
    pub async fn booked(&self, event: i64) -> BTreeMap<i32, String> {
        self.client()
            .await
            .query(
                "SELECT s.seat_no, s.seat_code FROM bookings b \
                 JOIN seats s ON s.event_id = b.event_id AND s.id = b.seat_id \
                 WHERE b.event_id = $1 AND b.status = 'CONFIRMED'",
                &[&event],
            )
            .await
            .unwrap()
            .iter()
            .map(|row| (row.get(0), row.get(1)))
            .collect()
    }

    /// The booking group of a hold, if Postgres has one (CONFIRMED,
    /// CANCELLED, or ABORTED by settling).
    pub async fn group(&self, hold: &str) -> Option<Group> {
        self.groups(&[hold.to_owned()]).await.remove(hold)
    }

    /// The booking groups of these holds that Postgres has.
    pub async fn groups(&self, holds: &[String]) -> BTreeMap<String, Group> {
        let ids: Vec<uuid::Uuid> = holds.iter().map(|h| h.parse().unwrap()).collect();
        self.client()
            .await
            .query(
                "SELECT g.id, g.status, (SELECT count(*) FROM bookings b \
                 WHERE b.event_id = g.event_id AND b.booking_group_id = g.id) \
                 FROM booking_groups g WHERE g.id = ANY ($1)",
                &[&ids],
            )
            .await
            .unwrap()
            .iter()
            .map(|row| {
                let id: uuid::Uuid = row.get(0);
                let group = Group {
                    status: row.get(1),
                    rows: row.get(2),
                };
                (id.hyphenated().to_string(), group)
            })
            .collect()
    }

    /// Whether a cancel's seats are still queued for the mirror.
    pub async fn unbook_pending(&self, booking: &str) -> bool {
        let id: uuid::Uuid = booking.parse().unwrap();
        self.client()
            .await
            .query_one(
                "SELECT bool_or(unbook_pending) FROM booking_groups WHERE id = $1",
                &[&id],
            )
            .await
            .unwrap()
            .get::<_, Option<bool>>(0)
            .unwrap_or(false)
    }
}

/// Runs `request` and says how long its answer took.
pub async fn timed<F: Future<Output = Answer>>(request: F) -> (Answer, Duration) {
    let started = Instant::now();
    let answer = request.await;
    (answer, started.elapsed())
}

/// Asserts what every answer under a fault must be: never a 500, and a 503
/// says when to come back.
#[track_caller]
pub fn assert_no_500(answer: &Answer) {
    assert!(
        answer.status.as_u16() < 500 || answer.status == 503,
        "{}: {:?}",
        answer.status,
        answer.body
    );
    if answer.status == 503 {
        assert_unavailable(answer);
    }
}

/// Asserts a 503 with `Retry-After`, as clients are told to come back.
#[track_caller]
pub fn assert_unavailable(answer: &Answer) {
    answer.assert_error(503, "SERVICE_UNAVAILABLE");
    assert!(
        answer.headers.contains_key("retry-after"),
        "a 503 without Retry-After: {:?}",
        answer.headers
    );
}

/// Sends `request` until it answers something other than 503 (each 503
/// carrying `Retry-After`), for up to `within`; never accepts a 500.
pub async fn answered<F, Fut>(within: Duration, mut request: F) -> Answer
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Answer>,
{
    let started = Instant::now();
    loop {
        let answer = request().await;
        assert_no_500(&answer);
        if answer.status != 503 {
            return answer;
        }
        assert!(
            started.elapsed() < within,
            "still 503 after {within:?}: {:?}",
            answer.body
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::{host_and_port, with_port};

    #[test]
    fn proxied_urls_keep_user_database_and_options() {
        assert_eq!(
            with_port("postgres://postgres@127.0.0.1:5432/booking_test_1", 6000),
            "postgres://postgres@127.0.0.1:6000/booking_test_1"
        );
        assert_eq!(
            with_port("postgres://u:p@db/x?sslmode=disable", 6000),
            "postgres://u:p@127.0.0.1:6000/x?sslmode=disable"
        );
        assert_eq!(
            host_and_port("postgres://postgres@127.0.0.1:5432/postgres"),
            ("127.0.0.1".to_owned(), 5432)
        );
        assert_eq!(host_and_port("postgres://db"), ("db".to_owned(), 5432));
    }
}
