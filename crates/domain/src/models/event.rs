use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{EventId, Label, Layout, SeatCode, SeatNo, UserId};

/// What an admin asks for when creating an event. The layout's size is
/// checked against the configured limit by the service, not here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub name: Label,
    pub date: DateTime<Utc>,
    pub location: Label,
    pub layout: Arc<Layout>,
    /// Set when the client sent an `Idempotency-Key`: the repo records it
    /// with the event, in the same transaction, so a replayed create can
    /// never make a second event.
    pub idempotency: Option<IdempotencyKey>,
}

/// A client's `Idempotency-Key` for one caller, and the fingerprint of the
/// request it was first used with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    /// Whose key it is: keys are scoped per caller. Anonymous creates
    /// (trust mode) share the empty scope.
    pub caller: Option<UserId>,
    pub key: String,
    /// A digest of the request (method, path, body): the same key with
    /// another request is refused.
    pub fingerprint: String,
}

/// An event as stored. Events never change after creation, which is what
/// makes caching them safe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: EventId,
    pub name: String,
    pub date: DateTime<Utc>,
    pub location: Option<String>,
    pub layout: Arc<Layout>,
    pub created_at: DateTime<Utc>,
}

impl Event {
    pub fn total_seats(&self) -> u32 {
        self.layout.total()
    }

    /// The seat a code names in this event, if there is one.
    pub fn seat(&self, code: &SeatCode) -> Option<SeatNo> {
        self.layout.seat(code)
    }

    /// The name of one of this event's seats.
    pub fn code(&self, seat: SeatNo) -> SeatCode {
        self.layout
            .code(seat)
            // Seats come from this event's own stores; one beyond the
            // layout is a bug, but naming it beats failing a whole answer.
            .unwrap_or_else(|| SeatCode::parse(&format!("X{}", seat.get())).expect("a valid code"))
    }

    pub fn codes(&self, seats: &[SeatNo]) -> Vec<SeatCode> {
        seats.iter().map(|seat| self.code(*seat)).collect()
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
    /// Clamps a store's counts into the event, so the three always add up
    /// even if a store were off by one.
    pub fn of(total: u32, counts: SeatCounts) -> Self {
        let confirmed = counts.booked.min(total);
        Self {
            total,
            confirmed,
            held: counts.held.min(total - confirmed),
        }
    }

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
    /// Holds pending for longer than asked: confirms to settle.
    pub stale_pending: u32,
}

/// What a seat is at one instant, as the seat map shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SeatState {
    Available,
    /// Held by an unexpired hold, or being confirmed.
    Held,
    Booked,
}

impl SeatState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Available => "available",
            Self::Held => "held",
            Self::Booked => "booked",
        }
    }
}

/// Every seat's state at one instant, in venue order: `states[0]` is seat 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatMap {
    pub states: Vec<SeatState>,
}

impl SeatMap {
    pub fn counts(&self) -> SeatCounts {
        let mut counts = SeatCounts::default();
        for state in &self.states {
            match state {
                SeatState::Available => {}
                SeatState::Held => counts.held += 1,
                SeatState::Booked => counts.booked += 1,
            }
        }
        counts
    }
}
