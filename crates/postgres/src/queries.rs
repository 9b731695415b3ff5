//! The use cases as SQL. Each is one statement, so one round trip and its
//! own transaction: the data-modifying CTEs below check and write in one
//! step, and the statement commits or fails as a whole.

use async_trait::async_trait;
use booking_domain::{
    Booking, BookingRepo, BookingStatus, CancelOutcome, ConfirmOutcome, Event, EventId, Hold,
    HoldId, NewEvent, SeatNo, StoreError, StoreInfo,
};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::errors::{self, bad_data};
use crate::rows::{self, get};
use crate::PostgresRepo;

/// Inserts the event and all its seats. Seat `n` is named `'S' || n`, the
/// scheme of `SeatNo::code`; generate_series makes it one set-based insert
/// however many seats there are.
const CREATE_EVENT: &str = "
WITH event AS (
    INSERT INTO events (name, event_date, location, total_seats)
    VALUES ($1, $2, $3, $4::int4)
    RETURNING id, event_date, created_at
), seats AS (
    INSERT INTO seats (event_id, seat_code)
    SELECT event.id, 'S' || n FROM event, generate_series(1, $4::int4) AS n
)
SELECT id, event_date, created_at FROM event";

const EVENT: &str = "
SELECT id, name, event_date, location, total_seats, created_at FROM events WHERE id = $1";

/// Books every seat of a hold, or reports why not, in one statement:
/// - rows of this booking id, whatever their status: `existing`, and
///   nothing is written (a retried confirm);
/// - else seats with a CONFIRMED booking: `taken`, nothing written;
/// - else one row per seat, inserted in seat id order so that confirms of
///   overlapping seats wait on each other instead of deadlocking, and a
///   `created` row. Nothing is inserted unless every seat exists.
///
/// The checks read the statement's snapshot, so a confirm running
/// alongside can still insert the same seat: the partial unique index then
/// fails this statement as a whole (23505), and the caller re-runs it to
/// find out what happened.
const CONFIRM: &str = "
WITH existing AS (
    SELECT b.event_id, b.user_id, b.status, b.created_at, s.seat_code
    FROM bookings b JOIN seats s ON s.id = b.seat_id
    WHERE b.booking_group_id = $1
    ORDER BY b.id
), wanted AS (
    SELECT id, seat_code FROM seats WHERE event_id = $2 AND seat_code = ANY($3::text[])
), taken AS (
    -- A lookup per seat in the partial unique index, whatever the planner
    -- thinks of the event's size: LIMIT keeps it from becoming a hash join
    -- over every booking of the event.
    SELECT w.seat_code FROM wanted w
    CROSS JOIN LATERAL (
        SELECT 1 FROM bookings b
        WHERE b.event_id = $2 AND b.seat_id = w.id AND b.status = 'CONFIRMED'
        LIMIT 1
    ) AS confirmed
), inserted AS (
    INSERT INTO bookings (booking_group_id, event_id, seat_id, user_id, status)
    SELECT $1, $2, w.id, $4, 'CONFIRMED' FROM wanted w
    WHERE NOT EXISTS (SELECT 1 FROM existing)
      AND NOT EXISTS (SELECT 1 FROM taken)
      AND (SELECT count(*) FROM wanted) = cardinality($3::text[])
    ORDER BY w.id
    RETURNING created_at
)
SELECT 'existing', event_id, user_id, status, created_at, seat_code FROM existing
UNION ALL
SELECT 'taken', NULL, NULL, NULL, NULL, seat_code FROM taken
WHERE NOT EXISTS (SELECT 1 FROM existing)
UNION ALL
SELECT 'created', NULL, NULL, NULL, max(created_at), NULL FROM inserted
HAVING count(*) > 0";

/// The confirm statement as the repo runs it ($1 booking id, $2 event id,
/// $3 seat codes, $4 user id), for benchmarks that measure its ceiling with
/// pgbench.
pub fn confirm_statement() -> &'static str {
    CONFIRM
}

const BOOKING: &str = "
SELECT b.event_id, b.user_id, b.status, b.created_at, s.seat_code
FROM bookings b JOIN seats s ON s.id = b.seat_id
WHERE b.booking_group_id = $1
ORDER BY b.id";

/// Cancels every CONFIRMED row of the booking and returns all its rows as
/// they were before, with how many this statement cancelled. A concurrent
/// cancel waits on the row locks, then finds nothing left to cancel.
const CANCEL: &str = "
WITH cancelled AS (
    UPDATE bookings SET status = 'CANCELLED'
    WHERE booking_group_id = $1 AND status = 'CONFIRMED'
    RETURNING id
)
SELECT (SELECT count(*) FROM cancelled), b.event_id, b.user_id, b.status, b.created_at, s.seat_code
FROM bookings b JOIN seats s ON s.id = b.seat_id
WHERE b.booking_group_id = $1
ORDER BY b.id";

const BOOKED_SEATS: &str = "
SELECT s.seat_code, b.booking_group_id
FROM bookings b JOIN seats s ON s.id = b.seat_id
WHERE b.event_id = $1 AND b.status = 'CONFIRMED'";

const INFO: &str = "SELECT version(), now()";

/// How often a confirm that lost a race is re-run. One re-run settles a
/// race with a committed confirm; more only matter when bookings of the
/// contested seats are being cancelled at the same moment.
const CONFIRM_ATTEMPTS: usize = 3;

/// The `int4` an event id is stored as; ids beyond it cannot exist.
fn int4(id: EventId) -> Option<i32> {
    i32::try_from(id.get()).ok()
}

#[async_trait]
impl BookingRepo for PostgresRepo {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn create_event(&self, new: &NewEvent) -> Result<Event, StoreError> {
        let total_seats =
            i32::try_from(new.total_seats).map_err(|_| bad_data("total_seats exceeds int4"))?;
        let client = self.client().await?;
        let statement = client
            .prepare_cached(CREATE_EVENT)
            .await
            .map_err(errors::query)?;
        let row = client
            .query_one(
                &statement,
                &[
                    &new.name.as_str(),
                    &new.date,
                    &new.location.as_str(),
                    &total_seats,
                ],
            )
            .await
            .map_err(errors::query)?;
        Ok(Event {
            id: rows::event_id(get(&row, 0)?)?,
            name: new.name.as_str().to_owned(),
            // As stored: Postgres keeps microseconds, so a re-read matches.
            date: get(&row, 1)?,
            location: Some(new.location.as_str().to_owned()),
            total_seats: new.total_seats,
            created_at: get(&row, 2)?,
        })
    }

    #[tracing::instrument(level = "debug", skip_all, fields(event = %id))]
    async fn event(&self, id: EventId) -> Result<Option<Event>, StoreError> {
        let Some(id) = int4(id) else {
            return Ok(None);
        };
        let client = self.client().await?;
        let statement = client.prepare_cached(EVENT).await.map_err(errors::query)?;
        let Some(row) = client
            .query_opt(&statement, &[&id])
            .await
            .map_err(errors::query)?
        else {
            return Ok(None);
        };
        let total_seats: i32 = get(&row, 4)?;
        Ok(Some(Event {
            id: rows::event_id(get(&row, 0)?)?,
            name: get(&row, 1)?,
            date: get(&row, 2)?,
            location: get(&row, 3)?,
            total_seats: u32::try_from(total_seats)
                .map_err(|_| bad_data("events.total_seats is negative"))?,
            created_at: get(&row, 5)?,
        }))
    }

    #[tracing::instrument(level = "debug", skip_all, fields(event = %hold.event, booking = %hold.id))]
    async fn confirm(&self, hold: &Hold) -> Result<ConfirmOutcome, StoreError> {
        let event = int4(hold.event).ok_or_else(|| bad_data("hold of an event id beyond int4"))?;
        let codes: Vec<String> = hold.seats.iter().map(|s| s.code().to_string()).collect();
        let group: Uuid = hold.id.uuid();
        let client = self.client().await?;
        let statement = client
            .prepare_cached(CONFIRM)
            .await
            .map_err(errors::query)?;
        let mut attempt = 1;
        let found = loop {
            match client
                .query(&statement, &[&group, &event, &codes, &hold.user.as_str()])
                .await
            {
                Ok(found) => break found,
                // Lost to a confirm of the same seats that committed first,
                // perhaps of this very hold: the re-run sees its rows.
                Err(e) if errors::is_race(&e) && attempt < CONFIRM_ATTEMPTS => {
                    tracing::debug!(attempt, "confirm raced another one; re-running");
                    attempt += 1;
                }
                Err(e) => return Err(errors::query(e)),
            }
        };

        let kind = |row: &tokio_postgres::Row| get::<&str>(row, 0).map(|k| k.to_owned());
        let mut existing = Vec::new();
        let mut taken = Vec::new();
        let mut created_at: Option<DateTime<Utc>> = None;
        for row in found {
            match kind(&row)?.as_str() {
                "existing" => existing.push(row),
                "taken" => taken.push(rows::seat_no(get(&row, 5)?)?),
                _ => created_at = Some(get(&row, 4)?),
            }
        }
        if let Some(booking) = rows::booking(hold.id, &existing, 1)? {
            return Ok(ConfirmOutcome::Existing(booking));
        }
        if !taken.is_empty() {
            // In the hold's order, as the client asked for them.
            let seats = hold
                .seats
                .iter()
                .copied()
                .filter(|s| taken.contains(s))
                .collect();
            return Ok(ConfirmOutcome::SeatsTaken(seats));
        }
        let created_at =
            created_at.ok_or_else(|| bad_data("a hold names seats its event does not have"))?;
        Ok(ConfirmOutcome::Created(Booking {
            id: hold.id,
            event: hold.event,
            user: hold.user.clone(),
            status: BookingStatus::Confirmed,
            seats: hold.seats.clone(),
            created_at,
        }))
    }

    #[tracing::instrument(level = "debug", skip_all, fields(booking = %id))]
    async fn booking(&self, id: HoldId) -> Result<Option<Booking>, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(BOOKING)
            .await
            .map_err(errors::query)?;
        let found = client
            .query(&statement, &[&id.uuid()])
            .await
            .map_err(errors::query)?;
        rows::booking(id, &found, 0)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(booking = %id))]
    async fn cancel(&self, id: HoldId) -> Result<CancelOutcome, StoreError> {
        let client = self.client().await?;
        let statement = client.prepare_cached(CANCEL).await.map_err(errors::query)?;
        let found = client
            .query(&statement, &[&id.uuid()])
            .await
            .map_err(errors::query)?;
        let Some(mut booking) = rows::booking(id, &found, 1)? else {
            return Ok(CancelOutcome::NotFound);
        };
        let cancelled: i64 = get(&found[0], 0)?;
        if cancelled == 0 {
            return Ok(CancelOutcome::AlreadyCancelled(booking));
        }
        booking.status = BookingStatus::Cancelled;
        Ok(CancelOutcome::Cancelled(booking))
    }

    #[tracing::instrument(level = "debug", skip_all, fields(event = %event))]
    async fn booked_seats(&self, event: EventId) -> Result<Vec<(SeatNo, HoldId)>, StoreError> {
        let Some(event) = int4(event) else {
            return Ok(Vec::new());
        };
        let client = self.client().await?;
        let statement = client
            .prepare_cached(BOOKED_SEATS)
            .await
            .map_err(errors::query)?;
        let found = client
            .query(&statement, &[&event])
            .await
            .map_err(errors::query)?;
        found
            .iter()
            .map(|row| {
                let seat = rows::seat_no(get(row, 0)?)?;
                Ok((seat, HoldId::from_uuid(get(row, 1)?)))
            })
            .collect()
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn info(&self) -> Result<StoreInfo, StoreError> {
        let client = self.client().await?;
        let statement = client.prepare_cached(INFO).await.map_err(errors::query)?;
        let row = client
            .query_one(&statement, &[])
            .await
            .map_err(errors::query)?;
        let version: &str = get(&row, 0)?;
        Ok(StoreInfo {
            version: short_version(version),
            current_time: get(&row, 1)?,
        })
    }
}

/// "PostgreSQL 15.19 (Debian ...) on x86_64-pc-linux-gnu, compiled by ..."
/// becomes "PostgreSQL 15.19": the build details are noise in a health
/// check.
fn short_version(full: &str) -> String {
    full.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::short_version;

    #[test]
    fn versions_lose_their_build_details() {
        assert_eq!(
            short_version(
                "PostgreSQL 15.19 (Debian 15.19-0+deb12u1) on x86_64-pc-linux-gnu, compiled by gcc"
            ),
            "PostgreSQL 15.19"
        );
        assert_eq!(short_version("PostgreSQL 17.0"), "PostgreSQL 17.0");
    }
}
