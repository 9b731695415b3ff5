use actix_web::{web, HttpResponse};
use booking_domain::BookingService;
use serde::Serialize;

use crate::auth::Identity;
use crate::error::ApiError;
use crate::extract::HoldPath;
use crate::routes::{json, timestamp};

/// One row per seat, as the original API returned its join.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(
    as = BookingRow,
    example = json!({"booking_group_id": "0193a1b2-0000-7000-8000-000000000001", "status": "CONFIRMED",
        "user_id": "alice", "name": "Concert", "event_date": "2030-06-01T19:30:00.000Z", "seat_code": "A1"})
)]
pub struct Row<'a> {
    #[schema(format = Uuid)]
    booking_group_id: String,
    /// `CONFIRMED` or `CANCELLED`.
    #[schema(value_type = String, pattern = "^(CONFIRMED|CANCELLED)$")]
    status: &'static str,
    user_id: &'a str,
    name: &'a str,
    event_date: &'a str,
    seat_code: String,
}

/// A booking, one row per seat (owner or admin).
#[utoipa::path(
    get,
    operation_id = "getBooking",
    path = "/bookings/{bookingGroupId}",
    tag = "bookings",
    params(("bookingGroupId" = uuid::Uuid, Path, description = "The booking's id (its hold's id).")),
    security(("bearerAuth" = []), ("userIdHeader" = [])),
    responses(
        (status = 200, description = "The booking's seats.", body = Vec<Row>),
        (status = 400, description = "`INVALID_ID`, `VALIDATION_ERROR` (a bad `X-User-Id`).", body = crate::error::Body),
        (status = 401, description = "`UNAUTHORIZED`: no caller.", body = crate::error::Body),
        (status = 403, description = "`NOT_BOOKING_OWNER`.", body = crate::error::Body),
        (status = 404, description = "`BOOKING_NOT_FOUND`.", body = crate::error::Body),
    )
)]
pub async fn handle(
    service: web::Data<BookingService>,
    identity: Identity,
    HoldPath(id): HoldPath,
) -> Result<HttpResponse, ApiError> {
    let caller = identity.caller(None)?;
    let view = service.booking(&caller, id).await?;
    let (booking, event) = (&view.booking, &view.event);
    let event_date = timestamp(event.date);
    let rows: Vec<Row> = booking
        .seats
        .iter()
        .map(|seat| Row {
            booking_group_id: booking.id.to_string(),
            status: booking.status.as_str(),
            user_id: booking.user.as_str(),
            name: &event.name,
            event_date: event_date.as_str(),
            seat_code: event.code(*seat).to_string(),
        })
        .collect();
    Ok(json(HttpResponse::Ok(), rows))
}
