use actix_web::{web, HttpResponse};
use booking_domain::{BookingService, ReserveError, SeatCode, SeatRequest};
use serde::{Deserialize, Serialize};

use crate::auth::Identity;
use crate::error::ApiError;
use crate::extract::{EventPath, JsonBody};
use crate::routes::{created, timestamp, Timestamp};

/// `seatCodes` (these seats) or `quantity` (the best available), not both.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ReserveRequest, example = json!({"userId": "alice", "seatCodes": ["A1", "A2"]}))]
pub struct Body {
    /// Trust mode: names the caller. jwt mode: must be the token's `sub`
    /// if given.
    #[schema(min_length = 1, max_length = 128)]
    user_id: Option<String>,
    /// 1 to `limits.max_seats_per_hold` (10 by default) distinct codes.
    /// Give this or `quantity`, not both.
    #[schema(min_items = 1, max_items = 10, inline, value_type = Option<Vec<String>>, pattern = "^[A-Za-z0-9]{1,8}[1-9][0-9]*$")]
    seat_codes: Option<Vec<String>>,
    /// Best available: hold this many seats, adjacent in one row when a
    /// row has them (the lowest such row, its lowest seats), else the
    /// first available in venue order. 1 to `limits.max_seats_per_hold`.
    #[schema(minimum = 1, maximum = 10)]
    quantity: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(
    as = Hold,
    example = json!({"holdGroupId": "0193a1b2-0000-7000-8000-000000000001", "expiresIn": 300,
        "expiresAt": "2026-11-30T12:05:00.000Z", "seatCodes": ["A1", "A2"]})
)]
pub struct Held {
    #[schema(format = Uuid)]
    hold_group_id: String,
    /// Seconds the hold lasts (`holds.ttl_seconds`).
    expires_in: u64,
    #[schema(value_type = String, format = DateTime)]
    expires_at: Timestamp,
    #[schema(value_type = Vec<String>)]
    seat_codes: Vec<SeatCode>,
}

fn wanted(body: &Body, max: u32) -> Result<SeatRequest, ApiError> {
    match (&body.seat_codes, body.quantity) {
        (Some(codes), None) => {
            // Bound the work before validating each code: an oversized
            // list is refused whole.
            if codes.len() > max as usize {
                return Err(ReserveError::TooManySeats { max }.into());
            }
            let codes = codes
                .iter()
                .map(|raw| SeatCode::parse(raw))
                .collect::<Result<Vec<_>, _>>()
                .map_err(ApiError::validation)?;
            Ok(SeatRequest::Codes(codes))
        }
        (None, Some(quantity)) if quantity < 1 => Err(ReserveError::NoQuantity.into()),
        (None, Some(quantity)) => match u32::try_from(quantity) {
            Ok(n) if n <= max => Ok(SeatRequest::Best(n)),
            _ => Err(ReserveError::TooManySeats { max }.into()),
        },
        _ => Err(ApiError::bad_request(
            "VALIDATION_ERROR",
            "give exactly one of seatCodes and quantity",
        )),
    }
}

/// Hold seats, all or none, for `holds.ttl_seconds`: named seats, or the
/// best available `quantity`.
#[utoipa::path(
    post,
    operation_id = "reserveSeats",
    path = "/events/{eventId}/seats/reserve",
    tag = "holds",
    params(("eventId" = i64, Path, description = super::EVENT_ID, minimum = 1, example = 1)),
    request_body = Body,
    security(("bearerAuth" = []), ("userIdHeader" = []), ()),
    responses(
        (status = 201, description = "Held; `Location` is the hold.", body = Held,
            headers(("Location" = String, description = "`/holds/{holdGroupId}`"))),
        (status = 400, description = "`VALIDATION_ERROR` (no seats, a bad code), `DUPLICATE_SEATS`, `TOO_MANY_SEATS`, `INVALID_ID`, `INVALID_JSON`, `INVALID_BODY`.", body = crate::error::Body),
        (status = 401, description = "`UNAUTHORIZED`: no caller.", body = crate::error::Body),
        (status = 403, description = "`FORBIDDEN`: `userId` is not the token's user.", body = crate::error::Body),
        (status = 404, description = "`EVENT_NOT_FOUND`, `UNKNOWN_SEAT` (with `seats`).", body = crate::error::Body),
        (status = 409, description = "`SEATS_UNAVAILABLE`: a named seat is held or booked (listed in `seats`), or fewer than `quantity` seats are available.", body = crate::error::Body),
        (status = 429, description = "`HOLD_LIMIT`: the caller would hold more than `limits.max_held_seats_per_user` seats of the event.", body = crate::error::Body,
            headers(("Retry-After" = u64, description = "Seconds to wait."))),
    )
)]
pub async fn handle(
    service: web::Data<BookingService>,
    identity: Identity,
    EventPath(event): EventPath,
    JsonBody(body): JsonBody<Body>,
) -> Result<HttpResponse, ApiError> {
    let caller = identity.caller(body.user_id.as_deref())?;
    let wanted = wanted(&body, service.limits().max_seats_per_hold)?;
    let reservation = service.reserve(event, caller.user, wanted).await?;
    let (event, hold) = (reservation.event, reservation.hold);
    let id = hold.id.to_string();
    Ok(created(
        format!("/holds/{id}"),
        Held {
            hold_group_id: id,
            expires_in: service.limits().hold_ttl.as_secs(),
            expires_at: timestamp(hold.expires_at),
            seat_codes: event.codes(&hold.seats),
        },
    ))
}
