use actix_web::{web, HttpResponse};
use booking_domain::BookingService;
use serde::Deserialize;
use serde_json::json;

use crate::auth::Identity;
use crate::error::ApiError;
use crate::extract::{hold_id, OptionalJsonBody};

/// The original API took no body here; a `userId` may name the caller in
/// trust mode.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Body {
    user_id: Option<String>,
}

pub async fn handle(
    service: web::Data<BookingService>,
    identity: Identity,
    path: web::Path<String>,
    OptionalJsonBody(body): OptionalJsonBody<Body>,
) -> Result<HttpResponse, ApiError> {
    let id = hold_id("bookingGroupId", &path)?;
    let caller = identity.caller(body.as_ref().and_then(|b| b.user_id.as_deref()))?;
    service.cancel(&caller, id).await?;
    Ok(HttpResponse::Ok().json(json!({ "cancelled": true })))
}
