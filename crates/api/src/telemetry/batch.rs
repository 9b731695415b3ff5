//! A non-blocking log writer that batches: a line is copied into a
//! buffer of its thread's under a short lock, and a thread of its own
//! writes the buffers to stdout every few milliseconds (sooner when one
//! fills). Unlike a channel with a sleeping reader, a line costs no
//! wake-up of another thread, so one line per request stays cheap at tens
//! of thousands of requests a second. If stdout stalls and a buffer
//! reaches its bound, lines are dropped (and counted in the next batch),
//! never requests slowed.
//!
//! Each worker thread has a buffer of its own (one of [`SHARDS`]): with
//! one shared buffer, every line moved its lock and the buffer's end from
//! one core's cache to the other's (docs/PERFORMANCE.md, "eighth
//! session"). A thread's lines keep their order; lines of different
//! threads within one batch are written buffer by buffer, so they are
//! ordered by their `timestamp`, not by their place in the output.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// How often the buffers are written out when none is full.
const INTERVAL: Duration = Duration::from_millis(10);
/// Written out at once past this, in one buffer.
const SOON: usize = 256 * 1024;
/// Lines are dropped past this, in one buffer (stdout stalled).
const BOUND: usize = 2 * 1024 * 1024;
/// Buffers: more than the threads that log per request (one per worker,
/// a worker per core), so that two seldom share one.
const SHARDS: usize = 8;

/// A buffer on a cache line of its own: two threads' buffers side by side
/// would share one, and move it between cores as one lock would.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Shard(Mutex<Vec<u8>>);

#[derive(Debug, Default)]
struct Shared {
    shards: [Shard; SHARDS],
    /// Wakes the writer early; its mutex guards nothing else.
    ready: Condvar,
    wake: Mutex<()>,
    dropped: AtomicU64,
    closed: AtomicBool,
}

impl Shared {
    /// The calling thread's buffer.
    fn shard(&self) -> &Mutex<Vec<u8>> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        thread_local! {
            static SHARD: usize = NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS;
        }
        &self.shards[SHARD.with(|shard| *shard)].0
    }

    /// Whether a buffer is past [`SOON`]: its wake-up may have come while
    /// the writer was busy writing.
    fn any_full(&self) -> bool {
        self.shards
            .iter()
            .any(|shard| shard.0.lock().unwrap_or_else(|e| e.into_inner()).len() >= SOON)
    }
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
                let closed = {
                    // `closed` is read under `wake`, which the guard holds
                    // to notify: its wake-up cannot fall between the two.
                    let wake = worker.wake.lock().unwrap_or_else(|e| e.into_inner());
                    let closed = worker.closed.load(Ordering::Acquire);
                    if !closed && !worker.any_full() {
                        // One batch per interval, unless a buffer fills
                        // first: the lines of a busy server go out in few
                        // writes.
                        let _ = worker.ready.wait_timeout(wake, INTERVAL);
                    }
                    closed
                };
                let dropped = worker.dropped.swap(0, Ordering::Relaxed);
                if dropped > 0 {
                    let _ = writeln!(
                        out,
                        "{{\"level\":\"WARN\",\"message\":\"{dropped} log lines dropped: the output could not keep up\"}}"
                    );
                }
                let mut wrote = false;
                for shard in &worker.shards {
                    std::mem::swap(
                        &mut *shard.0.lock().unwrap_or_else(|e| e.into_inner()),
                        &mut batch,
                    );
                    if !batch.is_empty() {
                        let _ = out.write_all(&batch);
                        batch.clear();
                        wrote = true;
                    }
                }
                if wrote {
                    let _ = out.flush();
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
        {
            let _wake = self.shared.wake.lock().unwrap_or_else(|e| e.into_inner());
            self.shared.closed.store(true, Ordering::Release);
            self.shared.ready.notify_one();
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One line's writer. A line must come in one `write` (tracing's
/// formatter and `access` write a whole line at once): two threads that
/// share a buffer could otherwise interleave its parts.
#[derive(Debug)]
pub struct Line<'a>(&'a Shared);

impl Write for Line<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let full = {
            let mut buffer = self.0.shard().lock().unwrap_or_else(|e| e.into_inner());
            if buffer.len() + data.len() > BOUND {
                self.0.dropped.fetch_add(1, Ordering::Relaxed);
                false
            } else {
                buffer.extend_from_slice(data);
                buffer.len() >= SOON
            }
        };
        if full {
            self.0.ready.notify_one();
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
    use crate::telemetry::Sink;

    #[test]
    fn every_line_reaches_the_output_in_order_by_the_time_the_guard_drops() {
        let sink = Sink::default();
        let (writer, guard) = batch_writer(sink.clone());
        for n in 0..10_000 {
            writeln!(writer.make_writer(), "line {n}").unwrap();
        }
        drop(guard);
        let text = sink.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 10_000);
        assert_eq!(lines[0], "line 0");
        assert_eq!(lines[9_999], "line 9999");
    }

    #[test]
    fn lines_of_many_threads_all_arrive_whole_and_each_threads_in_order() {
        let sink = Sink::default();
        let (writer, guard) = batch_writer(sink.clone());
        // More threads than buffers, so that some share one.
        let threads: Vec<_> = (0..SHARDS * 2)
            .map(|thread| {
                let writer = writer.clone();
                std::thread::spawn(move || {
                    for n in 0..2_000 {
                        // In one write, as the subscriber writes a line.
                        let line = format!("{thread} {n}\n");
                        writer.make_writer().write_all(line.as_bytes()).unwrap();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        drop(guard);
        let text = sink.text();
        let mut next = vec![0; SHARDS * 2];
        for line in text.lines() {
            let (thread, n) = line.split_once(' ').expect("a whole line");
            let thread: usize = thread.parse().unwrap();
            assert_eq!(n.parse::<usize>().unwrap(), next[thread], "{line}");
            next[thread] += 1;
        }
        assert!(next.iter().all(|&count| count == 2_000), "{next:?}");
    }
}
