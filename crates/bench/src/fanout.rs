//! (j) SSE fan-out: many subscribers on one on-sale event's
//! `GET /events/:id/stream` while reserves arrive at a steady rate. Each
//! reserve is one seat, so each is one `seats` event; the delivery latency
//! is from the reserve's 201 to a subscriber reading the event naming its
//! seat, and every subscriber must see every reserve.
//!
//! The subscribers share the generator's one thread with the reserves, so
//! a latency includes the time the generator takes to get to a socket.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Empty};
use hyper::{header, Request};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::{watch, Semaphore};

use crate::client::Conn;
use crate::cpu::{self, Usage};
use crate::events::{create_venue, venue_codes};
use crate::scenarios::Target;

/// How many subscribers connect (and read their snapshot) at once.
const CONNECTING_AT_ONCE: usize = 16;
/// Connections the reserves are sent on.
const RESERVE_CONNECTIONS: u32 = 4;
/// The longest wait for the next subscriber's snapshot.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
pub struct FanoutPlan {
    pub subscribers: usize,
    /// Reserves per second during the window.
    pub rate: u32,
    pub duration: Duration,
    /// The longest subscribers may take, after the last reserve, to read
    /// every change (the api reads the feed every `live.poll_ms`, 200 ms by
    /// default); they stop as soon as all have.
    pub grace: Duration,
    pub seats: u32,
}

#[derive(Debug)]
pub struct FanoutResult {
    pub plan: FanoutPlan,
    /// Subscribers that got their snapshot.
    pub connected: usize,
    /// Time for all of them to connect and read their snapshot.
    pub connect_elapsed: Duration,
    /// CPU while they connected.
    pub connect_cpu: Usage,
    /// Bytes of one snapshot event (the first subscriber's).
    pub snapshot_bytes: u64,
    /// Reserves answered 201 in the window, and others.
    pub reserves: u64,
    pub reserve_failures: u64,
    /// The reserve phase, and the CPU over it and the wait after it for
    /// the last changes (`settle`).
    pub window: Duration,
    pub settle: Duration,
    pub cpu: Usage,
    /// `seats` events read by all subscribers that name a reserved seat.
    pub delivered: u64,
    /// From a reserve's 201 to a subscriber reading its change, µs.
    pub latency: Histogram<u64>,
    /// Changes read before their reserve's 201 arrived (counted as 0).
    pub early: u64,
    /// Streams that ended or failed before the end.
    pub dropped: usize,
    /// Subscribers that read a change for every reserve.
    pub complete: usize,
}

impl FanoutResult {
    pub fn delivered_per_second(&self) -> f64 {
        self.delivered as f64 / self.window.as_secs_f64()
    }

    /// Elapsed time of the CPU figures: the window and the settling.
    pub fn cpu_elapsed(&self) -> Duration {
        self.window + self.settle
    }
}

/// What one subscriber read.
#[derive(Debug, Default)]
struct Subscriber {
    snapshot_bytes: u64,
    /// Seat code of each held change, and when it was read.
    changes: Vec<(String, Instant)>,
    /// Whether the stream ended (or failed) before it was told to stop.
    dropped: bool,
}

pub async fn run(target: &Target, plan: FanoutPlan) -> anyhow::Result<FanoutResult> {
    let event = create_venue(target.addr, plan.seats).await?;
    let (stop, stopped) = watch::channel(false);
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::unbounded_channel();
    let gate = Arc::new(Semaphore::new(CONNECTING_AT_ONCE));
    // Changes read by all subscribers, so the run waits for the last ones.
    let seen = Arc::new(AtomicU64::new(0));

    let connecting = Instant::now();
    let before_connect = cpu::Snapshot::take(&target.watched);
    let mut subscribers = Vec::with_capacity(plan.subscribers);
    for _ in 0..plan.subscribers {
        let (addr, gate, stopped, ready, seen) = (
            target.addr,
            gate.clone(),
            stopped.clone(),
            ready_tx.clone(),
            seen.clone(),
        );
        subscribers.push(tokio::spawn(async move {
            subscribe(addr, event, gate, stopped, ready, seen).await
        }));
    }
    drop(ready_tx);
    // Each subscriber says once whether it got its snapshot; one that
    // says nothing for long counts as not connected.
    let mut connected = 0;
    for _ in 0..plan.subscribers {
        match tokio::time::timeout(CONNECT_TIMEOUT, ready_rx.recv()).await {
            Ok(Some(true)) => connected += 1,
            Ok(Some(false)) => {}
            Ok(None) | Err(_) => break,
        }
    }
    let connect_elapsed = connecting.elapsed();
    let connect_cpu = before_connect.used_until(&cpu::Snapshot::take(&target.watched));

    let started = Instant::now();
    let before = cpu::Snapshot::take(&target.watched);
    let (reserved, reserve_failures) = reserve_steadily(target.addr, event, &plan).await?;
    let window = started.elapsed();
    let expected = reserved.len() as u64 * connected as u64;
    while seen.load(Ordering::Relaxed) < expected && started.elapsed() < window + plan.grace {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let settle = started.elapsed() - window;
    let cpu = before.used_until(&cpu::Snapshot::take(&target.watched));
    let _ = stop.send(true);

    let mut read = Vec::with_capacity(subscribers.len());
    for subscriber in subscribers {
        read.push(subscriber.await?);
    }
    let mut result = FanoutResult {
        plan,
        connected,
        connect_elapsed,
        connect_cpu,
        snapshot_bytes: read.first().map_or(0, |s| s.snapshot_bytes),
        reserves: reserved.len() as u64,
        reserve_failures,
        window,
        settle,
        cpu,
        delivered: 0,
        latency: Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid bounds"),
        early: 0,
        dropped: 0,
        complete: 0,
    };
    for subscriber in &read {
        result.dropped += usize::from(subscriber.dropped);
        let mut seen = 0;
        for (code, at) in &subscriber.changes {
            let Some(answered) = reserved.get(code) else {
                continue;
            };
            seen += 1;
            let micros = match at.checked_duration_since(*answered) {
                Some(latency) => latency.as_micros() as u64,
                None => {
                    result.early += 1;
                    0
                }
            };
            result.latency.saturating_record(micros.max(1));
        }
        result.delivered += seen;
        result.complete += usize::from(seen == reserved.len() as u64 && !subscriber.dropped);
    }
    Ok(result)
}

/// One subscriber: connects (waiting its turn at `gate`), reads its
/// snapshot, says so on `ready`, then records every `seats` change (and
/// counts it in `seen`) until told to stop.
async fn subscribe(
    addr: SocketAddr,
    event: i64,
    gate: Arc<Semaphore>,
    mut stopped: watch::Receiver<bool>,
    ready: tokio::sync::mpsc::UnboundedSender<bool>,
    seen: Arc<AtomicU64>,
) -> Subscriber {
    let mut subscriber = Subscriber::default();
    let permit = gate.acquire_owned().await;
    let (mut body, connection) = match open_stream(addr, event).await {
        Ok(opened) => opened,
        Err(_) => {
            let _ = ready.send(false);
            subscriber.dropped = true;
            return subscriber;
        }
    };
    // Leaving closes the connection, as a browser leaving the page does.
    let _closing = AbortOnDrop(connection);
    let mut parser = SseParser::default();
    let mut permit = Some(permit);
    loop {
        let frame = tokio::select! {
            frame = body.frame() => frame,
            _ = stopped.changed() => return subscriber,
        };
        let data = match frame {
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => data,
                Err(_) => continue,
            },
            _ => {
                if permit.take().is_some() {
                    let _ = ready.send(false);
                }
                subscriber.dropped = true;
                return subscriber;
            }
        };
        let now = Instant::now();
        parser.push(&data);
        while let Some(message) = parser.next_message() {
            match message.event {
                b"snapshot" => {
                    subscriber.snapshot_bytes = message.bytes as u64;
                    if permit.take().is_some() {
                        let _ = ready.send(true);
                    }
                }
                b"seats" => {
                    if let Some(seats) = held_seats(message.data) {
                        let before = subscriber.changes.len();
                        subscriber.changes.extend(
                            seats.map(|code| (String::from_utf8_lossy(code).into_owned(), now)),
                        );
                        let read = subscriber.changes.len() - before;
                        seen.fetch_add(read as u64, Ordering::Relaxed);
                    }
                }
                _ => {}
            }
        }
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The response body of the event's stream, and the task that owns the
/// connection: aborting it closes the socket.
async fn open_stream(
    addr: SocketAddr,
    event: i64,
) -> anyhow::Result<(hyper::body::Incoming, tokio::task::JoinHandle<()>)> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    let connection = tokio::spawn(async move {
        let _ = connection.await;
    });
    let request = Request::get(format!("/events/{event}/stream"))
        .header(header::HOST, "127.0.0.1")
        .header(header::ACCEPT, "text/event-stream")
        .body(Empty::<Bytes>::new())?;
    let response = sender.send_request(request).await?;
    anyhow::ensure!(
        response.status() == 200,
        "the stream answered {}",
        response.status()
    );
    Ok((response.into_body(), connection))
}

/// Reserves one seat at a time at `plan.rate` per second for
/// `plan.duration`, over a few connections; answers when each reserved
/// seat's 201 arrived, and how many reserves failed.
async fn reserve_steadily(
    addr: SocketAddr,
    event: i64,
    plan: &FanoutPlan,
) -> anyhow::Result<(HashMap<String, Instant>, u64)> {
    let codes = Arc::new(venue_codes(plan.seats));
    let deadline = Instant::now() + plan.duration;
    let every = Duration::from_secs_f64(f64::from(RESERVE_CONNECTIONS) / f64::from(plan.rate));
    let mut tasks = Vec::new();
    for worker in 0..RESERVE_CONNECTIONS {
        let mut conn = Conn::open(addr).await?;
        let codes = codes.clone();
        tasks.push(tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            // Late ticks are sent at once, so the rate holds on average.
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut reserved = Vec::new();
            let mut failures = 0u64;
            // Seats in a spread order (as buyers choose), each worker its own.
            let mut n = worker as usize;
            while Instant::now() < deadline && n < codes.len() {
                ticks.tick().await;
                let code = &codes[n * 7919 % codes.len()];
                n += RESERVE_CONNECTIONS as usize;
                let body = format!(r#"{{"userId":"sse{n}","seatCodes":["{code}"]}}"#);
                let answer = conn
                    .post(&format!("/events/{event}/seats/reserve"), body)
                    .await;
                if answer.status == 201 {
                    reserved.push((code.clone(), Instant::now()));
                } else {
                    failures += 1;
                }
            }
            (reserved, failures)
        }));
    }
    let mut reserved = HashMap::new();
    let mut failures = 0;
    for task in tasks {
        let (worker_reserved, worker_failures) = task.await?;
        reserved.extend(worker_reserved);
        failures += worker_failures;
    }
    Ok((reserved, failures))
}

/// The most buffer a subscriber keeps between messages.
const KEEP_CAPACITY: usize = 64 * 1024;

/// One message of an event stream, borrowed from the parser's buffer.
#[derive(Debug, PartialEq, Eq)]
struct Message<'a> {
    event: &'a [u8],
    /// Its first `data:` line (the api sends one line of JSON).
    data: &'a [u8],
    /// Its size on the wire.
    bytes: usize,
}

/// Splits `text/event-stream` bytes into messages (blank-line separated
/// `field: value` lines); comments (heartbeats) are skipped. Messages are
/// read in place: with hundreds of subscribers on the generator's one
/// thread, copying each would cost more than the api spends sending it.
#[derive(Debug, Default)]
struct SseParser {
    buffer: Vec<u8>,
    /// Where the next message starts.
    start: usize,
    /// How far `buffer` is known to hold no message end, so a 5 MB
    /// snapshot arriving in pieces is scanned once, not once per piece.
    scanned: usize,
}

impl SseParser {
    fn push(&mut self, data: &[u8]) {
        // Read messages go before new bytes come in.
        self.buffer.drain(..self.start);
        self.scanned -= self.start.min(self.scanned);
        self.start = 0;
        // A snapshot grows the buffer to megabytes; kept by a thousand
        // subscribers that would be gigabytes of the generator's memory.
        if self.buffer.capacity() > KEEP_CAPACITY && self.buffer.len() < KEEP_CAPACITY {
            self.buffer.shrink_to(KEEP_CAPACITY);
        }
        self.buffer.extend_from_slice(data);
    }

    fn next_message(&mut self) -> Option<Message<'_>> {
        loop {
            let from = self.scanned.max(self.start + 1) - 1;
            let Some(end) = self.buffer[from..]
                .windows(2)
                .position(|w| w == b"\n\n")
                .map(|i| from + i)
            else {
                self.scanned = self.buffer.len();
                return None;
            };
            let start = self.start;
            self.start = end + 2;
            self.scanned = end + 2;
            let comment = self.buffer[start..end]
                .split(|b| *b == b'\n')
                .all(|line| line.is_empty() || line.starts_with(b":"));
            if !comment {
                return Some(self.message(start, end));
            }
        }
    }

    /// The message of `buffer[start..end]`.
    fn message(&self, start: usize, end: usize) -> Message<'_> {
        let block = &self.buffer[start..end];
        let mut message = Message {
            event: b"",
            data: b"",
            bytes: end + 2 - start,
        };
        let mut have_data = false;
        for line in block.split(|b| *b == b'\n') {
            if let Some(v) = line.strip_prefix(b"event:") {
                message.event = v.strip_prefix(b" ").unwrap_or(v);
            } else if let Some(v) = line.strip_prefix(b"data:") {
                if !have_data {
                    message.data = v.strip_prefix(b" ").unwrap_or(v);
                    have_data = true;
                }
            }
        }
        message
    }
}

/// The seats of a `seats` change to `held`
/// (`{"seats":["A1","A2"],"status":"held","counts":{...}}`), found without
/// a JSON parser: the api writes exactly this shape.
fn held_seats(data: &[u8]) -> Option<impl Iterator<Item = &[u8]>> {
    const SEATS: &[u8] = b"{\"seats\":[";
    let rest = data.strip_prefix(SEATS)?;
    let close = rest.iter().position(|b| *b == b']')?;
    let after = &rest[close..];
    if !after.starts_with(b"],\"status\":\"held\"") {
        return None;
    }
    Some(
        rest[..close]
            .split(|b| *b == b',')
            .map(|code| code.strip_prefix(b"\"").unwrap_or(code))
            .map(|code| code.strip_suffix(b"\"").unwrap_or(code))
            .filter(|code| !code.is_empty()),
    )
}

#[cfg(test)]
mod tests {
    use super::{held_seats, SseParser};

    #[test]
    fn messages_are_read_across_pieces_and_heartbeats_skipped() {
        let mut parser = SseParser::default();
        parser.push(b": keep-alive\n\nevent: snapshot\nid: 1-2-3\nda");
        assert_eq!(parser.next_message(), None);
        parser.push(b"ta: {\"seats\":[]}\n");
        assert_eq!(parser.next_message(), None);
        parser.push(b"\nevent: seats\ndata: {\"seats\":[\"A1\"],\"status\":\"held\"}\n\n");
        let snapshot = parser.next_message().unwrap();
        assert_eq!(snapshot.event, b"snapshot");
        assert_eq!(snapshot.data, br#"{"seats":[]}"#);
        assert_eq!(snapshot.bytes, 46);
        let change = parser.next_message().unwrap();
        assert_eq!(change.event, b"seats");
        assert_eq!(parser.next_message(), None);
        parser.push(b": keep-alive\n\n");
        assert_eq!(parser.next_message(), None);
    }

    #[test]
    fn held_seats_are_read_from_changes() {
        let held = br#"{"seats":["A1","B12"],"status":"held","counts":{"totalSeats":3}}"#;
        let seats: Vec<&[u8]> = held_seats(held).unwrap().collect();
        assert_eq!(seats, [&b"A1"[..], &b"B12"[..]]);
        let booked = br#"{"seats":["A1"],"status":"booked","counts":{}}"#;
        assert!(held_seats(booked).is_none());
    }
}
