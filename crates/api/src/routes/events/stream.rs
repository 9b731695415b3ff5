//! `GET /events/:id/stream`: the event's seat changes as Server-Sent
//! Events. A browser's `EventSource` resumes with `Last-Event-ID` by
//! itself; a position the server can no longer continue from gets a fresh
//! snapshot instead.

use std::sync::Arc;

use actix_web::{web, HttpRequest, Responder};
use booking_domain::FeedPosition;

use crate::error::ApiError;
use crate::extract::EventPath;
use crate::live::SeatFeeds;

/// Live seat changes as Server-Sent Events: first `event: snapshot` (every
/// seat and the counts), then one `event: seats` per change
/// (`{"seats": [...], "status": ..., "counts": {...}}`), each with an `id`
/// to resume from with `Last-Event-ID`; comment lines as heartbeats.
#[utoipa::path(
    get,
    operation_id = "streamSeats",
    path = "/events/{eventId}/stream",
    tag = "events",
    params(
        ("eventId" = i64, Path, description = super::EVENT_ID, minimum = 1, example = 1),
        ("Last-Event-ID" = Option<String>, Header, description = "The last `id` received: the stream resumes after it when it can, else starts with a snapshot."),
    ),
    responses(
        (status = 200, description = "An endless `text/event-stream`.", content_type = "text/event-stream", body = String),
        (status = 400, description = "`INVALID_ID`.", body = crate::error::Body),
        (status = 404, description = "`EVENT_NOT_FOUND`.", body = crate::error::Body),
        (status = 503, description = "`TOO_MANY_STREAMS`: this instance serves `live.max_connections` streams already.", body = crate::error::Body,
            headers(("Retry-After" = u64, description = "Seconds to wait."))),
    )
)]
pub async fn handle(
    feeds: web::Data<Arc<SeatFeeds>>,
    EventPath(id): EventPath,
    request: HttpRequest,
) -> Result<impl Responder, ApiError> {
    // Whatever a client echoes back; anything we did not give out is
    // treated as no position at all.
    let last = request
        .headers()
        .get("last-event-id")
        .and_then(|value| value.to_str().ok())
        .and_then(FeedPosition::parse);
    feeds.subscribe(id, last).await
}
