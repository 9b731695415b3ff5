//! Logging: pretty for people, JSON in production, one line per request
//! at `info`. Lines go through a non-blocking, batching writer (`batch`):
//! a thread of its own writes them to stdout, so a request never waits on
//! the terminal or the log shipper (if they fall far behind, lines are
//! dropped, never requests). Credentials never reach a log line (settings
//! print secrets as `***`).

pub mod access;
mod batch;
mod json;
pub mod request;

pub use batch::{batch_writer, BatchWriter, FlushGuard};
use tracing::Level;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter};

use crate::settings::{LogFormat, LogSettings};

/// Installs the global subscriber once; later calls (tests) are no-ops.
/// Keep the guard until exit: dropping it flushes the lines still queued.
pub fn init(settings: &LogSettings) -> FlushGuard {
    // Settings refuse a level no filter keeps; `info` is for callers that
    // built theirs by hand.
    let (targets, env) = filter(&settings.level)
        .unwrap_or_else(|| (Some(Targets::new().with_default(Level::INFO)), None));
    let (writer, guard) = batch_writer(std::io::stdout());
    let stack = tracing_subscriber::registry().with(targets).with(env);
    request::use_spans(settings.format == LogFormat::Pretty);
    let _ = match settings.format {
        // The current span (the request's id, method and path, or a use
        // case's fields) is on every line; the list of enclosing spans
        // would repeat it at a cost per line.
        LogFormat::Json => stack.with(json_layer(writer)).try_init(),
        LogFormat::Pretty => stack
            .with(fmt::layer().with_target(false).with_writer(writer))
            .try_init(),
    };
    guard
}

/// The JSON lines `init` writes (`access` writes its line as this layer
/// would; its tests compare them under this very layer).
fn json_layer<S>(
    writer: BatchWriter,
) -> fmt::Layer<S, json::JsonFields, json::JsonLines, BatchWriter>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fmt::layer()
        .with_target(false)
        .with_writer(writer)
        .fmt_fields(json::JsonFields)
        .event_format(json::JsonLines)
}

/// Whether `level` is a filter [`init`] can keep as written: settings
/// refuse any other at start-up, rather than log at a level nobody chose.
pub fn valid_level(level: &str) -> bool {
    filter(level).is_some()
}

/// The filter that keeps `level`, or `None` if it is no tracing filter.
/// Levels by target (`info,booking_domain=warn`, what ships) are kept by
/// `Targets`, decided once per call site. `EnvFilter` is used only for
/// what `Targets` cannot say (directives on spans or fields): it looks
/// every span up, under a lock both workers share, each time a request's
/// span is entered or left (docs/PERFORMANCE.md, "third session").
fn filter(level: &str) -> Option<(Option<Targets>, Option<EnvFilter>)> {
    match level.parse::<Targets>() {
        Ok(targets) => Some((Some(targets), None)),
        Err(_) => EnvFilter::try_new(level).ok().map(|env| (None, Some(env))),
    }
}

/// A writer whose bytes a test reads back.
#[cfg(test)]
#[derive(Clone, Default)]
struct Sink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

#[cfg(test)]
impl Sink {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

#[cfg(test)]
impl std::io::Write for Sink {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
