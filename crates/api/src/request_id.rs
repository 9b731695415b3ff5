//! Gives every request an id (the client's `X-Request-Id` if it sent a
//! sane one), runs the request with it (its method and path too) where
//! every line logged meanwhile carries it (`telemetry::request`), echoes
//! it on the response, and logs one line per request.

use std::pin::pin;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::HttpResponse;
use tracing::Instrument;

use crate::telemetry::access;
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
            id,
            method: req.method().clone(),
            uri: req.uri().clone(),
        };
        // The id is taken back from the task-local when the request is
        // done, rather than cloned into it: a header value's first clone
        // allocates.
        let mut served = pin!(request::scope(fields, answer(req, next)));
        let answered = served.as_mut().await;
        let id = served.take_value().map(|fields| fields.id);
        return echo(
            answered,
            id.unwrap_or_else(|| HeaderValue::from_static("-")),
        );
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
    echo(answer(req, next).instrument(span).await, id)
}

/// What `next` answered; an error raised by middleware or an extractor
/// comes with its response, made while the request's fields are current
/// (a 5xx logs its cause).
type Answered<B> = Result<ServiceResponse<B>, (actix_web::Error, HttpResponse)>;

/// Serves the request and logs its line.
async fn answer<B: MessageBody>(
    req: ServiceRequest,
    next: impl AsyncFnOnce(ServiceRequest) -> Result<ServiceResponse<B>, actix_web::Error>,
) -> Answered<B> {
    let started = Instant::now();
    match next(req).await {
        Ok(res) => {
            access::answered(res.status().as_u16(), started.elapsed().as_micros() as u64);
            Ok(res)
        }
        Err(error) => {
            let res = error.error_response();
            tracing::info!(status = res.status().as_u16(), "answered with an error");
            Err((error, res))
        }
    }
}

/// The answer with the request's id on it.
fn echo<B>(answered: Answered<B>, id: HeaderValue) -> Result<ServiceResponse<B>, actix_web::Error> {
    match answered {
        Ok(mut res) => {
            res.headers_mut().insert(HEADER, id);
            Ok(res)
        }
        // Errors still carry the id: as the response made for them.
        Err((error, mut res)) => {
            res.headers_mut().insert(HEADER, id);
            Err(actix_web::error::InternalError::from_response(error.to_string(), res).into())
        }
    }
}
