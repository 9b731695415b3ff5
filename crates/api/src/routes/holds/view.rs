use actix_web::{web, HttpResponse};
use booking_domain::{BookingService, Reservation};
use serde::Serialize;

use crate::auth::Identity;
use crate::error::ApiError;
use crate::extract::hold_id;
use crate::routes::timestamp;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct HoldView {
    hold_group_id: String,
    event_id: i64,
    user_id: String,
    seat_codes: Vec<String>,
    created_at: String,
    expires_at: String,
}

impl From<Reservation> for HoldView {
    fn from(Reservation { event, hold }: Reservation) -> Self {
        Self {
            hold_group_id: hold.id.to_string(),
            event_id: hold.event.get(),
            user_id: hold.user.to_string(),
            seat_codes: event
                .codes(&hold.seats)
                .into_iter()
                .map(|code| code.to_string())
                .collect(),
            created_at: timestamp(hold.created_at),
            expires_at: timestamp(hold.expires_at),
        }
    }
}

/// The `Location` of a new hold: its owner can read it until it expires.
pub async fn handle(
    service: web::Data<BookingService>,
    identity: Identity,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = hold_id("holdGroupId", &path)?;
    let caller = identity.caller(None)?;
    let reservation = service.hold(&caller.user, id).await?;
    Ok(HttpResponse::Ok().json(HoldView::from(reservation)))
}
