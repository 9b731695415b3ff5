use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use booking_domain::{
    BeginConfirm, BeginLoad, EventId, ExtendOutcome, FeedPosition, FeedRead, Hold, HoldId,
    HoldRequest, HoldStore, Layout, LoadStep, LoadToken, Mirror, MirrorSpec, ReleaseOutcome,
    ReserveOutcome, SeatChange, SeatChoice, SeatCounts, SeatMap, SeatNo, SeatState, StoreError,
    StoreInfo, UserId, WatchStart,
};
use chrono::{DateTime, Utc};

/// `HoldStore` in process. Each event has its own lock, so events never
/// wait on each other; within an event every call is one atomic step, as
/// a Lua script is in Redis. An event idle for `idle_ttl` (or kept past
/// its `keep_until`) is dropped, as Redis lets its keys expire, and loads
/// again on its next use.
#[derive(Debug)]
pub struct MemoryHoldStore {
    events: RwLock<HashMap<EventId, Arc<Mutex<EventSeats>>>>,
    idle_ttl: Duration,
}

impl Default for MemoryHoldStore {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Debug, Default)]
struct EventSeats {
    mirror: MirrorState,
    layout: Option<Arc<Layout>>,
    booked: HashMap<SeatNo, HoldId>,
    holds: HashMap<HoldId, HoldEntry>,
    /// Which hold has each seat. Entries of expired holds are purged by
    /// the next write and ignored by reads until then.
    seat_holds: HashMap<SeatNo, HoldId>,
    last_used: Option<DateTime<Utc>>,
    keep_until: Option<DateTime<Utc>>,
    feed: Feed,
}

/// The event's recent seat changes, kept only while someone watches.
#[derive(Debug, Default)]
struct Feed {
    epoch: u64,
    next: u64,
    changes: VecDeque<SeatChange>,
    watched_until: Option<DateTime<Utc>>,
}

impl Feed {
    /// How many changes are kept for watchers catching up.
    const RETAINED: usize = 10_000;

    /// Keeps recording until `until`. If recording had lapsed, changes
    /// may have gone unrecorded: a new epoch makes older positions gaps.
    fn arm(&mut self, now: DateTime<Utc>, until: DateTime<Utc>) {
        if self.watched_until.is_none_or(|until| until <= now) {
            self.epoch += 1;
            self.changes.clear();
        }
        self.watched_until = Some(until);
    }

    fn position(&self) -> FeedPosition {
        FeedPosition {
            epoch: self.epoch,
            at: 0,
            seq: self.next,
        }
    }
}

#[derive(Debug, Default)]
enum MirrorState {
    #[default]
    NotLoaded,
    Loading {
        token: LoadToken,
        lease_until: DateTime<Utc>,
        /// Bookings unbooked while this load runs: its chunks, read from
        /// the repo earlier, must not mark them booked again.
        unbooked: HashSet<HoldId>,
    },
    Ready,
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
    fn ready(&self) -> bool {
        matches!(self.mirror, MirrorState::Ready)
    }

    fn loading_or_ready(&self) -> bool {
        !matches!(self.mirror, MirrorState::NotLoaded)
    }

    fn live_hold(&self, id: HoldId, now: DateTime<Utc>) -> Option<&HoldEntry> {
        self.holds.get(&id).filter(|entry| entry.live(now))
    }

    fn state(&self, seat: SeatNo, now: DateTime<Utc>) -> SeatState {
        if self.booked.contains_key(&seat) {
            SeatState::Booked
        } else if self
            .seat_holds
            .get(&seat)
            .is_some_and(|id| self.live_hold(*id, now).is_some())
        {
            SeatState::Held
        } else {
            SeatState::Available
        }
    }

    /// Seats the user's live holds still have.
    fn held_by(&self, user: &UserId, now: DateTime<Utc>) -> u32 {
        self.seat_holds
            .values()
            .filter_map(|id| self.live_hold(*id, now))
            .filter(|entry| &entry.hold.user == user)
            .count() as u32
    }

    fn held(&self, now: DateTime<Utc>) -> u32 {
        self.seat_holds
            .values()
            .filter(|id| self.live_hold(**id, now).is_some())
            .count() as u32
    }

    fn purge_expired(&mut self, now: DateTime<Utc>) {
        self.holds.retain(|_, entry| entry.live(now));
        let holds = &self.holds;
        let mut freed: Vec<SeatNo> = Vec::new();
        self.seat_holds.retain(|seat, id| {
            let live = holds.contains_key(id);
            if !live {
                freed.push(*seat);
            }
            live
        });
        freed.sort();
        self.record(now, freed, SeatState::Available);
    }

    /// Forgets a hold and frees the seats it still has.
    fn forget(&mut self, id: HoldId, now: DateTime<Utc>) -> Option<HoldEntry> {
        let entry = self.holds.remove(&id)?;
        let mut freed = Vec::new();
        for seat in &entry.hold.seats {
            if self.seat_holds.get(seat) == Some(&id) {
                self.seat_holds.remove(seat);
                freed.push(*seat);
            }
        }
        freed.sort();
        self.record(now, freed, SeatState::Available);
        Some(entry)
    }

    /// Marks a seat booked; no hold has it any more (booked wins).
    fn book(&mut self, seat: SeatNo, booking: HoldId) {
        self.booked.insert(seat, booking);
        self.seat_holds.remove(&seat);
    }

    fn counts(&self, now: DateTime<Utc>) -> SeatCounts {
        SeatCounts {
            booked: self.booked.len() as u32,
            held: self.held(now),
            stale_pending: 0,
        }
    }

    /// Records that `seats` went to `state`, while someone watches.
    fn record(&mut self, now: DateTime<Utc>, seats: Vec<SeatNo>, state: SeatState) {
        if seats.is_empty() || self.feed.watched_until.is_none_or(|until| until <= now) {
            return;
        }
        let counts = self.counts(now);
        let feed = &mut self.feed;
        feed.next += 1;
        let position = feed.position();
        feed.changes.push_back(SeatChange {
            position,
            seats,
            state,
            counts,
        });
        if feed.changes.len() > Feed::RETAINED {
            feed.changes.pop_front();
        }
    }

    fn map(&self, now: DateTime<Utc>) -> SeatMap {
        let total = self.layout.as_ref().map_or(0, |layout| layout.total());
        SeatMap {
            states: (1..=total)
                .filter_map(SeatNo::new)
                .map(|seat| self.state(seat, now))
                .collect(),
        }
    }

    fn pick(&self, choice: &SeatChoice, now: DateTime<Utc>) -> Result<Vec<SeatNo>, Vec<SeatNo>> {
        match choice {
            SeatChoice::Seats(seats) => {
                let taken: Vec<SeatNo> = seats
                    .iter()
                    .copied()
                    .filter(|s| self.state(*s, now) != SeatState::Available)
                    .collect();
                if taken.is_empty() {
                    Ok(seats.clone())
                } else {
                    Err(taken)
                }
            }
            SeatChoice::Best(n) => self.best(*n, now).ok_or_else(Vec::new),
        }
    }

    /// `n` adjacent available seats in the lowest row that has them, else
    /// the first `n` available in venue order.
    fn best(&self, n: u32, now: DateTime<Utc>) -> Option<Vec<SeatNo>> {
        let layout = self.layout.as_ref()?;
        let free = |seat: u32| {
            SeatNo::new(seat).is_some_and(|s| self.state(s, now) == SeatState::Available)
        };
        for (row, first) in layout.rows().iter().zip(layout.row_firsts()) {
            let mut run = 0;
            for seat in *first..*first + row.seats {
                run = if free(seat) { run + 1 } else { 0 };
                if run == n {
                    return Some((seat + 1 - n..=seat).filter_map(SeatNo::new).collect());
                }
            }
        }
        let any: Vec<SeatNo> = (1..=layout.total())
            .filter(|seat| free(*seat))
            .take(n as usize)
            .filter_map(SeatNo::new)
            .collect();
        (any.len() == n as usize).then_some(any)
    }
}

impl MemoryHoldStore {
    /// Events idle this long are dropped, as Redis lets an idle event's
    /// keys expire.
    pub const DEFAULT_IDLE_TTL: Duration = Duration::from_secs(3600);

    pub fn new() -> Self {
        Self::with_idle_ttl(Self::DEFAULT_IDLE_TTL)
    }

    pub fn with_idle_ttl(idle_ttl: Duration) -> Self {
        Self {
            events: RwLock::default(),
            idle_ttl,
        }
    }

    fn event(&self, id: EventId) -> Option<Arc<Mutex<EventSeats>>> {
        self.events
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
            .cloned()
    }

    /// Runs `f` on the event's seats under its lock, or answers `None` when
    /// the store has nothing of the event. An event idle too long is
    /// forgotten first.
    fn with_event<T>(&self, id: EventId, f: impl FnOnce(&mut EventSeats) -> T) -> Option<T> {
        let event = self.event(id)?;
        let mut seats = event.lock().unwrap_or_else(|e| e.into_inner());
        let now = Utc::now();
        if self.expired(&seats, now) {
            *seats = EventSeats::default();
        }
        seats.last_used = Some(now);
        Some(f(&mut seats))
    }

    /// As `with_event`, but `NotLoaded` unless the event's mirror is ready.
    fn with_ready_event<T>(&self, id: EventId, f: impl FnOnce(&mut EventSeats) -> T) -> Mirror<T> {
        self.with_event(id, |seats| seats.ready().then(|| f(seats)))
            .flatten()
            .map_or(Mirror::NotLoaded, Mirror::Ready)
    }

    fn expired(&self, seats: &EventSeats, now: DateTime<Utc>) -> bool {
        let idle = seats.last_used.is_some_and(|used| {
            now - used > chrono::Duration::from_std(self.idle_ttl).unwrap_or(chrono::Duration::MAX)
        });
        idle || seats.keep_until.is_some_and(|until| now > until)
    }

    /// Drops idle events, so memory stays bounded by the active ones. Run
    /// on loads, which are rare next to other calls.
    fn sweep(&self, now: DateTime<Utc>) {
        let mut events = self.events.write().unwrap_or_else(|e| e.into_inner());
        events.retain(|_, seats| {
            let seats = seats.lock().unwrap_or_else(|e| e.into_inner());
            !self.expired(&seats, now)
        });
    }
}

#[async_trait]
impl HoldStore for MemoryHoldStore {
    async fn reserve(&self, request: &HoldRequest) -> Result<Mirror<ReserveOutcome>, StoreError> {
        let now = Utc::now();
        Ok(self.with_ready_event(request.event, |seats| {
            seats.purge_expired(now);
            if let Some(again) = seats
                .live_hold(request.id, now)
                .filter(|entry| entry.hold.user == request.user)
            {
                return ReserveOutcome::Held(again.hold.clone());
            }
            let chosen = match seats.pick(&request.seats, now) {
                Ok(chosen) => chosen,
                Err(taken) => return ReserveOutcome::Unavailable(taken),
            };
            let held = seats.held_by(&request.user, now);
            if held + request.seats.len() > request.max_held_per_user {
                return ReserveOutcome::HoldLimit { held };
            }
            let hold = Hold {
                id: request.id,
                event: request.event,
                user: request.user.clone(),
                seats: chosen,
                created_at: now,
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
            let mut changed = hold.seats.clone();
            changed.sort();
            seats.record(now, changed, SeatState::Held);
            ReserveOutcome::Held(hold)
        }))
    }

    async fn hold(&self, event: EventId, id: HoldId) -> Result<Mirror<Option<Hold>>, StoreError> {
        let now = Utc::now();
        Ok(self.with_ready_event(event, |seats| {
            seats.live_hold(id, now).map(|e| e.hold.clone())
        }))
    }

    async fn extend(
        &self,
        event: EventId,
        id: HoldId,
        user: &UserId,
        by: Duration,
        max_total: Duration,
    ) -> Result<Mirror<ExtendOutcome>, StoreError> {
        let now = Utc::now();
        Ok(self.with_ready_event(event, |seats| {
            let Some(entry) = seats.holds.get_mut(&id).filter(|e| e.live(now)) else {
                return ExtendOutcome::NotFound;
            };
            if &entry.hold.user != user {
                return ExtendOutcome::NotOwner;
            }
            if entry.pending_since.is_some() {
                return ExtendOutcome::Confirming;
            }
            let cap = entry.hold.created_at + max_total;
            let later = (entry.hold.expires_at + by).min(cap);
            if later <= entry.hold.expires_at {
                return ExtendOutcome::AtLimit(entry.hold.clone());
            }
            entry.hold.expires_at = later;
            ExtendOutcome::Extended(entry.hold.clone())
        }))
    }

    async fn begin_confirm(
        &self,
        event: EventId,
        id: HoldId,
        user: &UserId,
    ) -> Result<Mirror<BeginConfirm>, StoreError> {
        let now = Utc::now();
        Ok(self.with_ready_event(event, |seats| {
            seats.purge_expired(now);
            match seats.holds.get_mut(&id) {
                None => BeginConfirm::NotFound,
                Some(entry) if &entry.hold.user != user => BeginConfirm::NotOwner,
                Some(entry) => {
                    entry.pending_since.get_or_insert(now);
                    BeginConfirm::Pending(entry.hold.clone())
                }
            }
        }))
    }

    async fn finish_confirm(&self, hold: &Hold) -> Result<(), StoreError> {
        let now = Utc::now();
        self.with_event(hold.event, |seats| {
            // Neither loaded nor loading: the next load reads the booking.
            if !seats.loading_or_ready() {
                return;
            }
            // Its seats go straight from held to booked: nothing is free
            // in between, so the feed records the booking alone.
            seats.holds.remove(&hold.id);
            let mut changed: Vec<SeatNo> = hold
                .seats
                .iter()
                .copied()
                .filter(|seat| seats.booked.get(seat) != Some(&hold.id))
                .collect();
            for seat in &hold.seats {
                seats.book(*seat, hold.id);
            }
            changed.sort();
            seats.record(now, changed, SeatState::Booked);
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
    ) -> Result<Mirror<ReleaseOutcome>, StoreError> {
        let now = Utc::now();
        Ok(self.with_ready_event(event, |seats| {
            seats.purge_expired(now);
            match seats.holds.get(&id) {
                None => ReleaseOutcome::NotFound,
                Some(entry) if entry.pending_since.is_some() => ReleaseOutcome::NotFound,
                Some(entry) if &entry.hold.user != user => ReleaseOutcome::NotOwner,
                Some(_) => {
                    seats.forget(id, now);
                    ReleaseOutcome::Released
                }
            }
        }))
    }

    async fn unbook(
        &self,
        event: EventId,
        booking: HoldId,
        to_free: &[SeatNo],
    ) -> Result<(), StoreError> {
        let now = Utc::now();
        self.with_event(event, |seats| {
            let mut freed = Vec::new();
            for seat in to_free {
                if seats.booked.get(seat) == Some(&booking) {
                    seats.booked.remove(seat);
                    freed.push(*seat);
                }
            }
            freed.sort();
            seats.record(now, freed, SeatState::Available);
            if let MirrorState::Loading { unbooked, .. } = &mut seats.mirror {
                unbooked.insert(booking);
            }
        });
        Ok(())
    }

    async fn forget_holds(&self, event: EventId, holds: &[HoldId]) -> Result<(), StoreError> {
        let now = Utc::now();
        self.with_event(event, |seats| {
            seats.purge_expired(now);
            for id in holds {
                seats.forget(*id, now);
            }
        });
        Ok(())
    }

    async fn counts(
        &self,
        event: EventId,
        stale_after: Duration,
    ) -> Result<Mirror<SeatCounts>, StoreError> {
        let now = Utc::now();
        let before = now - stale_after;
        Ok(self.with_ready_event(event, |seats| SeatCounts {
            stale_pending: seats
                .holds
                .values()
                .filter(|entry| entry.stale(before))
                .count() as u32,
            ..seats.counts(now)
        }))
    }

    async fn seat_map(&self, event: EventId) -> Result<Mirror<SeatMap>, StoreError> {
        let now = Utc::now();
        Ok(self.with_ready_event(event, |seats| seats.map(now)))
    }

    async fn stale_pending(
        &self,
        event: EventId,
        older_than: Duration,
    ) -> Result<Vec<Hold>, StoreError> {
        let before = Utc::now() - older_than;
        Ok(self
            .with_event(event, |seats| {
                let mut stale: Vec<&HoldEntry> =
                    seats.holds.values().filter(|e| e.stale(before)).collect();
                stale.sort_by_key(|entry| entry.pending_since);
                stale.iter().take(100).map(|e| e.hold.clone()).collect()
            })
            .unwrap_or_default())
    }

    async fn begin_load(
        &self,
        event: EventId,
        token: LoadToken,
        spec: &MirrorSpec,
    ) -> Result<BeginLoad, StoreError> {
        let now = Utc::now();
        self.sweep(now);
        self.events
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(event)
            .or_default();
        let outcome = self.with_event(event, |seats| {
            if let MirrorState::Loading { lease_until, .. } = &seats.mirror {
                if *lease_until > now {
                    return BeginLoad::Busy;
                }
            }
            if !spec.reload && seats.ready() {
                return BeginLoad::Loaded;
            }
            seats.mirror = MirrorState::Loading {
                token,
                lease_until: now + spec.lease,
                unbooked: HashSet::new(),
            };
            seats.layout = Some(spec.layout.clone());
            seats.keep_until = Some(spec.keep_until);
            // Authoritative: booked seats come only from this load and
            // from confirms finished while it runs.
            seats.booked.clear();
            // Any seat may change without a change entry: watchers start
            // over from a new epoch.
            seats.feed.epoch += 1;
            seats.feed.changes.clear();
            BeginLoad::Begun
        });
        Ok(outcome.unwrap_or(BeginLoad::Busy))
    }

    async fn load_booked(
        &self,
        event: EventId,
        token: LoadToken,
        booked: &[(SeatNo, HoldId)],
    ) -> Result<LoadStep, StoreError> {
        let outcome = self.with_event(event, |seats| {
            let MirrorState::Loading {
                token: current,
                unbooked,
                ..
            } = &seats.mirror
            else {
                return LoadStep::Stale;
            };
            if *current != token {
                return LoadStep::Stale;
            }
            let unbooked = unbooked.clone();
            for (seat, booking) in booked {
                if !unbooked.contains(booking) {
                    seats.book(*seat, *booking);
                }
            }
            LoadStep::Done
        });
        Ok(outcome.unwrap_or(LoadStep::Stale))
    }

    async fn finish_load(&self, event: EventId, token: LoadToken) -> Result<LoadStep, StoreError> {
        let outcome = self.with_event(event, |seats| match &seats.mirror {
            MirrorState::Loading { token: current, .. } if *current == token => {
                seats.mirror = MirrorState::Ready;
                LoadStep::Done
            }
            _ => LoadStep::Stale,
        });
        Ok(outcome.unwrap_or(LoadStep::Stale))
    }

    async fn abandon_load(&self, event: EventId, token: LoadToken) -> Result<(), StoreError> {
        let now = Utc::now();
        self.with_event(event, |seats| {
            if let MirrorState::Loading {
                token: current,
                lease_until,
                ..
            } = &mut seats.mirror
            {
                if *current == token {
                    *lease_until = now;
                }
            }
        });
        Ok(())
    }

    async fn watch(&self, event: EventId, ttl: Duration) -> Result<Mirror<WatchStart>, StoreError> {
        let now = Utc::now();
        Ok(self.with_ready_event(event, |seats| {
            seats.purge_expired(now);
            seats.feed.arm(now, now + ttl);
            WatchStart {
                map: seats.map(now),
                counts: seats.counts(now),
                position: seats.feed.position(),
            }
        }))
    }

    async fn changes(
        &self,
        event: EventId,
        after: FeedPosition,
        limit: u32,
        ttl: Duration,
    ) -> Result<Mirror<FeedRead>, StoreError> {
        let now = Utc::now();
        Ok(self.with_ready_event(event, |seats| {
            seats.feed.arm(now, now + ttl);
            seats.purge_expired(now);
            let feed = &seats.feed;
            let oldest_kept = feed
                .changes
                .front()
                .map_or(feed.next, |change| change.position.seq - 1);
            if after.epoch != feed.epoch || after.seq < oldest_kept || after.seq > feed.next {
                return FeedRead::Gap;
            }
            FeedRead::Changes(
                feed.changes
                    .iter()
                    .filter(|change| change.position > after)
                    .take(limit as usize)
                    .cloned()
                    .collect(),
            )
        }))
    }

    async fn info(&self) -> Result<StoreInfo, StoreError> {
        Ok(StoreInfo {
            version: "in-memory hold store".into(),
            current_time: Utc::now(),
        })
    }
}
