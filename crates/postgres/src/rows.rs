//! Rows into domain values. Rows written by the original API, or by hand,
//! may hold what the domain cannot represent (a user id of 200 characters,
//! rows that do not add up to the event's seats): those are reported as
//! internal errors naming the column, never patched over.

use std::sync::Arc;

use booking_domain::{
    Booking, BookingStatus, Event, EventId, HoldId, Layout, Row as SeatRow, RowLabel, SeatNo,
    StoreError, UserId,
};
use chrono::{DateTime, Utc};
use tokio_postgres::types::FromSql;
use tokio_postgres::Row;

use crate::errors::{self, bad_data};

/// Column `idx` of `row`, with type mismatches as errors, not panics.
pub(crate) fn get<'a, T: FromSql<'a>>(row: &'a Row, idx: usize) -> Result<T, StoreError> {
    row.try_get(idx).map_err(errors::column)
}

pub(crate) fn event_id(raw: i64) -> Result<EventId, StoreError> {
    EventId::new(raw).map_err(|_| bad_data("events.id is not positive"))
}

pub(crate) fn seat_no(raw: i32) -> Result<SeatNo, StoreError> {
    u32::try_from(raw)
        .ok()
        .and_then(SeatNo::new)
        .ok_or_else(|| bad_data("seats.seat_no is not positive"))
}

pub(crate) fn seat_nos(raw: &[i32]) -> Result<Vec<SeatNo>, StoreError> {
    raw.iter().map(|n| seat_no(*n)).collect()
}

pub(crate) fn user_id(raw: &str) -> Result<UserId, StoreError> {
    UserId::parse(raw).map_err(|_| bad_data("booking_groups.user_id is not a valid user id"))
}

/// A group's status as the domain knows it; `None` for ABORTED (a hold
/// settled as never booked, which is no booking).
pub(crate) fn status(raw: &str) -> Result<Option<BookingStatus>, StoreError> {
    match raw {
        "CONFIRMED" => Ok(Some(BookingStatus::Confirmed)),
        "CANCELLED" => Ok(Some(BookingStatus::Cancelled)),
        "ABORTED" => Ok(None),
        _ => Err(bad_data("booking_groups.status is not a known status")),
    }
}

/// A booking from columns `(id, event_id, user_id, status, created_at,
/// seats)` starting at `from`. ABORTED groups are filtered out by the
/// statements that use this.
pub(crate) fn booking(row: &Row, from: usize) -> Result<Booking, StoreError> {
    Ok(Booking {
        id: HoldId::from_uuid(get(row, from)?),
        event: event_id(get(row, from + 1)?)?,
        user: user_id(get(row, from + 2)?)?,
        status: status(get(row, from + 3)?)?
            .ok_or_else(|| bad_data("an ABORTED group was read as a booking"))?,
        created_at: get(row, from + 4)?,
        seats: seat_nos(&get::<Vec<i32>>(row, from + 5)?)?,
    })
}

/// A group as confirm and settle find it: columns `(status, user_id,
/// created_at, seats)` from `from`, all NULL when there is none.
pub(crate) enum Found {
    None,
    Aborted,
    Booking(Booking),
}

pub(crate) fn found(
    row: &Row,
    from: usize,
    id: HoldId,
    event: EventId,
) -> Result<Found, StoreError> {
    let Some(raw) = get::<Option<&str>>(row, from)? else {
        return Ok(Found::None);
    };
    let Some(status) = status(raw)? else {
        return Ok(Found::Aborted);
    };
    Ok(Found::Booking(Booking {
        id,
        event,
        user: user_id(get(row, from + 1)?)?,
        status,
        created_at: get::<DateTime<Utc>>(row, from + 2)?,
        seats: seat_nos(&get::<Vec<i32>>(row, from + 3)?)?,
    }))
}

/// An event from `sql::EVENT`'s columns.
pub(crate) fn event(row: &Row) -> Result<Event, StoreError> {
    let total: i32 = get(row, 4)?;
    let total = u32::try_from(total).map_err(|_| bad_data("events.total_seats is negative"))?;
    let labels: Vec<String> = get(row, 6)?;
    let sizes: Vec<i32> = get(row, 7)?;
    Ok(Event {
        id: event_id(get(row, 0)?)?,
        name: get(row, 1)?,
        date: get(row, 2)?,
        location: get(row, 3)?,
        layout: Arc::new(layout(total, &labels, &sizes)?),
        created_at: get(row, 5)?,
    })
}

/// The layout stored as rows, or the original single row `S` without.
fn layout(total: u32, labels: &[String], sizes: &[i32]) -> Result<Layout, StoreError> {
    if labels.is_empty() {
        return Layout::single_row(total)
            .map_err(|_| bad_data("events.total_seats is not a valid seat count"));
    }
    let rows = labels
        .iter()
        .zip(sizes)
        .map(|(label, seats)| {
            Ok(SeatRow {
                label: RowLabel::parse(label)
                    .map_err(|_| bad_data("event_rows.label is not a valid row label"))?,
                seats: u32::try_from(*seats)
                    .map_err(|_| bad_data("event_rows.seats is negative"))?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let layout = Layout::new(rows).map_err(|_| bad_data("event_rows are not a valid layout"))?;
    if layout.total() != total {
        return Err(bad_data(
            "event_rows do not add up to the event's total_seats",
        ));
    }
    Ok(layout)
}

/// Rows as the create statements take them: labels, sizes, and whether to
/// store them (not for the original single row `S`).
pub(crate) fn layout_params(layout: &Layout) -> Result<(Vec<&str>, Vec<i32>, bool), StoreError> {
    let labels = layout.rows().iter().map(|r| r.label.as_str()).collect();
    let sizes = layout
        .rows()
        .iter()
        .map(|r| i32::try_from(r.seats).map_err(|_| bad_data("a row's seats exceed int4")))
        .collect::<Result<_, _>>()?;
    Ok((labels, sizes, !layout.is_single_row()))
}
