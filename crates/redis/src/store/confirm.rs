//! The confirm steps (begin, finish, abort), the confirms left pending,
//! unbooking a cancelled booking, and forgetting spent holds.

use std::time::Duration;

use booking_domain::{BeginConfirm, EventId, Hold, HoldId, Mirror, SeatNo, StoreError, UserId};
use redis::{Script, Value};
use tracing::instrument;

use super::{millis, RedisHoldStore};
use crate::connection::Backend;
use crate::errors::{unexpected, STORE};
use crate::keys::{EventKeys, Text};
use crate::replies::Reply;

impl RedisHoldStore {
    #[instrument(level = "debug", skip_all, fields(%event, hold = %id))]
    pub(super) async fn begin_confirming(
        &self,
        event: EventId,
        id: HoldId,
        user: &UserId,
    ) -> Result<Mirror<BeginConfirm>, StoreError> {
        let mut call = self.call(&self.scripts.begin_confirm, event);
        call.arg(Text(id)).arg(user.as_str());
        let value = self.run(&call).await?;
        let reply = Reply::parse("begin_confirm", &value)?;
        let outcome = match reply.status() {
            b"pending" => BeginConfirm::Pending(reply.hold(0, id, event)?),
            b"not_found" => BeginConfirm::NotFound,
            b"not_owner" => BeginConfirm::NotOwner,
            b"not_loaded" => return Ok(Mirror::NotLoaded),
            _ => return Err(reply.unexpected()),
        };
        Ok(Mirror::Ready(outcome))
    }

    #[instrument(level = "debug", skip_all, fields(event = %hold.event, hold = %hold.id))]
    pub(super) async fn finish_confirming(&self, hold: &Hold) -> Result<(), StoreError> {
        let mut call = self.call(&self.scripts.finish_confirm, hold.event);
        call.arg(Text(hold.id));
        for seat in &hold.seats {
            call.arg(seat.get());
        }
        match self.run(&call).await? {
            // 0: no mirror; the next load brings the booking.
            Value::Int(0 | 1) => Ok(()),
            other => Err(unexpected("finish_confirm", &other)),
        }
    }

    #[instrument(level = "debug", skip_all, fields(%event, hold = %id))]
    pub(super) async fn abort_confirming(
        &self,
        event: EventId,
        id: HoldId,
    ) -> Result<(), StoreError> {
        let mut call = self.call(&self.scripts.abort_confirm, event);
        call.arg(Text(id));
        let value = self.run(&call).await?;
        let reply = Reply::parse("abort_confirm", &value)?;
        match reply.status() {
            b"held" | b"freed" | b"noop" => Ok(()),
            _ => Err(reply.unexpected()),
        }
    }

    #[instrument(level = "debug", skip_all, fields(%event, %booking))]
    pub(super) async fn unbook_seats(
        &self,
        event: EventId,
        booking: HoldId,
        seats: &[SeatNo],
    ) -> Result<(), StoreError> {
        let mut call = self.call(&self.scripts.unbook, event);
        call.arg(Text(booking));
        for seat in seats {
            call.arg(seat.get());
        }
        match self.run(&call).await? {
            Value::Int(_) => Ok(()),
            other => Err(unexpected("unbook", &other)),
        }
    }

    #[instrument(level = "debug", skip_all, fields(%event, holds = holds.len()))]
    pub(super) async fn forget_spent(
        &self,
        event: EventId,
        holds: &[HoldId],
    ) -> Result<(), StoreError> {
        if holds.is_empty() {
            return Ok(());
        }
        let script = &self.scripts.forget_holds;
        forget_holds(&self.backend, script, self.keys(event), holds)
            .await
            .map(drop)
    }

    /// One call: the ids and their records come back together.
    #[instrument(level = "debug", skip_all, fields(%event))]
    pub(super) async fn stale_confirms(
        &self,
        event: EventId,
        older_than: Duration,
    ) -> Result<Vec<Hold>, StoreError> {
        let mut call = self.call(&self.scripts.stale_pending, event);
        call.arg(millis(older_than));
        let value = self.run(&call).await?;
        let reply = Reply::parse("stale_pending", &value)?;
        if reply.status() != b"stale" || reply.items().len() % 2 != 0 {
            return Err(reply.unexpected());
        }
        (0..reply.items().len() / 2)
            .map(|i| {
                let raw =
                    std::str::from_utf8(reply.bytes(2 * i)?).map_err(|_| reply.unexpected())?;
                let id = HoldId::parse(raw).map_err(|e| StoreError::internal(STORE, e))?;
                reply.hold(2 * i + 1, id, event)
            })
            .collect()
    }
}

/// One call of `forget_holds.lua` on the event `keys` name: how many of
/// `holds` it had. Also the reserve lanes' (`reserves.rs`), which hold no
/// store.
pub(super) async fn forget_holds(
    backend: &Backend,
    script: &Script,
    keys: EventKeys<'_>,
    holds: &[HoldId],
) -> Result<i64, StoreError> {
    let mut call = script.prepare_invoke();
    call.key(keys.all());
    for id in holds {
        call.arg(Text(*id));
    }
    match backend.run(&call).await? {
        Value::Int(n) => Ok(n),
        other => Err(unexpected("forget_holds", &other)),
    }
}
