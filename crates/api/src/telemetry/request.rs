//! The request a line is logged for. In JSON (production) a request runs
//! with its id, method and path in a task-local, and `json::JsonLines`
//! writes them into each line where a span of that name would have put
//! them: the same line, without a span's per-poll cost (entered and left
//! at every poll, looked up and reference-counted in the registry each
//! time; about 4 % of the api's CPU per GET, docs/PERFORMANCE.md, "fifth
//! session"). Pretty output, for a terminal, keeps a real span, whose
//! prefix tracing's own format prints.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};

use actix_web::http::header::HeaderValue;
use actix_web::http::{Method, Uri};
use tokio::task::futures::TaskLocalFuture;

/// What a request's lines carry, as the span `request` carried it.
#[derive(Debug)]
pub struct RequestFields {
    /// Printable ASCII only (the middleware keeps no other).
    pub id: HeaderValue,
    pub method: Method,
    /// The request's URI, shared rather than copied: its path is logged.
    pub uri: Uri,
}

tokio::task_local! {
    static CURRENT: RequestFields;
}

static AS_SPANS: AtomicBool = AtomicBool::new(false);

/// Whether requests run in a span (pretty output) rather than with a
/// task-local; set once by `telemetry::init`.
pub fn as_spans() -> bool {
    AS_SPANS.load(Ordering::Relaxed)
}

pub(super) fn use_spans(spans: bool) {
    AS_SPANS.store(spans, Ordering::Relaxed);
}

/// Runs `future` as the request `fields` describe.
pub fn scope<F: Future>(fields: RequestFields, future: F) -> TaskLocalFuture<RequestFields, F> {
    CURRENT.scope(fields, future)
}

/// `f` of the request being served on this task; `None` outside one.
pub(super) fn with_current<R>(f: impl FnOnce(&RequestFields) -> R) -> Option<R> {
    CURRENT.try_with(f).ok()
}
