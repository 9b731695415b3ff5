//! A request's own line, `answered`, logged once per request at `info`.
//!
//! In JSON under the subscriber `init` installs, the line is written
//! straight to the log writer: the same bytes `JsonLines` writes for the
//! event (a unit test compares them), without tracing's dispatch of an
//! event through its layers, field by field through `dyn` calls. That
//! dispatch and formatting were 4,100 of a 404's 27,100 user-space
//! instructions (callgrind, docs/PERFORMANCE.md, "seventh session").
//! Anywhere else (pretty output, a test's subscriber) it is an ordinary
//! event.

use std::cell::RefCell;
use std::io::Write as _;

use tracing::level_filters::LevelFilter;
use tracing::{Dispatch, Level, Metadata};
use tracing_core::callsite::{DefaultCallsite, Identifier};
use tracing_core::field::FieldSet;
use tracing_core::metadata::Kind;
use tracing_subscriber::fmt::MakeWriter;

use super::json::{self, JsonLines};
use super::request;
use super::BatchWriter;

/// The line's target, as if logged from `request_id`: a filter such as
/// `booking_api::request_id=warn` silences it either way.
const TARGET: &str = "booking_api::request_id";

/// The line's call site, for the filter to judge once, as it judges an
/// event macro's. (`tracing::enabled!` asks the subscriber again on every
/// call, whatever it answered before.)
static CALLSITE: DefaultCallsite = DefaultCallsite::new(&META);
static META: Metadata<'static> = Metadata::new(
    "answered",
    TARGET,
    Level::INFO,
    Some(file!()),
    Some(line!()),
    Some(module_path!()),
    FieldSet::new(&["message", "status", "micros"], Identifier(&CALLSITE)),
    Kind::EVENT,
);

/// Logs that the request being served was answered with `status` after
/// `micros`.
pub fn answered(status: u16, micros: u64) {
    if LevelFilter::current() < Level::INFO {
        return;
    }
    let interest = CALLSITE.interest();
    if interest.is_never() {
        return;
    }
    let done = tracing::dispatcher::get_default(|dispatch| {
        let enabled = interest.is_always() || dispatch.enabled(&META);
        !enabled || written_directly(dispatch, status, micros).is_some()
    });
    if !done {
        tracing::info!(target: TARGET, message = "answered", status, micros);
    }
}

/// The line written straight to our JSON subscriber's writer, if that is
/// the subscriber and a request is being served.
fn written_directly(dispatch: &Dispatch, status: u16, micros: u64) -> Option<()> {
    // Only our own JSON subscriber's writer: another subscriber (a
    // test's, pretty output) gets the event itself.
    dispatch.downcast_ref::<JsonLines>()?;
    let writer = dispatch.downcast_ref::<BatchWriter>()?;
    // No span is entered here (in JSON a request is a task-local, and its
    // use cases' spans are left before it answers), so the line's `span`
    // is the request's, as `JsonLines` would write it.
    request::with_current(|fields| write(writer, status, micros, fields))
}

fn write(writer: &BatchWriter, status: u16, micros: u64, fields: &request::RequestFields) {
    thread_local! {
        static LINE: RefCell<String> = RefCell::new(String::with_capacity(512));
    }
    LINE.with_borrow_mut(|line| {
        line.clear();
        if json::write_answered(line, status, micros, fields).is_ok() {
            // The batch writer never fails; it drops lines it cannot keep.
            let _ = writer.make_writer().write_all(line.as_bytes());
        }
    });
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::HeaderValue;
    use actix_web::http::Method;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;
    use crate::telemetry::request::RequestFields;
    use crate::telemetry::{batch_writer, Sink};

    /// `init`'s JSON subscriber at `level`, writing to `writer`.
    fn json_at(level: Level, writer: BatchWriter) -> impl tracing::Subscriber {
        tracing_subscriber::registry()
            .with(tracing_subscriber::filter::Targets::new().with_default(level))
            .with(crate::telemetry::json_layer(writer))
    }

    fn directly(status: u16, micros: u64) -> Option<()> {
        tracing::dispatcher::get_default(|dispatch| written_directly(dispatch, status, micros))
    }

    fn fields() -> RequestFields {
        RequestFields {
            id: HeaderValue::from_static("r-\"1"),
            method: Method::GET,
            uri: "/nope/a%22b".parse().unwrap(),
        }
    }

    fn logged(level: Level, log: impl FnOnce()) -> String {
        let sink = Sink::default();
        let (writer, guard) = batch_writer(sink.clone());
        tracing::subscriber::with_default(json_at(level, writer), log);
        drop(guard);
        sink.text()
    }

    /// Under `init`'s JSON subscriber the line skips the event, and reads
    /// as the event's line reads; the filter still decides.
    #[test]
    fn the_direct_line_is_the_events_line() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let text = logged(Level::INFO, || {
            runtime.block_on(request::scope(fields(), async {
                assert!(directly(404, 12).is_some());
                tracing::info!(target: TARGET, message = "answered", status = 404u16, micros = 12u64);
            }));
            // Outside a request, the event itself.
            assert!(directly(200, 1).is_none());
            answered(200, 1);
        });
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        let after_time = |line: &str| line.split_once(r#""level""#).unwrap().1.to_owned();
        assert_eq!(after_time(lines[0]), after_time(lines[1]));
        assert!(lines[0].contains(r#""request_id":"r-\"1""#), "{text}");
        assert!(lines[2].contains(r#""status":200"#), "{text}");
        assert!(!lines[2].contains("span"), "{text}");

        let quiet = logged(Level::WARN, || {
            runtime.block_on(request::scope(fields(), async { answered(404, 12) }));
        });
        assert_eq!(quiet, "", "nothing at warn");

        // Under another subscriber, the event.
        let (sink, guard) = batch_writer(Sink::default());
        let pretty = tracing_subscriber::fmt().with_writer(sink).finish();
        tracing::subscriber::with_default(pretty, || {
            let direct = runtime.block_on(request::scope(fields(), async { directly(404, 12) }));
            assert!(direct.is_none());
        });
        drop(guard);
    }
}
