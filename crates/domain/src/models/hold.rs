use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{EventId, HoldId, SeatNo, UserId};

/// A request to hold seats, fully validated against the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldRequest {
    pub id: HoldId,
    pub event: EventId,
    pub user: UserId,
    /// Distinct seats that exist in the event, in the client's order.
    pub seats: Vec<SeatNo>,
    pub ttl: Duration,
    /// The most seats of this event that one user may hold at once,
    /// counting this request.
    pub max_held_per_user: u32,
}

/// Seats held for a user until `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    pub id: HoldId,
    pub event: EventId,
    pub user: UserId,
    pub seats: Vec<SeatNo>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookingStatus {
    Confirmed,
    Cancelled,
}

impl BookingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confirmed => "CONFIRMED",
            Self::Cancelled => "CANCELLED",
        }
    }
}

/// A confirmed hold. Its id is the hold's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booking {
    pub id: HoldId,
    pub event: EventId,
    pub user: UserId,
    pub status: BookingStatus,
    pub seats: Vec<SeatNo>,
    pub created_at: DateTime<Utc>,
}

/// Who is asking. Admins may view and cancel anyone's bookings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user: UserId,
    pub admin: bool,
}

impl Caller {
    pub fn user(user: UserId) -> Self {
        Self { user, admin: false }
    }

    pub fn may_act_for(&self, owner: &UserId) -> bool {
        self.admin || &self.user == owner
    }
}

/// Where a store says it stands, for `GET /test-pg` and readiness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreInfo {
    pub version: String,
    pub current_time: DateTime<Utc>,
}
