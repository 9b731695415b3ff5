use std::sync::Arc;

use actix_web::{web, HttpResponse};
use booking_domain::{BookingService, Label, Layout, NewEvent, Row, RowLabel, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::auth::Identity;
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::idempotency::IdempotencyKey;
use crate::routes::created;

/// `totalSeats` (the original API's single row `S`) or `rows`, not both.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(
    as = NewEvent,
    example = json!({"name": "Concert", "date": "2030-06-01T19:30:00Z", "location": "Main hall",
        "rows": [{"label": "A", "seats": 20}, {"label": "B", "seats": 20}]})
)]
pub struct Body {
    /// 1 to 255 characters.
    #[schema(min_length = 1, max_length = 255)]
    name: String,
    /// When it starts, RFC 3339.
    #[schema(format = DateTime)]
    date: String,
    /// 1 to 255 characters.
    #[schema(min_length = 1, max_length = 255)]
    location: String,
    /// Seats `S1`..`S<totalSeats>` in one row `S`; at most
    /// `limits.max_seats_per_event` (100,000 by default). Give this or
    /// `rows`, not both.
    #[schema(minimum = 1, maximum = 100_000)]
    total_seats: Option<i64>,
    /// Named rows in venue order; seats are named `<label><n>` (`A1`..).
    /// The seat limit applies to their sum. Give this or `totalSeats`.
    #[schema(min_items = 1)]
    rows: Option<Vec<RowBody>>,
    /// `trust` mode: the caller, optional (else `X-User-Id`, or nobody).
    /// 1 to 128 characters without control characters. In `jwt` mode it
    /// must be the token's `sub` when given.
    #[schema(min_length = 1, max_length = 128)]
    user_id: Option<String>,
}

/// One row of a venue.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"label": "A", "seats": 20}))]
pub struct RowBody {
    /// 1 to 8 ASCII letters or digits, unique in the event. Labels that
    /// would make two seats share a name (rows `1` of 20 seats and `11`:
    /// "111") are refused.
    #[schema(min_length = 1, max_length = 8, pattern = "^[A-Za-z0-9]{1,8}$")]
    label: String,
    /// At least 1.
    #[schema(minimum = 1)]
    seats: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = EventCreated, example = json!({"eventId": 1}))]
pub struct Created {
    #[schema(minimum = 1)]
    event_id: i64,
}

fn invalid(message: impl Into<std::borrow::Cow<'static, str>>) -> ApiError {
    ApiError::bad_request("VALIDATION_ERROR", message)
}

/// The venue the body describes, within the seat limit.
fn layout(body: &Body, max: u32) -> Result<Layout, ApiError> {
    let too_many = || invalid(format!("an event may have between 1 and {max} seats"));
    match (body.total_seats, &body.rows) {
        (Some(total), None) => {
            let total = u32::try_from(total)
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| {
                    invalid(format!("totalSeats must be an integer between 1 and {max}"))
                })?;
            Layout::single_row(total).map_err(|e| invalid(e.to_string()))
        }
        (None, Some(rows)) => {
            if rows.is_empty() || rows.len() > max as usize {
                return Err(too_many());
            }
            let mut sum: u64 = 0;
            let rows = rows
                .iter()
                .map(|row| {
                    let label = RowLabel::parse(&row.label).map_err(ApiError::validation)?;
                    if row.seats < 1 {
                        return Err(invalid("every row must have at least 1 seat"));
                    }
                    let seats = u32::try_from(row.seats).map_err(|_| too_many())?;
                    sum += u64::from(seats);
                    Ok(Row { label, seats })
                })
                .collect::<Result<Vec<_>, ApiError>>()?;
            if sum > u64::from(max) {
                return Err(too_many());
            }
            Layout::new(rows).map_err(|e| invalid(e.to_string()))
        }
        _ => Err(invalid("give exactly one of totalSeats and rows")),
    }
}

/// Create an event and its seats (admins; anyone in trust mode).
#[utoipa::path(
    post,
    operation_id = "createEvent",
    path = "/events",
    tag = "events",
    request_body = Body,
    security(("bearerAuth" = []), ()),
    responses(
        (status = 201, description = "Created; `Location` is the event.", body = Created,
            headers(("Location" = String, description = "`/events/{eventId}`"))),
        (status = 400, description = "`VALIDATION_ERROR` (also a bad `userId` or `X-User-Id`), `INVALID_JSON`, `INVALID_BODY`.", body = crate::error::Body),
        (status = 401, description = "`UNAUTHORIZED` (jwt mode: no or a bad token).", body = crate::error::Body),
        (status = 403, description = "`FORBIDDEN`: not an admin, or a `userId` other than the token's.", body = crate::error::Body),
        (status = 422, description = "`IDEMPOTENCY_KEY_REUSED`: the key was used with another request.", body = crate::error::Body),
    )
)]
pub async fn handle(
    service: web::Data<BookingService>,
    identity: Identity,
    key: Option<IdempotencyKey>,
    JsonBody(body): JsonBody<Body>,
) -> Result<HttpResponse, ApiError> {
    identity.may_create_events(body.user_id.as_deref())?;
    let layout = layout(&body, service.limits().max_seats_per_event)?;
    let date = DateTime::parse_from_rfc3339(&body.date)
        .map_err(|_| invalid("date must be an RFC 3339 timestamp"))?
        .with_timezone(&Utc);
    let new = NewEvent {
        name: Label::parse("name", &body.name).map_err(ApiError::validation)?,
        date,
        location: Label::parse("location", &body.location).map_err(ApiError::validation)?,
        layout: Arc::new(layout),
        idempotency: key.map(|key| booking_domain::IdempotencyKey {
            // The scope is the caller's user id, or empty for an anonymous
            // create in trust mode.
            caller: UserId::parse(&key.scope).ok(),
            key: key.key,
            fingerprint: key.fingerprint,
        }),
    };
    let created_event = service.create_event(new).await?;
    let event = created_event.event;
    let mut response = created(
        format!("/events/{}", event.id),
        Created {
            event_id: event.id.get(),
        },
    );
    if created_event.replayed {
        // Postgres had the key (the idempotency store had lost it).
        response.headers_mut().insert(
            actix_web::http::header::HeaderName::from_static("idempotent-replayed"),
            actix_web::http::header::HeaderValue::from_static("true"),
        );
    }
    Ok(response)
}
