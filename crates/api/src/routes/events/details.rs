use actix_web::{web, HttpResponse};
use booking_domain::BookingService;
use serde::Serialize;

use crate::error::ApiError;
use crate::extract::event_id;
use crate::routes::timestamp;

/// The original API's shape: the event row in snake_case, counts in
/// camelCase.
#[derive(Serialize)]
struct Details<'a> {
    id: i64,
    name: &'a str,
    event_date: String,
    location: Option<&'a str>,
    total_seats: u32,
    created_at: String,
    #[serde(rename = "confirmedSeats")]
    confirmed_seats: u32,
    #[serde(rename = "heldSeats")]
    held_seats: u32,
    #[serde(rename = "availableSeats")]
    available_seats: u32,
}

pub async fn handle(
    service: web::Data<BookingService>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = event_id(&path)?;
    let (event, seats) = service.event_details(id).await?;
    Ok(HttpResponse::Ok().json(Details {
        id: event.id.get(),
        name: &event.name,
        event_date: timestamp(event.date),
        location: event.location.as_deref(),
        total_seats: event.total_seats(),
        created_at: timestamp(event.created_at),
        confirmed_seats: seats.confirmed,
        held_seats: seats.held,
        available_seats: seats.available(),
    }))
}
