use actix_web::{web, HttpResponse};
use booking_domain::BookingService;
use serde::Serialize;

use super::HoldRef;
use crate::auth::Identity;
use crate::error::ApiError;
use crate::extract::{hold_id, EventPath, JsonBody};
use crate::routes::json;

#[derive(Serialize, utoipa::ToSchema)]
#[schema(example = json!({"released": true}))]
pub struct Released {
    released: bool,
}

/// Give a hold's seats back before it expires.
#[utoipa::path(
    post,
    operation_id = "releaseHold",
    path = "/events/{eventId}/seats/release",
    tag = "holds",
    params(("eventId" = i64, Path, description = super::EVENT_ID, minimum = 1, example = 1)),
    request_body = super::HoldRef,
    security(("bearerAuth" = []), ("userIdHeader" = []), ()),
    responses(
        (status = 200, description = "Released.", body = Released),
        (status = 400, description = "`VALIDATION_ERROR`, `INVALID_ID`, `INVALID_JSON`, `INVALID_BODY`.", body = crate::error::Body),
        (status = 401, description = "`UNAUTHORIZED`: no caller.", body = crate::error::Body),
        (status = 403, description = "`NOT_HOLD_OWNER`, `FORBIDDEN`.", body = crate::error::Body),
        (status = 404, description = "`EVENT_NOT_FOUND`, `HOLD_NOT_FOUND` (expired, unknown or being confirmed).", body = crate::error::Body),
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
    service.release(event, &caller.user, hold).await?;
    Ok(json(HttpResponse::Ok(), Released { released: true }))
}
