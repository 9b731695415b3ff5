use actix_web::{web, HttpResponse};
use booking_domain::{BookingService, Label, NewEvent};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::auth::Identity;
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::routes::created;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(
    as = NewEvent,
    example = json!({"name": "Concert", "date": "2030-06-01T19:30:00Z", "location": "Main hall", "totalSeats": 100})
)]
pub struct Body {
    /// 1 to 255 characters.
    #[schema(min_length = 1, max_length = 255)]
    name: String,
    /// When it starts, RFC 3339.
    #[schema(format = DateTime)]
    date: String,
    /// 1 to 255 characters.
    #[schema(min_length = 1, max_length = 255)]
    location: String,
    /// Seats `S1`..`S<totalSeats>`; at most `limits.max_seats_per_event`
    /// (100,000 by default).
    #[schema(minimum = 1, maximum = 100_000)]
    total_seats: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = EventCreated, example = json!({"eventId": 1}))]
pub struct Created {
    #[schema(minimum = 1)]
    event_id: i64,
}

/// Create an event and its seats (admins; anyone in trust mode).
#[utoipa::path(
    post,
    operation_id = "createEvent",
    path = "/events",
    tag = "events",
    request_body = Body,
    security(("bearerAuth" = []), ()),
    responses(
        (status = 201, description = "Created; `Location` is the event.", body = Created,
            headers(("Location" = String, description = "`/events/{eventId}`"))),
        (status = 400, description = "`VALIDATION_ERROR`, `INVALID_JSON`, `INVALID_BODY`.", body = crate::error::Body),
        (status = 401, description = "`UNAUTHORIZED` (jwt mode: no or a bad token).", body = crate::error::Body),
        (status = 403, description = "`FORBIDDEN`: not an admin.", body = crate::error::Body),
    )
)]
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
