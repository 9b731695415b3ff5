//! Extractors that turn every malformed input into a 4xx `ApiError`, so
//! no handler sees raw text and no bad request becomes a 500.

use std::future::{ready, Future, Ready};
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
        Box::pin(async move { body.await?.0.map(JsonBody).ok_or_else(not_an_object) })
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
    // Every body is an object: valid JSON of another kind (`[]`, `null`)
    // is refused as such, not as a field of a type it never reached.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(not_an_object());
    }
    serde_json::from_slice(bytes).map_err(|error| {
        if error.is_data() {
            // Wrong type or missing field: serde's sentence names the field
            // and the expected type.
            ApiError::bad_request("VALIDATION_ERROR", without_type_names(&error.to_string()))
        } else {
            ApiError::bad_request("INVALID_JSON", "the request body is not valid JSON")
        }
    })
}

fn not_an_object() -> ApiError {
    ApiError::bad_request("INVALID_JSON", "the request body must be a JSON object")
}

/// serde names what it expected by its Rust type (`expected struct
/// RowBody`, `expected i64`): the client knows JSON's kinds.
fn without_type_names(sentence: &str) -> String {
    let mut out = String::with_capacity(sentence.len());
    let mut rest = sentence;
    while let Some(at) = rest.find("expected ") {
        let (before, after) = rest.split_at(at + "expected ".len());
        out.push_str(before);
        let word_end = |s: &str| {
            s.find(|c: char| !c.is_alphanumeric() && c != '_')
                .unwrap_or(s.len())
        };
        let (kind, skip) = match after.strip_prefix("struct ") {
            Some(name) => ("an object", "struct ".len() + word_end(name)),
            None => {
                let word = &after[..word_end(after)];
                let kind = match word {
                    "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "an integer",
                    "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => "a non-negative integer",
                    "f32" | "f64" => "a number",
                    _ => "",
                };
                (kind, if kind.is_empty() { 0 } else { word.len() })
            }
        };
        out.push_str(kind);
        rest = &after[skip..];
    }
    out.push_str(rest);
    out
}

fn payload_error(error: actix_web::Error) -> ApiError {
    if error.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::payload_too_large()
    } else {
        ApiError::bad_request("INVALID_BODY", "the request body could not be read")
    }
}

/// The path's `eventId`, checked as the request is extracted: a malformed
/// id is refused before the body is read, so it is the error a client
/// sees even when the body is bad too.
#[derive(Debug)]
pub struct EventPath(pub EventId);

impl FromRequest for EventPath {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(event_id(req.match_info().get("eventId").unwrap_or_default()).map(EventPath))
    }
}

/// The path's one UUID (`holdGroupId` or `bookingGroupId`), checked like
/// [`EventPath`].
#[derive(Debug)]
pub struct HoldPath(pub HoldId);

impl FromRequest for HoldPath {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let (name, raw) = req.match_info().iter().next().unwrap_or(("id", ""));
        ready(hold_id(name, raw).map(HoldPath))
    }
}

fn event_id(raw: &str) -> Result<EventId, ApiError> {
    EventId::parse(raw).map_err(|_| {
        ApiError::bad_request(
            "INVALID_ID",
            "eventId must be a positive integer, at most 9223372036854775807",
        )
    })
}

pub fn hold_id(field: &str, raw: &str) -> Result<HoldId, ApiError> {
    HoldId::parse(raw)
        .map_err(|_| ApiError::bad_request("INVALID_ID", format!("{field} must be a UUID")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Row {
        seats: u32,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Body {
        rows: Vec<Row>,
    }

    fn code(bytes: &str) -> (&'static str, String) {
        let error = parse::<Body>(bytes.as_bytes()).unwrap_err();
        (error.code(), error.to_string())
    }

    #[test]
    fn valid_json_that_is_not_an_object_is_refused_as_such() {
        for body in ["[]", " null", "\"x\"", "1", "true", "[{}]"] {
            assert_eq!(code(body).0, "INVALID_JSON", "{body}");
        }
        assert_eq!(code("{").0, "INVALID_JSON");
        assert_eq!(code("{}").0, "VALIDATION_ERROR");
    }

    #[test]
    fn a_wrong_nested_value_is_named_without_rust_type_names() {
        let (code, message) = code(r#"{"rows": [null]}"#);
        assert_eq!(code, "VALIDATION_ERROR");
        assert!(message.contains("expected an object"), "{message}");
        assert!(!message.contains("struct"), "{message}");
        assert_eq!(without_type_names("no names here"), "no names here");
        assert_eq!(
            without_type_names("invalid type: null, expected struct B_c at line 1"),
            "invalid type: null, expected an object at line 1"
        );
        assert_eq!(
            without_type_names("invalid type: floating point `1.5`, expected i64 at line 1"),
            "invalid type: floating point `1.5`, expected an integer at line 1"
        );
        assert_eq!(
            without_type_names("expected u32, expected f64, expected a string"),
            "expected a non-negative integer, expected a number, expected a string"
        );
    }
}
