//! The api's error type: every failure becomes `{"error", "code"}` plus
//! optional detail fields, and its status is decided here, in one place.

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use booking_domain::{
    CancelError, ConfirmError, CreateEventError, EventDetailsError, ExtendError, HoldViewError,
    ParseError, ReleaseError, ReserveError, SeatCode, SeatMapError, StoreError, UserBookingsError,
    ViewBookingError,
};
use serde::Serialize;

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    seats: Option<Vec<String>>,
    /// What went wrong inside, for the log only.
    cause: Option<Box<dyn std::error::Error + Send + Sync>>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    seats: Option<&'a [String]>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            seats: None,
            cause: None,
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn validation(error: ParseError) -> Self {
        Self::bad_request("VALIDATION_ERROR", error.to_string())
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "FORBIDDEN", message)
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
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
        let mut response = HttpResponse::build(self.status);
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            // Outages here are a restart or a failover away from over:
            // tell clients to come back soon rather than hammer or give up.
            response.insert_header((actix_web::http::header::RETRY_AFTER, "1"));
        }
        response.json(Body {
            error: &self.message,
            code: self.code,
            seats: self.seats.as_deref(),
        })
    }
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
            message,
            seats: None,
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
