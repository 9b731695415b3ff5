use actix_web::{web, HttpResponse};
use booking_domain::{BookingService, Label, NewEvent};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::auth::Identity;
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::routes::created;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Body {
    name: String,
    date: String,
    location: String,
    total_seats: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Created {
    event_id: i64,
}

pub async fn handle(
    service: web::Data<BookingService>,
    identity: Identity,
    JsonBody(body): JsonBody<Body>,
) -> Result<HttpResponse, ApiError> {
    identity.may_create_events()?;
    let max = service.limits().max_seats_per_event;
    let total_seats = u32::try_from(body.total_seats)
        .ok()
        .filter(|n| (1..=max).contains(n))
        .ok_or_else(|| {
            ApiError::bad_request(
                "VALIDATION_ERROR",
                format!("totalSeats must be an integer between 1 and {max}"),
            )
        })?;
    let date = DateTime::parse_from_rfc3339(&body.date)
        .map_err(|_| {
            ApiError::bad_request("VALIDATION_ERROR", "date must be an RFC 3339 timestamp")
        })?
        .with_timezone(&Utc);
    let new = NewEvent {
        name: Label::parse("name", &body.name).map_err(ApiError::validation)?,
        date,
        location: Label::parse("location", &body.location).map_err(ApiError::validation)?,
        total_seats,
    };
    let event = service.create_event(new).await?;
    Ok(created(
        format!("/events/{}", event.id),
        Created {
            event_id: event.id.get(),
        },
    ))
}
