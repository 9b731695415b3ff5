//! One error enum per use case, so callers match on what can happen there.

use crate::SeatCode;

/// A storage failure the caller cannot fix. The source is for logs only.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store cannot be reached or refused service for now (503).
    #[error("{store} is unavailable")]
    Unavailable {
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

    pub fn internal(
        store: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self::Internal {
            store,
            source: source.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CreateEventError {
    #[error("totalSeats must be between 1 and {max}")]
    TooManySeats { max: u32 },
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
    #[error("seatCodes must not contain duplicates")]
    DuplicateSeats(Vec<SeatCode>),
    #[error("at most {max} seats may be held at once")]
    TooManySeats { max: u32 },
    #[error("some seats do not exist in this event")]
    UnknownSeats(Vec<SeatCode>),
    #[error("some seats are already held or booked")]
    SeatsUnavailable(Vec<SeatCode>),
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
