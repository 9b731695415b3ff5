//! `GET /events/:id/stream`: the event's seat changes as Server-Sent
//! Events. A browser's `EventSource` resumes with `Last-Event-ID` by
//! itself; a position the server can no longer continue from gets a fresh
//! snapshot instead.

use std::sync::Arc;

use actix_web::{web, HttpRequest, Responder};
use booking_domain::FeedPosition;

use crate::error::ApiError;
use crate::extract::event_id;
use crate::live::SeatFeeds;

pub async fn handle(
    feeds: web::Data<Arc<SeatFeeds>>,
    path: web::Path<String>,
    request: HttpRequest,
) -> Result<impl Responder, ApiError> {
    let id = event_id(&path)?;
    // Whatever a client echoes back; anything we did not give out is
    // treated as no position at all.
    let last = request
        .headers()
        .get("last-event-id")
        .and_then(|value| value.to_str().ok())
        .and_then(FeedPosition::parse);
    feeds.subscribe(id, last).await
}
