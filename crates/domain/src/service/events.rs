//! Events: create one, read its details and counts, read its seat map.

use std::sync::Arc;
use std::time::Duration;

use tracing::{instrument, warn};

use super::BookingService;
use crate::{
    Availability, CreateEventError, CreateOutcome, Event, EventDetailsError, EventId, FeedPosition,
    FeedRead, NewEvent, SeatMap, SeatMapError, StoreError, WatchStart,
};

/// A created event, and whether an earlier request with the same
/// idempotency key created it.
#[derive(Debug, Clone)]
pub struct CreatedEvent {
    pub event: Arc<Event>,
    pub replayed: bool,
}

impl BookingService {
    #[instrument(skip_all, fields(total_seats = new.layout.total()))]
    pub async fn create_event(&self, new: NewEvent) -> Result<CreatedEvent, CreateEventError> {
        let max = self.limits.max_seats_per_event;
        if new.layout.total() > max {
            return Err(CreateEventError::TooManySeats { max });
        }
        let (event, replayed) = match self.repo.create_event(&new).await? {
            CreateOutcome::Created(event) => (event, false),
            CreateOutcome::Replayed(event) => (event, true),
            CreateOutcome::KeyReused => return Err(CreateEventError::KeyReused),
        };
        let event = Arc::new(event);
        self.events.found(event.clone());
        if !replayed {
            self.prime(&event).await;
        }
        Ok(CreatedEvent { event, replayed })
    }

    /// Loads a new event's empty mirror, which saves the first buyer the
    /// wait. A create needs only the repo: past a short wait the load goes
    /// on alone (the first use of the event joins it or loads anew), so a
    /// hold store that hangs does not hold creates up to its timeout.
    async fn prime(&self, event: &Arc<Event>) {
        const WAIT: Duration = Duration::from_millis(250);
        let (ledger, loading, id) = (Arc::clone(&self.ledger), Arc::clone(event), event.id);
        let mut load = tokio::spawn(async move { ledger.prime(&loading).await });
        // A failure is logged by the request while it waits, so that its
        // line carries the request; after that by the load's own task.
        match tokio::time::timeout(WAIT, &mut load).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(error))) => prime_failed(id, &error),
            Ok(Err(error)) => prime_failed(id, &error),
            Err(_) => {
                tokio::spawn(async move {
                    if let Ok(Err(error)) = load.await {
                        prime_failed(id, &error);
                    }
                });
            }
        }
    }

    pub async fn event_details(
        &self,
        id: EventId,
    ) -> Result<(Arc<Event>, Availability), EventDetailsError> {
        let event = self
            .event(id)
            .await?
            .ok_or(EventDetailsError::EventNotFound)?;
        let counts = self.ledger.counts(&event).await?;
        let availability = Availability::of(event.total_seats(), counts);
        Ok((event, availability))
    }

    /// Every seat's state, in venue order, exact at this instant.
    pub async fn seat_map(&self, id: EventId) -> Result<(Arc<Event>, SeatMap), SeatMapError> {
        let event = self.event(id).await?.ok_or(SeatMapError::EventNotFound)?;
        let map = self.ledger.seat_map(&event).await?;
        Ok((event, map))
    }
}

impl BookingService {
    /// Starts watching an event's seats: the map to start from, and the
    /// position of the change feed it reflects. Recording lasts `ttl`
    /// unless renewed by `seat_changes`.
    pub async fn watch_seats(
        &self,
        id: EventId,
        ttl: std::time::Duration,
    ) -> Result<(Arc<Event>, WatchStart), SeatMapError> {
        let event = self.event(id).await?.ok_or(SeatMapError::EventNotFound)?;
        let start = self.ledger.watch(&event, ttl).await?;
        Ok((event, start))
    }

    /// The seat changes of a watched event after `after`.
    pub async fn seat_changes(
        &self,
        event: &Event,
        after: FeedPosition,
        limit: u32,
        ttl: std::time::Duration,
    ) -> Result<FeedRead, StoreError> {
        self.ledger.changes(event, after, limit, ttl).await
    }
}

fn prime_failed(event: EventId, error: &dyn std::fmt::Display) {
    warn!(event = %event, error = %error, "could not load a new event's mirror");
}
