//! Idempotency records shared by every api instance: per caller and key,
//! the request's fingerprint, a claim while the first request runs, then
//! its response for replays (`scripts/idempotency_*.lua`).
//!
//! One key per record, so every script touches one slot. The records live
//! in Redis only: a Redis that loses its data forgets them, and a retry
//! then runs again. Operations that must never run twice (creating an
//! event) keep their key with their effect in Postgres as well; see the
//! api's `idempotency` module.

use std::time::Duration;

use booking_domain::StoreError;
use redis::{Script, Value};

use crate::connection::Backend;
use crate::errors::{unexpected, STORE};
use crate::keys::KeyPrefix;
use crate::replies::Reply;
use crate::scoped::scoped_key;

/// A response kept for replays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub content_type: String,
    /// Empty when the response had no `Location`.
    pub location: String,
    pub body: Vec<u8>,
}

/// What claiming a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key is now this attempt's: run the request, then `finish` or
    /// `abandon` it.
    Started,
    /// The key was used with a request of another fingerprint.
    Mismatch,
    /// The first request with this key is still running.
    InUse,
    /// The first request's response.
    Done(StoredResponse),
}

pub struct RedisIdempotencyStore {
    backend: Backend,
    prefix: KeyPrefix,
    begin: Script,
    finish: Script,
    abandon: Script,
}

impl std::fmt::Debug for RedisIdempotencyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisIdempotencyStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisIdempotencyStore {
    /// Connects lazily, like the hold store.
    pub fn connect(url: &str, key_prefix: &str, pool_size: usize) -> Result<Self, StoreError> {
        Self::build(Backend::single(url, pool_size)?, key_prefix)
    }

    /// On a Redis Cluster: a record is one key tagged by its caller, so
    /// each call lands on that slot's master.
    pub fn connect_cluster(seed_urls: &[String], key_prefix: &str) -> Result<Self, StoreError> {
        Self::build(Backend::cluster(seed_urls)?, key_prefix)
    }

    fn build(backend: Backend, key_prefix: &str) -> Result<Self, StoreError> {
        let prefix = KeyPrefix::parse(key_prefix).map_err(|e| StoreError::internal(STORE, e))?;
        Ok(Self {
            backend,
            prefix,
            begin: Script::new(include_str!("scripts/idempotency_begin.lua")),
            finish: Script::new(include_str!("scripts/idempotency_finish.lua")),
            abandon: Script::new(include_str!("scripts/idempotency_abandon.lua")),
        })
    }

    fn key(&self, scope: &str, key: &str) -> String {
        scoped_key(&self.prefix, "idem", scope, key)
    }

    /// Claims `key` of `scope` for an attempt named `token`, for at most
    /// `lease` unless finished, or reports what the first attempt did.
    pub async fn begin(
        &self,
        scope: &str,
        key: &str,
        fingerprint: &str,
        token: &str,
        lease: Duration,
    ) -> Result<Claim, StoreError> {
        let mut call = self.begin.prepare_invoke();
        call.key(self.key(scope, key))
            .arg(fingerprint)
            .arg(token)
            .arg(millis(lease));
        let value = self.backend.run(&call).await?;
        let reply = Reply::parse("idempotency_begin", &value)?;
        match reply.status() {
            b"started" => Ok(Claim::Started),
            b"mismatch" => Ok(Claim::Mismatch),
            b"in_use" => Ok(Claim::InUse),
            b"done" => {
                let items = reply.items();
                let text = |i: usize| match items.get(i) {
                    Some(Value::BulkString(bytes)) => Ok(bytes.clone()),
                    _ => Err(reply.unexpected()),
                };
                let status = String::from_utf8(text(0)?)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| reply.unexpected())?;
                let utf8 =
                    |bytes: Vec<u8>| String::from_utf8(bytes).map_err(|_| reply.unexpected());
                Ok(Claim::Done(StoredResponse {
                    status,
                    content_type: utf8(text(1)?)?,
                    location: utf8(text(2)?)?,
                    body: text(3)?,
                }))
            }
            _ => Err(reply.unexpected()),
        }
    }

    /// Keeps `response` for replays for `retention`. Answers `false` when
    /// the claim was lost meanwhile (lease over, data lost): nothing kept.
    pub async fn finish(
        &self,
        scope: &str,
        key: &str,
        token: &str,
        response: &StoredResponse,
        retention: Duration,
    ) -> Result<bool, StoreError> {
        let mut call = self.finish.prepare_invoke();
        call.key(self.key(scope, key))
            .arg(token)
            .arg(millis(retention))
            .arg(response.status)
            .arg(&response.content_type)
            .arg(&response.location)
            .arg(&response.body[..]);
        flag("idempotency_finish", self.backend.run(&call).await?)
    }

    /// Releases the claim so a retry runs again (the request failed on our
    /// side). Answers `false` when the claim was not this attempt's.
    pub async fn abandon(&self, scope: &str, key: &str, token: &str) -> Result<bool, StoreError> {
        let mut call = self.abandon.prepare_invoke();
        call.key(self.key(scope, key)).arg(token);
        flag("idempotency_abandon", self.backend.run(&call).await?)
    }

    /// The pool's size and idle connections, for metrics (`None` on a
    /// cluster).
    pub fn pool_status(&self) -> Option<deadpool_redis::Status> {
        self.backend.pool_status()
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

fn flag(script: &str, value: Value) -> Result<bool, StoreError> {
    match value {
        Value::Int(n) => Ok(n == 1),
        other => Err(unexpected(script, &other)),
    }
}
