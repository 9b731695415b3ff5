//! Liveness, readiness, and the original API's `GET /test-pg`. None of them
//! shows a connection string or a driver message.

use actix_web::{web, HttpResponse};
use booking_domain::{BookingService, StoreError, StoreInfo};
use serde_json::{json, Value};

use crate::error::service_unavailable;
use crate::routes::{json, timestamp};

/// The `error` of a health endpoint's 503.
const STORES_DOWN: &str = "a storage backend is unavailable";

/// One store's answer, as the health endpoints show it.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // the document's; the handlers write it with json!
#[schema(rename_all = "camelCase")]
pub struct StoreStatus {
    connected: bool,
    /// The server's version, when connected.
    version: Option<String>,
    /// The server's clock, when connected.
    #[schema(format = DateTime)]
    current_time: Option<String>,
    /// Why not, when not connected (never a connection string).
    error: Option<String>,
}

#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
#[schema(rename_all = "camelCase")]
#[schema(example = json!({"status": "ok"}))]
pub struct Live {
    #[schema(pattern = "^ok$")]
    status: String,
}

#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
#[schema(rename_all = "camelCase")]
#[schema(example = json!({"status": "ready", "bookingStore": {"connected": true, "version": "PostgreSQL 15", "currentTime": "2026-11-30T12:00:00.000Z"},
    "holdStore": {"connected": true, "version": "Redis 7.0.15", "currentTime": "2026-11-30T12:00:00.000Z"}}))]
pub struct Ready {
    /// `ready` or `unavailable`.
    #[schema(pattern = "^(ready|unavailable)$")]
    status: String,
    booking_store: StoreStatus,
    hold_store: StoreStatus,
    /// When unavailable: what every error body says.
    error: Option<String>,
    /// When unavailable: `SERVICE_UNAVAILABLE`.
    #[schema(pattern = "^SERVICE_UNAVAILABLE$")]
    code: Option<String>,
}

#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
#[schema(rename_all = "camelCase")]
#[schema(example = json!({"connected": true, "currentTime": "2026-11-30T12:00:00.000Z", "version": "PostgreSQL 15",
    "holdStore": {"connected": true, "version": "Redis 7.0.15", "currentTime": "2026-11-30T12:00:00.000Z"}}))]
pub struct TestPg {
    connected: bool,
    #[schema(format = DateTime)]
    current_time: String,
    version: String,
    hold_store: StoreStatus,
}

/// The original API's 503 of `/test-pg`: the error shape, plus both stores.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
#[schema(rename_all = "camelCase")]
pub struct TestPgDown {
    error: String,
    #[schema(pattern = "^SERVICE_UNAVAILABLE$")]
    code: String,
    connected: bool,
    booking_store: StoreStatus,
    hold_store: StoreStatus,
}

/// Liveness: the process answers.
#[utoipa::path(
    get,
    path = "/health/live",
    operation_id = "live",
    tag = "operations",
    responses((status = 200, description = "Alive.", body = Live))
)]
pub async fn live() -> HttpResponse {
    json(HttpResponse::Ok(), json!({ "status": "ok" }))
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

/// Readiness: both stores answer.
#[utoipa::path(
    get,
    path = "/health/ready",
    operation_id = "ready",
    tag = "operations",
    responses(
        (status = 200, description = "Ready.", body = Ready),
        (status = 503, description = "A store is down.", body = Ready,
            headers(("Retry-After" = u64, description = "Seconds to wait."))),
    )
)]
pub async fn ready(service: web::Data<BookingService>) -> HttpResponse {
    let health = service.health().await;
    let up = health.bookings.is_ok() && health.holds.is_ok();
    let mut body = json!({
        "status": if up { "ready" } else { "unavailable" },
        "bookingStore": store_json(&health.bookings),
        "holdStore": store_json(&health.holds),
    });
    if up {
        return json(HttpResponse::Ok(), body);
    }
    // A 503 like every other: `error` and `code` beside the stores.
    body["error"] = json!(STORES_DOWN);
    body["code"] = json!("SERVICE_UNAVAILABLE");
    json(service_unavailable(), body)
}

/// The original shape `{connected, currentTime, version}` for the booking
/// store (Postgres), plus the hold store beside it.
#[utoipa::path(
    get,
    path = "/test-pg",
    operation_id = "testPg",
    tag = "operations",
    responses(
        (status = 200, description = "Both stores answer.", body = TestPg),
        (status = 503, description = "`SERVICE_UNAVAILABLE`: a store is down.", body = TestPgDown,
            headers(("Retry-After" = u64, description = "Seconds to wait."))),
    )
)]
pub async fn test_pg(service: web::Data<BookingService>) -> HttpResponse {
    let health = service.health().await;
    match (&health.bookings, &health.holds) {
        (Ok(info), Ok(_)) => json(
            HttpResponse::Ok(),
            json!({
                "connected": true,
                "currentTime": timestamp(info.current_time),
                "version": info.version,
                "holdStore": store_json(&health.holds),
            }),
        ),
        _ => json(
            service_unavailable(),
            json!({
                "error": STORES_DOWN,
                "code": "SERVICE_UNAVAILABLE",
                "connected": false,
                "bookingStore": store_json(&health.bookings),
                "holdStore": store_json(&health.holds),
            }),
        ),
    }
}
