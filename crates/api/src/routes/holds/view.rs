use actix_web::{web, HttpResponse};
use booking_domain::{BookingService, Reservation};
use serde::Serialize;

use crate::auth::Identity;
use crate::error::ApiError;
use crate::extract::HoldPath;
use crate::routes::{json, timestamp, Timestamp};

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"holdGroupId": "0193a1b2-0000-7000-8000-000000000001", "eventId": 1, "userId": "alice",
    "seatCodes": ["A1", "A2"], "createdAt": "2026-11-30T12:00:00.000Z", "expiresAt": "2026-11-30T12:05:00.000Z"}))]
pub struct HoldView {
    #[schema(format = Uuid)]
    hold_group_id: String,
    event_id: i64,
    user_id: String,
    seat_codes: Vec<String>,
    #[schema(value_type = String, format = DateTime)]
    created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    expires_at: Timestamp,
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
#[utoipa::path(
    get,
    operation_id = "getHold",
    path = "/holds/{holdGroupId}",
    tag = "holds",
    params(("holdGroupId" = uuid::Uuid, Path, description = "The hold's id.")),
    security(("bearerAuth" = []), ("userIdHeader" = [])),
    responses(
        (status = 200, description = "The hold, while it lasts.", body = HoldView),
        (status = 400, description = "`INVALID_ID`, `VALIDATION_ERROR` (a bad `X-User-Id`).", body = crate::error::Body),
        (status = 401, description = "`UNAUTHORIZED`: no caller.", body = crate::error::Body),
        (status = 403, description = "`NOT_HOLD_OWNER`.", body = crate::error::Body),
        (status = 404, description = "`HOLD_NOT_FOUND`: expired or unknown.", body = crate::error::Body),
    )
)]
pub async fn handle(
    service: web::Data<BookingService>,
    identity: Identity,
    HoldPath(id): HoldPath,
) -> Result<HttpResponse, ApiError> {
    let caller = identity.caller(None)?;
    let reservation = service.hold(&caller.user, id).await?;
    Ok(json(HttpResponse::Ok(), HoldView::from(reservation)))
}
