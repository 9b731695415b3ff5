//! A non-blocking log writer that batches: a line is copied into a shared
//! buffer under a short lock, and a thread of its own writes the buffer to
//! stdout every few milliseconds (sooner when it fills). Unlike a channel
//! with a sleeping reader, a line costs no wake-up of another thread, so
//! one line per request stays cheap at tens of thousands of requests a
//! second. If stdout stalls and the buffer reaches its bound, lines are
//! dropped (and counted in the next batch), never requests slowed.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// How often the buffer is written out when it is not full.
const INTERVAL: Duration = Duration::from_millis(10);
/// Written out at once past this.
const SOON: usize = 256 * 1024;
/// Lines are dropped past this (stdout stalled).
const BOUND: usize = 8 * 1024 * 1024;

#[derive(Debug, Default)]
struct Shared {
    buffer: Mutex<Vec<u8>>,
    ready: Condvar,
    dropped: AtomicU64,
    closed: AtomicBool,
}

/// Hands the subscriber a writer per line; see the module doc.
#[derive(Debug, Clone)]
pub struct BatchWriter {
    shared: Arc<Shared>,
}

/// Writes what is left when dropped: keep it until the process exits.
#[derive(Debug)]
pub struct FlushGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// A writer to `out`, and the guard that flushes it at exit.
pub fn batch_writer(mut out: impl Write + Send + 'static) -> (BatchWriter, FlushGuard) {
    let shared = Arc::new(Shared::default());
    let worker = shared.clone();
    let thread = std::thread::Builder::new()
        .name("log-writer".into())
        .spawn(move || {
            let mut batch = Vec::with_capacity(SOON);
            loop {
                let closed = worker.closed.load(Ordering::Acquire);
                {
                    let mut buffer = worker.buffer.lock().unwrap_or_else(|e| e.into_inner());
                    // One batch per interval, unless it fills first: the
                    // lines of a busy server go out in few writes.
                    if buffer.len() < SOON && !closed {
                        buffer = worker
                            .ready
                            .wait_timeout(buffer, INTERVAL)
                            .unwrap_or_else(|e| e.into_inner())
                            .0;
                    }
                    std::mem::swap(&mut *buffer, &mut batch);
                }
                let dropped = worker.dropped.swap(0, Ordering::Relaxed);
                if dropped > 0 {
                    let _ = writeln!(
                        out,
                        "{{\"level\":\"WARN\",\"message\":\"{dropped} log lines dropped: the output could not keep up\"}}"
                    );
                }
                if !batch.is_empty() {
                    let _ = out.write_all(&batch);
                    let _ = out.flush();
                    batch.clear();
                } else if closed {
                    return;
                }
            }
        })
        .expect("a thread can be started");
    (
        BatchWriter {
            shared: shared.clone(),
        },
        FlushGuard {
            shared,
            thread: Some(thread),
        },
    )
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::Release);
        self.shared.ready.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One line's writer.
#[derive(Debug)]
pub struct Line<'a>(&'a Shared);

impl Write for Line<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let mut buffer = self.0.buffer.lock().unwrap_or_else(|e| e.into_inner());
        if buffer.len() + data.len() > BOUND {
            self.0.dropped.fetch_add(1, Ordering::Relaxed);
        } else {
            buffer.extend_from_slice(data);
            if buffer.len() >= SOON {
                self.0.ready.notify_one();
            }
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for BatchWriter {
    type Writer = Line<'a>;

    fn make_writer(&'a self) -> Line<'a> {
        Line(&self.shared)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, data: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(data);
            Ok(data.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_reaches_the_output_in_order_by_the_time_the_guard_drops() {
        let sink = Sink::default();
        let (writer, guard) = batch_writer(sink.clone());
        for n in 0..10_000 {
            writeln!(writer.make_writer(), "line {n}").unwrap();
        }
        drop(guard);
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 10_000);
        assert_eq!(lines[0], "line 0");
        assert_eq!(lines[9_999], "line 9999");
    }
}
