//! For tests that need a real Redis (this crate's and the api's): reach the
//! test server or fail saying how to start one, and give each test a key
//! prefix of its own, so tests run in parallel on one server and never
//! flush it.
//!
//! ```no_run
//! # async fn example() {
//! // Derefs to a RedisHoldStore; panics with the start-up hint if Redis is down.
//! let store = booking_redis::testing::test_store().await;
//! # }
//! ```

use std::ops::Deref;
use std::time::Duration;

use booking_domain::{EventId, HoldStore};

use crate::{EventKeys, KeyPrefix, RedisHoldStore};

/// The variable naming the test Redis.
pub const URL_VAR: &str = "BOOKING_TEST_REDIS_URL";
/// The test Redis when `URL_VAR` is unset.
pub const DEFAULT_URL: &str = "redis://127.0.0.1:6379";
/// How to start the test Redis, as the failure message says.
pub const START_REDIS: &str = "redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 \
     --save \"\" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log";

/// The test Redis' URL: `$BOOKING_TEST_REDIS_URL`, else the local default.
pub fn redis_url() -> String {
    std::env::var(URL_VAR).unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// A prefix no other test uses.
pub fn random_prefix() -> KeyPrefix {
    let prefix = format!("booking-test-{}", uuid::Uuid::new_v4().simple());
    KeyPrefix::parse(&prefix).expect("generated prefixes are valid")
}

/// A store on `url` under `prefix` that has answered once, or a panic
/// that says how to start Redis.
pub async fn connect_or_explain(url: &str, prefix: &KeyPrefix, pool_size: usize) -> RedisHoldStore {
    let store = RedisHoldStore::connect(url, prefix.as_str(), pool_size)
        .unwrap_or_else(|e| panic!("cannot build a Redis store for {url}: {e}"));
    if let Err(e) = store.info().await {
        let cause = std::error::Error::source(&e).map_or_else(String::new, |s| format!(": {s}"));
        panic!(
            "cannot reach the test Redis at {url} ({e}{cause}).\n\
             Start it with:\n    {START_REDIS}\n\
             or point {URL_VAR} at a running one."
        );
    }
    store
}

/// A fresh store on the test Redis, under a prefix of its own whose keys
/// are deleted when it drops.
pub async fn test_store() -> TestHoldStore {
    let prefix = TestPrefix::new();
    let store = connect_or_explain(prefix.url(), prefix.prefix(), 4).await;
    TestHoldStore { store, prefix }
}

/// A key prefix of its own on the test Redis, whose keys are deleted when
/// it drops: for tests that build their own store (the api's app).
#[derive(Debug)]
pub struct TestPrefix {
    url: String,
    prefix: KeyPrefix,
}

impl TestPrefix {
    /// A fresh prefix on `redis_url()`. Does not connect: pair it with
    /// [`connect_or_explain`] to fail early with the start-up hint.
    pub fn new() -> Self {
        Self {
            url: redis_url(),
            prefix: random_prefix(),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn prefix(&self) -> &KeyPrefix {
        &self.prefix
    }

    /// Deletes the event's keys, as a flush or restart would lose them,
    /// without touching anyone else's.
    pub fn forget_event(&self, event: EventId) {
        let pattern = EventKeys::new(&self.prefix, event).pattern();
        delete_matching(&self.url, &pattern).expect("deleting the event's keys");
    }

    /// Every key under the prefix, for tests of the data layout.
    pub fn key_names(&self) -> Vec<String> {
        let mut con = sync_connection(&self.url).expect("connecting to the test Redis");
        scan(&mut con, &self.prefix.pattern())
            .expect("listing the test keys")
            .into_iter()
            .map(|key| String::from_utf8_lossy(&key).into_owned())
            .collect()
    }
}

impl Default for TestPrefix {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestPrefix {
    fn drop(&mut self) {
        // Best effort: a test's keys are few, and hold data expires anyway.
        let _ = delete_matching(&self.url, &self.prefix.pattern());
    }
}

/// A store on its own [`TestPrefix`], deleting its keys when dropped.
/// Derefs to the store.
#[derive(Debug)]
pub struct TestHoldStore {
    store: RedisHoldStore,
    prefix: TestPrefix,
}

impl TestHoldStore {
    pub fn test_prefix(&self) -> &TestPrefix {
        &self.prefix
    }

    pub fn url(&self) -> &str {
        self.prefix.url()
    }

    pub fn forget_event(&self, event: EventId) {
        self.prefix.forget_event(event);
    }

    pub fn key_names(&self) -> Vec<String> {
        self.prefix.key_names()
    }
}

impl Deref for TestHoldStore {
    type Target = RedisHoldStore;

    fn deref(&self) -> &RedisHoldStore {
        &self.store
    }
}

/// Deletes every key matching `pattern` (a `SCAN MATCH` glob). Blocking,
/// with short timeouts: it runs in `Drop`.
pub fn delete_matching(url: &str, pattern: &str) -> redis::RedisResult<usize> {
    let mut con = sync_connection(url)?;
    let keys = scan(&mut con, pattern)?;
    for chunk in keys.chunks(500) {
        redis::cmd("UNLINK").arg(chunk).exec(&mut con)?;
    }
    Ok(keys.len())
}

fn sync_connection(url: &str) -> redis::RedisResult<redis::Connection> {
    let timeout = Duration::from_secs(2);
    let con = redis::Client::open(url)?.get_connection_with_timeout(timeout)?;
    con.set_read_timeout(Some(timeout))?;
    con.set_write_timeout(Some(timeout))?;
    Ok(con)
}

fn scan(con: &mut redis::Connection, pattern: &str) -> redis::RedisResult<Vec<Vec<u8>>> {
    let mut keys = Vec::new();
    let mut cursor = 0u64;
    loop {
        let (next, batch): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(1000)
            .query(con)?;
        keys.extend(batch);
        if next == 0 {
            return Ok(keys);
        }
        cursor = next;
    }
}
