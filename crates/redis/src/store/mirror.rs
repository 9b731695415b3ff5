//! The mirror: counts and the seat map (fenced reads), and loading it.

use std::time::Duration;

use booking_domain::{
    BeginLoad, EventId, HoldId, LoadStep, LoadToken, Mirror, MirrorSpec, SeatCounts, SeatMap,
    SeatNo, SeatState, StoreError,
};
use tracing::instrument;

use super::{millis, RedisHoldStore};
use crate::keys::Text;
use crate::replies::Reply;

impl RedisHoldStore {
    #[instrument(level = "debug", skip_all, fields(%event))]
    pub(super) async fn seat_counts(
        &self,
        event: EventId,
        stale_after: Duration,
    ) -> Result<Mirror<SeatCounts>, StoreError> {
        let mut call = self.call(&self.scripts.counts, event);
        call.arg(millis(stale_after));
        let value = self.run(&call).await?;
        let reply = Reply::parse("counts", &value)?;
        match reply.status() {
            b"counts" => Ok(Mirror::Ready(SeatCounts {
                booked: reply.count(0)?,
                held: reply.count(1)?,
                stale_pending: reply.count(2)?,
            })),
            b"not_loaded" => Ok(Mirror::NotLoaded),
            _ => Err(reply.unexpected()),
        }
    }

    #[instrument(level = "debug", skip_all, fields(%event))]
    pub(super) async fn seat_states(&self, event: EventId) -> Result<Mirror<SeatMap>, StoreError> {
        let call = self.call(&self.scripts.seat_map, event);
        let value = self.run(&call).await?;
        let reply = Reply::parse("seat_map", &value)?;
        match reply.status() {
            b"map" => Ok(Mirror::Ready(seat_states(&reply, 0)?)),
            b"not_loaded" => Ok(Mirror::NotLoaded),
            _ => Err(reply.unexpected()),
        }
    }

    #[instrument(level = "debug", skip_all, fields(%event, %token))]
    pub(super) async fn begin_loading(
        &self,
        event: EventId,
        token: LoadToken,
        spec: &MirrorSpec,
    ) -> Result<BeginLoad, StoreError> {
        let layout = &spec.layout;
        // The last seat of every row but the last: best available must not
        // take adjacent seats across a row's end.
        let ends: Vec<String> = layout.row_firsts()[1..]
            .iter()
            .map(|first| (first - 1).to_string())
            .collect();
        let mut call = self.call(&self.scripts.begin_load, event);
        call.arg(Text(token))
            .arg(millis(spec.lease).max(1))
            .arg(layout.total())
            .arg(ends.join(","))
            .arg(spec.keep_until.timestamp_millis().max(0))
            .arg(millis(self.options.idle_ttl))
            .arg(u8::from(spec.reload));
        let value = self.run(&call).await?;
        let reply = Reply::parse("begin_load", &value)?;
        match reply.status() {
            b"begun" => Ok(BeginLoad::Begun),
            b"busy" => Ok(BeginLoad::Busy),
            b"loaded" => Ok(BeginLoad::Loaded),
            _ => Err(reply.unexpected()),
        }
    }

    #[instrument(level = "debug", skip_all, fields(%event, %token, booked = booked.len()))]
    pub(super) async fn load_chunk(
        &self,
        event: EventId,
        token: LoadToken,
        booked: &[(SeatNo, HoldId)],
    ) -> Result<LoadStep, StoreError> {
        let mut call = self.call(&self.scripts.load_booked, event);
        call.arg(Text(token));
        for (seat, booking) in booked {
            call.arg(seat.get()).arg(Text(booking));
        }
        self.load_step("load_booked", &call).await
    }

    #[instrument(level = "debug", skip_all, fields(%event, %token))]
    pub(super) async fn finish_loading(
        &self,
        event: EventId,
        token: LoadToken,
    ) -> Result<LoadStep, StoreError> {
        let mut call = self.call(&self.scripts.finish_load, event);
        call.arg(Text(token));
        self.load_step("finish_load", &call).await
    }

    async fn load_step(
        &self,
        script: &'static str,
        call: &redis::ScriptInvocation<'_>,
    ) -> Result<LoadStep, StoreError> {
        let value = self.run(call).await?;
        let reply = Reply::parse(script, &value)?;
        match reply.status() {
            b"done" => Ok(LoadStep::Done),
            b"stale" => Ok(LoadStep::Stale),
            _ => Err(reply.unexpected()),
        }
    }
}

/// A seat map from a reply's packed state string: one byte per seat in
/// venue order, '0' available, '1' held or pending, '2' booked.
pub(super) fn seat_states(reply: &Reply<'_>, i: usize) -> Result<SeatMap, StoreError> {
    let states = reply
        .bytes(i)?
        .iter()
        .map(|byte| match byte {
            b'0' => Ok(SeatState::Available),
            b'1' => Ok(SeatState::Held),
            b'2' => Ok(SeatState::Booked),
            _ => Err(reply.unexpected()),
        })
        .collect::<Result<_, _>>()?;
    Ok(SeatMap { states })
}
