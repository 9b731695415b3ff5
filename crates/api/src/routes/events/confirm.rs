use actix_web::{web, HttpResponse};
use booking_domain::BookingService;
use serde_json::json;

use super::HoldRef;
use crate::auth::Identity;
use crate::error::ApiError;
use crate::extract::{event_id, hold_id, JsonBody};

pub async fn handle(
    service: web::Data<BookingService>,
    identity: Identity,
    path: web::Path<String>,
    JsonBody(body): JsonBody<HoldRef>,
) -> Result<HttpResponse, ApiError> {
    let event = event_id(&path)?;
    let caller = identity.caller(body.user_id.as_deref())?;
    let hold = hold_id("holdGroupId", &body.hold_group_id)?;
    let booking = service.confirm(event, &caller.user, hold).await?;
    Ok(HttpResponse::Ok().json(json!({ "success": true, "bookingGroupId": booking.to_string() })))
}
