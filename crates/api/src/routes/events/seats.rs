//! The seat map: every seat's name, row and state, in venue order, exact at
//! the instant the store was read. A 100,000-seat map is a few megabytes of
//! JSON, so it is written straight into one buffer rather than through a
//! value per seat.

use std::fmt::Write as _;

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
    // Labels and states are ASCII letters and digits: nothing to escape.
    let mut body = String::with_capacity(map.states.len() * 48 + 2);
    body.push('[');
    let mut first = true;
    for (name, state) in event.layout.names().zip(&map.states) {
        if only.is_some_and(|only| only != *state) {
            continue;
        }
        if !first {
            body.push(',');
        }
        first = false;
        let _ = write!(
            body,
            r#"{{"seatCode":"{name}","row":"{}","status":"{}"}}"#,
            name.row,
            state.as_str(),
        );
    }
    body.push(']');
    Ok(HttpResponse::Ok()
        .insert_header(ContentType::json())
        .body(body))
}
