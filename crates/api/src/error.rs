//! The api's error type: every failure becomes `{"error", "code"}` plus
//! optional detail fields, and its status is decided here, in one place.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;

use std::time::Duration;

use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderValue, RETRY_AFTER};
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse, HttpResponseBuilder, ResponseError};
use booking_domain::{
    CancelError, ConfirmError, CreateEventError, EventDetailsError, ExtendError, HoldViewError,
    ParseError, ReleaseError, ReserveError, SeatCode, SeatMapError, StoreError, UserBookingsError,
    ViewBookingError,
};
use serde::Serialize;

use crate::per_thread::{kept, Kept};

/// Every error code the api answers with, and what it means: the OpenAPI
/// document enumerates these, and a code missing here fails the tests (a
/// debug assertion in [`ApiError::new`]).
pub const CODES: &[(&str, &str)] = [
    (
        "VALIDATION_ERROR",
        "a field is missing, of the wrong type or out of range",
    ),
    ("INVALID_JSON", "the body is not a JSON object"),
    ("INVALID_BODY", "the body could not be read"),
    ("INVALID_ID", "a path id is malformed"),
    (
        "DUPLICATE_SEATS",
        "a seat code is listed twice (with seats)",
    ),
    (
        "TOO_MANY_SEATS",
        "more seats than limits.max_seats_per_hold",
    ),
    ("HOLD_EVENT_MISMATCH", "the hold belongs to another event"),
    (
        "INVALID_IDEMPOTENCY_KEY",
        "Idempotency-Key is not 1 to 255 printable ASCII characters",
    ),
    (
        "UNAUTHORIZED",
        "no caller, or a missing, malformed, expired or badly signed token",
    ),
    (
        "FORBIDDEN",
        "the caller may not do this (userId of another user, not an admin)",
    ),
    ("NOT_HOLD_OWNER", "the hold belongs to another user"),
    ("NOT_BOOKING_OWNER", "the booking belongs to another user"),
    ("NOT_FOUND", "no such endpoint"),
    ("EVENT_NOT_FOUND", "no event with that id"),
    ("UNKNOWN_SEAT", "the event has no such seat (with seats)"),
    ("HOLD_NOT_FOUND", "the hold expired or never existed"),
    ("BOOKING_NOT_FOUND", "no booking with that id"),
    ("METHOD_NOT_ALLOWED", "the path does not take this method"),
    ("SEATS_UNAVAILABLE", "a seat is held or booked (with seats)"),
    ("ALREADY_CANCELLED", "the booking was cancelled before"),
    (
        "IDEMPOTENCY_KEY_IN_USE",
        "the first request with this Idempotency-Key is still running",
    ),
    ("HOLD_EXPIRED", "the hold expired or never existed"),
    (
        "HOLD_CONFIRMING",
        "the hold is being confirmed, so it no longer expires",
    ),
    (
        "EXTENSION_LIMIT",
        "the hold already lasts holds.max_total_seconds from its creation",
    ),
    (
        "INVALID_CURSOR",
        "the cursor is not one this API could give out",
    ),
    (
        "TOO_MANY_STREAMS",
        "this instance serves live.max_connections streams already",
    ),
    (
        "PAYLOAD_TOO_LARGE",
        "the body is over server.max_body_bytes",
    ),
    (
        "IDEMPOTENCY_KEY_REUSED",
        "this Idempotency-Key was used with another request",
    ),
    (
        "HOLD_LIMIT",
        "the caller would hold more than limits.max_held_seats_per_user seats of the event",
    ),
    (
        "RATE_LIMITED",
        "too many requests from this caller or address; see Retry-After",
    ),
    (
        "INTERNAL_ERROR",
        "a fault on our side (the body says no more)",
    ),
    (
        "SERVICE_UNAVAILABLE",
        "a store is down or overloaded; see Retry-After",
    ),
]
.as_slice();

/// How long a client should wait before retrying a 503: a store that is
/// down is usually back, or failed over, within seconds.
const UNAVAILABLE_RETRY_AFTER: &str = "2";

/// How long a caller at the hold limit should wait: one of its holds may
/// be released or confirmed any moment, or expire within holds.ttl_seconds,
/// so this paces retries without promising anything.
const HOLD_LIMIT_RETRY_AFTER: Duration = Duration::from_secs(10);

/// The answer to a request refused before its handler (a rate limit, an
/// idempotency key): `error`'s response, with the error kept on it for
/// [`code_of`]. (`ServiceRequest::into_response` would keep only the
/// response's head and body.)
pub fn refusal(req: ServiceRequest, error: ApiError) -> ServiceResponse {
    let (req, _) = req.into_parts();
    ServiceResponse::new(req, HttpResponse::from_error(error))
}

/// The code of an error response, for middleware (metrics) to read
/// without parsing the body: a response made from an [`ApiError`] by
/// `HttpResponse::from_error` (as actix makes a handler's) keeps the
/// error. (An extension per error response cost a map of its own.)
pub fn code_of<B>(response: &HttpResponse<B>) -> Option<&'static str> {
    Some(response.error()?.as_error::<ApiError>()?.code)
}

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    /// Borrowed when it is a fixed text (a 404's, say): no allocation.
    message: Cow<'static, str>,
    seats: Option<Vec<String>>,
    /// For 429: when the client may try again.
    retry_after: Option<Duration>,
    /// What went wrong inside, for the log only.
    cause: Option<Box<dyn std::error::Error + Send + Sync>>,
}

/// The shape of every error body.
// (Not a doc comment: the OpenAPI document shows those.) A field taken
// from `ApiError` here must also keep `error_response` from using
// `fixed_body`, which keys bodies by the code and message alone.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(
    as = Error,
    example = json!({"error": "these seats are held or booked: S3", "code": "SEATS_UNAVAILABLE", "seats": ["S3"]})
)]
pub struct Body<'a> {
    /// A sentence for people; never internal details.
    error: &'a str,
    /// What went wrong, for programs: one of the codes of `CODES`.
    #[schema(value_type = String)]
    code: &'a str,
    /// The seats at fault, where seats are.
    #[serde(skip_serializing_if = "Option::is_none")]
    seats: Option<&'a [String]>,
}

/// A 503 with its `Retry-After`: every 503 of the api is built here.
pub fn service_unavailable() -> HttpResponseBuilder {
    let mut builder = HttpResponse::ServiceUnavailable();
    builder.insert_header((RETRY_AFTER, UNAVAILABLE_RETRY_AFTER));
    builder
}

/// Whole seconds to wait, rounded up.
pub fn retry_after_seconds(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        debug_assert!(
            CODES.iter().any(|(known, _)| *known == code),
            "error code {code} is missing from error::CODES"
        );
        Self {
            status,
            code,
            message: message.into(),
            seats: None,
            retry_after: None,
            cause: None,
        }
    }

    /// 429 `RATE_LIMITED`: a rate limit refused the request.
    pub fn rate_limited(retry_after: Duration) -> Self {
        let mut error = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "RATE_LIMITED",
            "too many requests; slow down and retry after the time in Retry-After",
        );
        error.retry_after = Some(retry_after);
        error
    }

    /// 400 `INVALID_IDEMPOTENCY_KEY`.
    pub fn invalid_idempotency_key() -> Self {
        Self::bad_request(
            "INVALID_IDEMPOTENCY_KEY",
            "Idempotency-Key must be 1 to 255 printable ASCII characters",
        )
    }

    /// 409 `IDEMPOTENCY_KEY_IN_USE`: a request with the key is running.
    pub fn idempotency_key_in_use() -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "IDEMPOTENCY_KEY_IN_USE",
            "a request with this Idempotency-Key is still being processed; retry later",
        )
    }

    /// 422 `IDEMPOTENCY_KEY_REUSED`: the key was used with another request.
    pub fn idempotency_key_reused() -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "IDEMPOTENCY_KEY_REUSED",
            "this Idempotency-Key was already used with a different request",
        )
    }

    /// 413 `PAYLOAD_TOO_LARGE`.
    pub fn payload_too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            "the request body is too large",
        )
    }

    pub fn bad_request(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn validation(error: ParseError) -> Self {
        Self::bad_request("VALIDATION_ERROR", error.to_string())
    }

    pub fn unauthorized(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", message)
    }

    pub fn forbidden(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "FORBIDDEN", message)
    }

    /// 500 `INTERNAL_ERROR`; `cause` goes to the log, not to the client.
    pub fn internal(cause: String) -> Self {
        let mut error = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_ERROR",
            "something went wrong on our side",
        );
        error.cause = Some(cause.into());
        error
    }

    pub fn not_found(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    fn with_seats(mut self, seats: &[SeatCode]) -> Self {
        self.seats = Some(seats.iter().map(|s| s.as_str().to_owned()).collect());
        self
    }

    pub fn code(&self) -> &'static str {
        self.code
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code)?;
        let mut cause = self.cause.as_deref().map(|c| c as &dyn std::error::Error);
        while let Some(error) = cause {
            write!(f, ": {error}")?;
            cause = error.source();
        }
        Ok(())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        if self.status.is_server_error() {
            // The body stays opaque; the whole chain goes to the log.
            tracing::error!(status = self.status.as_u16(), error = %self, "request failed");
        }
        let mut builder = if self.status == StatusCode::SERVICE_UNAVAILABLE {
            service_unavailable()
        } else {
            HttpResponse::build(self.status)
        };
        let retry_after = match (self.retry_after, self.code) {
            (Some(wait), _) => Some(wait),
            (None, "HOLD_LIMIT") => Some(HOLD_LIMIT_RETRY_AFTER),
            _ => None,
        };
        if let Some(wait) = retry_after {
            builder.insert_header((RETRY_AFTER, HeaderValue::from(retry_after_seconds(wait))));
        }
        if let (Cow::Borrowed(message), None) = (&self.message, &self.seats) {
            if let Some(body) = fixed_body(self.code, message) {
                return crate::routes::json_serialized(builder, body);
            }
        }
        crate::routes::json(
            builder,
            Body {
                error: &self.message,
                code: self.code,
                seats: self.seats.as_deref(),
            },
        )
    }
}

/// The body of an error whose every field is fixed text (a 404's, say),
/// serialized once per thread and shared after: serializing it again on
/// every answer was half of a 404's `error_response` (docs/PERFORMANCE.md,
/// "ninth session"). Only `'static` texts come here, so the bodies are as
/// few as such errors in the code.
fn fixed_body(code: &'static str, message: &'static str) -> Option<web::Bytes> {
    thread_local! {
        static BODIES: Kept<Option<web::Bytes>, 2> = RefCell::default();
    }
    let serialize = || {
        let body = Body {
            error: message,
            code,
            seats: None,
        };
        serde_json::to_vec(&body).ok().map(web::Bytes::from)
    };
    kept(&BODIES, [code, message], serialize, Clone::clone)
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        let (status, code, message) = match &error {
            StoreError::Unavailable { store, .. } => (
                StatusCode::SERVICE_UNAVAILABLE,
                "SERVICE_UNAVAILABLE",
                format!("the {store} store is unavailable; try again shortly"),
            ),
            // The write may have happened; a retry finds out (every write
            // here is safe to retry).
            StoreError::Indeterminate { store, .. } => (
                StatusCode::SERVICE_UNAVAILABLE,
                "SERVICE_UNAVAILABLE",
                format!("the {store} store did not answer in time; retry the request"),
            ),
            StoreError::Internal { .. } => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL_ERROR",
                "something went wrong on our side".to_owned(),
            ),
        };
        Self {
            status,
            code,
            message: message.into(),
            seats: None,
            retry_after: None,
            cause: Some(Box::new(error)),
        }
    }
}

fn event_not_found() -> ApiError {
    ApiError::not_found("EVENT_NOT_FOUND", "event not found")
}

impl From<CreateEventError> for ApiError {
    fn from(error: CreateEventError) -> Self {
        match error {
            CreateEventError::TooManySeats { .. } => {
                Self::bad_request("VALIDATION_ERROR", error.to_string())
            }
            CreateEventError::KeyReused => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "IDEMPOTENCY_KEY_REUSED",
                error.to_string(),
            ),
            CreateEventError::Store(e) => e.into(),
        }
    }
}

impl From<EventDetailsError> for ApiError {
    fn from(error: EventDetailsError) -> Self {
        match error {
            EventDetailsError::EventNotFound => event_not_found(),
            EventDetailsError::Store(e) => e.into(),
        }
    }
}

impl From<ReserveError> for ApiError {
    fn from(error: ReserveError) -> Self {
        let message = error.to_string();
        match error {
            ReserveError::EventNotFound => event_not_found(),
            ReserveError::NoSeats | ReserveError::NoQuantity => {
                Self::bad_request("VALIDATION_ERROR", message)
            }
            ReserveError::DuplicateSeats(seats) => {
                Self::bad_request("DUPLICATE_SEATS", message).with_seats(&seats)
            }
            ReserveError::TooManySeats { .. } => Self::bad_request("TOO_MANY_SEATS", message),
            ReserveError::UnknownSeats(seats) => {
                Self::not_found("UNKNOWN_SEAT", message).with_seats(&seats)
            }
            ReserveError::SeatsUnavailable(seats) => {
                Self::new(StatusCode::CONFLICT, "SEATS_UNAVAILABLE", message).with_seats(&seats)
            }
            ReserveError::NotEnoughSeats { .. } => {
                Self::new(StatusCode::CONFLICT, "SEATS_UNAVAILABLE", message)
            }
            ReserveError::HoldLimit { .. } => {
                Self::new(StatusCode::TOO_MANY_REQUESTS, "HOLD_LIMIT", message)
            }
            ReserveError::Store(e) => e.into(),
        }
    }
}

impl From<ConfirmError> for ApiError {
    fn from(error: ConfirmError) -> Self {
        let message = error.to_string();
        match error {
            ConfirmError::EventNotFound => event_not_found(),
            ConfirmError::WrongEvent => Self::bad_request("HOLD_EVENT_MISMATCH", message),
            ConfirmError::NotOwner => Self::new(StatusCode::FORBIDDEN, "NOT_HOLD_OWNER", message),
            ConfirmError::HoldExpired => Self::new(StatusCode::GONE, "HOLD_EXPIRED", message),
            ConfirmError::SeatsUnavailable(seats) => {
                Self::new(StatusCode::CONFLICT, "SEATS_UNAVAILABLE", message).with_seats(&seats)
            }
            ConfirmError::Store(e) => e.into(),
        }
    }
}

impl From<ReleaseError> for ApiError {
    fn from(error: ReleaseError) -> Self {
        let message = error.to_string();
        match error {
            ReleaseError::EventNotFound => event_not_found(),
            ReleaseError::NotOwner => Self::new(StatusCode::FORBIDDEN, "NOT_HOLD_OWNER", message),
            ReleaseError::HoldNotFound => Self::not_found("HOLD_NOT_FOUND", message),
            ReleaseError::Store(e) => e.into(),
        }
    }
}

impl From<CancelError> for ApiError {
    fn from(error: CancelError) -> Self {
        let message = error.to_string();
        match error {
            CancelError::NotFound => Self::not_found("BOOKING_NOT_FOUND", message),
            CancelError::Forbidden => {
                Self::new(StatusCode::FORBIDDEN, "NOT_BOOKING_OWNER", message)
            }
            CancelError::AlreadyCancelled => {
                Self::new(StatusCode::CONFLICT, "ALREADY_CANCELLED", message)
            }
            CancelError::Store(e) => e.into(),
        }
    }
}

impl From<ViewBookingError> for ApiError {
    fn from(error: ViewBookingError) -> Self {
        let message = error.to_string();
        match error {
            ViewBookingError::NotFound => Self::not_found("BOOKING_NOT_FOUND", message),
            ViewBookingError::Forbidden => {
                Self::new(StatusCode::FORBIDDEN, "NOT_BOOKING_OWNER", message)
            }
            ViewBookingError::Store(e) => e.into(),
        }
    }
}

fn hold_not_found(message: String) -> ApiError {
    ApiError::not_found("HOLD_NOT_FOUND", message)
}

impl From<SeatMapError> for ApiError {
    fn from(error: SeatMapError) -> Self {
        match error {
            SeatMapError::EventNotFound => event_not_found(),
            SeatMapError::Store(e) => e.into(),
        }
    }
}

impl From<HoldViewError> for ApiError {
    fn from(error: HoldViewError) -> Self {
        let message = error.to_string();
        match error {
            HoldViewError::NotFound => hold_not_found(message),
            HoldViewError::NotOwner => Self::new(StatusCode::FORBIDDEN, "NOT_HOLD_OWNER", message),
            HoldViewError::Store(e) => e.into(),
        }
    }
}

impl From<ExtendError> for ApiError {
    fn from(error: ExtendError) -> Self {
        let message = error.to_string();
        match error {
            ExtendError::HoldExpired => Self::new(StatusCode::GONE, "HOLD_EXPIRED", message),
            ExtendError::NotOwner => Self::new(StatusCode::FORBIDDEN, "NOT_HOLD_OWNER", message),
            ExtendError::Confirming => Self::new(StatusCode::CONFLICT, "HOLD_CONFIRMING", message),
            ExtendError::AtLimit { .. } => {
                Self::new(StatusCode::CONFLICT, "EXTENSION_LIMIT", message)
            }
            ExtendError::Store(e) => e.into(),
        }
    }
}

impl From<UserBookingsError> for ApiError {
    fn from(error: UserBookingsError) -> Self {
        match error {
            UserBookingsError::Store(e) => e.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use actix_web::body::MessageBody;
    use actix_web::http::header::CONTENT_TYPE;

    use super::*;

    fn answer(error: ApiError) -> (StatusCode, String, serde_json::Value) {
        let res = error.error_response();
        let status = res.status();
        let content_type = res
            .headers()
            .get(CONTENT_TYPE)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let body = res.into_body().try_into_bytes().unwrap();
        (status, content_type, serde_json::from_slice(&body).unwrap())
    }

    #[test]
    fn fixed_errors_answer_their_own_body_every_time() {
        let events = || ApiError::not_found("EVENT_NOT_FOUND", "event not found");
        let paths = || ApiError::not_found("NOT_FOUND", "no such endpoint");
        for _ in 0..2 {
            for (error, code, message) in [
                (paths(), "NOT_FOUND", "no such endpoint"),
                (events(), "EVENT_NOT_FOUND", "event not found"),
            ] {
                let (status, content_type, body) = answer(error);
                assert_eq!(status, StatusCode::NOT_FOUND);
                assert_eq!(content_type, "application/json");
                assert_eq!(body, serde_json::json!({"error": message, "code": code}));
            }
        }
        // A message made at run time: its own text, not a kept body's.
        let (_, _, body) = answer(ApiError::bad_request(
            "VALIDATION_ERROR",
            format!("{} is out of range", "quantity"),
        ));
        assert_eq!(body["error"], "quantity is out of range");
        // With seats: a body of its own, never the fixed one.
        let seat = SeatCode::parse("A1").unwrap();
        let seats = ApiError::not_found("NOT_FOUND", "no such endpoint").with_seats(&[seat]);
        assert_eq!(answer(seats).2["seats"], serde_json::json!(["A1"]));
    }
}
