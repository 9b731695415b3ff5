//! Rows into domain values. Rows written by the original API, or by hand,
//! may hold what the domain cannot represent (a user id of 200 characters,
//! a seat not named `S<n>`): those are reported as internal errors naming
//! the column, never patched over.

use booking_domain::{
    Booking, BookingStatus, EventId, HoldId, SeatCode, SeatNo, StoreError, UserId,
};
use chrono::{DateTime, Utc};
use tokio_postgres::types::FromSql;
use tokio_postgres::Row;

use crate::errors::{self, bad_data};

/// Column `idx` of `row`, with type mismatches as errors, not panics.
pub(crate) fn get<'a, T: FromSql<'a>>(row: &'a Row, idx: usize) -> Result<T, StoreError> {
    row.try_get(idx).map_err(errors::query)
}

/// Event ids are `int4` in the schema and `i64` in the domain.
pub(crate) fn event_id(raw: i32) -> Result<EventId, StoreError> {
    EventId::new(raw.into()).map_err(|_| bad_data("events.id is not positive"))
}

pub(crate) fn seat_no(code: &str) -> Result<SeatNo, StoreError> {
    SeatCode::parse(code)
        .ok()
        .as_ref()
        .and_then(SeatNo::from_code)
        .ok_or_else(|| bad_data("seats.seat_code is not an S<n> code"))
}

pub(crate) fn user_id(raw: &str) -> Result<UserId, StoreError> {
    UserId::parse(raw).map_err(|_| bad_data("bookings.user_id is not a valid user id"))
}

pub(crate) fn status(raw: &str) -> Result<BookingStatus, StoreError> {
    match raw {
        "CONFIRMED" => Ok(BookingStatus::Confirmed),
        "CANCELLED" => Ok(BookingStatus::Cancelled),
        _ => Err(bad_data(
            "bookings.status is neither CONFIRMED nor CANCELLED",
        )),
    }
}

/// A booking from its rows, each `(event_id, user_id, status, created_at,
/// seat_code)` starting at column `from`; `None` without rows.
///
/// Rows of one group agree on event, user and status when this service
/// wrote them. Should old rows disagree on status, any CONFIRMED row makes
/// the booking CONFIRMED, so it can still be cancelled as a whole.
pub(crate) fn booking(
    id: HoldId,
    rows: &[Row],
    from: usize,
) -> Result<Option<Booking>, StoreError> {
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let mut booking = Booking {
        id,
        event: event_id(get(first, from)?)?,
        user: user_id(get(first, from + 1)?)?,
        status: BookingStatus::Cancelled,
        seats: Vec::with_capacity(rows.len()),
        created_at: get(first, from + 3)?,
    };
    for row in rows {
        if status(get(row, from + 2)?)? == BookingStatus::Confirmed {
            booking.status = BookingStatus::Confirmed;
        }
        let created_at: DateTime<Utc> = get(row, from + 3)?;
        booking.created_at = booking.created_at.min(created_at);
        booking.seats.push(seat_no(get(row, from + 4)?)?);
    }
    Ok(Some(booking))
}
