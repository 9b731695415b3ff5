//! `RedisHoldStore`: the `HoldStore` port, one script call per operation.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use booking_domain::{
    BeginConfirm, EventId, Hold, HoldId, HoldRequest, HoldStore, LoadOutcome, ReleaseOutcome,
    ReserveOutcome, SeatCounts, SeatNo, StoreError, StoreInfo, UserId,
};
use chrono::DateTime;
use redis::{RedisError, ScriptInvocation, Value};
use tracing::instrument;

use crate::errors::{self, unexpected, STORE};
use crate::keys::{EventKeys, KeyPrefix, Text};
use crate::pool::{self, Connection, Pool};
use crate::replies::Reply;
use crate::scripts::{ReserveArgs, ReserveKeys, Scripts};

/// How long a begun load may take before `load` calls it stale.
const LOAD_WINDOW: Duration = Duration::from_secs(60);

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Holds and the booked-seat mirror in Redis. Cheap to share behind an
/// `Arc`; every call checks a connection out of its pool for one round trip
/// (two for `abort_confirm`, a rare path).
pub struct RedisHoldStore {
    pool: Pool,
    prefix: KeyPrefix,
    scripts: Scripts,
}

impl fmt::Debug for RedisHoldStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may carry a password: it is not kept, let alone printed.
        f.debug_struct("RedisHoldStore")
            .field("prefix", &self.prefix)
            .field("pool", &self.pool.status())
            .finish_non_exhaustive()
    }
}

impl RedisHoldStore {
    /// Builds the store and its pool of up to `pool_size` connections to
    /// `url` (`redis://[:password@]host:port[/db]`), with every key under
    /// `key_prefix`.
    ///
    /// Connects lazily, so this succeeds while Redis is down; calls then
    /// answer `StoreError::Unavailable` within about 2 s. Errors are
    /// configuration mistakes: a malformed URL or prefix, a pool size of 0.
    pub fn connect(url: &str, key_prefix: &str, pool_size: usize) -> Result<Self, StoreError> {
        let prefix = KeyPrefix::parse(key_prefix).map_err(|e| StoreError::internal(STORE, e))?;
        Ok(Self {
            pool: pool::build(url, pool_size)?,
            prefix,
            scripts: Scripts::new(),
        })
    }

    pub fn key_prefix(&self) -> &KeyPrefix {
        &self.prefix
    }

    /// The pool's size and idle connections, for metrics.
    pub fn pool_status(&self) -> deadpool_redis::Status {
        self.pool.status()
    }

    fn keys(&self, event: EventId) -> EventKeys<'_> {
        EventKeys::new(&self.prefix, event)
    }

    async fn conn(&self) -> Result<Connection, StoreError> {
        self.pool.get().await.map_err(errors::from_pool)
    }

    /// One script call on its own connection.
    async fn run(&self, invocation: &ScriptInvocation<'_>) -> Result<Value, StoreError> {
        let mut conn = self.conn().await?;
        let reply = invocation.invoke_async(&mut *conn).await;
        reply.map_err(|e| failed(conn, e))
    }
}

/// Maps the error, and drops a broken connection rather than hand it to
/// the next caller (the pool does not ping recently used ones).
fn failed(conn: Connection, e: RedisError) -> StoreError {
    if errors::is_unavailable(&e) {
        drop(Connection::take(conn));
    }
    errors::from_redis(e)
}

#[async_trait]
impl HoldStore for RedisHoldStore {
    #[instrument(level = "debug", skip_all, fields(event = %request.event, hold = %request.id))]
    async fn reserve(&self, request: &HoldRequest) -> Result<ReserveOutcome, StoreError> {
        let mut call = self.scripts.reserve.prepare_invoke();
        call.key(ReserveKeys::new(&self.prefix, request))
            .arg(ReserveArgs(request));
        let value = self.run(&call).await?;
        let reply = Reply::parse("reserve", &value)?;
        match reply.status() {
            b"held" => Ok(ReserveOutcome::Held(Hold {
                id: request.id,
                event: request.event,
                user: request.user.clone(),
                seats: request.seats.clone(),
                expires_at: reply.millis(0)?,
            })),
            b"taken" => {
                let taken = (0..reply.items().len()).map(|i| reply.seat(i));
                Ok(ReserveOutcome::Unavailable(
                    taken.collect::<Result<_, _>>()?,
                ))
            }
            b"limit" => Ok(ReserveOutcome::HoldLimit {
                held: reply.count(0)?,
            }),
            b"not_loaded" => Ok(ReserveOutcome::NotLoaded),
            _ => Err(reply.unexpected()),
        }
    }

    #[instrument(level = "debug", skip_all, fields(%event, hold = %id))]
    async fn hold(&self, event: EventId, id: HoldId) -> Result<Option<Hold>, StoreError> {
        let mut call = self.scripts.hold.prepare_invoke();
        call.key(self.keys(event).hold(id));
        let value = self.run(&call).await?;
        let reply = Reply::parse("hold", &value)?;
        match reply.status() {
            b"hold" => Ok(Some(Hold {
                id,
                event,
                user: reply.user(0)?,
                seats: reply.seat_list(1)?,
                expires_at: reply.millis(2)?,
            })),
            b"none" => Ok(None),
            _ => Err(reply.unexpected()),
        }
    }

    #[instrument(level = "debug", skip_all, fields(%event, hold = %id))]
    async fn begin_confirm(
        &self,
        event: EventId,
        id: HoldId,
        user: &UserId,
    ) -> Result<BeginConfirm, StoreError> {
        let keys = self.keys(event);
        let mut call = self.scripts.begin_confirm.prepare_invoke();
        call.key(keys.loaded())
            .key(keys.seats())
            .key(keys.owners())
            .key(keys.hold(id))
            .key(keys.user(user))
            .key(keys.pending())
            .arg(Text(id))
            .arg(user.as_str());
        let value = self.run(&call).await?;
        let reply = Reply::parse("begin_confirm", &value)?;
        match reply.status() {
            b"pending" => Ok(BeginConfirm::Pending(Hold {
                id,
                event,
                user: reply.user(0)?,
                seats: reply.seat_list(1)?,
                expires_at: reply.millis(2)?,
            })),
            b"not_found" => Ok(BeginConfirm::NotFound),
            b"not_owner" => Ok(BeginConfirm::NotOwner),
            b"not_loaded" => Ok(BeginConfirm::NotLoaded),
            _ => Err(reply.unexpected()),
        }
    }

    #[instrument(level = "debug", skip_all, fields(event = %hold.event, hold = %hold.id))]
    async fn finish_confirm(&self, hold: &Hold) -> Result<(), StoreError> {
        let keys = self.keys(hold.event);
        let mut call = self.scripts.finish_confirm.prepare_invoke();
        call.key(keys.loaded())
            .key(keys.seats())
            .key(keys.owners())
            .key(keys.booked())
            .key(keys.hold(hold.id))
            .key(keys.user(&hold.user))
            .key(keys.loading())
            .key(keys.pending())
            .arg(Text(hold.id));
        for seat in &hold.seats {
            call.arg(seat.get());
        }
        match self.run(&call).await? {
            // 0: the mirror is not loaded; the next load brings the booking.
            Value::Int(0 | 1) => Ok(()),
            other => Err(unexpected("finish_confirm", &other)),
        }
    }

    #[instrument(level = "debug", skip_all, fields(%event, hold = %id))]
    async fn abort_confirm(&self, event: EventId, id: HoldId) -> Result<(), StoreError> {
        let keys = self.keys(event);
        let mut conn = self.conn().await?;
        // The owner's key must be in KEYS, and only the record knows the
        // owner: read it first. An owner never changes, so the script only
        // checks the record is still the one read.
        let owner: Option<String> = match redis::cmd("HGET")
            .arg(keys.hold(id))
            .arg("u")
            .query_async(&mut *conn)
            .await
        {
            Ok(owner) => owner,
            Err(e) => return Err(failed(conn, e)),
        };
        let Some(owner) = owner else {
            return Ok(());
        };
        let owner = UserId::parse(&owner).map_err(|e| StoreError::internal(STORE, e))?;
        let mut call = self.scripts.abort_confirm.prepare_invoke();
        call.key(keys.seats())
            .key(keys.owners())
            .key(keys.hold(id))
            .key(keys.user(&owner))
            .key(keys.pending())
            .arg(Text(id))
            .arg(owner.as_str());
        let value = match call.invoke_async(&mut *conn).await {
            Ok(value) => value,
            Err(e) => return Err(failed(conn, e)),
        };
        let reply = Reply::parse("abort_confirm", &value)?;
        match reply.status() {
            b"held" | b"freed" | b"noop" => Ok(()),
            _ => Err(reply.unexpected()),
        }
    }

    #[instrument(level = "debug", skip_all, fields(%event, hold = %id))]
    async fn release(
        &self,
        event: EventId,
        id: HoldId,
        user: &UserId,
    ) -> Result<ReleaseOutcome, StoreError> {
        let keys = self.keys(event);
        let mut call = self.scripts.release.prepare_invoke();
        call.key(keys.seats())
            .key(keys.owners())
            .key(keys.hold(id))
            .key(keys.user(user))
            .arg(Text(id))
            .arg(user.as_str());
        let value = self.run(&call).await?;
        let reply = Reply::parse("release", &value)?;
        match reply.status() {
            b"released" => Ok(ReleaseOutcome::Released),
            b"not_found" => Ok(ReleaseOutcome::NotFound),
            b"not_owner" => Ok(ReleaseOutcome::NotOwner),
            _ => Err(reply.unexpected()),
        }
    }

    #[instrument(level = "debug", skip_all, fields(%event, %booking))]
    async fn unbook(
        &self,
        event: EventId,
        booking: HoldId,
        seats: &[SeatNo],
    ) -> Result<(), StoreError> {
        let keys = self.keys(event);
        let mut call = self.scripts.unbook.prepare_invoke();
        call.key(keys.seats()).key(keys.booked()).arg(Text(booking));
        for seat in seats {
            call.arg(seat.get());
        }
        match self.run(&call).await? {
            Value::Int(_) => Ok(()),
            other => Err(unexpected("unbook", &other)),
        }
    }

    #[instrument(level = "debug", skip_all, fields(%event))]
    async fn counts(
        &self,
        event: EventId,
        stale_after: Duration,
    ) -> Result<Option<SeatCounts>, StoreError> {
        let keys = self.keys(event);
        let mut call = self.scripts.counts.prepare_invoke();
        call.key(keys.loaded())
            .key(keys.seats())
            .key(keys.booked())
            .key(keys.pending())
            .arg(millis(stale_after));
        let value = self.run(&call).await?;
        let reply = Reply::parse("counts", &value)?;
        match reply.status() {
            b"counts" => Ok(Some(SeatCounts {
                booked: reply.count(0)?,
                held: reply.count(1)?,
                stale_pending: reply.count(2)?,
            })),
            b"not_loaded" => Ok(None),
            _ => Err(reply.unexpected()),
        }
    }

    #[instrument(level = "debug", skip_all, fields(%event))]
    async fn begin_load(&self, event: EventId) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        let reply: Result<(), _> = redis::cmd("SET")
            .arg(self.keys(event).loading())
            .arg(1)
            .arg("PX")
            .arg(millis(LOAD_WINDOW))
            .query_async(&mut *conn)
            .await;
        reply.map_err(|e| failed(conn, e))
    }

    #[instrument(level = "debug", skip_all, fields(%event, booked = booked.len()))]
    async fn load(
        &self,
        event: EventId,
        booked: &[(SeatNo, HoldId)],
    ) -> Result<LoadOutcome, StoreError> {
        let keys = self.keys(event);
        let mut call = self.scripts.load.prepare_invoke();
        call.key(keys.loaded())
            .key(keys.seats())
            .key(keys.owners())
            .key(keys.booked())
            .key(keys.loading());
        for (seat, booking) in booked {
            call.arg(seat.get()).arg(Text(booking));
        }
        match self.run(&call).await? {
            Value::Int(1) => Ok(LoadOutcome::Loaded),
            Value::Int(0) => Ok(LoadOutcome::Stale),
            other => Err(unexpected("load", &other)),
        }
    }

    #[instrument(level = "debug", skip_all, fields(%event))]
    async fn stale_pending(
        &self,
        event: EventId,
        older_than: Duration,
    ) -> Result<Vec<Hold>, StoreError> {
        let keys = self.keys(event);
        let mut call = self.scripts.stale_pending.prepare_invoke();
        call.key(keys.pending()).arg(millis(older_than));
        let value = self.run(&call).await?;
        let ids: Vec<String> = redis::from_redis_value(value.clone())
            .map_err(|_| unexpected("stale_pending", &value))?;
        let mut stale = Vec::with_capacity(ids.len());
        for raw in ids {
            let id = HoldId::parse(&raw).map_err(|e| StoreError::internal(STORE, e))?;
            match self.hold(event, id).await? {
                Some(hold) => stale.push(hold),
                // The record is gone (lost, or finished meanwhile): nothing
                // to reconcile, and the index entry goes.
                None => {
                    let mut conn = self.conn().await?;
                    let reply: Result<(), _> = redis::cmd("ZREM")
                        .arg(keys.pending())
                        .arg(&raw)
                        .query_async(&mut *conn)
                        .await;
                    reply.map_err(|e| failed(conn, e))?;
                }
            }
        }
        Ok(stale)
    }

    #[instrument(level = "debug", skip_all)]
    async fn info(&self) -> Result<StoreInfo, StoreError> {
        let mut conn = self.conn().await?;
        let reply: Result<(String, (i64, i64)), _> = redis::pipe()
            .cmd("INFO")
            .arg("server")
            .cmd("TIME")
            .query_async(&mut *conn)
            .await;
        let (server, (secs, micros)) = reply.map_err(|e| failed(conn, e))?;
        let version = server
            .lines()
            .find_map(|line| line.strip_prefix("redis_version:"))
            .map_or_else(|| "Redis".to_owned(), |v| format!("Redis {}", v.trim()));
        let current_time = u32::try_from(micros)
            .ok()
            .and_then(|micros| DateTime::from_timestamp(secs, micros * 1000))
            .ok_or_else(|| unexpected("TIME", &(secs, micros)))?;
        Ok(StoreInfo {
            version,
            current_time,
        })
    }
}
