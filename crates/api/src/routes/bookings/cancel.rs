use actix_web::{web, HttpResponse};
use booking_domain::BookingService;
use serde::{Deserialize, Serialize};

use crate::auth::Identity;
use crate::error::ApiError;
use crate::extract::{HoldPath, OptionalJsonBody};
use crate::routes::json;

/// The original API took no body here; a `userId` may name the caller in
/// trust mode.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = CancelRequest, example = json!({"userId": "alice"}))]
pub struct Body {
    /// Trust mode: names the caller (else `X-User-Id`).
    #[schema(min_length = 1, max_length = 128)]
    user_id: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(example = json!({"cancelled": true}))]
pub struct Cancelled {
    cancelled: bool,
}

/// Cancel a booking (owner or admin); its seats are free again.
#[utoipa::path(
    post,
    operation_id = "cancelBooking",
    path = "/bookings/{bookingGroupId}/cancel",
    tag = "bookings",
    params(("bookingGroupId" = uuid::Uuid, Path, description = "The booking's id (its hold's id).")),
    request_body(content = Body, description = "Optional; the original API took none."),
    security(("bearerAuth" = []), ("userIdHeader" = []), ()),
    responses(
        (status = 200, description = "Cancelled.", body = Cancelled),
        (status = 400, description = "`INVALID_ID`, `VALIDATION_ERROR`, `INVALID_JSON`, `INVALID_BODY`.", body = crate::error::Body),
        (status = 401, description = "`UNAUTHORIZED`: no caller.", body = crate::error::Body),
        (status = 403, description = "`NOT_BOOKING_OWNER`.", body = crate::error::Body),
        (status = 404, description = "`BOOKING_NOT_FOUND`.", body = crate::error::Body),
        (status = 409, description = "`ALREADY_CANCELLED`.", body = crate::error::Body),
    )
)]
pub async fn handle(
    service: web::Data<BookingService>,
    identity: Identity,
    HoldPath(id): HoldPath,
    OptionalJsonBody(body): OptionalJsonBody<Body>,
) -> Result<HttpResponse, ApiError> {
    let caller = identity.caller(body.as_ref().and_then(|b| b.user_id.as_deref()))?;
    service.cancel(&caller, id).await?;
    Ok(json(HttpResponse::Ok(), Cancelled { cancelled: true }))
}
