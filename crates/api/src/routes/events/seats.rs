//! The seat map: every seat's name, row and state, in venue order, exact at
//! the instant the store was read.

use actix_web::http::header::ContentType;
use actix_web::{web, HttpResponse};
use booking_domain::{BookingService, SeatState};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::extract::EventPath;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Query {
    status: Option<String>,
    format: Option<String>,
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

/// The compact seat map.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(example = json!({"rows": [{"label": "A", "seats": 4}, {"label": "B", "seats": 3}], "states": "aahbaab"}))]
pub struct CompactSeatMap {
    /// The rows in venue order, with their seat counts.
    rows: Vec<CompactRow>,
    /// One letter per seat in venue order: `a`, `h` or `b`.
    #[schema(pattern = "^[ahb]*$")]
    states: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CompactRow {
    label: String,
    seats: u32,
}

/// What `GET /events/:id/seats` answers, by `format`.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum SeatMapAnswer {
    List(Vec<SeatEntry>),
    Compact(CompactSeatMap),
}

/// Every seat's state, in venue order, exact at the instant it was read
/// (an expired hold's seats are available).
#[utoipa::path(
    get,
    operation_id = "getSeatMap",
    path = "/events/{eventId}/seats",
    tag = "events",
    params(
        ("eventId" = i64, Path, description = super::EVENT_ID, minimum = 1, example = 1),
        ("status" = Option<String>, Query, description = "Only the seats in this state (list format only).", pattern = "^(available|held|booked)$"),
        ("format" = Option<String>, Query, description = "`list` (the default): one object per seat. `compact`: the rows and one letter per seat (`a` available, `h` held, `b` booked), about a byte per seat.", pattern = "^(list|compact)$"),
    ),
    responses(
        (status = 200, description = "The seats, in venue order: a list, or with `format=compact` a `CompactSeatMap`.", body = SeatMapAnswer),
        (status = 400, description = "`INVALID_ID`, `VALIDATION_ERROR` (an unknown status or parameter).", body = crate::error::Body),
        (status = 404, description = "`EVENT_NOT_FOUND`.", body = crate::error::Body),
    )
)]
pub async fn handle(
    service: web::Data<BookingService>,
    EventPath(id): EventPath,
    query: Result<web::Query<Query>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let query = query.map_err(|_| {
        ApiError::bad_request(
            "VALIDATION_ERROR",
            "the query parameters are status and format",
        )
    })?;
    let only = status_filter(query.status.as_deref())?;
    let compact = match query.format.as_deref() {
        None | Some("list") => false,
        Some("compact") if only.is_none() => true,
        Some("compact") => {
            return Err(ApiError::bad_request(
                "VALIDATION_ERROR",
                "format=compact lists every seat: it takes no status",
            ))
        }
        Some(_) => {
            return Err(ApiError::bad_request(
                "VALIDATION_ERROR",
                "format must be list or compact",
            ))
        }
    };
    let (event, map) = service.seat_map(id).await?;
    let mut body = String::new();
    if compact {
        crate::live::compact_map_json(&event, &map, &mut body);
    } else {
        crate::live::seat_map_json(&event, &map, only, &mut body);
    }
    Ok(HttpResponse::Ok()
        .insert_header(ContentType::json())
        .body(body))
}
