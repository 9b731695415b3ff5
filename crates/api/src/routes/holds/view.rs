use actix_web::{web, HttpResponse};
use booking_domain::BookingService;
use serde::Serialize;

use crate::auth::Identity;
use crate::error::ApiError;
use crate::extract::hold_id;
use crate::routes::timestamp;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HoldView {
    hold_group_id: String,
    event_id: i64,
    user_id: String,
    seat_codes: Vec<String>,
    expires_at: String,
}

fn not_found() -> ApiError {
    ApiError::not_found("HOLD_NOT_FOUND", "the hold has expired or does not exist")
}

/// The `Location` of a new hold: its owner can read it until it expires.
pub async fn handle(
    service: web::Data<BookingService>,
    identity: Identity,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = hold_id("holdGroupId", &path)?;
    let caller = identity.caller(None)?;
    let event = id.event_hint().ok_or_else(not_found)?;
    let hold = service.hold(event, id).await?.ok_or_else(not_found)?;
    if hold.user != caller.user {
        return Err(ApiError::new(
            actix_web::http::StatusCode::FORBIDDEN,
            "NOT_HOLD_OWNER",
            "the hold belongs to another user",
        ));
    }
    Ok(HttpResponse::Ok().json(HoldView {
        hold_group_id: hold.id.to_string(),
        event_id: hold.event.get(),
        user_id: hold.user.to_string(),
        seat_codes: hold.seats.iter().map(|s| s.code().to_string()).collect(),
        expires_at: timestamp(hold.expires_at),
    }))
}
