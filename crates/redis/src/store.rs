//! `RedisHoldStore`: the `HoldStore` port, one script call per operation
//! (`info` is one pipelined round trip). The calls live in small modules by
//! what they act on: `holds` (reserve, hold, extend, release), `confirm`
//! (the confirm steps and unbook), `mirror` (counts, seat map, loads).
//! Counts and seat map reads and reserves of one event that arrive
//! together share a call (`coalesce`, `reserves`): a hot event's Redis core pays the fixed
//! part of a call once per round trip.

mod coalesce;
mod confirm;
mod feed;
mod holds;
mod mirror;
mod reserves;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use booking_domain::{
    BeginConfirm, BeginLoad, EventId, ExtendOutcome, FeedPosition, FeedRead, Hold, HoldId,
    HoldRequest, HoldStore, LoadStep, LoadToken, Mirror, MirrorSpec, ReleaseOutcome,
    ReserveOutcome, SeatCounts, SeatMap, SeatNo, StoreError, StoreInfo, UserId, WatchStart,
};
use chrono::DateTime;
use redis::{Script, ScriptInvocation, Value};

use crate::connection::Backend;
use crate::errors::{unexpected, STORE};
use crate::keys::{EventKeys, KeyPrefix};
use crate::scripts::Scripts;
use coalesce::Coalesced;
use reserves::ReserveLanes;

/// Why a store in single mode refuses a node of a Redis Cluster.
const CLUSTER_NODE_IN_SINGLE_MODE: &str = "redis.url names a node of a Redis Cluster: \
     set redis.mode = \"cluster\" and list its nodes in redis.urls";

pub(crate) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// How the store treats events' keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedisOptions {
    /// Every key of an event expires once the event has been idle this
    /// long (and at the latest at its `keep_until`); its next use loads it
    /// again. Must be longer than the longest a hold may live (its TTL
    /// extended to the cap), or an idle event's holds go with its keys.
    pub idle_ttl: Duration,
}

impl Default for RedisOptions {
    fn default() -> Self {
        Self {
            idle_ttl: Duration::from_secs(3600),
        }
    }
}

/// Holds and the booked-seat mirror in Redis, on one server or a Redis
/// Cluster. Cheap to share behind an `Arc`; every call is one round trip,
/// on a pooled connection that concurrent calls share (one server) or on
/// the shared cluster connection, which sends it to the master of the
/// event's slot.
pub struct RedisHoldStore {
    backend: Arc<Backend>,
    prefix: KeyPrefix,
    scripts: Scripts,
    options: RedisOptions,
    /// Counts reads of one event (and staleness bound) in flight together
    /// on one thread: a small answer (see `coalesce.rs`).
    counts_reads: Coalesced<(EventId, u64), Mirror<SeatCounts>>,
    /// Seat map reads of one event in flight together on any thread: a
    /// large answer.
    map_reads: Coalesced<EventId, Mirror<SeatMap>>,
    /// Reserves of one event waiting together go in one call.
    reserves: ReserveLanes,
}

impl fmt::Debug for RedisHoldStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may carry a password: it is not kept, let alone printed.
        f.debug_struct("RedisHoldStore")
            .field("prefix", &self.prefix)
            .field("options", &self.options)
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl RedisHoldStore {
    /// Builds the store and its pool of up to `pool_size` connections to
    /// `url` (`redis://[:password@]host:port[/db]`), with every key under
    /// `key_prefix`, and the default [`RedisOptions`].
    ///
    /// Connects lazily, so this succeeds while Redis is down; calls then
    /// answer `StoreError::Unavailable` within about 2 s. Errors are
    /// configuration mistakes: a malformed URL or prefix, a pool size of 0.
    pub fn connect(url: &str, key_prefix: &str, pool_size: usize) -> Result<Self, StoreError> {
        Self::connect_with(url, key_prefix, pool_size, RedisOptions::default())
    }

    /// As [`connect`](Self::connect), with these options. An idle TTL under
    /// a second is refused.
    pub fn connect_with(
        url: &str,
        key_prefix: &str,
        pool_size: usize,
        options: RedisOptions,
    ) -> Result<Self, StoreError> {
        Self::build(Backend::single(url, pool_size)?, key_prefix, options)
    }

    /// The store on a Redis Cluster, started from `seed_urls` (any live
    /// node will do; the client learns the rest), with every key under
    /// `key_prefix`. The same scripts and calls as on one server: every key
    /// of an event shares its hash tag, so each call goes to the master of
    /// the event's slot, following MOVED/ASK and reloading scripts on
    /// NOSCRIPT by itself.
    ///
    /// Connects in the background, so this succeeds while the cluster is
    /// down; calls then answer `StoreError::Unavailable` within about 3 s
    /// (a failover in progress too). Must be called inside a Tokio runtime.
    /// Errors are configuration mistakes: no seed, a malformed URL, seeds
    /// with different credentials, a bad prefix or idle TTL.
    pub fn connect_cluster(
        seed_urls: &[String],
        key_prefix: &str,
        options: RedisOptions,
    ) -> Result<Self, StoreError> {
        Self::build(Backend::cluster(seed_urls)?, key_prefix, options)
    }

    fn build(
        backend: Backend,
        key_prefix: &str,
        options: RedisOptions,
    ) -> Result<Self, StoreError> {
        let prefix = KeyPrefix::parse(key_prefix).map_err(|e| StoreError::internal(STORE, e))?;
        if options.idle_ttl < Duration::from_secs(1) {
            return Err(StoreError::internal(
                STORE,
                "the Redis idle TTL must be at least a second",
            ));
        }
        let backend = Arc::new(backend);
        let scripts = Scripts::new();
        Ok(Self {
            reserves: ReserveLanes::new(
                Arc::clone(&backend),
                scripts.reserve.clone(),
                scripts.forget_holds.clone(),
                prefix.clone(),
            ),
            backend,
            prefix,
            scripts,
            options,
            counts_reads: Coalesced::per_thread(),
            map_reads: Coalesced::across_threads(),
        })
    }

    /// Whether the store runs on a Redis Cluster.
    pub fn is_cluster(&self) -> bool {
        self.backend.is_cluster()
    }

    pub fn key_prefix(&self) -> &KeyPrefix {
        &self.prefix
    }

    pub fn options(&self) -> &RedisOptions {
        &self.options
    }

    /// The pool's size and idle connections, for metrics; `None` on a
    /// cluster, whose one multiplexed connection per node needs no pool.
    pub fn pool_status(&self) -> Option<deadpool_redis::Status> {
        self.backend.pool_status()
    }

    fn keys(&self, event: EventId) -> EventKeys<'_> {
        EventKeys::new(&self.prefix, event)
    }

    /// A call of `script` on `event`, with every key of the event as its
    /// KEYS; the caller adds the ARGV.
    fn call<'a>(&'a self, script: &'a Script, event: EventId) -> ScriptInvocation<'a> {
        let mut call = script.prepare_invoke();
        call.key(self.keys(event).all());
        call
    }

    /// One script call, on a connection concurrent calls share.
    async fn run(&self, invocation: &ScriptInvocation<'_>) -> Result<Value, StoreError> {
        self.backend.run(invocation).await
    }
}

#[async_trait]
impl HoldStore for RedisHoldStore {
    async fn reserve(&self, request: &HoldRequest) -> Result<Mirror<ReserveOutcome>, StoreError> {
        self.reserve_seats(request).await
    }

    async fn hold(&self, event: EventId, id: HoldId) -> Result<Mirror<Option<Hold>>, StoreError> {
        self.read_hold(event, id).await
    }

    async fn extend(
        &self,
        event: EventId,
        id: HoldId,
        user: &UserId,
        by: Duration,
        max_total: Duration,
    ) -> Result<Mirror<ExtendOutcome>, StoreError> {
        self.extend_hold(event, id, user, by, max_total).await
    }

    async fn begin_confirm(
        &self,
        event: EventId,
        id: HoldId,
        user: &UserId,
    ) -> Result<Mirror<BeginConfirm>, StoreError> {
        self.begin_confirming(event, id, user).await
    }

    async fn finish_confirm(&self, hold: &Hold) -> Result<(), StoreError> {
        self.finish_confirming(hold).await
    }

    async fn abort_confirm(&self, event: EventId, id: HoldId) -> Result<(), StoreError> {
        self.abort_confirming(event, id).await
    }

    async fn release(
        &self,
        event: EventId,
        id: HoldId,
        user: &UserId,
    ) -> Result<Mirror<ReleaseOutcome>, StoreError> {
        self.release_hold(event, id, user).await
    }

    async fn unbook(
        &self,
        event: EventId,
        booking: HoldId,
        seats: &[SeatNo],
    ) -> Result<(), StoreError> {
        self.unbook_seats(event, booking, seats).await
    }

    async fn forget_holds(&self, event: EventId, holds: &[HoldId]) -> Result<(), StoreError> {
        self.forget_spent(event, holds).await
    }

    async fn counts(
        &self,
        event: EventId,
        stale_after: Duration,
    ) -> Result<Mirror<SeatCounts>, StoreError> {
        self.counts_reads
            .read((event, millis(stale_after)), || {
                self.seat_counts(event, stale_after)
            })
            .await
    }

    async fn seat_map(&self, event: EventId) -> Result<Mirror<SeatMap>, StoreError> {
        self.map_reads.read(event, || self.seat_states(event)).await
    }

    async fn stale_pending(
        &self,
        event: EventId,
        older_than: Duration,
    ) -> Result<Vec<Hold>, StoreError> {
        self.stale_confirms(event, older_than).await
    }

    async fn abandon_load(&self, event: EventId, token: LoadToken) -> Result<(), StoreError> {
        let mut call = self.call(&self.scripts.abandon_load, event);
        call.arg(crate::keys::Text(token));
        match self.run(&call).await? {
            redis::Value::Int(_) => Ok(()),
            other => Err(unexpected("abandon_load", &other)),
        }
    }

    async fn watch(&self, event: EventId, ttl: Duration) -> Result<Mirror<WatchStart>, StoreError> {
        self.start_watching(event, ttl).await
    }

    async fn changes(
        &self,
        event: EventId,
        after: FeedPosition,
        limit: u32,
        ttl: Duration,
    ) -> Result<Mirror<FeedRead>, StoreError> {
        self.read_changes(event, after, limit, ttl).await
    }

    async fn begin_load(
        &self,
        event: EventId,
        token: LoadToken,
        spec: &MirrorSpec,
    ) -> Result<BeginLoad, StoreError> {
        self.begin_loading(event, token, spec).await
    }

    async fn load_booked(
        &self,
        event: EventId,
        token: LoadToken,
        booked: &[(SeatNo, HoldId)],
    ) -> Result<LoadStep, StoreError> {
        self.load_chunk(event, token, booked).await
    }

    async fn finish_load(&self, event: EventId, token: LoadToken) -> Result<LoadStep, StoreError> {
        self.finish_loading(event, token).await
    }

    /// One server: its version and `TIME`. A cluster: the same from one
    /// node the client picks, plus that node's `CLUSTER INFO`; a node that
    /// says `cluster_state:fail` (a master is down and not yet replaced, so
    /// the cluster refuses every slot) makes this `Unavailable`. A cluster
    /// that is `ok` is reported up even while one node is unreachable: the
    /// events of that node's slots answer 503 by themselves, and pulling
    /// every api instance out of the load balancer would turn a partial
    /// outage into a whole one.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn info(&self) -> Result<StoreInfo, StoreError> {
        let mut pipe = redis::pipe();
        pipe.cmd("INFO").arg("server").cmd("TIME");
        let cluster = self.is_cluster();
        if cluster {
            pipe.cmd("CLUSTER").arg("INFO");
        }
        let reply: Vec<Value> = self
            .backend
            .bounded(async {
                let mut link = self.backend.shared().await?;
                let reply = pipe.query_async(&mut link).await;
                reply.map_err(|e| self.backend.failed(e))
            })
            .await?;
        let text = |value: &Value| match value {
            Value::BulkString(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
            Value::VerbatimString { text, .. } => Some(text.clone()),
            Value::SimpleString(text) => Some(text.clone()),
            _ => None,
        };
        let server = reply.first().and_then(text).unwrap_or_default();
        let version = server
            .lines()
            .find_map(|line| line.strip_prefix("redis_version:"))
            .map_or_else(|| "Redis".to_owned(), |v| format!("Redis {}", v.trim()));
        let (secs, micros): (i64, i64) = reply
            .get(1)
            .and_then(|time| redis::from_redis_value_ref(time).ok())
            .ok_or_else(|| unexpected("TIME", &reply))?;
        let current_time = u32::try_from(micros)
            .ok()
            .and_then(|micros| DateTime::from_timestamp(secs, micros * 1000))
            .ok_or_else(|| unexpected("TIME", &(secs, micros)))?;
        if !cluster {
            // A cluster node answers single-mode calls for its own slots
            // only (MOVED for the rest): half working is worse than not.
            if server
                .lines()
                .any(|line| line.trim() == "redis_mode:cluster")
            {
                return Err(StoreError::internal(STORE, CLUSTER_NODE_IN_SINGLE_MODE));
            }
            return Ok(StoreInfo {
                version,
                current_time,
            });
        }
        let state = reply.get(2).and_then(text).unwrap_or_default();
        let state = state
            .lines()
            .find_map(|line| line.strip_prefix("cluster_state:"))
            .map(str::trim);
        match state {
            Some("ok") => Ok(StoreInfo {
                version: format!("{version} (cluster)"),
                current_time,
            }),
            other => Err(StoreError::unavailable(
                STORE,
                format!("the Redis Cluster reports cluster_state {other:?}"),
            )),
        }
    }
}
