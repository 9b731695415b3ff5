//! Gives every request an id (the client's `X-Request-Id` if it sent a
//! sane one), runs the request with it (its method and path too) where
//! every line logged meanwhile carries it (`telemetry::request`), echoes
//! it on the response, and logs one line per request.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use tracing::Instrument;

use crate::telemetry::request::{self, RequestFields};

const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// A client's id is kept if it is short and printable; anything else could
/// forge log lines, so it is replaced.
fn client_id(req: &ServiceRequest) -> Option<HeaderValue> {
    let value = req.headers().get(&HEADER)?;
    let bytes = value.as_bytes();
    let sane =
        !bytes.is_empty() && bytes.len() <= 128 && bytes.iter().all(|b| b.is_ascii_graphic());
    sane.then(|| value.clone())
}

/// The outermost layer (`layers`): `next` is the rest of the request.
pub async fn around<B: MessageBody>(
    req: ServiceRequest,
    next: impl AsyncFnOnce(ServiceRequest) -> Result<ServiceResponse<B>, actix_web::Error>,
) -> Result<ServiceResponse<B>, actix_web::Error> {
    let id = client_id(&req).unwrap_or_else(|| {
        let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
        let text = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut text);
        HeaderValue::from_str(text).expect("a UUID is a valid header value")
    });
    if !request::as_spans() {
        let fields = RequestFields {
            id: id.clone(),
            method: req.method().clone(),
            uri: req.uri().clone(),
        };
        return request::scope(fields, answer(req, next, id)).await;
    }
    let span = tracing::info_span!(
        "request",
        // Printable ASCII only (client_id checks, UUIDs are).
        request_id = id.to_str().unwrap_or("-"),
        // As strings, not `%` (Display): recorded directly, without a
        // trip through the formatter.
        method = req.method().as_str(),
        path = req.path(),
    );
    answer(req, next, id).instrument(span).await
}

/// Serves the request, logs its line and echoes its id.
async fn answer<B: MessageBody>(
    req: ServiceRequest,
    next: impl AsyncFnOnce(ServiceRequest) -> Result<ServiceResponse<B>, actix_web::Error>,
    id: HeaderValue,
) -> Result<ServiceResponse<B>, actix_web::Error> {
    let started = Instant::now();
    match next(req).await {
        Ok(mut res) => {
            // The message as a field of its own: the same line, but
            // recorded as a string rather than through `format_args!`.
            tracing::info!(
                message = "answered",
                status = res.status().as_u16(),
                micros = started.elapsed().as_micros() as u64,
            );
            res.headers_mut().insert(HEADER, id);
            Ok(res)
        }
        Err(error) => {
            // Errors raised by middleware or extractors still carry the
            // id: turn them into a response here.
            let mut res = error.error_response();
            tracing::info!(status = res.status().as_u16(), "answered with an error");
            res.headers_mut().insert(HEADER, id);
            Err(actix_web::error::InternalError::from_response(error.to_string(), res).into())
        }
    }
}
