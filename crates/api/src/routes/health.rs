//! Liveness, readiness, and the original API's `GET /test-pg`. None of them
//! shows a connection string or a driver message.

use actix_web::{web, HttpResponse};
use booking_domain::{BookingService, StoreError, StoreInfo};
use serde_json::{json, Value};

use crate::routes::timestamp;

pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

fn store_json(result: &Result<StoreInfo, StoreError>) -> Value {
    match result {
        Ok(info) => json!({
            "connected": true,
            "version": info.version,
            "currentTime": timestamp(info.current_time),
        }),
        Err(error) => json!({ "connected": false, "error": error.to_string() }),
    }
}

pub async fn ready(service: web::Data<BookingService>) -> HttpResponse {
    let health = service.health().await;
    let up = health.bookings.is_ok() && health.holds.is_ok();
    let body = json!({
        "status": if up { "ready" } else { "unavailable" },
        "bookingStore": store_json(&health.bookings),
        "holdStore": store_json(&health.holds),
    });
    if up {
        HttpResponse::Ok().json(body)
    } else {
        unavailable().json(body)
    }
}

/// A 503 that says when to come back, as every other 503 does (see
/// `ApiError`): a store that is down is a restart or a failover away.
fn unavailable() -> actix_web::HttpResponseBuilder {
    let mut response = HttpResponse::ServiceUnavailable();
    response.insert_header((actix_web::http::header::RETRY_AFTER, "1"));
    response
}

/// The original shape `{connected, currentTime, version}` for the booking
/// store (Postgres), plus the hold store beside it.
pub async fn test_pg(service: web::Data<BookingService>) -> HttpResponse {
    let health = service.health().await;
    match (&health.bookings, &health.holds) {
        (Ok(info), Ok(_)) => HttpResponse::Ok().json(json!({
            "connected": true,
            "currentTime": timestamp(info.current_time),
            "version": info.version,
            "holdStore": store_json(&health.holds),
        })),
        _ => unavailable().json(json!({
            "error": "a storage backend is unavailable",
            "code": "SERVICE_UNAVAILABLE",
            "connected": false,
            "bookingStore": store_json(&health.bookings),
            "holdStore": store_json(&health.holds),
        })),
    }
}
