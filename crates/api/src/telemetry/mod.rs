//! Logging: pretty for people, JSON in production, one line per request
//! at `info`. Lines go through a non-blocking, batching writer (`batch`):
//! a thread of its own writes them to stdout, so a request never waits on
//! the terminal or the log shipper (if they fall far behind, lines are
//! dropped, never requests). Credentials never reach a log line (settings
//! print secrets as `***`).

mod batch;
mod json;

pub use batch::{batch_writer, BatchWriter, FlushGuard};
use tracing_subscriber::{fmt, EnvFilter};

use crate::settings::{LogFormat, LogSettings};

/// Installs the global subscriber once; later calls (tests) are no-ops.
/// Keep the guard until exit: dropping it flushes the lines still queued.
pub fn init(settings: &LogSettings) -> FlushGuard {
    let filter = EnvFilter::try_new(&settings.level).unwrap_or_else(|_| EnvFilter::new("info"));
    let (writer, guard) = batch_writer(std::io::stdout());
    let builder = fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(writer);
    let _ = match settings.format {
        // The current span (the request's id, method and path, or a use
        // case's fields) is on every line; the list of enclosing spans
        // would repeat it at a cost per line.
        LogFormat::Json => builder
            .fmt_fields(json::JsonFields)
            .event_format(json::JsonLines)
            .try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
    guard
}
