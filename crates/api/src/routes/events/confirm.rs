use actix_web::{web, HttpResponse};
use booking_domain::BookingService;
use serde::Serialize;

use super::HoldRef;
use crate::auth::Identity;
use crate::error::ApiError;
use crate::extract::{hold_id, EventPath, JsonBody};
use crate::routes::json;

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Confirmed, example = json!({"success": true, "bookingGroupId": "0193a1b2-0000-7000-8000-000000000001"}))]
pub struct Confirmed {
    success: bool,
    /// The booking's id: the hold's id.
    #[schema(format = Uuid)]
    booking_group_id: String,
}

/// Turn a hold into a booking, exactly once: a retry answers the same.
#[utoipa::path(
    post,
    operation_id = "confirmHold",
    path = "/events/{eventId}/seats/confirm",
    tag = "holds",
    params(("eventId" = i64, Path, description = super::EVENT_ID, minimum = 1, example = 1)),
    request_body = super::HoldRef,
    security(("bearerAuth" = []), ("userIdHeader" = []), ()),
    responses(
        (status = 200, description = "Booked (or booked before by this confirm).", body = Confirmed),
        (status = 400, description = "`HOLD_EVENT_MISMATCH`, `VALIDATION_ERROR`, `INVALID_ID`, `INVALID_JSON`, `INVALID_BODY`.", body = crate::error::Body),
        (status = 401, description = "`UNAUTHORIZED`: no caller.", body = crate::error::Body),
        (status = 403, description = "`NOT_HOLD_OWNER`, `FORBIDDEN`.", body = crate::error::Body),
        (status = 404, description = "`EVENT_NOT_FOUND`.", body = crate::error::Body),
        (status = 409, description = "`SEATS_UNAVAILABLE` (with `seats`): booked meanwhile.", body = crate::error::Body),
        (status = 410, description = "`HOLD_EXPIRED`: expired or unknown.", body = crate::error::Body),
    )
)]
pub async fn handle(
    service: web::Data<BookingService>,
    identity: Identity,
    EventPath(event): EventPath,
    JsonBody(body): JsonBody<HoldRef>,
) -> Result<HttpResponse, ApiError> {
    let caller = identity.caller(body.user_id.as_deref())?;
    let hold = hold_id("holdGroupId", &body.hold_group_id)?;
    let booking = service.confirm(event, &caller.user, hold).await?;
    Ok(json(
        HttpResponse::Ok(),
        Confirmed {
            success: true,
            booking_group_id: booking.to_string(),
        },
    ))
}
