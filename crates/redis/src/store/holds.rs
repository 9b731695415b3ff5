//! Reserve, read, extend and release holds.

use std::time::Duration;

use booking_domain::{
    EventId, ExtendOutcome, Hold, HoldId, HoldRequest, Mirror, ReleaseOutcome, ReserveOutcome,
    SeatChoice, StoreError, UserId,
};
use tracing::instrument;

use super::{millis, RedisHoldStore};
use crate::keys::Text;
use crate::replies::Reply;

impl RedisHoldStore {
    #[instrument(level = "debug", skip_all, fields(event = %request.event, hold = %request.id))]
    pub(super) async fn reserve_seats(
        &self,
        request: &HoldRequest,
    ) -> Result<Mirror<ReserveOutcome>, StoreError> {
        self.reserves.reserve(request).await
    }

    #[instrument(level = "debug", skip_all, fields(%event, hold = %id))]
    pub(super) async fn read_hold(
        &self,
        event: EventId,
        id: HoldId,
    ) -> Result<Mirror<Option<Hold>>, StoreError> {
        let mut call = self.call(&self.scripts.hold, event);
        call.arg(Text(id));
        let value = self.run(&call).await?;
        let reply = Reply::parse("hold", &value)?;
        Ok(Mirror::Ready(match reply.status() {
            b"hold" => Some(reply.hold(0, id, event)?),
            b"none" => None,
            b"not_loaded" => return Ok(Mirror::NotLoaded),
            _ => return Err(reply.unexpected()),
        }))
    }

    #[instrument(level = "debug", skip_all, fields(%event, hold = %id))]
    pub(super) async fn extend_hold(
        &self,
        event: EventId,
        id: HoldId,
        user: &UserId,
        by: Duration,
        max_total: Duration,
    ) -> Result<Mirror<ExtendOutcome>, StoreError> {
        let mut call = self.call(&self.scripts.extend, event);
        call.arg(Text(id))
            .arg(user.as_str())
            .arg(millis(by))
            .arg(millis(max_total));
        let value = self.run(&call).await?;
        let reply = Reply::parse("extend", &value)?;
        Ok(Mirror::Ready(match reply.status() {
            b"extended" => ExtendOutcome::Extended(reply.hold(0, id, event)?),
            b"at_limit" => ExtendOutcome::AtLimit(reply.hold(0, id, event)?),
            b"confirming" => ExtendOutcome::Confirming,
            b"not_owner" => ExtendOutcome::NotOwner,
            b"not_found" => ExtendOutcome::NotFound,
            b"not_loaded" => return Ok(Mirror::NotLoaded),
            _ => return Err(reply.unexpected()),
        }))
    }

    #[instrument(level = "debug", skip_all, fields(%event, hold = %id))]
    pub(super) async fn release_hold(
        &self,
        event: EventId,
        id: HoldId,
        user: &UserId,
    ) -> Result<Mirror<ReleaseOutcome>, StoreError> {
        let mut call = self.call(&self.scripts.release, event);
        call.arg(Text(id)).arg(user.as_str());
        let value = self.run(&call).await?;
        let reply = Reply::parse("release", &value)?;
        Ok(Mirror::Ready(match reply.status() {
            b"released" => ReleaseOutcome::Released,
            b"not_found" => ReleaseOutcome::NotFound,
            b"not_owner" => ReleaseOutcome::NotOwner,
            b"not_loaded" => return Ok(Mirror::NotLoaded),
            _ => return Err(reply.unexpected()),
        }))
    }
}

/// What the reserve script answered for `request` (one reply of its batch).
pub(super) fn outcome(
    request: &HoldRequest,
    reply: &Reply<'_>,
) -> Result<Mirror<ReserveOutcome>, StoreError> {
    let outcome = match reply.status() {
        b"held" => {
            let seats = match &request.seats {
                SeatChoice::Seats(seats) => seats.clone(),
                SeatChoice::Best(_) => reply.seats_from(2)?,
            };
            ReserveOutcome::Held(Hold {
                id: request.id,
                event: request.event,
                user: request.user.clone(),
                seats,
                created_at: reply.millis(0)?,
                expires_at: reply.millis(1)?,
            })
        }
        b"taken" => ReserveOutcome::Unavailable(reply.seats_from(0)?),
        b"limit" => ReserveOutcome::HoldLimit {
            held: reply.count(0)?,
        },
        _ => return Err(reply.unexpected()),
    };
    Ok(Mirror::Ready(outcome))
}
