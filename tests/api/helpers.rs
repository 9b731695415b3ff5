//! `spawn_app` and typed helpers for each endpoint.

use std::time::Duration;

use booking_api::settings::{AuthMode, Secret, Storage};
use booking_api::{Application, Settings};
use booking_postgres::testing::TestDatabase;
use booking_redis::testing::TestPrefix;
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};

pub const JWT_SECRET: &str = "test-secret-of-at-least-16-chars";

/// Where a test's app keeps its data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stores {
    Memory,
    /// The local Postgres (a fresh database) and Redis (a fresh prefix).
    PostgresRedis,
}

tokio::task_local! {
    /// The stores `spawn_app` uses in the current test.
    pub static STORES: Stores;
}

/// Runs each test once in memory and once on Postgres and Redis, as
/// `<test>::in_memory` and `<test>::on_postgres_and_redis`.
#[macro_export]
macro_rules! on_both_stores {
    (async fn $name:ident() $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run() $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn in_memory() {
                $crate::helpers::STORES.scope($crate::helpers::Stores::Memory, run()).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_postgres_and_redis() {
                $crate::helpers::STORES.scope($crate::helpers::Stores::PostgresRedis, run()).await
            }
        }
    };
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub settings: Settings,
    handle: booking_api::startup::ServerHandle,
    /// Dropped after the server: the database goes when the test ends.
    pub database: Option<TestDatabase>,
    /// Deletes the app's Redis keys when the test ends.
    _redis_keys: Option<TestPrefix>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        // Stop without waiting: the runtime of the test is going away.
        drop(handle.stop(false));
    }
}

/// The app in trust mode on the in-memory stores.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// The app with the test settings changed by `change`, on the stores the
/// test runs on (memory unless `on_both_stores!` says otherwise).
pub async fn spawn_app_with(change: impl FnOnce(&mut Settings)) -> TestApp {
    let stores = STORES.try_with(|s| *s).unwrap_or(Stores::Memory);
    let mut settings = Settings::for_tests();
    settings.server.host = "127.0.0.1".into();
    settings.server.port = 0;
    let (database, redis_keys) = match stores {
        Stores::Memory => (None, None),
        Stores::PostgresRedis => {
            // The app migrates the empty database itself, as at start-up.
            let database = TestDatabase::create_empty().await;
            let keys = TestPrefix::new();
            settings.storage = Storage::PostgresRedis;
            settings.postgres.url = Secret::new(database.url());
            settings.redis.url = Secret::new(keys.url());
            settings.redis.key_prefix = keys.prefix().as_str().to_owned();
            (Some(database), Some(keys))
        }
    };
    change(&mut settings);
    let app = Application::build(settings.clone())
        .await
        .expect("the app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            // The server closes a keep-alive connection idle for 5 s; a
            // request sent on it in that instant fails without an answer.
            // Idle connections are dropped before that on this side.
            .pool_idle_timeout(Duration::from_secs(2))
            .build()
            .unwrap(),
        settings,
        handle,
        database,
        _redis_keys: redis_keys,
    }
}

/// The app in jwt mode.
pub async fn spawn_jwt_app() -> TestApp {
    spawn_app_with(|s| {
        s.auth.mode = AuthMode::Jwt;
        s.auth.jwt_secret = Secret::new(JWT_SECRET);
    })
    .await
}

/// An HS256 token for `sub`, valid for an hour.
pub fn token(sub: &str, admin: bool) -> String {
    token_with(
        json!({
            "sub": sub,
            "exp": chrono::Utc::now().timestamp() + 3600,
            "role": if admin { "admin" } else { "user" },
        }),
        JWT_SECRET,
    )
}

pub fn token_with(claims: Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

/// A response read whole: status, headers and JSON body.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    async fn read(response: Response) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("status {status}: body is not JSON: {text:?}"));
        Self {
            status,
            headers,
            body,
        }
    }

    /// Asserts an error answer: the status, a human sentence and the code.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "{:?}", self.body);
        assert_eq!(self.body["code"], code, "{:?}", self.body);
        // API.md: JSON out, errors included.
        assert_eq!(
            self.headers["content-type"], "application/json",
            "{:?}",
            self.body
        );
        assert!(
            self.body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "error sentence missing: {:?}",
            self.body
        );
    }

    pub fn str(&self, field: &str) -> String {
        self.body[field]
            .as_str()
            .unwrap_or_else(|| panic!("no {field} in {:?}", self.body))
            .to_owned()
    }
}

/// Who a request is sent as.
#[derive(Clone, Copy, Debug)]
pub enum As<'a> {
    Nobody,
    /// `X-User-Id` (trust mode).
    Header(&'a str),
    /// A bearer token.
    Bearer(&'a str),
}

impl TestApp {
    pub async fn send(&self, method: &str, path: &str, who: As<'_>, body: Option<Value>) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.address));
        request = match who {
            As::Nobody => request,
            As::Header(user) => request.header("X-User-Id", user),
            As::Bearer(token) => request.bearer_auth(token),
        };
        if let Some(body) = body {
            request = request.json(&body);
        }
        Answer::read(request.send().await.expect("the app answers")).await
    }

    /// Sends with extra headers (`Idempotency-Key`, `X-Forwarded-For`...).
    pub async fn send_with(
        &self,
        method: &str,
        path: &str,
        who: As<'_>,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.address));
        request = match who {
            As::Nobody => request,
            As::Header(user) => request.header("X-User-Id", user),
            As::Bearer(token) => request.bearer_auth(token),
        };
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        Answer::read(request.send().await.expect("the app answers")).await
    }

    /// A GET whose answer is not JSON (metrics, the docs page).
    pub async fn get_text(&self, path: &str) -> (StatusCode, reqwest::header::HeaderMap, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("the app answers");
        let (status, headers) = (response.status(), response.headers().clone());
        (status, headers, response.text().await.unwrap())
    }

    /// Stops the server now, keeping its database and keys (restarts).
    pub async fn stop(&self) {
        self.handle.stop(true).await;
    }

    /// Sends raw bytes as a body.
    pub async fn send_raw(
        &self,
        method: &str,
        path: &str,
        body: impl Into<reqwest::Body>,
    ) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let response = self
            .client
            .request(method, format!("{}{path}", self.address))
            .header("Content-Type", "application/json")
            .header("X-User-Id", "alice")
            .body(body)
            .send()
            .await
            .expect("the app answers");
        Answer::read(response).await
    }

    pub async fn create_event_as(&self, who: As<'_>, total_seats: u32) -> Answer {
        let body = json!({
            "name": "Test concert",
            "date": "2030-06-01T19:30:00Z",
            "location": "Main hall",
            "totalSeats": total_seats,
        });
        self.send("POST", "/events", who, Some(body)).await
    }

    /// Creates an event (trust mode) and returns its id.
    pub async fn create_event(&self, total_seats: u32) -> i64 {
        let answer = self.create_event_as(As::Nobody, total_seats).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{:?}", answer.body);
        answer.body["eventId"].as_i64().unwrap()
    }

    pub async fn event(&self, event: i64) -> Answer {
        self.send("GET", &format!("/events/{event}"), As::Nobody, None)
            .await
    }

    pub async fn reserve(&self, event: i64, user: &str, seats: &[&str]) -> Answer {
        let body = json!({ "userId": user, "seatCodes": seats });
        self.send(
            "POST",
            &format!("/events/{event}/seats/reserve"),
            As::Nobody,
            Some(body),
        )
        .await
    }

    /// Reserves (trust mode) and returns the hold id, asserting success.
    pub async fn hold(&self, event: i64, user: &str, seats: &[&str]) -> String {
        let answer = self.reserve(event, user, seats).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{:?}", answer.body);
        answer.str("holdGroupId")
    }

    pub async fn confirm(&self, event: i64, user: &str, hold: &str) -> Answer {
        let body = json!({ "userId": user, "holdGroupId": hold });
        self.send(
            "POST",
            &format!("/events/{event}/seats/confirm"),
            As::Nobody,
            Some(body),
        )
        .await
    }

    /// Holds and confirms (trust mode), returning the booking id.
    pub async fn book(&self, event: i64, user: &str, seats: &[&str]) -> String {
        let hold = self.hold(event, user, seats).await;
        let answer = self.confirm(event, user, &hold).await;
        assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
        answer.str("bookingGroupId")
    }

    pub async fn release(&self, event: i64, user: &str, hold: &str) -> Answer {
        let body = json!({ "userId": user, "holdGroupId": hold });
        self.send(
            "POST",
            &format!("/events/{event}/seats/release"),
            As::Nobody,
            Some(body),
        )
        .await
    }

    pub async fn cancel(&self, booking: &str, who: As<'_>) -> Answer {
        self.send("POST", &format!("/bookings/{booking}/cancel"), who, None)
            .await
    }

    pub async fn booking(&self, booking: &str, who: As<'_>) -> Answer {
        self.send("GET", &format!("/bookings/{booking}"), who, None)
            .await
    }

    /// (confirmed, held, available, total) of an event, asserting they add up.
    pub async fn counts(&self, event: i64) -> (u64, u64, u64, u64) {
        let answer = self.event(event).await;
        assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
        let n = |f: &str| answer.body[f].as_u64().unwrap();
        let counts = (
            n("confirmedSeats"),
            n("heldSeats"),
            n("availableSeats"),
            n("total_seats"),
        );
        assert_eq!(
            counts.0 + counts.1 + counts.2,
            counts.3,
            "counts do not add up: {counts:?}"
        );
        counts
    }
}
