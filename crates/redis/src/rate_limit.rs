//! Rate limits shared by every api instance: one GCRA step per caller or
//! client address (`scripts/rate_limit.lua`), judged by the Redis
//! server's clock so instances agree without talking to each other.
//!
//! The api decides who and what to limit; this only counts.

use std::time::Duration;

use booking_domain::StoreError;
use redis::{Script, Value};

use crate::connection::Backend;
use crate::keys::KeyPrefix;
use crate::scoped::scoped_key;

/// One limit: `burst` requests at once, then one per `interval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GcraLimit {
    pub interval: Duration,
    pub burst: u32,
}

/// A bucket to count a request in: `scope` names who (`c:<caller>`,
/// `ip:<address>`), `class` which limit (`reserve`, `write`, `read`).
#[derive(Debug, Clone, Copy)]
pub struct Bucket<'a> {
    pub scope: &'a str,
    pub class: &'a str,
    pub limit: GcraLimit,
}

/// What one bucket said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GcraVerdict {
    pub allowed: bool,
    /// Requests that could still arrive at once.
    pub remaining: u32,
    /// When refused: how long until one request is allowed.
    pub retry_after: Duration,
    /// How long until the whole burst is available again.
    pub reset_after: Duration,
}

pub struct RedisRateLimiter {
    backend: Backend,
    prefix: KeyPrefix,
    script: Script,
}

impl std::fmt::Debug for RedisRateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisRateLimiter")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisRateLimiter {
    /// Connects lazily, like the hold store: calls fail with
    /// `StoreError::Unavailable` while Redis is down.
    pub fn connect(url: &str, key_prefix: &str, pool_size: usize) -> Result<Self, StoreError> {
        Self::build(Backend::single(url, pool_size)?, key_prefix)
    }

    /// On a Redis Cluster: each bucket is one key tagged by its caller or
    /// address, so each call lands on that slot's master.
    pub fn connect_cluster(seed_urls: &[String], key_prefix: &str) -> Result<Self, StoreError> {
        Self::build(Backend::cluster(seed_urls)?, key_prefix)
    }

    fn build(backend: Backend, key_prefix: &str) -> Result<Self, StoreError> {
        let prefix = KeyPrefix::parse(key_prefix)
            .map_err(|e| StoreError::internal(crate::errors::STORE, e))?;
        Ok(Self {
            backend,
            prefix,
            script: Script::new(include_str!("scripts/rate_limit.lua")),
        })
    }

    /// Counts one request in every bucket, in one round trip: the calls
    /// share one multiplexed connection and are written before any reply
    /// is read. Each bucket is one key, so each call touches one slot.
    ///
    /// Buckets are counted independently: a request refused by one is
    /// still counted by the others (as with layered limits anywhere).
    pub async fn check(&self, buckets: &[Bucket<'_>]) -> Result<Vec<GcraVerdict>, StoreError> {
        self.backend.bounded(self.count(buckets)).await
    }

    async fn count(&self, buckets: &[Bucket<'_>]) -> Result<Vec<GcraVerdict>, StoreError> {
        let shared = self.backend.shared().await?;
        let calls = buckets.iter().map(|bucket| {
            let mut link = shared.clone();
            let key = scoped_key(&self.prefix, "rl", bucket.scope, bucket.class);
            let interval = u64::try_from(bucket.limit.interval.as_micros())
                .unwrap_or(u64::MAX)
                .max(1);
            let mut call = self.script.prepare_invoke();
            call.key(key).arg(interval).arg(bucket.limit.burst.max(1));
            async move { call.invoke_async::<Value>(&mut link).await }
        });
        let replies = futures_util::future::join_all(calls).await;
        let mut verdicts = Vec::with_capacity(replies.len());
        for reply in replies {
            match reply {
                Ok(value) => verdicts.push(verdict(&value)?),
                Err(e) => return Err(self.backend.failed(e)),
            }
        }
        Ok(verdicts)
    }

    /// The pool's size and idle connections, for metrics (`None` on a
    /// cluster, which keeps one connection per node).
    pub fn pool_status(&self) -> Option<deadpool_redis::Status> {
        self.backend.pool_status()
    }
}

fn verdict(value: &Value) -> Result<GcraVerdict, StoreError> {
    let items = match value {
        Value::Array(items) if items.len() == 4 => items,
        other => return Err(crate::errors::unexpected("rate_limit", other)),
    };
    let int = |i: usize| match &items[i] {
        Value::Int(n) => Ok(u64::try_from(*n).unwrap_or(0)),
        _ => Err(crate::errors::unexpected("rate_limit", value)),
    };
    Ok(GcraVerdict {
        allowed: int(0)? == 1,
        remaining: u32::try_from(int(1)?).unwrap_or(u32::MAX),
        retry_after: Duration::from_micros(int(2)?),
        reset_after: Duration::from_micros(int(3)?),
    })
}
