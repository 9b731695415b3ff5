use std::collections::HashMap;
use std::sync::RwLock;

use async_trait::async_trait;
use booking_domain::{
    Booking, BookingRepo, BookingStatus, CancelOutcome, ConfirmOutcome, Event, EventId, Hold,
    HoldId, NewEvent, SeatNo, StoreError, StoreInfo,
};
use chrono::Utc;

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
    /// The CONFIRMED booking of each seat: the unique index of Postgres.
    confirmed: HashMap<(EventId, SeatNo), HoldId>,
}

impl MemoryBookingRepo {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl BookingRepo for MemoryBookingRepo {
    async fn create_event(&self, new: &NewEvent) -> Result<Event, StoreError> {
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        let id = EventId::new(state.events.len() as i64 + 1)
            .map_err(|e| StoreError::internal("memory", e))?;
        let event = Event {
            id,
            name: new.name.as_str().to_owned(),
            date: new.date,
            location: Some(new.location.as_str().to_owned()),
            total_seats: new.total_seats,
            created_at: Utc::now(),
        };
        state.events.push(event.clone());
        Ok(event)
    }

    async fn event(&self, id: EventId) -> Result<Option<Event>, StoreError> {
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        let index = usize::try_from(id.get() - 1).ok();
        Ok(index.and_then(|i| state.events.get(i)).cloned())
    }

    async fn confirm(&self, hold: &Hold) -> Result<ConfirmOutcome, StoreError> {
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        if let Some(existing) = state.bookings.get(&hold.id) {
            return Ok(ConfirmOutcome::Existing(existing.clone()));
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
        let booking = Booking {
            id: hold.id,
            event: hold.event,
            user: hold.user.clone(),
            status: BookingStatus::Confirmed,
            seats: hold.seats.clone(),
            created_at: Utc::now(),
        };
        for seat in &hold.seats {
            state.confirmed.insert((hold.event, *seat), hold.id);
        }
        state.bookings.insert(hold.id, booking.clone());
        Ok(ConfirmOutcome::Created(booking))
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
        Ok(CancelOutcome::Cancelled(booking))
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

    async fn info(&self) -> Result<StoreInfo, StoreError> {
        Ok(StoreInfo {
            version: "in-memory booking store".into(),
            current_time: Utc::now(),
        })
    }
}
