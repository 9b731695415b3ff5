use actix_web::{web, HttpResponse};
use booking_domain::{BookingService, SeatCode};
use serde::{Deserialize, Serialize};

use crate::auth::Identity;
use crate::error::ApiError;
use crate::extract::{event_id, JsonBody};
use crate::routes::{created, timestamp};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Body {
    user_id: Option<String>,
    seat_codes: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Held {
    hold_group_id: String,
    expires_in: u64,
    expires_at: String,
    seat_codes: Vec<SeatCode>,
}

pub async fn handle(
    service: web::Data<BookingService>,
    identity: Identity,
    path: web::Path<String>,
    JsonBody(body): JsonBody<Body>,
) -> Result<HttpResponse, ApiError> {
    let event = event_id(&path)?;
    let caller = identity.caller(body.user_id.as_deref())?;
    // Bound the work before validating each code: an oversized list is
    // refused whole.
    let max = service.limits().max_seats_per_hold as usize;
    if body.seat_codes.len() > max {
        return Err(booking_domain::ReserveError::TooManySeats { max: max as u32 }.into());
    }
    let codes = body
        .seat_codes
        .iter()
        .map(|raw| SeatCode::parse(raw))
        .collect::<Result<Vec<_>, _>>()
        .map_err(ApiError::validation)?;
    let hold = service.reserve(event, caller.user, codes).await?;
    let id = hold.id.to_string();
    Ok(created(
        format!("/holds/{id}"),
        Held {
            hold_group_id: id,
            expires_in: service.limits().hold_ttl.as_secs(),
            expires_at: timestamp(hold.expires_at),
            seat_codes: hold.seats.iter().map(|seat| seat.code()).collect(),
        },
    ))
}
