//! `Idempotency-Key` on every POST (draft-ietf-httpapi-idempotency-key-header):
//! the same key from the same caller with the same request within 24 h
//! replays the first response (status, body, `Location`) with
//! `Idempotent-Replayed: true` and does no work; the same key with another
//! request is 422 `IDEMPOTENCY_KEY_REUSED`; a key whose first request is
//! still running is 409 `IDEMPOTENCY_KEY_IN_USE`, so the work never runs
//! twice at once. Responses with a 5xx are not kept: a retry runs again.
//!
//! Records are kept per caller and key, in Redis on the real stores (so
//! replays work across instances and api restarts), in process on the
//! memory store. What losing Redis's data means, and how a route keeps its
//! key in the source of truth instead (`routes::Idempotency::Domain`):
//! docs/ARCHITECTURE.md.

mod memory;
mod middleware;

use std::future::{ready, Ready};
use std::time::Duration;

use actix_web::{dev::Payload, FromRequest, HttpMessage, HttpRequest};
use async_trait::async_trait;
use booking_domain::StoreError;
use booking_redis::idempotency as redis_idem;
use booking_redis::RedisIdempotencyStore;

pub use memory::MemoryIdempotencyStore;
pub use middleware::{around, Idempotency};

pub const OUTCOMES: &str = "booking_idempotency_requests_total";

/// How long a response is replayed.
pub const RETENTION: Duration = Duration::from_secs(24 * 60 * 60);

/// How long a claim lasts if its process dies before finishing it: far
/// above any request's duration (store calls time out within seconds),
/// short enough that a retry after a crash is not refused for long.
pub const LEASE: Duration = Duration::from_secs(60);

/// A response kept for replays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub status: u16,
    pub content_type: String,
    /// Empty when the response had none.
    pub location: String,
    pub body: Vec<u8>,
}

/// What claiming a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Claimed by this attempt: run the request, then finish or abandon.
    Started,
    /// Used before with a request of another fingerprint.
    Mismatch,
    /// The first request with this key is still running.
    InUse,
    /// The first request's response.
    Done(Stored),
}

/// Where records live. Every method is one atomic step of the store.
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Claims `key` of `scope` for attempt `token` for `lease` (until
    /// finished), or reports the earlier attempt's state.
    async fn begin(
        &self,
        scope: &str,
        key: &str,
        fingerprint: &str,
        token: &str,
        lease: Duration,
    ) -> Result<Claim, StoreError>;

    /// Keeps the response for `retention`; `false` if the claim was lost.
    async fn finish(
        &self,
        scope: &str,
        key: &str,
        token: &str,
        response: &Stored,
        retention: Duration,
    ) -> Result<bool, StoreError>;

    /// Drops the claim so a retry runs again; `false` if it was not ours.
    async fn abandon(&self, scope: &str, key: &str, token: &str) -> Result<bool, StoreError>;
}

#[async_trait]
impl IdempotencyStore for RedisIdempotencyStore {
    async fn begin(
        &self,
        scope: &str,
        key: &str,
        fingerprint: &str,
        token: &str,
        lease: Duration,
    ) -> Result<Claim, StoreError> {
        Ok(
            match RedisIdempotencyStore::begin(self, scope, key, fingerprint, token, lease).await? {
                redis_idem::Claim::Started => Claim::Started,
                redis_idem::Claim::Mismatch => Claim::Mismatch,
                redis_idem::Claim::InUse => Claim::InUse,
                redis_idem::Claim::Done(r) => Claim::Done(Stored {
                    status: r.status,
                    content_type: r.content_type,
                    location: r.location,
                    body: r.body,
                }),
            },
        )
    }

    async fn finish(
        &self,
        scope: &str,
        key: &str,
        token: &str,
        response: &Stored,
        retention: Duration,
    ) -> Result<bool, StoreError> {
        let stored = redis_idem::StoredResponse {
            status: response.status,
            content_type: response.content_type.clone(),
            location: response.location.clone(),
            body: response.body.clone(),
        };
        RedisIdempotencyStore::finish(self, scope, key, token, &stored, retention).await
    }

    async fn abandon(&self, scope: &str, key: &str, token: &str) -> Result<bool, StoreError> {
        RedisIdempotencyStore::abandon(self, scope, key, token).await
    }
}

/// The request's idempotency key, for a handler whose endpoint keeps its
/// keys in the source of truth (`routes::Idempotency::Domain`): pass it
/// to the domain, which records it with the operation's effect and answers
/// a repeat with the first result. Extract it as `Option<IdempotencyKey>`:
/// `None` when the request carried no key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    /// Whose key it is (the caller; see `auth::idempotency_scope`).
    pub scope: String,
    /// The key as the client sent it.
    pub key: String,
    /// Hex SHA-256 of the method, path and body: the same key with
    /// another fingerprint is another request (422).
    pub fingerprint: String,
}

impl FromRequest for IdempotencyKey {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            req.extensions()
                .get::<IdempotencyKey>()
                .cloned()
                .ok_or_else(|| actix_web::error::ErrorBadRequest("no Idempotency-Key")),
        )
    }
}
