//! One handler per file, grouped by resource. Each extracts, calls the
//! service, and shapes the answer; statuses of failures live in `error`.

mod bookings;
mod events;
mod health;
mod holds;
mod users;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, SecondsFormat, Utc};

use crate::error::ApiError;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/events").route(web::post().to(events::create::handle)))
        .service(resource("/events/{event_id}").route(web::get().to(events::details::handle)))
        .service(resource("/events/{event_id}/seats").route(web::get().to(events::seats::handle)))
        .service(resource("/events/{event_id}/stream").route(web::get().to(events::stream::handle)))
        .service(resource("/events/{event_id}/map").route(web::get().to(events::map::handle)))
        .service(
            resource("/events/{event_id}/seats/reserve")
                .route(web::post().to(events::reserve::handle)),
        )
        .service(
            resource("/events/{event_id}/seats/confirm")
                .route(web::post().to(events::confirm::handle)),
        )
        .service(
            resource("/events/{event_id}/seats/release")
                .route(web::post().to(events::release::handle)),
        )
        .service(
            resource("/bookings/{booking_id}/cancel")
                .route(web::post().to(bookings::cancel::handle)),
        )
        .service(resource("/bookings/{booking_id}").route(web::get().to(bookings::view::handle)))
        .service(resource("/holds/{hold_id}").route(web::get().to(holds::view::handle)))
        .service(resource("/holds/{hold_id}/extend").route(web::post().to(holds::extend::handle)))
        .service(resource("/users/me/bookings").route(web::get().to(users::bookings::handle)))
        .service(resource("/test-pg").route(web::get().to(health::test_pg)))
        .service(resource("/health/live").route(web::get().to(health::live)))
        .service(resource("/health/ready").route(web::get().to(health::ready)))
        .default_service(web::to(not_found));
}

/// A resource whose wrong methods get a JSON 405, like every other error.
fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(|| async {
        Err::<HttpResponse, _>(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            "method not allowed",
        ))
    }))
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found("NOT_FOUND", "no such endpoint"))
}

/// Timestamps as the original API wrote them (JavaScript's `toISOString`).
pub(crate) fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub(crate) fn created(location: String, body: impl serde::Serialize) -> HttpResponse {
    HttpResponse::Created()
        .insert_header((actix_web::http::header::LOCATION, location))
        .json(body)
}
