//! Bookings: view one, cancel one, list a user's own.

use std::sync::Arc;

use tracing::instrument;

use super::BookingService;
use crate::ledger::Cancellation;
use crate::{
    Booking, BookingCursor, Caller, CancelError, Event, HoldId, UserBookingsError, ViewBookingError,
};

/// A booking with its event (which names its seats).
#[derive(Debug, Clone)]
pub struct BookingView {
    pub booking: Booking,
    pub event: Arc<Event>,
}

/// One page of a user's bookings, newest first.
#[derive(Debug, Clone)]
pub struct BookingList {
    pub bookings: Vec<BookingView>,
    /// Pass back for the next page; `None` on the last one.
    pub next: Option<BookingCursor>,
}

impl BookingService {
    #[instrument(skip_all, fields(booking = %id, user = %caller.user))]
    pub async fn cancel(&self, caller: &Caller, id: HoldId) -> Result<(), CancelError> {
        let booking = self.repo.booking(id).await?.ok_or(CancelError::NotFound)?;
        if !caller.may_act_for(&booking.user) {
            return Err(CancelError::Forbidden);
        }
        match self.ledger.cancel(id).await? {
            Cancellation::Cancelled => Ok(()),
            Cancellation::AlreadyCancelled => Err(CancelError::AlreadyCancelled),
            Cancellation::NotFound => Err(CancelError::NotFound),
        }
    }

    pub async fn booking(
        &self,
        caller: &Caller,
        id: HoldId,
    ) -> Result<BookingView, ViewBookingError> {
        let booking = self
            .repo
            .booking(id)
            .await?
            .ok_or(ViewBookingError::NotFound)?;
        if !caller.may_act_for(&booking.user) {
            return Err(ViewBookingError::Forbidden);
        }
        let event = self
            .event(booking.event)
            .await?
            .ok_or(ViewBookingError::NotFound)?;
        Ok(BookingView { booking, event })
    }

    /// The caller's own bookings, newest first, `limit` at a time (capped
    /// at the configured page size).
    pub async fn user_bookings(
        &self,
        caller: &Caller,
        cursor: Option<BookingCursor>,
        limit: u32,
    ) -> Result<BookingList, UserBookingsError> {
        let limit = limit.clamp(1, self.limits.max_page_size);
        let page = self.repo.user_bookings(&caller.user, cursor, limit).await?;
        let mut bookings = Vec::with_capacity(page.bookings.len());
        for booking in page.bookings {
            // Events are never deleted; one missing would be a repo bug,
            // and hiding that booking beats failing the whole page.
            if let Some(event) = self.event(booking.event).await? {
                bookings.push(BookingView { booking, event });
            }
        }
        Ok(BookingList {
            bookings,
            next: page.next,
        })
    }
}
