//! Extractors that turn every malformed input into a 4xx `ApiError`, so
//! no handler sees raw text and no bad request becomes a 500.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::StatusCode;
use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use booking_domain::{EventId, HoldId};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON request body, parsed whatever its `Content-Type` (the original
/// API's clients are not all careful about it), within the configured size.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

/// Like [`JsonBody`], but an empty body is allowed and reads as `None`.
#[derive(Debug)]
pub struct OptionalJsonBody<T>(pub Option<T>);

type Extracting<T> = Pin<Box<dyn Future<Output = Result<T, ApiError>>>>;

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = Extracting<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = OptionalJsonBody::<T>::from_request(req, payload);
        Box::pin(async move {
            body.await?.0.map(JsonBody).ok_or_else(|| {
                ApiError::bad_request("INVALID_JSON", "the request body must be a JSON object")
            })
        })
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for OptionalJsonBody<T> {
    type Error = ApiError;
    type Future = Extracting<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            let bytes = body.await.map_err(payload_error)?;
            if bytes.iter().all(u8::is_ascii_whitespace) {
                return Ok(OptionalJsonBody(None));
            }
            parse(&bytes).map(|value| OptionalJsonBody(Some(value)))
        })
    }
}

fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|error| {
        if error.is_data() {
            // Wrong type or missing field: serde's sentence names the field
            // and the expected type, and carries nothing internal.
            ApiError::bad_request("VALIDATION_ERROR", error.to_string())
        } else {
            ApiError::bad_request("INVALID_JSON", "the request body is not valid JSON")
        }
    })
}

fn payload_error(error: actix_web::Error) -> ApiError {
    if error.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::payload_too_large()
    } else {
        ApiError::bad_request("INVALID_BODY", "the request body could not be read")
    }
}

pub fn event_id(raw: &str) -> Result<EventId, ApiError> {
    EventId::parse(raw)
        .map_err(|_| ApiError::bad_request("INVALID_ID", "eventId must be a positive integer"))
}

pub fn hold_id(field: &str, raw: &str) -> Result<HoldId, ApiError> {
    HoldId::parse(raw)
        .map_err(|_| ApiError::bad_request("INVALID_ID", format!("{field} must be a UUID")))
}
