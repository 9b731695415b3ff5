//! JSON lines written straight into the line buffer: the same content as
//! tracing-subscriber's JSON format (`timestamp`, `level`, the event's
//! fields flattened, the current span's fields under `span`), without its
//! per-line maps and serde calls. At the default level every request
//! writes one such line, so its cost is per request: the benchmark showed
//! the stock formatter spending about 13 µs of a 20 µs request on it.

use std::fmt::{self, Write as _};

use std::time::SystemTime;

use chrono::{DateTime, Utc};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

use super::request::{self, RequestFields};
use crate::iso_time::IsoTime;

/// The event format: one JSON object per line.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonLines;

/// The span-field format: `"key":value` pairs, comma-separated, stored
/// once per span and copied into each of its lines.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonFields;

/// Writes what it is given as the inside of a JSON string.
struct Escaped<'a, W: ?Sized>(&'a mut W);

impl<W: fmt::Write + ?Sized> fmt::Write for Escaped<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let bytes = s.as_bytes();
        // Ids, methods, paths and messages seldom need escaping: find
        // the first byte that does before copying anything.
        let Some(first) = first_to_escape(bytes) else {
            return self.0.write_str(s);
        };
        let mut plain = 0;
        for (i, &byte) in bytes.iter().enumerate().skip(first) {
            let escape = match byte {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                0..=0x1f => "",
                _ => continue,
            };
            self.0.write_str(&s[plain..i])?;
            if escape.is_empty() {
                write!(self.0, "\\u{byte:04x}")?;
            } else {
                self.0.write_str(escape)?;
            }
            plain = i + 1;
        }
        self.0.write_str(&s[plain..])
    }
}

fn needs_escape(byte: u8) -> bool {
    byte < 0x20 || byte == b'"' || byte == b'\\'
}

/// Where the first byte [`needs_escape`] is. Eight bytes at a time: a
/// request's line escapes its id and path, and byte by byte that was a
/// third of the line's cost.
fn first_to_escape(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGHS: u64 = ONES * 0x80;
    // Whether some byte of `v` is below `n` (n <= 0x80): exact as to
    // whether, not as to which.
    let below = |v: u64, n: u8| v.wrapping_sub(ONES * u64::from(n)) & !v & HIGHS != 0;
    let has = |v: u64, b: u8| below(v ^ (ONES * u64::from(b)), 1);
    let mut chunks = bytes.chunks_exact(8);
    for (n, chunk) in chunks.by_ref().enumerate() {
        let v = u64::from_ne_bytes(chunk.try_into().unwrap_or_default());
        if below(v, 0x20) || has(v, b'"') || has(v, b'\\') {
            return chunk
                .iter()
                .position(|&b| needs_escape(b))
                .map(|i| n * 8 + i);
        }
    }
    let tail = bytes.len() - chunks.remainder().len();
    chunks
        .remainder()
        .iter()
        .position(|&b| needs_escape(b))
        .map(|i| tail + i)
}

/// An integer in decimal, without `core::fmt`'s padding machinery: one
/// line per request writes several.
fn write_int(out: &mut (impl fmt::Write + ?Sized), value: impl itoa::Integer) -> fmt::Result {
    out.write_str(itoa::Buffer::new().format(value))
}

/// `now` as `2026-12-01T19:30:05.123456Z`.
fn write_timestamp(out: &mut (impl fmt::Write + ?Sized), now: SystemTime) -> fmt::Result {
    match IsoTime::micros(now) {
        Some(text) => out.write_str(text.as_str()),
        None => write!(
            out,
            "{}",
            DateTime::<Utc>::from(now).format("%Y-%m-%dT%H:%M:%S%.6fZ")
        ),
    }
}

/// A line's beginning, up to its fields: `{"timestamp":…,"level":…`.
fn write_head(out: &mut (impl fmt::Write + ?Sized), level: &Level) -> fmt::Result {
    out.write_str(r#"{"timestamp":""#)?;
    write_timestamp(out, SystemTime::now())?;
    out.write_str(r#"","level":""#)?;
    out.write_str(level.as_str())?;
    out.write_char('"')
}

/// The line `tracing::info!(message = "answered", status, micros)` makes
/// in a request, as [`JsonLines`] writes it: `access` writes it without
/// tracing's dispatch, one per request.
pub(super) fn write_answered(
    out: &mut String,
    status: u16,
    micros: u64,
    fields: &RequestFields,
) -> fmt::Result {
    write_head(out, &Level::INFO)?;
    out.write_str(r#","message":"answered","status":"#)?;
    write_int(out, status)?;
    out.write_str(r#","micros":"#)?;
    write_int(out, micros)?;
    request_span(out, fields)?;
    out.write_str("}\n")
}

/// Writes each field as `,"name":value` (no comma before the first when
/// `first`).
struct Fields<'a, 'w> {
    out: &'a mut Writer<'w>,
    first: bool,
    result: fmt::Result,
}

impl Fields<'_, '_> {
    fn key(&mut self, field: &Field) -> fmt::Result {
        if !std::mem::take(&mut self.first) {
            self.out.write_char(',')?;
        }
        self.out.write_char('"')?;
        Escaped(self.out).write_str(field.name())?;
        self.out.write_str("\":")
    }

    fn put(&mut self, field: &Field, value: impl FnOnce(&mut Writer<'_>) -> fmt::Result) {
        if self.result.is_ok() {
            self.result = self.key(field).and_then(|()| value(self.out));
        }
    }
}

impl Visit for Fields<'_, '_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, |out| {
            out.write_char('"')?;
            Escaped(out).write_str(value)?;
            out.write_char('"')
        });
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, |out| {
            out.write_char('"')?;
            write!(Escaped(out), "{value:?}")?;
            out.write_char('"')
        });
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, |out| write_int(out, value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, |out| write_int(out, value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, |out| write!(out, "{value}"));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, |out| {
            if value.is_finite() {
                write!(out, "{value}")
            } else {
                out.write_str("null")
            }
        });
    }
}

impl<'w> FormatFields<'w> for JsonFields {
    fn format_fields<R: RecordFields>(&self, mut writer: Writer<'w>, fields: R) -> fmt::Result {
        let mut visitor = Fields {
            out: &mut writer,
            first: true,
            result: Ok(()),
        };
        fields.record(&mut visitor);
        visitor.result
    }

    fn add_fields(
        &self,
        current: &'w mut FormattedFields<Self>,
        fields: &tracing::span::Record<'_>,
    ) -> fmt::Result {
        let first = current.fields.is_empty();
        let mut writer = current.as_writer();
        let mut visitor = Fields {
            out: &mut writer,
            first,
            result: Ok(()),
        };
        fields.record(&mut visitor);
        visitor.result
    }
}

impl<S> FormatEvent<S, JsonFields> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, JsonFields>,
        mut out: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        write_head(&mut out, event.metadata().level())?;
        let mut fields = Fields {
            out: &mut out,
            first: false,
            result: Ok(()),
        };
        event.record(&mut fields);
        fields.result?;
        if let Some(span) = ctx.lookup_current() {
            let extensions = span.extensions();
            if let Some(recorded) = extensions.get::<FormattedFields<JsonFields>>() {
                out.write_str(r#","span":{"#)?;
                out.write_str(&recorded.fields)?;
                if !recorded.fields.is_empty() {
                    out.write_char(',')?;
                }
                write!(out, r#""name":"{}"}}"#, span.name())?;
            }
        } else if let Some(written) = request::with_current(|fields| request_span(&mut out, fields))
        {
            written?;
        }
        out.write_str("}\n")
    }
}

/// The request's fields as its span would have written them.
fn request_span(out: &mut (impl fmt::Write + ?Sized), fields: &RequestFields) -> fmt::Result {
    let pairs = [
        // UTF-8 checked at its speed, not header values' byte by byte:
        // the id is printable ASCII either way.
        (
            "request_id",
            std::str::from_utf8(fields.id.as_bytes()).unwrap_or("-"),
        ),
        ("method", fields.method.as_str()),
        ("path", fields.uri.path()),
    ];
    out.write_str(r#","span":{"#)?;
    for (name, value) in pairs {
        out.write_char('"')?;
        out.write_str(name)?;
        out.write_str(r#"":""#)?;
        Escaped(out).write_str(value)?;
        out.write_str(r#"","#)?;
    }
    out.write_str(r#""name":"request"}"#)
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::fmt::MakeWriter;

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    /// A subscriber writing our JSON lines into what it returns.
    fn capture() -> (Captured, impl tracing::Subscriber) {
        let captured = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(captured.clone())
            .fmt_fields(JsonFields)
            .event_format(JsonLines)
            .finish();
        (captured, subscriber)
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Captured;
        fn make_writer(&'a self) -> Captured {
            self.clone()
        }
    }

    #[test]
    fn lines_are_json_with_the_event_and_its_span() {
        let (captured, subscriber) = capture();
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("request", request_id = "r-1", path = %"/a\"b");
            let _entered = span.enter();
            tracing::info!(
                status = 404u64,
                micros = 12i64,
                ok = true,
                "answered \"x\"\n"
            );
            tracing::warn!(ratio = 0.5, "plain");
        });
        let text = captured.text();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
            .collect();
        assert_eq!(lines.len(), 2);
        let first = &lines[0];
        assert_eq!(first["level"], "INFO");
        assert_eq!(first["message"], "answered \"x\"\n");
        assert_eq!(first["status"], 404);
        assert_eq!(first["micros"], 12);
        assert_eq!(first["ok"], true);
        assert_eq!(first["span"]["request_id"], "r-1");
        assert_eq!(first["span"]["path"], "/a\"b");
        assert_eq!(first["span"]["name"], "request");
        assert!(first["timestamp"].as_str().unwrap().ends_with('Z'));
        chrono::DateTime::parse_from_rfc3339(first["timestamp"].as_str().unwrap()).unwrap();
        assert_eq!(lines[1]["level"], "WARN");
        assert_eq!(lines[1]["ratio"], 0.5);
    }

    /// A request served with its fields in the task-local writes the line
    /// its span would have written, byte for byte but the timestamp.
    #[test]
    fn a_request_without_a_span_logs_what_its_span_would() {
        let (captured, subscriber) = capture();
        let (id, path) = ("r-\"1", "/events/1/a%22b\\c");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let direct = tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("request", request_id = id, method = "POST", path);
            span.in_scope(|| tracing::info!(status = 201u64, micros = 7u64, "answered"));
            let fields = RequestFields {
                id: actix_web::http::header::HeaderValue::from_str(id).unwrap(),
                method: actix_web::http::Method::POST,
                uri: path.parse().unwrap(),
            };
            let direct = runtime.block_on(request::scope(fields, async {
                tokio::task::yield_now().await;
                tracing::info!(status = 201u64, micros = 7u64, "answered");
                request::with_current(|fields| {
                    let mut line = String::new();
                    write_answered(&mut line, 201, 7, fields).unwrap();
                    line
                })
            }));
            tracing::info!("outside any request");
            direct.unwrap()
        });
        let text = captured.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        let after_time = |line: &str| line.split_once(r#""level""#).unwrap().1.to_owned();
        assert_eq!(after_time(lines[0]), after_time(lines[1]));
        // The line `access` writes without tracing: the same bytes.
        assert_eq!(direct.matches('\n').count(), 1, "{direct}");
        assert_eq!(after_time(&direct), after_time(lines[1]) + "\n");
        assert!(direct.starts_with(r#"{"timestamp":""#), "{direct}");
        let parsed: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(parsed["span"]["request_id"], id);
        assert_eq!(parsed["span"]["path"], path);
        assert_eq!(parsed["span"]["method"], "POST");
        let outside: serde_json::Value = serde_json::from_str(lines[2]).unwrap();
        assert!(outside.get("span").is_none(), "{outside}");
    }

    #[test]
    fn timestamps_and_escapes_read_as_the_formatter_would_write_them() {
        use chrono::TimeZone;
        // iso_time's own test tries the calendar; here, both of this
        // writer's branches: the hand-written text and chrono's for a
        // year it cannot write.
        let times = [
            Utc.with_ymd_and_hms(2030, 6, 1, 0, 0, 0).unwrap() + chrono::Duration::microseconds(42),
            Utc.with_ymd_and_hms(10_000, 1, 1, 0, 0, 0).unwrap(),
        ];
        for at in times {
            let mut text = String::new();
            write_timestamp(&mut text, SystemTime::from(at)).unwrap();
            assert_eq!(text, at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string());
        }
        for raw in ["plain", "a\"b\\c\nd\re\tf\u{1}g", "\u{1f}", "é\"", ""] {
            let mut text = String::new();
            Escaped(&mut Writer::new(&mut text)).write_str(raw).unwrap();
            let parsed: String = serde_json::from_str(&format!("\"{text}\"")).unwrap();
            assert_eq!(parsed, raw, "{text}");
        }
        for len in 0..20 {
            for at in 0..len {
                for special in [b'"', b'\\', 0, 0x1f, b'\n'] {
                    let mut bytes = vec![b'a'; len];
                    bytes[at] = special;
                    assert_eq!(first_to_escape(&bytes), Some(at), "{bytes:?}");
                }
                let mut bytes = vec![0x7f_u8; len];
                bytes[at] = b' ';
                assert_eq!(first_to_escape(&bytes), None);
            }
        }
        let mut text = String::new();
        write_int(&mut Writer::new(&mut text), u64::MAX).unwrap();
        assert_eq!(text, u64::MAX.to_string());
    }
}
