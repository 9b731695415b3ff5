use chrono::{DateTime, Utc};

use super::{EventId, Label, SeatCode, SeatNo};

/// What an admin asks for when creating an event. `total_seats` is checked
/// against the configured limit by the service, not here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub name: Label,
    pub date: DateTime<Utc>,
    pub location: Label,
    pub total_seats: u32,
}

/// An event as stored. Events never change after creation, which is what
/// makes caching them safe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: EventId,
    pub name: String,
    pub date: DateTime<Utc>,
    pub location: Option<String>,
    pub total_seats: u32,
    pub created_at: DateTime<Utc>,
}

impl Event {
    /// The seat a code names in this event, if there is one.
    pub fn seat(&self, code: &SeatCode) -> Option<SeatNo> {
        SeatNo::from_code(code).filter(|seat| seat.get() <= self.total_seats)
    }
}

/// Seat counts of an event at one instant. Held counts only unexpired
/// holds; `available` is derived, so the three always add up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Availability {
    pub total: u32,
    pub confirmed: u32,
    pub held: u32,
}

impl Availability {
    pub fn available(&self) -> u32 {
        self.total.saturating_sub(self.confirmed + self.held)
    }
}

/// The state counts a hold store reports for an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SeatCounts {
    /// Seats of CONFIRMED bookings, in the store's mirror.
    pub booked: u32,
    /// Seats of unexpired holds, including holds being confirmed.
    pub held: u32,
    /// Holds pending for longer than asked: confirms to reconcile.
    pub stale_pending: u32,
}
