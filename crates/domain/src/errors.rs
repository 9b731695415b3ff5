//! One error enum per use case, so callers match on what can happen there.

use crate::SeatCode;

/// A storage failure the caller cannot fix. The source is for logs only.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store cannot be reached, refused service, or did not answer in
    /// time; nothing was done (503).
    #[error("{store} is unavailable")]
    Unavailable {
        store: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A write was sent but its answer was lost (the connection dropped or
    /// timed out after sending): it may or may not have happened (503).
    /// Whoever sent it MUST act as if it might have.
    #[error("{store} did not confirm a write")]
    Indeterminate {
        store: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The store answered something it should never answer (500).
    #[error("{store} failed unexpectedly")]
    Internal {
        store: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl StoreError {
    pub fn unavailable(
        store: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self::Unavailable {
            store,
            source: source.into(),
        }
    }

    pub fn indeterminate(
        store: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self::Indeterminate {
            store,
            source: source.into(),
        }
    }

    pub fn internal(
        store: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self::Internal {
            store,
            source: source.into(),
        }
    }

    /// Which store failed.
    pub fn store(&self) -> &'static str {
        match self {
            Self::Unavailable { store, .. }
            | Self::Indeterminate { store, .. }
            | Self::Internal { store, .. } => store,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CreateEventError {
    #[error("an event may have between 1 and {max} seats")]
    TooManySeats { max: u32 },
    #[error("this Idempotency-Key was already used with another request")]
    KeyReused,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, thiserror::Error)]
pub enum EventDetailsError {
    #[error("event not found")]
    EventNotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, thiserror::Error)]
pub enum ReserveError {
    #[error("event not found")]
    EventNotFound,
    #[error("seatCodes must not be empty")]
    NoSeats,
    #[error("quantity must be at least 1")]
    NoQuantity,
    #[error("seatCodes must not contain duplicates")]
    DuplicateSeats(Vec<SeatCode>),
    #[error("at most {max} seats may be held at once")]
    TooManySeats { max: u32 },
    #[error("some seats do not exist in this event")]
    UnknownSeats(Vec<SeatCode>),
    #[error("some seats are already held or booked")]
    SeatsUnavailable(Vec<SeatCode>),
    #[error("fewer than {quantity} seats are available")]
    NotEnoughSeats { quantity: u32 },
    #[error("a user may hold at most {max} seats of an event")]
    HoldLimit { max: u32, held: u32 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, thiserror::Error)]
pub enum ConfirmError {
    #[error("event not found")]
    EventNotFound,
    #[error("the hold belongs to another event")]
    WrongEvent,
    #[error("the hold belongs to another user")]
    NotOwner,
    #[error("the hold has expired or does not exist")]
    HoldExpired,
    #[error("some seats were booked by someone else")]
    SeatsUnavailable(Vec<SeatCode>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error("event not found")]
    EventNotFound,
    #[error("the hold belongs to another user")]
    NotOwner,
    #[error("the hold has expired or does not exist")]
    HoldNotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, thiserror::Error)]
pub enum CancelError {
    #[error("booking not found")]
    NotFound,
    #[error("the booking belongs to another user")]
    Forbidden,
    #[error("the booking is already cancelled")]
    AlreadyCancelled,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, thiserror::Error)]
pub enum ViewBookingError {
    #[error("booking not found")]
    NotFound,
    #[error("the booking belongs to another user")]
    Forbidden,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, thiserror::Error)]
pub enum SeatMapError {
    #[error("event not found")]
    EventNotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, thiserror::Error)]
pub enum HoldViewError {
    #[error("the hold has expired or does not exist")]
    NotFound,
    #[error("the hold belongs to another user")]
    NotOwner,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, thiserror::Error)]
pub enum ExtendError {
    #[error("the hold has expired or does not exist")]
    HoldExpired,
    #[error("the hold belongs to another user")]
    NotOwner,
    #[error("the hold is being confirmed")]
    Confirming,
    #[error("the hold cannot be extended past {max_total_seconds} seconds from its creation")]
    AtLimit { max_total_seconds: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, thiserror::Error)]
pub enum UserBookingsError {
    #[error(transparent)]
    Store(#[from] StoreError),
}
