//! The seat map: every seat's name, row and state, in venue order, exact at
//! the instant the store was read.

use actix_web::http::header::ContentType;
use actix_web::{web, HttpResponse};
use booking_domain::{BookingService, SeatState};
use serde::Deserialize;

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
