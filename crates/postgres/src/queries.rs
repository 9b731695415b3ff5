//! `BookingRepo` on the statements of `sql`: parameters in, rows read into
//! the port's outcomes. Every method is one call of the repo (one checkout,
//! one client deadline) running one statement, re-run only after a lost
//! race.

use std::time::Duration;

use async_trait::async_trait;
use booking_domain::{
    Booking, BookingCursor, BookingPage, BookingRepo, BookingStatus, CancelOutcome, ConfirmOutcome,
    CreateOutcome, Event, EventId, Hold, HoldId, NewEvent, SeatNo, SettleOutcome, StoreError,
    StoreInfo, UserId,
};
use chrono::{DateTime, Utc};
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use crate::errors::bad_data;
use crate::repo::{Statement, Step, Target};
use crate::rows::{self, get, Found};
use crate::{sql, PostgresRepo};

#[async_trait]
impl BookingRepo for PostgresRepo {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn create_event(&self, new: &NewEvent) -> Result<CreateOutcome, StoreError> {
        let total = i32::try_from(new.layout.total())
            .map_err(|_| bad_data("an event's seats exceed int4"))?;
        let (labels, sizes, store_rows) = rows::layout_params(&new.layout)?;
        let created = |id, date, created_at| Event {
            id,
            name: new.name.as_str().to_owned(),
            // As stored: Postgres keeps microseconds, so a re-read matches.
            date,
            location: Some(new.location.as_str().to_owned()),
            layout: new.layout.clone(),
            created_at,
        };
        let (name, location) = (new.name.as_str(), new.location.as_str());
        let Some(key) = &new.idempotency else {
            return self
                .run(
                    Target::Primary,
                    &sql::CREATE_EVENT,
                    &[
                        &name,
                        &new.date,
                        &location,
                        &total,
                        &labels,
                        &sizes,
                        &store_rows,
                    ],
                    |found| {
                        let row = found.first().ok_or_else(|| bad_data("no event inserted"))?;
                        let id = rows::event_id(get(row, 0)?)?;
                        Ok(Step::Done(CreateOutcome::Created(created(
                            id,
                            get(row, 1)?,
                            get(row, 2)?,
                        ))))
                    },
                )
                .await;
        };

        let caller = key.caller.as_ref().map_or("", UserId::as_str);
        let mut session = self.session(Target::Primary).await?;
        let outcome = session
            .run(
                &sql::CREATE_EVENT_KEYED,
                &[
                    &name,
                    &new.date,
                    &location,
                    &total,
                    &labels,
                    &sizes,
                    &store_rows,
                    &caller,
                    &key.key,
                    &key.fingerprint,
                ],
                |found| {
                    let row = found.first().ok_or_else(|| bad_data("no row answered"))?;
                    if let Some(id) = get::<Option<i64>>(row, 0)? {
                        let id = rows::event_id(id)?;
                        return Ok(Step::Done(Keyed::Created(created(
                            id,
                            get(row, 1)?,
                            get(row, 2)?,
                        ))));
                    }
                    match get::<Option<&str>>(row, 3)? {
                        Some(fingerprint) if fingerprint == key.fingerprint => {
                            Ok(Step::Done(Keyed::Replayed(rows::event_id(get(row, 4)?)?)))
                        }
                        Some(_) => Ok(Step::Done(Keyed::KeyReused)),
                        // Claimed by a create that committed after our
                        // snapshot: run again to read its key.
                        None => Ok(Step::Rerun),
                    }
                },
            )
            .await?;
        match outcome {
            Keyed::Created(event) => Ok(CreateOutcome::Created(event)),
            Keyed::KeyReused => Ok(CreateOutcome::KeyReused),
            // Rare: read the event in the same call (same connection and
            // deadline).
            Keyed::Replayed(id) => {
                session
                    .run(&sql::EVENT, &[&id.get()], |found| match found.first() {
                        Some(row) => Ok(Step::Done(CreateOutcome::Replayed(rows::event(row)?))),
                        None => Err(bad_data("an idempotency key names an event that is gone")),
                    })
                    .await
            }
        }
    }

    #[tracing::instrument(level = "debug", skip_all, fields(event = %id))]
    async fn event(&self, id: EventId) -> Result<Option<Event>, StoreError> {
        let read = |found: Vec<tokio_postgres::Row>| {
            found.first().map(rows::event).transpose().map(Step::Done)
        };
        // Events never change, so a replica's copy is as good as the
        // primary's; but it may not have a new one yet.
        self.read_lagging(&sql::EVENT, &[&id.get()], read, Option::is_none)
            .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(event = %hold.event, booking = %hold.id))]
    async fn confirm(&self, hold: &Hold) -> Result<ConfirmOutcome, StoreError> {
        let seats = seat_params(&hold.seats)?;
        let id: Uuid = hold.id.uuid();
        self.run(
            Target::Primary,
            &sql::CONFIRM,
            &[&id, &hold.event.get(), &seats, &hold.user.as_str()],
            |found| {
                let row = found.first().ok_or_else(|| bad_data("no row answered"))?;
                match rows::found(row, 0, hold.id, hold.event)? {
                    Found::Aborted => return Ok(Step::Done(ConfirmOutcome::Aborted)),
                    Found::Booking(booking) => {
                        return Ok(Step::Done(ConfirmOutcome::Existing(booking)))
                    }
                    Found::None => {}
                }
                let taken = rows::seat_nos(&get::<Vec<i32>>(row, 4)?)?;
                if !taken.is_empty() {
                    // In the hold's order, as the client asked for them.
                    let taken = hold
                        .seats
                        .iter()
                        .copied()
                        .filter(|s| taken.contains(s))
                        .collect();
                    return Ok(Step::Done(ConfirmOutcome::SeatsTaken(taken)));
                }
                let wanted = hold.seats.len() as i64;
                if get::<i64>(row, 5)? != wanted {
                    return Err(bad_data(
                        "a hold names seats its event does not have, or one seat twice",
                    ));
                }
                let Some(created_at) = get::<Option<DateTime<Utc>>>(row, 6)? else {
                    // A confirm or settle of this hold committed after our
                    // snapshot: run again to read what it decided.
                    return Ok(Step::Rerun);
                };
                if get::<i64>(row, 7)? != wanted {
                    return Err(bad_data("a confirm inserted fewer rows than seats"));
                }
                let mut seats = hold.seats.clone();
                seats.sort_unstable();
                Ok(Step::Done(ConfirmOutcome::Created(Booking {
                    id: hold.id,
                    event: hold.event,
                    user: hold.user.clone(),
                    status: BookingStatus::Confirmed,
                    seats,
                    created_at,
                })))
            },
        )
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(event = %hold.event, booking = %hold.id))]
    async fn settle(&self, hold: &Hold) -> Result<SettleOutcome, StoreError> {
        let count =
            i32::try_from(hold.seats.len()).map_err(|_| bad_data("a hold of too many seats"))?;
        let id: Uuid = hold.id.uuid();
        self.run(
            Target::Primary,
            &sql::SETTLE,
            &[&id, &hold.event.get(), &hold.user.as_str(), &count],
            |found| {
                let row = found.first().ok_or_else(|| bad_data("no row answered"))?;
                Ok(match rows::found(row, 0, hold.id, hold.event)? {
                    Found::Aborted => Step::Done(SettleOutcome::Aborted),
                    Found::Booking(b) if b.status == BookingStatus::Confirmed => {
                        Step::Done(SettleOutcome::Booked(b))
                    }
                    Found::Booking(b) => Step::Done(SettleOutcome::Cancelled(b)),
                    Found::None if get::<i64>(row, 4)? == 1 => Step::Done(SettleOutcome::Aborted),
                    // A confirm of this hold committed after our snapshot:
                    // run again to read its booking.
                    Found::None => Step::Rerun,
                })
            },
        )
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(booking = %id))]
    async fn booking(&self, id: HoldId) -> Result<Option<Booking>, StoreError> {
        self.run(Target::Primary, &sql::BOOKING, &[&id.uuid()], |found| {
            one_booking(&found).map(Step::Done)
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(booking = %id))]
    async fn cancel(&self, id: HoldId) -> Result<CancelOutcome, StoreError> {
        self.run(Target::Primary, &sql::CANCEL, &[&id.uuid()], |found| {
            let Some(mut booking) = one_booking(&found)? else {
                return Ok(Step::Done(CancelOutcome::NotFound));
            };
            let cancelled_now = get::<i64>(&found[0], 6)? > 0;
            // Read before the update; a concurrent cancel that won shows
            // here as CONFIRMED, but it is cancelled now either way.
            booking.status = BookingStatus::Cancelled;
            Ok(Step::Done(if cancelled_now {
                CancelOutcome::Cancelled(booking)
            } else {
                CancelOutcome::AlreadyCancelled(booking)
            }))
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn unbooks_due(
        &self,
        older_than: Duration,
        limit: u32,
    ) -> Result<Vec<Booking>, StoreError> {
        self.run(
            Target::Primary,
            &sql::UNBOOKS_DUE,
            // Capped at a century, which Postgres' intervals can hold.
            &[
                &older_than.as_secs_f64().min(100.0 * 365.25 * 86_400.0),
                &i64::from(limit),
            ],
            |found| {
                found
                    .iter()
                    .map(|row| rows::booking(row, 0))
                    .collect::<Result<_, _>>()
                    .map(Step::Done)
            },
        )
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(booking = %id))]
    async fn unbooked(&self, id: HoldId) -> Result<(), StoreError> {
        self.run(Target::Primary, &sql::UNBOOKED, &[&id.uuid()], |_| {
            Ok(Step::Done(()))
        })
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(event = %event))]
    async fn booked_seats(&self, event: EventId) -> Result<Vec<(SeatNo, HoldId)>, StoreError> {
        self.run(
            Target::Primary,
            &sql::BOOKED_SEATS,
            &[&event.get()],
            |found| {
                found
                    .iter()
                    .map(|row| {
                        let seat = rows::seat_no(get(row, 0)?)?;
                        Ok((seat, HoldId::from_uuid(get(row, 1)?)))
                    })
                    .collect::<Result<_, _>>()
                    .map(Step::Done)
            },
        )
        .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(%event))]
    async fn spent_holds(
        &self,
        event: EventId,
        within: Duration,
    ) -> Result<Vec<HoldId>, StoreError> {
        self.run(
            Target::Primary,
            &sql::SPENT_HOLDS,
            // Capped at a century, which Postgres' intervals can hold.
            &[
                &event.get(),
                &within.as_secs_f64().min(100.0 * 365.25 * 86_400.0),
            ],
            |found| {
                found
                    .iter()
                    .map(|row| Ok(HoldId::from_uuid(get(row, 0)?)))
                    .collect::<Result<_, _>>()
                    .map(Step::Done)
            },
        )
        .await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn user_bookings(
        &self,
        user: &UserId,
        cursor: Option<BookingCursor>,
        limit: u32,
    ) -> Result<BookingPage, StoreError> {
        let before = cursor.map(|c| c.created_at);
        let before_id = cursor.map(|c| c.id.uuid());
        self.read_lagging(
            &sql::USER_BOOKINGS,
            // One row more than the page: whether another page follows.
            &[&user.as_str(), &before, &before_id, &(i64::from(limit) + 1)],
            |found| {
                let more = found.len() > limit as usize;
                let bookings = found
                    .iter()
                    .take(limit as usize)
                    .map(|row| rows::booking(row, 0))
                    .collect::<Result<Vec<_>, _>>()?;
                let next = more
                    .then(|| bookings.last().map(BookingCursor::after))
                    .flatten();
                Ok(Step::Done(BookingPage { bookings, next }))
            },
            |_| false,
        )
        .await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn info(&self) -> Result<StoreInfo, StoreError> {
        self.run(Target::Primary, &sql::INFO, &[], |found| {
            let row = found.first().ok_or_else(|| bad_data("no row answered"))?;
            let version: &str = get(row, 0)?;
            Ok(Step::Done(StoreInfo {
                version: short_version(version),
                current_time: get(row, 1)?,
            }))
        })
        .await
    }
}

impl PostgresRepo {
    /// A read that may lag: from the replica when there is one, and from
    /// the primary when the replica is unavailable or its answer is one
    /// that `again_on_primary` says a lagging replica may give wrongly.
    async fn read_lagging<T>(
        &self,
        statement: &Statement,
        params: &[&(dyn ToSql + Sync)],
        read: impl FnMut(Vec<tokio_postgres::Row>) -> Result<Step<T>, StoreError> + Copy,
        again_on_primary: impl Fn(&T) -> bool,
    ) -> Result<T, StoreError> {
        if !self.has_replica() {
            return self.run(Target::Primary, statement, params, read).await;
        }
        match self.run(Target::Replica, statement, params, read).await {
            Ok(value) if !again_on_primary(&value) => return Ok(value),
            Ok(_) => {}
            Err(error @ StoreError::Unavailable { .. }) => {
                tracing::warn!(error = %error, "the read replica failed; reading the primary");
            }
            Err(error) => return Err(error),
        }
        self.run(Target::Primary, statement, params, read).await
    }
}

/// What the keyed create found.
enum Keyed {
    Created(Event),
    Replayed(EventId),
    KeyReused,
}

/// The one booking with an id, if any. Ids are UUIDs, unique in practice;
/// two groups with one id (in two events) would be data we cannot answer
/// for.
fn one_booking(found: &[tokio_postgres::Row]) -> Result<Option<Booking>, StoreError> {
    match found {
        [] => Ok(None),
        [row] => rows::booking(row, 0).map(Some),
        _ => Err(bad_data("a booking id is used in two events")),
    }
}

/// Seat numbers as the statements take them.
fn seat_params(seats: &[SeatNo]) -> Result<Vec<i32>, StoreError> {
    seats
        .iter()
        .map(|s| i32::try_from(s.get()).map_err(|_| bad_data("a seat number beyond int4")))
        .collect()
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
