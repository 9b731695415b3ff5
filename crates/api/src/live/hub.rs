//! One hub per watched event on this instance: it reads the event's change
//! feed every `poll` and broadcasts what it read to the event's clients.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::web;
use actix_web_lab::sse;
use booking_domain::{
    BookingService, Event, EventId, FeedPosition, FeedRead, SeatChange, WatchStart,
};
use futures_util::Stream;
use tokio::sync::{broadcast, watch};

use super::format;
use crate::error::ApiError;
use crate::outage::Outage;

/// How live updates behave on this instance.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    /// How often each watched event's change feed is read.
    pub poll: Duration,
    /// How long the store keeps recording an event's changes after the
    /// last read; well above `poll`.
    pub watch_ttl: Duration,
    /// How long a quiet stream waits before sending a comment line, so
    /// proxies and clients see the connection is alive.
    pub heartbeat: Duration,
    /// The most open streams this instance serves.
    pub max_connections: usize,
    /// How many messages a client may fall behind before it is dropped.
    pub client_buffer: usize,
}

/// The most changes replayed to a client resuming with `Last-Event-ID`;
/// further behind than that, a snapshot is cheaper.
const MAX_REPLAY: u32 = 1_000;

enum Message {
    Change(SeatChange),
    /// The feed could not continue (the mirror was reloaded): every
    /// client starts over from this.
    Snapshot(WatchStart),
}

struct Hub {
    event: Arc<Event>,
    sender: broadcast::Sender<Arc<Message>>,
}

/// The live seat feeds of this instance.
pub struct SeatFeeds {
    service: web::Data<BookingService>,
    config: LiveConfig,
    hubs: Mutex<HashMap<EventId, Arc<Hub>>>,
    connections: Arc<AtomicUsize>,
    /// Set when the instance begins to stop (`close`).
    closing: watch::Sender<bool>,
}

impl std::fmt::Debug for SeatFeeds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeatFeeds")
            .field("config", &self.config)
            .field("connections", &self.connections.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// Holds one of the instance's stream slots until the stream is dropped.
struct Slot(Arc<AtomicUsize>);

impl Slot {
    fn take(connections: &Arc<AtomicUsize>, max: usize) -> Option<Self> {
        let taken = connections.fetch_add(1, Ordering::AcqRel);
        if taken >= max {
            connections.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(Self(connections.clone()))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// What one client's stream carries along.
struct Client {
    event: Arc<Event>,
    queued: VecDeque<sse::Event>,
    receiver: broadcast::Receiver<Arc<Message>>,
    /// The last position this client has seen; older news is skipped.
    position: FeedPosition,
    closing: watch::Receiver<bool>,
    _slot: Slot,
}

fn snapshot_event(event: &Event, start: &WatchStart) -> sse::Event {
    sse::Data::new(format::snapshot(event, &start.map, start.counts))
        .event("snapshot")
        .id(start.position.to_string())
        .into()
}

fn change_event(event: &Event, change: &SeatChange) -> sse::Event {
    sse::Data::new(format::change(event, change))
        .event("seats")
        .id(change.position.to_string())
        .into()
}

impl SeatFeeds {
    pub fn new(service: web::Data<BookingService>, config: LiveConfig) -> Arc<Self> {
        Arc::new(Self {
            service,
            config,
            hubs: Mutex::new(HashMap::new()),
            connections: Arc::new(AtomicUsize::new(0)),
            closing: watch::Sender::new(false),
        })
    }

    /// Ends every stream, now and from now on, after what it has queued.
    /// A stream's body never ends by itself, so a graceful stop would
    /// otherwise wait out `server.shutdown_timeout_seconds` for each one;
    /// its client reconnects with `Last-Event-ID` to another instance.
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    pub fn config(&self) -> &LiveConfig {
        &self.config
    }

    /// Open streams right now, for metrics and tests.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::Relaxed)
    }

    /// A client's stream of the event's seat changes: a snapshot first (or
    /// the changes after `last`, when the store still has them), then every
    /// change as the hub reads it.
    pub async fn subscribe(
        self: &Arc<Self>,
        id: EventId,
        last: Option<FeedPosition>,
    ) -> Result<sse::Sse<impl Stream<Item = Result<sse::Event, Infallible>>>, ApiError> {
        let stream = self.open(id, last).await?;
        Ok(sse::Sse::from_stream(stream).with_keep_alive(self.config.heartbeat))
    }

    /// The events of one client's stream, without the HTTP around them.
    async fn open(
        self: &Arc<Self>,
        id: EventId,
        last: Option<FeedPosition>,
    ) -> Result<impl Stream<Item = Result<sse::Event, Infallible>>, ApiError> {
        let slot = Slot::take(&self.connections, self.config.max_connections).ok_or_else(|| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "TOO_MANY_STREAMS",
                "this instance serves as many live streams as it may; try again shortly",
            )
        })?;
        let (event, start, receiver) = self.join(id).await?;
        let mut queued = VecDeque::new();
        let mut position = start.position;
        match self.replay(&event, &start, last).await {
            Some(changes) => {
                for change in &changes {
                    queued.push_back(change_event(&event, change));
                }
                position = changes
                    .last()
                    .map_or(start.position, |c| c.position)
                    .max(start.position);
            }
            None => queued.push_back(snapshot_event(&event, &start)),
        }
        let client = Client {
            event,
            queued,
            receiver,
            position,
            closing: self.closing.subscribe(),
            _slot: slot,
        };
        Ok(futures_util::stream::unfold(client, next_event))
    }

    /// Subscribes to the event's hub (creating it if needed) and takes a
    /// snapshot no older than anything the hub has read: a change the hub
    /// reads later is then either in the snapshot or sent after it.
    async fn join(
        self: &Arc<Self>,
        id: EventId,
    ) -> Result<(Arc<Event>, WatchStart, broadcast::Receiver<Arc<Message>>), ApiError> {
        let ttl = self.config.watch_ttl;
        loop {
            let existing = self.hubs().get(&id).map(|hub| hub.sender.subscribe());
            let (event, start) = self.service.watch_seats(id, ttl).await?;
            if let Some(receiver) = existing {
                return Ok((event, start, receiver));
            }
            let mut hubs = self.hubs();
            if hubs.contains_key(&id) {
                // Another client created it meanwhile: its first read may
                // be newer than our snapshot, so join it and look again.
                continue;
            }
            let (sender, receiver) = broadcast::channel(self.config.client_buffer.max(1));
            let hub = Arc::new(Hub {
                event: event.clone(),
                sender,
            });
            hubs.insert(id, hub.clone());
            drop(hubs);
            tokio::spawn(self.clone().run_hub(hub, start.position));
            return Ok((event, start, receiver));
        }
    }

    fn hubs(&self) -> std::sync::MutexGuard<'_, HashMap<EventId, Arc<Hub>>> {
        self.hubs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The changes a resuming client missed since `last`, if the store
    /// still has them all and they are few enough to replay.
    async fn replay(
        &self,
        event: &Event,
        start: &WatchStart,
        last: Option<FeedPosition>,
    ) -> Option<Vec<SeatChange>> {
        let last = last?;
        if last > start.position {
            return None;
        }
        let read = self
            .service
            .seat_changes(event, last, MAX_REPLAY, self.config.watch_ttl)
            .await
            .ok()?;
        match read {
            FeedRead::Changes(changes) if changes.len() < MAX_REPLAY as usize => Some(changes),
            _ => None,
        }
    }

    /// Reads the event's feed every `poll` while anyone here watches it.
    async fn run_hub(self: Arc<Self>, hub: Arc<Hub>, mut position: FeedPosition) {
        let mut outage = Outage::default();
        let mut ticks = tokio::time::interval(self.config.poll);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if self.retire_if_unwatched(&hub) {
                return;
            }
            let read = self
                .service
                .seat_changes(&hub.event, position, 500, self.config.watch_ttl)
                .await;
            if read.is_ok() {
                if let Some(lasted) = outage.over(Instant::now()) {
                    tracing::info!(
                        event = %hub.event.id,
                        after_ms = lasted.as_millis() as u64,
                        "live feed: reading changes again"
                    );
                }
            }
            match read {
                Ok(FeedRead::Changes(changes)) => {
                    for change in changes {
                        position = change.position;
                        let _ = hub.sender.send(Arc::new(Message::Change(change)));
                    }
                }
                Ok(FeedRead::Gap) => {
                    match self
                        .service
                        .watch_seats(hub.event.id, self.config.watch_ttl)
                        .await
                    {
                        Ok((_, start)) => {
                            position = start.position;
                            let _ = hub.sender.send(Arc::new(Message::Snapshot(start)));
                        }
                        Err(error) => {
                            tracing::warn!(event = %hub.event.id, error = %error, "live feed: cannot take a snapshot")
                        }
                    }
                }
                // The store is away: clients keep their streams and get
                // what was missed once it is back (or a snapshot).
                Err(error) => {
                    if let Some(failed_reads) = outage.failed(Instant::now()) {
                        tracing::warn!(
                            event = %hub.event.id,
                            error = %error,
                            failed_reads,
                            "live feed: cannot read changes"
                        )
                    }
                }
            }
        }
    }

    /// Removes the hub once nobody listens; subscribing happens under the
    /// same lock, so nobody can join a hub that is going away.
    fn retire_if_unwatched(&self, hub: &Arc<Hub>) -> bool {
        let mut hubs = self.hubs();
        if hub.sender.receiver_count() > 0 {
            return false;
        }
        if hubs.get(&hub.event.id).is_some_and(|h| Arc::ptr_eq(h, hub)) {
            hubs.remove(&hub.event.id);
        }
        true
    }
}

/// The next event for one client, or the end of its stream when it fell
/// too far behind (its buffer overflowed), the hub went away or the
/// instance is stopping.
async fn next_event(mut client: Client) -> Option<(Result<sse::Event, Infallible>, Client)> {
    loop {
        if let Some(event) = client.queued.pop_front() {
            return Some((Ok(event), client));
        }
        let received = tokio::select! {
            received = client.receiver.recv() => received,
            _ = client.closing.wait_for(|closing| *closing) => return None,
        };
        let message = match received {
            Ok(message) => message,
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::info!(event = %client.event.id, missed, "live feed: dropped a client that fell behind");
                return None;
            }
            Err(broadcast::error::RecvError::Closed) => return None,
        };
        match &*message {
            Message::Change(change) if change.position > client.position => {
                client.position = change.position;
                client.queued.push_back(change_event(&client.event, change));
            }
            Message::Change(_) => {}
            Message::Snapshot(start) => {
                client.position = start.position;
                client
                    .queued
                    .push_back(snapshot_event(&client.event, start));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use booking_domain::{LedgerConfig, Limits, NewEvent, SeatCode, SeatRequest, UserId};
    use booking_memory::{MemoryBookingRepo, MemoryHoldStore};
    use futures_util::StreamExt;

    use super::*;

    #[tokio::test]
    async fn a_client_that_falls_behind_is_dropped_and_nobody_else_waits() {
        let service = web::Data::new(BookingService::new(
            Arc::new(MemoryHoldStore::new()),
            Arc::new(MemoryBookingRepo::new()),
            Limits::default(),
            LedgerConfig::default(),
        ));
        let layout = Arc::new(booking_domain::Layout::single_row(100).unwrap());
        let event = service
            .create_event(NewEvent {
                name: booking_domain::Label::parse("name", "e").unwrap(),
                date: chrono::Utc::now(),
                location: booking_domain::Label::parse("location", "l").unwrap(),
                layout,
                idempotency: None,
            })
            .await
            .unwrap()
            .event;
        let feeds = SeatFeeds::new(
            service.clone(),
            LiveConfig {
                poll: Duration::from_millis(10),
                watch_ttl: Duration::from_secs(10),
                heartbeat: Duration::from_secs(60),
                max_connections: 10,
                client_buffer: 4,
            },
        );
        let slow = feeds.open(event.id, None).await.unwrap();
        let fast = feeds.open(event.id, None).await.unwrap();
        let reader = tokio::spawn(fast.take(41).count());
        for n in 1..=40 {
            let seat = SeatCode::parse(&format!("S{n}")).unwrap();
            let user = UserId::parse(&format!("buyer-{n}")).unwrap();
            service
                .reserve(event.id, user, SeatRequest::Codes(vec![seat]))
                .await
                .unwrap();
            // One change per poll, so the fast client is never behind.
            tokio::time::sleep(Duration::from_millis(15)).await;
        }
        let received = tokio::time::timeout(Duration::from_secs(5), reader)
            .await
            .expect("the fast client got every change")
            .unwrap();
        assert_eq!(received, 41, "a snapshot and 40 changes");
        // The slow one never read: it gets its snapshot, then its stream
        // ends instead of holding the others back.
        let slow: Vec<_> = tokio::time::timeout(Duration::from_secs(5), slow.collect::<Vec<_>>())
            .await
            .expect("the slow client's stream ended");
        assert!(slow.len() <= 5, "{} events", slow.len());
        assert_eq!(feeds.connections(), 0);
    }
}
