//! The change feed behind live seat maps: `watch` and `changes`.

use std::time::Duration;

use booking_domain::{
    EventId, FeedPosition, FeedRead, Mirror, SeatChange, SeatCounts, SeatNo, SeatState, StoreError,
    WatchStart,
};
use tracing::instrument;

use super::mirror::seat_states;
use super::{millis, RedisHoldStore};
use crate::replies::Reply;

/// A stream id, "ms-seq".
fn stream_id(raw: &[u8]) -> Option<(u64, u64)> {
    let (ms, seq) = std::str::from_utf8(raw).ok()?.split_once('-')?;
    Some((ms.parse().ok()?, seq.parse().ok()?))
}

fn state(raw: &[u8]) -> Option<SeatState> {
    match raw {
        b"held" => Some(SeatState::Held),
        b"available" => Some(SeatState::Available),
        b"booked" => Some(SeatState::Booked),
        _ => None,
    }
}

impl RedisHoldStore {
    #[instrument(level = "debug", skip_all, fields(%event))]
    pub(super) async fn start_watching(
        &self,
        event: EventId,
        ttl: Duration,
    ) -> Result<Mirror<WatchStart>, StoreError> {
        let mut call = self.call(&self.scripts.watch, event);
        call.arg(millis(ttl).max(1));
        let value = self.run(&call).await?;
        let reply = Reply::parse("watch", &value)?;
        match reply.status() {
            b"watch" => {
                let (at, seq) = stream_id(reply.bytes(4)?).ok_or_else(|| reply.unexpected())?;
                Ok(Mirror::Ready(WatchStart {
                    map: seat_states(&reply, 0)?,
                    counts: SeatCounts {
                        booked: reply.count(1)?,
                        held: reply.count(2)?,
                        stale_pending: 0,
                    },
                    position: FeedPosition {
                        epoch: u64::try_from(reply.int(3)?).map_err(|_| reply.unexpected())?,
                        at,
                        seq,
                    },
                }))
            }
            b"not_loaded" => Ok(Mirror::NotLoaded),
            _ => Err(reply.unexpected()),
        }
    }

    #[instrument(level = "debug", skip_all, fields(%event, %after))]
    pub(super) async fn read_changes(
        &self,
        event: EventId,
        after: FeedPosition,
        limit: u32,
        ttl: Duration,
    ) -> Result<Mirror<FeedRead>, StoreError> {
        let mut call = self.call(&self.scripts.changes, event);
        call.arg(after.epoch)
            .arg(format!("{}-{}", after.at, after.seq))
            .arg(limit.max(1))
            .arg(millis(ttl).max(1));
        let value = self.run(&call).await?;
        let reply = Reply::parse("changes", &value)?;
        match reply.status() {
            b"changes" => {
                let items = reply.items().len();
                if items % 5 != 0 {
                    return Err(reply.unexpected());
                }
                let mut changes = Vec::with_capacity(items / 5);
                for i in (0..items).step_by(5) {
                    let (at, seq) = stream_id(reply.bytes(i)?).ok_or_else(|| reply.unexpected())?;
                    let seats = reply
                        .bytes(i + 1)?
                        .split(|b| *b == b',')
                        .map(|part| {
                            std::str::from_utf8(part)
                                .ok()
                                .and_then(|n| n.parse().ok())
                                .and_then(SeatNo::new)
                                .ok_or_else(|| reply.unexpected())
                        })
                        .collect::<Result<_, _>>()?;
                    changes.push(SeatChange {
                        position: FeedPosition {
                            epoch: after.epoch,
                            at,
                            seq,
                        },
                        seats,
                        state: state(reply.bytes(i + 2)?).ok_or_else(|| reply.unexpected())?,
                        counts: SeatCounts {
                            booked: reply.count(i + 3)?,
                            held: reply.count(i + 4)?,
                            stale_pending: 0,
                        },
                    });
                }
                Ok(Mirror::Ready(FeedRead::Changes(changes)))
            }
            b"gap" => Ok(Mirror::Ready(FeedRead::Gap)),
            b"not_loaded" => Ok(Mirror::NotLoaded),
            _ => Err(reply.unexpected()),
        }
    }
}
