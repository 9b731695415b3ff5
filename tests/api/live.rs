//! Live seat maps over Server-Sent Events.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;

use crate::helpers::{spawn_app, spawn_app_with, As, TestApp};

/// One event of a stream: its `event`, `id` and JSON `data`, or a comment.
#[derive(Debug)]
pub struct Sse {
    pub event: String,
    pub id: String,
    pub data: Value,
    pub comment: bool,
}

/// A connected event stream, read a message at a time.
pub struct Stream {
    body: std::pin::Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    buffer: String,
}

impl Stream {
    pub async fn open(
        app: &TestApp,
        event: i64,
        last: Option<&str>,
    ) -> Result<Self, reqwest::Response> {
        let mut request = app
            .client
            .get(format!("{}/events/{event}/stream", app.address))
            // A stream never ends: only the connect is bounded here.
            .timeout(Duration::from_secs(3600));
        if let Some(last) = last {
            request = request.header("Last-Event-ID", last);
        }
        let response = request.send().await.expect("the app answers");
        if response.status() != 200 {
            return Err(response);
        }
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        Ok(Self {
            body: Box::pin(response.bytes_stream()),
            buffer: String::new(),
        })
    }

    /// The next message within `within`, or `None` if none came (or the
    /// server ended the stream).
    pub async fn next(&mut self, within: Duration) -> Option<Sse> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let raw: String = self.buffer.drain(..end + 2).collect();
                return Some(parse(&raw));
            }
            let chunk = tokio::time::timeout_at(deadline, self.body.next())
                .await
                .ok()??;
            self.buffer
                .push_str(std::str::from_utf8(&chunk.ok()?).unwrap());
        }
    }

    /// The next message that is not a comment.
    pub async fn next_event(&mut self, within: Duration) -> Option<Sse> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let message = self.next(left).await?;
            if !message.comment {
                return Some(message);
            }
        }
    }
}

fn parse(raw: &str) -> Sse {
    let mut message = Sse {
        event: String::new(),
        id: String::new(),
        data: Value::Null,
        comment: false,
    };
    let mut data = String::new();
    for line in raw.lines() {
        if let Some(rest) = line.strip_prefix(':') {
            let _ = rest;
            message.comment = true;
        } else if let Some(rest) = line.strip_prefix("event: ") {
            message.event = rest.to_owned();
        } else if let Some(rest) = line.strip_prefix("id: ") {
            message.id = rest.to_owned();
        } else if let Some(rest) = line.strip_prefix("data: ") {
            data.push_str(rest);
        }
    }
    if !data.is_empty() {
        message.data =
            serde_json::from_str(&data).unwrap_or_else(|_| panic!("data is not JSON: {data}"));
    }
    message
}

const SOON: Duration = Duration::from_secs(1);

fn seats(message: &Sse) -> Vec<String> {
    message.data["seats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

async fn expect_change(stream: &mut Stream, seat_codes: &[&str], status: &str) -> Sse {
    let message = stream
        .next_event(SOON)
        .await
        .unwrap_or_else(|| panic!("no change {seat_codes:?} → {status} within a second"));
    assert_eq!(message.event, "seats", "{message:?}");
    assert_eq!(seats(&message), seat_codes, "{message:?}");
    assert_eq!(message.data["status"], status, "{message:?}");
    message
}

on_both_stores! {
    async fn a_stream_starts_with_a_snapshot_then_sends_each_change_within_a_second() {
        let app = spawn_app().await;
        let event = app.create_event(4).await;
        app.book(event, "carol", &["S4"]).await;
        let mut stream = Stream::open(&app, event, None).await.ok().unwrap();
        let snapshot = stream.next_event(SOON).await.expect("a snapshot first");
        assert_eq!(snapshot.event, "snapshot");
        assert!(!snapshot.id.is_empty());
        assert_eq!(snapshot.data["map"]["states"], "aaab");
        assert_eq!(snapshot.data["map"]["rows"][0]["label"], "S");
        assert_eq!(snapshot.data["map"]["rows"][0]["seats"], 4);
        assert_eq!(snapshot.data["counts"]["confirmedSeats"], 1);

        let hold = app.hold(event, "alice", &["S2", "S1"]).await;
        let held = expect_change(&mut stream, &["S1", "S2"], "held").await;
        assert_eq!(held.data["counts"]["heldSeats"], 2);
        assert_eq!(held.data["counts"]["availableSeats"], 1);
        assert_eq!(app.release(event, "alice", &hold).await.status, 200);
        expect_change(&mut stream, &["S1", "S2"], "available").await;
        let booking = app.book(event, "bob", &["S3"]).await;
        // The hold, then its booking.
        expect_change(&mut stream, &["S3"], "held").await;
        let booked = expect_change(&mut stream, &["S3"], "booked").await;
        assert_eq!(booked.data["counts"]["confirmedSeats"], 2);
        assert_eq!(app.cancel(&booking, As::Header("bob")).await.status, 200);
        let freed = expect_change(&mut stream, &["S3"], "available").await;
        assert_eq!(freed.data["counts"]["availableSeats"], 3);
        assert!(freed.id > held.id || freed.id.len() > held.id.len() || freed.id != held.id);
    }
}

on_both_stores! {
    async fn an_expiry_reaches_the_stream_within_a_second() {
        let app = spawn_app_with(|s| s.holds.ttl_seconds = 1).await;
        let event = app.create_event(3).await;
        let mut stream = Stream::open(&app, event, None).await.ok().unwrap();
        stream.next_event(SOON).await.expect("a snapshot");
        app.hold(event, "alice", &["S2"]).await;
        expect_change(&mut stream, &["S2"], "held").await;
        let freed = stream.next_event(Duration::from_secs(2)).await.expect("the expiry");
        assert_eq!(seats(&freed), ["S2"]);
        assert_eq!(freed.data["status"], "available");
        assert_eq!(freed.data["counts"]["heldSeats"], 0);
    }
}

on_both_stores! {
    async fn a_client_resumes_from_its_last_event_id_without_a_gap() {
        let app = spawn_app().await;
        let event = app.create_event(5).await;
        let mut stream = Stream::open(&app, event, None).await.ok().unwrap();
        let snapshot = stream.next_event(SOON).await.unwrap();
        app.hold(event, "alice", &["S1"]).await;
        let first = expect_change(&mut stream, &["S1"], "held").await;
        drop(stream);
        // Missed while away.
        app.hold(event, "bob", &["S2"]).await;
        app.hold(event, "carol", &["S3"]).await;
        let mut resumed = Stream::open(&app, event, Some(&first.id)).await.ok().unwrap();
        expect_change(&mut resumed, &["S2"], "held").await;
        expect_change(&mut resumed, &["S3"], "held").await;
        app.hold(event, "dave", &["S4"]).await;
        expect_change(&mut resumed, &["S4"], "held").await;
        // From the snapshot's position, everything since.
        let mut from_start = Stream::open(&app, event, Some(&snapshot.id)).await.ok().unwrap();
        for seat in ["S1", "S2", "S3", "S4"] {
            expect_change(&mut from_start, &[seat], "held").await;
        }
        // A position the server never gave out: a snapshot first.
        for bogus in ["nonsense", "999-999-999"] {
            let mut fresh = Stream::open(&app, event, Some(bogus)).await.ok().unwrap();
            let message = fresh.next_event(SOON).await.unwrap();
            assert_eq!(message.event, "snapshot", "{bogus}");
            let held = message.data["counts"]["heldSeats"].as_u64().unwrap();
            assert_eq!(held, 4);
        }
    }
}

on_both_stores! {
    async fn a_quiet_stream_sends_heartbeats() {
        let app = spawn_app_with(|s| s.live.heartbeat_seconds = 1).await;
        let event = app.create_event(3).await;
        let mut stream = Stream::open(&app, event, None).await.ok().unwrap();
        stream.next_event(SOON).await.unwrap();
        let beat = stream.next(Duration::from_millis(2500)).await.expect("a heartbeat");
        assert!(beat.comment, "{beat:?}");
    }
}

on_both_stores! {
    async fn streams_per_instance_are_bounded() {
        // A client that went away is noticed at the next write to it: a
        // heartbeat at the latest.
        let app = spawn_app_with(|s| {
            s.live.max_connections = 1;
            s.live.heartbeat_seconds = 1;
        })
        .await;
        let event = app.create_event(3).await;
        let mut first = Stream::open(&app, event, None).await.ok().unwrap();
        first.next_event(SOON).await.unwrap();
        let refused = Stream::open(&app, event, None).await.err().expect("refused");
        assert_eq!(refused.status(), 503);
        assert!(refused.headers().contains_key("retry-after"));
        let body: Value = refused.json().await.unwrap();
        assert_eq!(body["code"], "TOO_MANY_STREAMS");
        drop(first);
        let mut reopened = None;
        for _ in 0..60 {
            if let Ok(stream) = Stream::open(&app, event, None).await {
                reopened = Some(stream);
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut reopened = reopened.expect("a slot frees when its client goes");
        assert_eq!(reopened.next_event(SOON).await.unwrap().event, "snapshot");
    }
}

on_both_stores! {
    async fn streams_of_unknown_or_malformed_events_are_refused() {
        let app = spawn_app().await;
        let missing = Stream::open(&app, 999, None).await.err().expect("refused");
        assert_eq!(missing.status(), 404);
        let bad = Stream::open(&app, -1, None).await.err().expect("refused");
        assert_eq!(bad.status(), 400);
    }
}

on_both_stores! {
    async fn many_clients_of_one_event_all_get_each_change() {
        let app = spawn_app().await;
        let event = app.create_event(10).await;
        let mut streams = Vec::new();
        for _ in 0..20 {
            let mut stream = Stream::open(&app, event, None).await.ok().unwrap();
            stream.next_event(SOON).await.unwrap();
            streams.push(stream);
        }
        app.hold(event, "alice", &["S7"]).await;
        for stream in &mut streams {
            expect_change(stream, &["S7"], "held").await;
        }
    }
}
