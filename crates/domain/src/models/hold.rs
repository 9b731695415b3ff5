use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{EventId, HoldId, SeatNo, UserId};

/// Which seats a reserve asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeatChoice {
    /// These seats, distinct and existing in the event, in the client's
    /// order.
    Seats(Vec<SeatNo>),
    /// The best `n` available seats: `n` adjacent seats in one row, the
    /// lowest such row and within it the lowest seats; only when no row
    /// has `n` together, the first `n` available seats in venue order.
    Best(u32),
}

impl SeatChoice {
    /// How many seats the request takes.
    pub fn len(&self) -> u32 {
        match self {
            Self::Seats(seats) => seats.len() as u32,
            Self::Best(n) => *n,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A request to hold seats, fully validated against the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldRequest {
    pub id: HoldId,
    pub event: EventId,
    pub user: UserId,
    pub seats: SeatChoice,
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
    /// In the order they were asked for (venue order for a best-available
    /// hold).
    pub seats: Vec<SeatNo>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Where a store says it stands, for `GET /test-pg` and readiness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreInfo {
    pub version: String,
    pub current_time: DateTime<Utc>,
}
