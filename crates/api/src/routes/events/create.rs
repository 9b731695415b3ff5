use std::sync::Arc;

use actix_web::{web, HttpResponse};
use booking_domain::{BookingService, Label, Layout, NewEvent, Row, RowLabel};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::auth::Identity;
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::routes::created;

/// `totalSeats` (the original API's single row `S`) or `rows`, not both.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Body {
    name: String,
    date: String,
    location: String,
    total_seats: Option<i64>,
    rows: Option<Vec<RowBody>>,
}

#[derive(Deserialize)]
pub struct RowBody {
    label: String,
    seats: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Created {
    event_id: i64,
}

fn invalid(message: impl Into<String>) -> ApiError {
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
                    let seats = u32::try_from(row.seats)
                        .ok()
                        .filter(|n| *n >= 1)
                        .ok_or_else(|| invalid("every row must have at least 1 seat"))?;
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

pub async fn handle(
    service: web::Data<BookingService>,
    identity: Identity,
    JsonBody(body): JsonBody<Body>,
) -> Result<HttpResponse, ApiError> {
    identity.may_create_events()?;
    let layout = layout(&body, service.limits().max_seats_per_event)?;
    let date = DateTime::parse_from_rfc3339(&body.date)
        .map_err(|_| invalid("date must be an RFC 3339 timestamp"))?
        .with_timezone(&Utc);
    let new = NewEvent {
        name: Label::parse("name", &body.name).map_err(ApiError::validation)?,
        date,
        location: Label::parse("location", &body.location).map_err(ApiError::validation)?,
        layout: Arc::new(layout),
        idempotency: None,
    };
    let created_event = service.create_event(new).await?;
    let event = created_event.event;
    Ok(created(
        format!("/events/{}", event.id),
        Created {
            event_id: event.id.get(),
        },
    ))
}
