use std::collections::HashMap;
use std::sync::RwLock;
use std::time::Duration;

use async_trait::async_trait;
use booking_domain::{
    Booking, BookingCursor, BookingPage, BookingRepo, BookingStatus, CancelOutcome, ConfirmOutcome,
    CreateOutcome, Event, EventId, Hold, HoldId, NewEvent, SeatNo, SettleOutcome, StoreError,
    StoreInfo, UserId,
};
use chrono::{DateTime, Utc};

const STORE: &str = "memory";

/// How long an idempotency key of an event creation is remembered.
const KEY_LIFETIME: chrono::Duration = chrono::Duration::hours(24);

/// `BookingRepo` in process. One lock over everything: writes are rare
/// next to reads, and a confirm must check and write its seats as one step,
/// as a transaction does in Postgres.
#[derive(Debug, Default)]
pub struct MemoryBookingRepo {
    state: RwLock<State>,
}

#[derive(Debug, Default)]
struct State {
    events: Vec<Event>,
    bookings: HashMap<HoldId, Booking>,
    /// Holds settled as never booked (their confirms can never succeed),
    /// with when.
    aborted: HashMap<HoldId, (EventId, DateTime<Utc>)>,
    /// The CONFIRMED booking of each seat: the unique index of Postgres.
    confirmed: HashMap<(EventId, SeatNo), HoldId>,
    /// Cancelled bookings whose seats may still be booked in the mirror,
    /// with when they were cancelled.
    unbooks: HashMap<HoldId, DateTime<Utc>>,
    keys: HashMap<KeyScope, KeyUse>,
}

/// Whose idempotency key, and the key: keys are scoped per caller.
type KeyScope = (Option<UserId>, String);

/// What a key was first used for: the request's fingerprint, the event it
/// created, and when.
type KeyUse = (String, EventId, DateTime<Utc>);

impl MemoryBookingRepo {
    pub fn new() -> Self {
        Self::default()
    }
}

impl State {
    fn event(&self, id: EventId) -> Option<&Event> {
        let index = usize::try_from(id.get() - 1).ok()?;
        self.events.get(index)
    }
}

#[async_trait]
impl BookingRepo for MemoryBookingRepo {
    async fn create_event(&self, new: &NewEvent) -> Result<CreateOutcome, StoreError> {
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        let now = Utc::now();
        if let Some(key) = &new.idempotency {
            let scope = (key.caller.clone(), key.key.clone());
            if let Some((fingerprint, id, at)) = state.keys.get(&scope) {
                if now - *at < KEY_LIFETIME {
                    if fingerprint != &key.fingerprint {
                        return Ok(CreateOutcome::KeyReused);
                    }
                    let event = state.event(*id).cloned();
                    return event
                        .map(CreateOutcome::Replayed)
                        .ok_or_else(|| StoreError::internal(STORE, "a key names a lost event"));
                }
            }
        }
        let id = EventId::new(state.events.len() as i64 + 1)
            .map_err(|e| StoreError::internal(STORE, e))?;
        let event = Event {
            id,
            name: new.name.as_str().to_owned(),
            date: new.date,
            location: Some(new.location.as_str().to_owned()),
            layout: new.layout.clone(),
            created_at: now,
        };
        state.events.push(event.clone());
        if let Some(key) = &new.idempotency {
            state.keys.insert(
                (key.caller.clone(), key.key.clone()),
                (key.fingerprint.clone(), id, now),
            );
        }
        Ok(CreateOutcome::Created(event))
    }

    async fn event(&self, id: EventId) -> Result<Option<Event>, StoreError> {
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        Ok(state.event(id).cloned())
    }

    async fn confirm(&self, hold: &Hold) -> Result<ConfirmOutcome, StoreError> {
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        if let Some(existing) = state.bookings.get(&hold.id) {
            return Ok(ConfirmOutcome::Existing(existing.clone()));
        }
        if state.aborted.contains_key(&hold.id) {
            return Ok(ConfirmOutcome::Aborted);
        }
        let total = state
            .event(hold.event)
            .map(|event| event.total_seats())
            .ok_or_else(|| StoreError::internal(STORE, "a hold of an unknown event"))?;
        if hold.seats.iter().any(|seat| seat.get() > total) {
            return Err(StoreError::internal(
                STORE,
                "a hold names seats its event does not have",
            ));
        }
        let taken: Vec<SeatNo> = hold
            .seats
            .iter()
            .copied()
            .filter(|seat| state.confirmed.contains_key(&(hold.event, *seat)))
            .collect();
        if !taken.is_empty() {
            return Ok(ConfirmOutcome::SeatsTaken(taken));
        }
        let mut seats = hold.seats.clone();
        seats.sort();
        let booking = Booking {
            id: hold.id,
            event: hold.event,
            user: hold.user.clone(),
            status: BookingStatus::Confirmed,
            seats,
            created_at: Utc::now(),
        };
        for seat in &hold.seats {
            state.confirmed.insert((hold.event, *seat), hold.id);
        }
        state.bookings.insert(hold.id, booking.clone());
        Ok(ConfirmOutcome::Created(booking))
    }

    async fn settle(&self, hold: &Hold) -> Result<SettleOutcome, StoreError> {
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        Ok(match state.bookings.get(&hold.id) {
            Some(b) if b.status == BookingStatus::Confirmed => SettleOutcome::Booked(b.clone()),
            Some(b) => SettleOutcome::Cancelled(b.clone()),
            None => {
                state.aborted.insert(hold.id, (hold.event, Utc::now()));
                SettleOutcome::Aborted
            }
        })
    }

    async fn booking(&self, id: HoldId) -> Result<Option<Booking>, StoreError> {
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        Ok(state.bookings.get(&id).cloned())
    }

    async fn cancel(&self, id: HoldId) -> Result<CancelOutcome, StoreError> {
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        let Some(booking) = state.bookings.get_mut(&id) else {
            return Ok(CancelOutcome::NotFound);
        };
        if booking.status == BookingStatus::Cancelled {
            return Ok(CancelOutcome::AlreadyCancelled(booking.clone()));
        }
        booking.status = BookingStatus::Cancelled;
        let booking = booking.clone();
        for seat in &booking.seats {
            state.confirmed.remove(&(booking.event, *seat));
        }
        state.unbooks.insert(id, Utc::now());
        Ok(CancelOutcome::Cancelled(booking))
    }

    async fn unbooks_due(
        &self,
        older_than: Duration,
        limit: u32,
    ) -> Result<Vec<Booking>, StoreError> {
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        let before = Utc::now() - older_than;
        let mut due: Vec<(DateTime<Utc>, &Booking)> = state
            .unbooks
            .iter()
            .filter(|(_, at)| **at <= before)
            .filter_map(|(id, at)| Some((*at, state.bookings.get(id)?)))
            .collect();
        due.sort_by_key(|(at, _)| *at);
        Ok(due
            .into_iter()
            .take(limit as usize)
            .map(|(_, booking)| booking.clone())
            .collect())
    }

    async fn unbooked(&self, id: HoldId) -> Result<(), StoreError> {
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        state.unbooks.remove(&id);
        Ok(())
    }

    async fn booked_seats(&self, event: EventId) -> Result<Vec<(SeatNo, HoldId)>, StoreError> {
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        Ok(state
            .confirmed
            .iter()
            .filter(|((e, _), _)| *e == event)
            .map(|((_, seat), booking)| (*seat, *booking))
            .collect())
    }

    async fn spent_holds(
        &self,
        event: EventId,
        within: Duration,
    ) -> Result<Vec<HoldId>, StoreError> {
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        let since =
            Utc::now() - chrono::Duration::from_std(within).unwrap_or(chrono::Duration::MAX);
        let cancelled = state.bookings.values().filter(|b| {
            b.event == event && b.status == BookingStatus::Cancelled && b.created_at >= since
        });
        let aborted = state
            .aborted
            .iter()
            .filter(|(_, (e, at))| *e == event && *at >= since);
        Ok(cancelled
            .map(|b| b.id)
            .chain(aborted.map(|(id, _)| *id))
            .collect())
    }

    async fn user_bookings(
        &self,
        user: &UserId,
        cursor: Option<BookingCursor>,
        limit: u32,
    ) -> Result<BookingPage, StoreError> {
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        let key = |b: &Booking| (b.created_at, b.id);
        let mut mine: Vec<&Booking> = state
            .bookings
            .values()
            .filter(|b| &b.user == user)
            .filter(|b| cursor.is_none_or(|c| key(b) < (c.created_at, c.id)))
            .collect();
        mine.sort_by_key(|b| std::cmp::Reverse(key(b)));
        let more = mine.len() > limit as usize;
        mine.truncate(limit as usize);
        let next = more
            .then(|| mine.last().map(|b| BookingCursor::after(b)))
            .flatten();
        Ok(BookingPage {
            bookings: mine.into_iter().cloned().collect(),
            next,
        })
    }

    async fn info(&self) -> Result<StoreInfo, StoreError> {
        Ok(StoreInfo {
            version: "in-memory booking store".into(),
            current_time: Utc::now(),
        })
    }
}
