use actix_web::{web, HttpResponse};
use booking_domain::BookingService;
use serde::Deserialize;

use super::view::HoldView;
use crate::auth::Identity;
use crate::error::ApiError;
use crate::extract::{hold_id, OptionalJsonBody};

/// No body is needed; a `userId` may name the caller in trust mode.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Body {
    user_id: Option<String>,
}

/// Gives the owner one more hold time, up to `holds.max_total_seconds`
/// from the hold's creation.
pub async fn handle(
    service: web::Data<BookingService>,
    identity: Identity,
    path: web::Path<String>,
    OptionalJsonBody(body): OptionalJsonBody<Body>,
) -> Result<HttpResponse, ApiError> {
    let id = hold_id("holdGroupId", &path)?;
    let caller = identity.caller(body.as_ref().and_then(|b| b.user_id.as_deref()))?;
    let reservation = service.extend(&caller.user, id).await?;
    Ok(HttpResponse::Ok().json(HoldView::from(reservation)))
}
