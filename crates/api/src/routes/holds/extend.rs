use actix_web::{web, HttpResponse};
use booking_domain::BookingService;
use serde::Deserialize;

use super::view::HoldView;
use crate::auth::Identity;
use crate::error::ApiError;
use crate::extract::{HoldPath, OptionalJsonBody};
use crate::routes::json;

/// No body is needed; a `userId` may name the caller in trust mode.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ExtendRequest)]
pub struct Body {
    /// Trust mode: names the caller. jwt mode: must be the token's `sub`
    /// if given.
    #[schema(min_length = 1, max_length = 128)]
    user_id: Option<String>,
}

/// Gives the owner one more hold time, up to `holds.max_total_seconds`
/// from the hold's creation.
#[utoipa::path(
    post,
    operation_id = "extendHold",
    path = "/holds/{holdGroupId}/extend",
    tag = "holds",
    params(("holdGroupId" = uuid::Uuid, Path, description = "The hold's id.")),
    request_body(content = Body, description = "Optional.", content_type = "application/json"),
    security(("bearerAuth" = []), ("userIdHeader" = [])),
    responses(
        (status = 200, description = "The hold with its new expiry.", body = super::view::HoldView),
        (status = 400, description = "`INVALID_ID`, `VALIDATION_ERROR`, `INVALID_JSON`, `INVALID_BODY`.", body = crate::error::Body),
        (status = 401, description = "`UNAUTHORIZED`: no caller.", body = crate::error::Body),
        (status = 403, description = "`NOT_HOLD_OWNER`, `FORBIDDEN`.", body = crate::error::Body),
        (status = 409, description = "`EXTENSION_LIMIT`: already at `holds.max_total_seconds`; `HOLD_CONFIRMING`.", body = crate::error::Body),
        (status = 410, description = "`HOLD_EXPIRED`: expired or unknown.", body = crate::error::Body),
    )
)]
pub async fn handle(
    service: web::Data<BookingService>,
    identity: Identity,
    HoldPath(id): HoldPath,
    OptionalJsonBody(body): OptionalJsonBody<Body>,
) -> Result<HttpResponse, ApiError> {
    let caller = identity.caller(body.as_ref().and_then(|b| b.user_id.as_deref()))?;
    let reservation = service.extend(&caller.user, id).await?;
    Ok(json(HttpResponse::Ok(), HoldView::from(reservation)))
}
