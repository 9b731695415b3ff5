//! Holds: reserve seats (named or best available), read, extend, release,
//! and confirm one into a booking.

use std::collections::HashSet;
use std::sync::Arc;

use tracing::instrument;

use super::BookingService;
use crate::ledger::Confirmation;
use crate::{
    ConfirmError, Event, EventId, ExtendError, ExtendOutcome, Hold, HoldId, HoldRequest,
    HoldViewError, ReleaseError, ReleaseOutcome, ReserveError, ReserveOutcome, SeatChoice,
    SeatCode, UserId,
};

/// What a client asks to hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeatRequest {
    /// These seats, by name.
    Codes(Vec<SeatCode>),
    /// The best `n` available.
    Best(u32),
}

/// A new hold, with its event (which names its seats).
#[derive(Debug, Clone)]
pub struct Reservation {
    pub event: Arc<Event>,
    pub hold: Hold,
}

impl BookingService {
    #[instrument(skip_all, fields(event = %event_id, user = %user))]
    pub async fn reserve(
        &self,
        event_id: EventId,
        user: UserId,
        wanted: SeatRequest,
    ) -> Result<Reservation, ReserveError> {
        let max = self.limits.max_seats_per_hold;
        match &wanted {
            SeatRequest::Codes(codes) if codes.is_empty() => return Err(ReserveError::NoSeats),
            SeatRequest::Codes(codes) => {
                let duplicates = duplicates(codes);
                if !duplicates.is_empty() {
                    return Err(ReserveError::DuplicateSeats(duplicates));
                }
                if codes.len() > max as usize {
                    return Err(ReserveError::TooManySeats { max });
                }
            }
            SeatRequest::Best(0) => return Err(ReserveError::NoQuantity),
            SeatRequest::Best(n) if *n > max => return Err(ReserveError::TooManySeats { max }),
            SeatRequest::Best(_) => {}
        }
        let event = self
            .event(event_id)
            .await?
            .ok_or(ReserveError::EventNotFound)?;
        let seats = match &wanted {
            SeatRequest::Codes(codes) => {
                let unknown: Vec<SeatCode> = codes
                    .iter()
                    .filter(|code| event.seat(code).is_none())
                    .cloned()
                    .collect();
                if !unknown.is_empty() {
                    return Err(ReserveError::UnknownSeats(unknown));
                }
                SeatChoice::Seats(codes.iter().filter_map(|code| event.seat(code)).collect())
            }
            SeatRequest::Best(n) => SeatChoice::Best(*n),
        };
        let request = HoldRequest {
            id: HoldId::generate(event_id),
            event: event_id,
            user,
            seats,
            ttl: self.limits.hold_ttl,
            max_held_per_user: self.limits.max_held_seats_per_user,
        };
        match self.ledger.reserve(&event, &request).await? {
            ReserveOutcome::Held(hold) => Ok(Reservation { event, hold }),
            ReserveOutcome::Unavailable(_) if matches!(wanted, SeatRequest::Best(_)) => {
                Err(ReserveError::NotEnoughSeats {
                    quantity: request.seats.len(),
                })
            }
            ReserveOutcome::Unavailable(seats) => {
                Err(ReserveError::SeatsUnavailable(event.codes(&seats)))
            }
            ReserveOutcome::HoldLimit { held } => Err(ReserveError::HoldLimit {
                max: self.limits.max_held_seats_per_user,
                held,
            }),
        }
    }

    /// Turns a hold into a booking, exactly once: the booking's id is the
    /// hold's, and a retry by the owner answers with the same id.
    #[instrument(skip_all, fields(event = %event_id, hold = %id, user = %user))]
    pub async fn confirm(
        &self,
        event_id: EventId,
        user: &UserId,
        id: HoldId,
    ) -> Result<HoldId, ConfirmError> {
        let event = self
            .event(event_id)
            .await?
            .ok_or(ConfirmError::EventNotFound)?;
        if let Some(other) = id.event_hint().filter(|other| *other != event_id) {
            return Err(if self.hold_exists(other, id).await? {
                ConfirmError::WrongEvent
            } else {
                ConfirmError::HoldExpired
            });
        }
        match self.ledger.confirm(&event, id, user).await? {
            Confirmation::Booked => Ok(id),
            Confirmation::NotOwner => Err(ConfirmError::NotOwner),
            Confirmation::NotFound | Confirmation::Gone => Err(ConfirmError::HoldExpired),
            Confirmation::SeatsTaken(seats) => {
                Err(ConfirmError::SeatsUnavailable(event.codes(&seats)))
            }
        }
    }

    async fn hold_exists(&self, event: EventId, id: HoldId) -> Result<bool, crate::StoreError> {
        if let Some(event) = self.event(event).await? {
            if self.ledger.hold(&event, id).await?.is_some() {
                return Ok(true);
            }
        }
        Ok(self.repo.booking(id).await?.is_some())
    }

    #[instrument(skip_all, fields(event = %event_id, hold = %id, user = %user))]
    pub async fn release(
        &self,
        event_id: EventId,
        user: &UserId,
        id: HoldId,
    ) -> Result<(), ReleaseError> {
        let event = self
            .event(event_id)
            .await?
            .ok_or(ReleaseError::EventNotFound)?;
        match self.ledger.release(&event, id, user).await? {
            ReleaseOutcome::Released => Ok(()),
            ReleaseOutcome::NotFound => Err(ReleaseError::HoldNotFound),
            ReleaseOutcome::NotOwner => Err(ReleaseError::NotOwner),
        }
    }

    /// The hold `id`, for its owner, with its event.
    pub async fn hold(&self, user: &UserId, id: HoldId) -> Result<Reservation, HoldViewError> {
        let event_id = id.event_hint().ok_or(HoldViewError::NotFound)?;
        let event = self.event(event_id).await?.ok_or(HoldViewError::NotFound)?;
        let hold = self
            .ledger
            .hold(&event, id)
            .await?
            .ok_or(HoldViewError::NotFound)?;
        if &hold.user != user {
            return Err(HoldViewError::NotOwner);
        }
        Ok(Reservation { event, hold })
    }

    /// Gives the owner another hold time, up to `hold_max_total` from the
    /// hold's creation.
    #[instrument(skip_all, fields(hold = %id, user = %user))]
    pub async fn extend(&self, user: &UserId, id: HoldId) -> Result<Reservation, ExtendError> {
        let event_id = id.event_hint().ok_or(ExtendError::HoldExpired)?;
        let event = self
            .event(event_id)
            .await?
            .ok_or(ExtendError::HoldExpired)?;
        let limits = &self.limits;
        match self
            .ledger
            .extend(&event, id, user, limits.hold_ttl, limits.hold_max_total)
            .await?
        {
            ExtendOutcome::Extended(hold) => Ok(Reservation { event, hold }),
            ExtendOutcome::AtLimit(_) => Err(ExtendError::AtLimit {
                max_total_seconds: limits.hold_max_total.as_secs(),
            }),
            ExtendOutcome::Confirming => Err(ExtendError::Confirming),
            ExtendOutcome::NotFound => Err(ExtendError::HoldExpired),
            ExtendOutcome::NotOwner => Err(ExtendError::NotOwner),
        }
    }
}

/// Each code that appears more than once, once, in order of first repeat.
fn duplicates(codes: &[SeatCode]) -> Vec<SeatCode> {
    let mut seen = HashSet::with_capacity(codes.len());
    let mut reported = HashSet::new();
    codes
        .iter()
        .filter(|code| !seen.insert(*code) && reported.insert(*code))
        .cloned()
        .collect()
}
