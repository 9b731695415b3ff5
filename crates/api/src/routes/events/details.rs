use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use actix_web::{web, HttpResponse};
use booking_domain::{Availability, BookingService, Event};
use serde::Serialize;

use crate::error::ApiError;
use crate::extract::EventPath;
use crate::routes::{json_serialized, timestamp, Timestamp};

/// The original API's shape: the event row in snake_case, counts in
/// camelCase.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(
    as = EventDetails,
    example = json!({"id": 1, "name": "Concert", "event_date": "2030-06-01T19:30:00.000Z", "location": "Main hall",
        "total_seats": 100, "created_at": "2026-11-30T12:00:00.000Z", "confirmedSeats": 2, "heldSeats": 3, "availableSeats": 95})
)]
pub struct Details<'a> {
    id: i64,
    name: &'a str,
    #[schema(value_type = String)]
    event_date: Timestamp,
    location: Option<&'a str>,
    total_seats: u32,
    #[schema(value_type = String)]
    created_at: Timestamp,
    #[serde(rename = "confirmedSeats")]
    confirmed_seats: u32,
    #[serde(rename = "heldSeats")]
    held_seats: u32,
    #[serde(rename = "availableSeats")]
    available_seats: u32,
}

/// An event and its seat counts, which always add up to `total_seats`.
#[utoipa::path(
    get,
    operation_id = "getEvent",
    path = "/events/{eventId}",
    tag = "events",
    params(("eventId" = i64, Path, description = super::EVENT_ID, minimum = 1, example = 1)),
    responses(
        (status = 200, description = "The event.", body = Details),
        (status = 400, description = "`INVALID_ID`.", body = crate::error::Body),
        (status = 404, description = "`EVENT_NOT_FOUND`.", body = crate::error::Body),
    )
)]
pub async fn handle(
    service: web::Data<BookingService>,
    EventPath(id): EventPath,
) -> Result<HttpResponse, ApiError> {
    let (event, seats) = service.event_details(id).await?;
    Ok(json_serialized(HttpResponse::Ok(), body(&event, seats)))
}

fn details(event: &Event, seats: Availability) -> Details<'_> {
    Details {
        id: event.id.get(),
        name: &event.name,
        event_date: timestamp(event.date),
        location: event.location.as_deref(),
        total_seats: event.total_seats(),
        created_at: timestamp(event.created_at),
        confirmed_seats: seats.confirmed,
        held_seats: seats.held,
        available_seats: seats.available(),
    }
}

/// Where the counts start in a serialized `Details`: they are its last
/// fields, and inside a JSON string every `"` is escaped, so this comma
/// and quote are the structure's.
const COUNTS: &str = ",\"confirmedSeats\":";

/// Events whose heads this thread has written, at most this many.
const HEADS_KEPT: usize = 256;

/// An event and the JSON of its own fields.
type Head = (Arc<Event>, Box<[u8]>);

/// `Details` as JSON: the event's part (everything before the counts) is
/// serialized once per thread and event and kept, since an event never
/// changes once created; only the three counts are written per GET. The
/// event's name, location and two times were most of a GET's serializing
/// (docs/PERFORMANCE.md, "tenth session").
fn body(event: &Arc<Event>, seats: Availability) -> web::Bytes {
    thread_local! {
        /// By id, with the event itself: a head is used only for the very
        /// event it was made from (`Arc::ptr_eq`), so another app in this
        /// process with an event of the same id (tests) never gets it, and
        /// holding the event keeps its address from being reused.
        static HEADS: RefCell<HashMap<i64, Head, foldhash::fast::FixedState>> = RefCell::default();
    }
    HEADS.with_borrow_mut(|heads| {
        let id = event.id.get();
        if heads.len() >= HEADS_KEPT && !heads.contains_key(&id) {
            heads.clear();
        }
        let (kept, head) = heads
            .entry(id)
            .or_insert_with(|| (event.clone(), make_head(event)));
        if !Arc::ptr_eq(kept, event) {
            *kept = event.clone();
            *head = make_head(event);
        }
        let mut body = Vec::with_capacity(head.len() + 80);
        body.extend_from_slice(head);
        let mut number = itoa::Buffer::new();
        body.extend_from_slice(COUNTS.as_bytes());
        body.extend_from_slice(number.format(seats.confirmed).as_bytes());
        body.extend_from_slice(b",\"heldSeats\":");
        body.extend_from_slice(number.format(seats.held).as_bytes());
        body.extend_from_slice(b",\"availableSeats\":");
        body.extend_from_slice(number.format(seats.available()).as_bytes());
        body.push(b'}');
        web::Bytes::from(body)
    })
}

/// The serialized `Details` of `event` up to its counts.
fn make_head(event: &Event) -> Box<[u8]> {
    let none = Availability {
        total: event.total_seats(),
        confirmed: 0,
        held: 0,
    };
    let whole = serde_json::to_vec(&details(event, none)).expect("Details serializes");
    let at = whole
        .windows(COUNTS.len())
        .rposition(|window| window == COUNTS.as_bytes())
        .expect("Details ends with its counts");
    whole[..at].into()
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    fn event(id: i64, name: &str, location: Option<&str>, year: i32) -> Arc<Event> {
        Arc::new(Event {
            id: booking_domain::EventId::new(id).unwrap(),
            name: name.into(),
            date: Utc.with_ymd_and_hms(year, 6, 1, 19, 30, 0).unwrap(),
            location: location.map(Into::into),
            layout: Arc::new(booking_domain::Layout::single_row(100).unwrap()),
            created_at: Utc.with_ymd_and_hms(2026, 12, 2, 9, 0, 0).unwrap(),
        })
    }

    #[test]
    fn the_kept_head_and_written_counts_match_serializing_it_whole() {
        let events = [
            event(1, "Concert", Some("Main hall"), 2030),
            // Escapes, and the counts' own text inside a string.
            event(2, "\"quoted\" \\ ,\"confirmedSeats\":9 \u{1} é", None, 2030),
            // A date `IsoTime` does not write.
            event(3, "Far", Some(""), 12_000),
        ];
        for event in &events {
            for (confirmed, held) in [(0, 0), (7, 93), (100, 0), (42, 3)] {
                let seats = Availability {
                    total: 100,
                    confirmed,
                    held,
                };
                let whole = serde_json::to_vec(&details(event, seats)).unwrap();
                // Twice: made, then kept.
                assert_eq!(body(event, seats), whole, "{}", event.name);
                assert_eq!(body(event, seats), whole, "{}", event.name);
            }
        }
    }

    #[test]
    fn a_head_is_never_used_for_another_event_of_the_same_id() {
        let one = event(7, "One", None, 2030);
        let other = event(7, "Other", None, 2030);
        let seats = Availability {
            total: 100,
            confirmed: 1,
            held: 2,
        };
        let first = body(&one, seats);
        let second = body(&other, seats);
        assert!(std::str::from_utf8(&first).unwrap().contains("\"One\""));
        assert!(std::str::from_utf8(&second).unwrap().contains("\"Other\""));
    }
}
