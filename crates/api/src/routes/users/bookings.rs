//! `GET /users/me/bookings`: the caller's own bookings, newest first, one
//! page at a time with an opaque cursor.

use actix_web::{web, HttpResponse};
use booking_domain::{BookingCursor, BookingService, BookingView};
use serde::{Deserialize, Serialize};

use crate::auth::Identity;
use crate::error::ApiError;
use crate::routes::{json, timestamp, Timestamp};

/// The page size when the client names none.
const DEFAULT_LIMIT: u32 = 20;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Query {
    limit: Option<String>,
    cursor: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = BookingPage)]
pub struct Page {
    bookings: Vec<Item>,
    /// Pass as `cursor` for the next page; null on the last.
    next_cursor: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = UserBooking, example = json!({"bookingGroupId": "0193a1b2-0000-7000-8000-000000000001", "eventId": 1,
    "eventName": "Concert", "eventDate": "2030-06-01T19:30:00.000Z", "status": "CONFIRMED",
    "seatCodes": ["A1", "A2"], "createdAt": "2026-11-30T12:00:00.000Z"}))]
pub struct Item {
    #[schema(format = Uuid)]
    booking_group_id: String,
    event_id: i64,
    event_name: String,
    #[schema(value_type = String, format = DateTime)]
    event_date: Timestamp,
    #[schema(value_type = String, pattern = "^(CONFIRMED|CANCELLED)$")]
    status: &'static str,
    seat_codes: Vec<String>,
    #[schema(value_type = String, format = DateTime)]
    created_at: Timestamp,
}

impl From<BookingView> for Item {
    fn from(BookingView { booking, event }: BookingView) -> Self {
        Self {
            booking_group_id: booking.id.to_string(),
            event_id: event.id.get(),
            event_name: event.name.clone(),
            event_date: timestamp(event.date),
            status: booking.status.as_str(),
            seat_codes: event
                .codes(&booking.seats)
                .into_iter()
                .map(|c| c.to_string())
                .collect(),
            created_at: timestamp(booking.created_at),
        }
    }
}

#[utoipa::path(
    get,
    operation_id = "listMyBookings",
    path = "/users/me/bookings",
    tag = "bookings",
    params(
        ("limit" = Option<u32>, Query, description = "Bookings per page, 1 to `limits.max_page_size` (default 20).", minimum = 1, maximum = 100),
        ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page."),
    ),
    security(("bearerAuth" = []), ("userIdHeader" = [])),
    responses(
        (status = 200, description = "A page, newest first.", body = Page),
        (status = 400, description = "`VALIDATION_ERROR`, `INVALID_CURSOR`.", body = crate::error::Body),
        (status = 401, description = "`UNAUTHORIZED`: no caller.", body = crate::error::Body),
    )
)]
pub async fn handle(
    service: web::Data<BookingService>,
    identity: Identity,
    query: Result<web::Query<Query>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let caller = identity.caller(None)?;
    let query = query.map_err(|_| {
        ApiError::bad_request(
            "VALIDATION_ERROR",
            "the query parameters are limit and cursor",
        )
    })?;
    let max = service.limits().max_page_size;
    let limit = match query.limit.as_deref() {
        None => DEFAULT_LIMIT.min(max),
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| {
                ApiError::bad_request(
                    "VALIDATION_ERROR",
                    format!("limit must be an integer between 1 and {max}"),
                )
            })?,
    };
    let cursor = query
        .cursor
        .as_deref()
        .map(BookingCursor::decode)
        .transpose()
        .map_err(|e| ApiError::bad_request("INVALID_CURSOR", e.to_string()))?;
    let list = service.user_bookings(&caller, cursor, limit).await?;
    Ok(json(
        HttpResponse::Ok(),
        Page {
            bookings: list.bookings.into_iter().map(Item::from).collect(),
            next_cursor: list.next.map(|c| c.encode()),
        },
    ))
}
