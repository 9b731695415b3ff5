//! Request metrics, recorded by a middleware around every request: counts
//! and latency by method, route template and status class, and the
//! outcomes of the booking operations.

use std::cell::RefCell;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use metrics::Counter;

use super::kept;
use super::tallied::Family;
use crate::error;
use crate::per_thread::Kept;
use crate::routes::Matched;

pub const OPERATIONS: &str = "booking_operations_total";

/// `http_requests_total` and `http_request_duration_seconds`, counted per
/// thread (`tallied`).
pub static REQUESTS: Family = Family::histogram(
    "http_request_duration_seconds",
    "Time to answer an HTTP request, by method, route template and status class.",
    ["method", "route", "status"],
)
.with_counter(
    "http_requests_total",
    "HTTP requests answered, by method, route template and status class.",
);

/// The route label of a request that matched no route: one value for all
/// of them, whatever path was asked for.
pub const UNMATCHED: &str = "unmatched";

/// Marks a response replayed from an idempotency record: the operation's
/// work was not done again, so its outcome is counted as `replayed`.
#[derive(Debug, Clone, Copy)]
pub struct Replayed;

/// Counts and times the request around `next` (`layers`).
pub async fn around<B: MessageBody>(
    req: ServiceRequest,
    matched: Matched,
    next: impl AsyncFnOnce(ServiceRequest) -> Result<ServiceResponse<B>, actix_web::Error>,
) -> Result<ServiceResponse<B>, actix_web::Error> {
    let started = Instant::now();
    let endpoint = matched.endpoint;
    let route = route_label(&req, matched);
    let method = method_label(req.method());
    let result = next(req).await;
    let status = match &result {
        Ok(res) => res.status(),
        Err(error) => error.as_response_error().status_code(),
    };
    REQUESTS.record([method, route, status_class(status)], started.elapsed());
    if let (Some(operation), Ok(res)) = (endpoint.and_then(|e| e.operation), &result) {
        let response = res.response();
        let outcome = if response.extensions().get::<Replayed>().is_some() {
            "replayed"
        } else if let Some(code) = error::code_of(response) {
            code
        } else if status.is_success() {
            "ok"
        } else {
            "other"
        };
        outcomes(operation, outcome, |count| count.increment(1));
    }
    result
}

/// The outcome count of one operation and result.
fn outcomes(operation: &'static str, outcome: &'static str, record: impl FnOnce(&Counter)) {
    thread_local! {
        static OUTCOMES: Kept<Counter, 2> = RefCell::default();
    }
    let register = || metrics::counter!(OPERATIONS, "operation" => operation, "result" => outcome);
    kept(&OUTCOMES, [operation, outcome], register, record);
}

/// The route template, from the fixed list of what is served.
fn route_label(req: &ServiceRequest, matched: Matched) -> &'static str {
    if let Some(endpoint) = matched.endpoint {
        return endpoint.path;
    }
    // A known path with a method it does not take, or the docs pages.
    let path = req.path();
    if path == "/docs" || path.starts_with("/docs/") {
        return "/docs";
    }
    matched.template.unwrap_or(UNMATCHED)
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        // Clients may send any token as a method: one label for the rest.
        _ => "other",
    }
}

fn status_class(status: StatusCode) -> &'static str {
    match status.as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}
