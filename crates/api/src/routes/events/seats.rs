//! The seat map: every seat's name, row and state, in venue order, exact at
//! the instant the store was read.

use actix_web::http::header::ContentType;
use actix_web::{web, HttpResponse};
use booking_domain::{BookingService, SeatState};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::extract::event_id;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Query {
    status: Option<String>,
}

fn status_filter(raw: Option<&str>) -> Result<Option<SeatState>, ApiError> {
    match raw {
        None => Ok(None),
        Some("available") => Ok(Some(SeatState::Available)),
        Some("held") => Ok(Some(SeatState::Held)),
        Some("booked") => Ok(Some(SeatState::Booked)),
        Some(_) => Err(ApiError::bad_request(
            "VALIDATION_ERROR",
            "status must be one of available, held, booked",
        )),
    }
}

/// One seat of the map (the handler writes these straight as JSON).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"seatCode": "A12", "row": "A", "status": "available"}))]
pub struct SeatEntry {
    seat_code: String,
    row: String,
    /// `available`, `held` (including a hold being confirmed) or `booked`.
    #[schema(pattern = "^(available|held|booked)$")]
    status: String,
}

/// Every seat's state, in venue order, exact at the instant it was read
/// (an expired hold's seats are available).
#[utoipa::path(
    get,
    operation_id = "getSeatMap",
    path = "/events/{eventId}/seats",
    tag = "events",
    params(
        ("eventId" = i64, Path, description = "The event's id, a positive integer.", minimum = 1),
        ("status" = Option<String>, Query, description = "Only the seats in this state.", pattern = "^(available|held|booked)$"),
    ),
    responses(
        (status = 200, description = "The seats, in venue order.", body = Vec<SeatEntry>),
        (status = 400, description = "`INVALID_ID`, `VALIDATION_ERROR` (an unknown status or parameter).", body = crate::error::Body),
        (status = 404, description = "`EVENT_NOT_FOUND`.", body = crate::error::Body),
    )
)]
pub async fn handle(
    service: web::Data<BookingService>,
    path: web::Path<String>,
    query: Result<web::Query<Query>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let id = event_id(&path)?;
    let query = query.map_err(|_| {
        ApiError::bad_request("VALIDATION_ERROR", "the only query parameter is status")
    })?;
    let only = status_filter(query.status.as_deref())?;
    let (event, map) = service.seat_map(id).await?;
    let mut body = String::new();
    crate::live::seat_map_json(&event, &map, only, &mut body);
    Ok(HttpResponse::Ok()
        .insert_header(ContentType::json())
        .body(body))
}
