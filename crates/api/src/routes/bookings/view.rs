use actix_web::{web, HttpResponse};
use booking_domain::BookingService;
use serde::Serialize;

use crate::auth::Identity;
use crate::error::ApiError;
use crate::extract::hold_id;
use crate::routes::timestamp;

/// One row per seat, as the original API returned its join.
#[derive(Serialize)]
struct Row<'a> {
    booking_group_id: &'a str,
    status: &'static str,
    user_id: &'a str,
    name: &'a str,
    event_date: &'a str,
    seat_code: String,
}

pub async fn handle(
    service: web::Data<BookingService>,
    identity: Identity,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = hold_id("bookingGroupId", &path)?;
    let caller = identity.caller(None)?;
    let view = service.booking(&caller, id).await?;
    let (booking, event) = (&view.booking, &view.event);
    let group = booking.id.to_string();
    let event_date = timestamp(event.date);
    let rows: Vec<Row> = booking
        .seats
        .iter()
        .map(|seat| Row {
            booking_group_id: &group,
            status: booking.status.as_str(),
            user_id: booking.user.as_str(),
            name: &event.name,
            event_date: &event_date,
            seat_code: event.code(*seat).to_string(),
        })
        .collect();
    Ok(HttpResponse::Ok().json(rows))
}
