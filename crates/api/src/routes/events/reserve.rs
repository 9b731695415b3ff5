use actix_web::{web, HttpResponse};
use booking_domain::{BookingService, ReserveError, SeatCode, SeatRequest};
use serde::{Deserialize, Serialize};

use crate::auth::Identity;
use crate::error::ApiError;
use crate::extract::{event_id, JsonBody};
use crate::routes::{created, timestamp};

/// `seatCodes` (these seats) or `quantity` (the best available), not both.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Body {
    user_id: Option<String>,
    seat_codes: Option<Vec<String>>,
    quantity: Option<i64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Held {
    hold_group_id: String,
    expires_in: u64,
    expires_at: String,
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

pub async fn handle(
    service: web::Data<BookingService>,
    identity: Identity,
    path: web::Path<String>,
    JsonBody(body): JsonBody<Body>,
) -> Result<HttpResponse, ApiError> {
    let event = event_id(&path)?;
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
