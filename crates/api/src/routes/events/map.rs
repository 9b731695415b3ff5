//! `GET /events/:id/map`: a seat map page for people. One self-contained
//! HTML file compiled into the binary (no CDN, no build step): it draws
//! the venue by rows from the live stream and lets a person hold and
//! release seats in trust mode.

use actix_web::http::header::ContentType;
use actix_web::{web, HttpResponse};
use booking_domain::BookingService;

use crate::error::ApiError;
use crate::extract::EventPath;

const PAGE: &str = include_str!("../../../assets/map.html");

/// A seat map page for people: the venue by rows, live, where a person can
/// hold and release seats (trust mode).
#[utoipa::path(
    get,
    operation_id = "getSeatMapPage",
    path = "/events/{eventId}/map",
    tag = "events",
    params(("eventId" = i64, Path, description = super::EVENT_ID, minimum = 1, example = 1)),
    responses(
        (status = 200, description = "One self-contained HTML page.", content_type = "text/html", body = String),
        (status = 400, description = "`INVALID_ID`.", body = crate::error::Body),
        (status = 404, description = "`EVENT_NOT_FOUND`.", body = crate::error::Body),
    )
)]
pub async fn handle(
    service: web::Data<BookingService>,
    EventPath(event): EventPath,
) -> Result<HttpResponse, ApiError> {
    // An unknown event is a 404 here rather than an empty page.
    service.event_details(event).await?;
    Ok(HttpResponse::Ok()
        .insert_header(ContentType::html())
        .body(PAGE))
}
