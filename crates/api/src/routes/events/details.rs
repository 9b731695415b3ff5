use actix_web::{web, HttpResponse};
use booking_domain::BookingService;
use serde::Serialize;

use crate::error::ApiError;
use crate::extract::EventPath;
use crate::routes::{json, timestamp, Timestamp};

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
    Ok(json(
        HttpResponse::Ok(),
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
        },
    ))
}
