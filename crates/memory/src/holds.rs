use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use booking_domain::{
    BeginConfirm, EventId, Hold, HoldId, HoldRequest, HoldStore, LoadOutcome, ReleaseOutcome,
    ReserveOutcome, SeatCounts, SeatNo, StoreError, StoreInfo, UserId,
};
use chrono::{DateTime, Utc};

/// `HoldStore` in process. Each event has its own lock, so events never
/// wait on each other; within an event every call is one atomic step, as
/// a Lua script is in Redis.
#[derive(Debug, Default)]
pub struct MemoryHoldStore {
    events: RwLock<HashMap<EventId, Arc<Mutex<EventSeats>>>>,
}

#[derive(Debug, Default)]
struct EventSeats {
    /// Set by `load`; until then reserve, confirm and counts answer "not
    /// loaded", as the Redis store does before its marker is set.
    loaded: bool,
    booked: HashMap<SeatNo, HoldId>,
    holds: HashMap<HoldId, HoldEntry>,
    /// Which live hold has each seat; entries of expired holds are purged
    /// by the next write, and ignored by reads until then.
    seat_holds: HashMap<SeatNo, HoldId>,
}

#[derive(Debug, Clone)]
struct HoldEntry {
    hold: Hold,
    /// When its confirm began, while it is pending.
    pending_since: Option<DateTime<Utc>>,
}

impl HoldEntry {
    fn live(&self, now: DateTime<Utc>) -> bool {
        self.pending_since.is_some() || self.hold.expires_at > now
    }

    fn stale(&self, before: DateTime<Utc>) -> bool {
        self.pending_since.is_some_and(|since| since < before)
    }
}

impl EventSeats {
    fn live_hold(&self, id: HoldId, now: DateTime<Utc>) -> Option<&HoldEntry> {
        self.holds.get(&id).filter(|entry| entry.live(now))
    }

    fn seat_taken(&self, seat: SeatNo, now: DateTime<Utc>) -> bool {
        self.booked.contains_key(&seat)
            || self
                .seat_holds
                .get(&seat)
                .is_some_and(|id| self.live_hold(*id, now).is_some())
    }

    fn held_by(&self, user: &UserId, now: DateTime<Utc>) -> u32 {
        self.holds
            .values()
            .filter(|entry| entry.live(now) && &entry.hold.user == user)
            .map(|entry| entry.hold.seats.len() as u32)
            .sum()
    }

    fn purge_expired(&mut self, now: DateTime<Utc>) {
        self.holds.retain(|_, entry| entry.live(now));
        let holds = &self.holds;
        self.seat_holds.retain(|_, id| holds.contains_key(id));
    }

    fn forget(&mut self, id: HoldId) -> Option<HoldEntry> {
        let entry = self.holds.remove(&id)?;
        for seat in &entry.hold.seats {
            if self.seat_holds.get(seat) == Some(&id) {
                self.seat_holds.remove(seat);
            }
        }
        Some(entry)
    }
}

impl MemoryHoldStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn event(&self, id: EventId) -> Option<Arc<Mutex<EventSeats>>> {
        self.events
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
            .cloned()
    }

    /// Runs `f` on the event's seats under its lock, or answers `None` when
    /// the event was never loaded.
    fn with_event<T>(&self, id: EventId, f: impl FnOnce(&mut EventSeats) -> T) -> Option<T> {
        let event = self.event(id)?;
        let mut seats = event.lock().unwrap_or_else(|e| e.into_inner());
        Some(f(&mut seats))
    }

    /// As `with_event`, but `None` too while the event is not loaded.
    fn with_loaded_event<T>(&self, id: EventId, f: impl FnOnce(&mut EventSeats) -> T) -> Option<T> {
        self.with_event(id, |seats| seats.loaded.then(|| f(seats)))
            .flatten()
    }
}

#[async_trait]
impl HoldStore for MemoryHoldStore {
    async fn reserve(&self, request: &HoldRequest) -> Result<ReserveOutcome, StoreError> {
        let now = Utc::now();
        let outcome = self.with_loaded_event(request.event, |seats| {
            seats.purge_expired(now);
            let taken: Vec<SeatNo> = request
                .seats
                .iter()
                .copied()
                .filter(|s| seats.seat_taken(*s, now))
                .collect();
            if !taken.is_empty() {
                return ReserveOutcome::Unavailable(taken);
            }
            let held = seats.held_by(&request.user, now);
            if held + request.seats.len() as u32 > request.max_held_per_user {
                return ReserveOutcome::HoldLimit { held };
            }
            let hold = Hold {
                id: request.id,
                event: request.event,
                user: request.user.clone(),
                seats: request.seats.clone(),
                expires_at: now + request.ttl,
            };
            for seat in &hold.seats {
                seats.seat_holds.insert(*seat, hold.id);
            }
            seats.holds.insert(
                hold.id,
                HoldEntry {
                    hold: hold.clone(),
                    pending_since: None,
                },
            );
            ReserveOutcome::Held(hold)
        });
        Ok(outcome.unwrap_or(ReserveOutcome::NotLoaded))
    }

    async fn hold(&self, event: EventId, id: HoldId) -> Result<Option<Hold>, StoreError> {
        let now = Utc::now();
        Ok(self
            .with_event(event, |seats| {
                seats.live_hold(id, now).map(|e| e.hold.clone())
            })
            .flatten())
    }

    async fn begin_confirm(
        &self,
        event: EventId,
        id: HoldId,
        user: &UserId,
    ) -> Result<BeginConfirm, StoreError> {
        let now = Utc::now();
        let outcome = self.with_loaded_event(event, |seats| {
            seats.purge_expired(now);
            match seats.holds.get_mut(&id) {
                None => BeginConfirm::NotFound,
                Some(entry) if &entry.hold.user != user => BeginConfirm::NotOwner,
                Some(entry) => {
                    entry.pending_since.get_or_insert(now);
                    BeginConfirm::Pending(entry.hold.clone())
                }
            }
        });
        Ok(outcome.unwrap_or(BeginConfirm::NotLoaded))
    }

    async fn finish_confirm(&self, hold: &Hold) -> Result<(), StoreError> {
        // An event is in the map once a load has begun: from then on a
        // finished confirm must be marked, as the load may not know it.
        self.with_event(hold.event, |seats| {
            seats.forget(hold.id);
            for seat in &hold.seats {
                seats.booked.insert(*seat, hold.id);
                // A seat can be held by another hold only if its mirror was
                // lost and reloaded mid-confirm; booked wins, as on load.
                if let Some(other) = seats.seat_holds.remove(seat) {
                    seats.forget(other);
                }
            }
        });
        Ok(())
    }

    async fn abort_confirm(&self, event: EventId, id: HoldId) -> Result<(), StoreError> {
        let now = Utc::now();
        self.with_event(event, |seats| {
            if let Some(entry) = seats.holds.get_mut(&id) {
                entry.pending_since = None;
            }
            seats.purge_expired(now);
        });
        Ok(())
    }

    async fn release(
        &self,
        event: EventId,
        id: HoldId,
        user: &UserId,
    ) -> Result<ReleaseOutcome, StoreError> {
        let now = Utc::now();
        let outcome = self.with_event(event, |seats| {
            seats.purge_expired(now);
            match seats.holds.get(&id) {
                None => ReleaseOutcome::NotFound,
                Some(entry) if entry.pending_since.is_some() => ReleaseOutcome::NotFound,
                Some(entry) if &entry.hold.user != user => ReleaseOutcome::NotOwner,
                Some(_) => {
                    seats.forget(id);
                    ReleaseOutcome::Released
                }
            }
        });
        Ok(outcome.unwrap_or(ReleaseOutcome::NotFound))
    }

    async fn unbook(
        &self,
        event: EventId,
        booking: HoldId,
        seats_to_free: &[SeatNo],
    ) -> Result<(), StoreError> {
        self.with_event(event, |seats| {
            for seat in seats_to_free {
                if seats.booked.get(seat) == Some(&booking) {
                    seats.booked.remove(seat);
                }
            }
        });
        Ok(())
    }

    async fn counts(
        &self,
        event: EventId,
        stale_after: Duration,
    ) -> Result<Option<SeatCounts>, StoreError> {
        let now = Utc::now();
        let before = now - stale_after;
        Ok(self
            .with_event(event, |seats| {
                if !seats.loaded {
                    return None;
                }
                let live = seats.holds.values().filter(|entry| entry.live(now));
                Some(SeatCounts {
                    booked: seats.booked.len() as u32,
                    held: live
                        .clone()
                        .map(|entry| entry.hold.seats.len() as u32)
                        .sum(),
                    stale_pending: live.filter(|entry| entry.stale(before)).count() as u32,
                })
            })
            .flatten())
    }

    async fn begin_load(&self, event: EventId) -> Result<(), StoreError> {
        let mut events = self.events.write().unwrap_or_else(|e| e.into_inner());
        events.entry(event).or_default();
        Ok(())
    }

    async fn load(
        &self,
        event: EventId,
        booked: &[(SeatNo, HoldId)],
    ) -> Result<LoadOutcome, StoreError> {
        let outcome = self.with_event(event, |seats| {
            for (seat, booking) in booked {
                seats.booked.insert(*seat, *booking);
                if let Some(other) = seats.seat_holds.remove(seat) {
                    seats.forget(other);
                }
            }
            seats.loaded = true;
        });
        Ok(outcome.map_or(LoadOutcome::Stale, |()| LoadOutcome::Loaded))
    }

    async fn stale_pending(
        &self,
        event: EventId,
        older_than: Duration,
    ) -> Result<Vec<Hold>, StoreError> {
        let before = Utc::now() - older_than;
        Ok(self
            .with_event(event, |seats| {
                seats
                    .holds
                    .values()
                    .filter(|entry| entry.stale(before))
                    .map(|entry| entry.hold.clone())
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn info(&self) -> Result<StoreInfo, StoreError> {
        Ok(StoreInfo {
            version: "in-memory hold store".into(),
            current_time: Utc::now(),
        })
    }
}
