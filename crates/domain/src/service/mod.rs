//! The use cases, by resource: `events`, `holds`, `bookings`. Each returns
//! its own error enum; the api maps those to statuses in one place. They
//! ask the seat ledger for an event's seats and act on its answers; none of
//! them knows the mirror can be missing or stale.

mod bookings;
mod cache;
mod events;
mod holds;

use std::sync::Arc;
use std::time::Duration;

use crate::ledger::{LedgerConfig, MaintenanceReport, SeatLedger};
use crate::{BookingRepo, Event, EventId, HoldStore, StoreError, StoreInfo};
use cache::{Cached, EventCache};

pub use bookings::{BookingList, BookingView};
pub use events::CreatedEvent;
pub use holds::{Reservation, SeatRequest};

/// The configurable limits of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_seats_per_event: u32,
    pub max_seats_per_hold: u32,
    pub max_held_seats_per_user: u32,
    pub hold_ttl: Duration,
    /// The longest a hold may last from its creation, extensions included.
    pub hold_max_total: Duration,
    /// The most bookings one page of a user's bookings holds.
    pub max_page_size: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_seats_per_event: 100_000,
            max_seats_per_hold: 10,
            max_held_seats_per_user: 20,
            hold_ttl: Duration::from_secs(300),
            hold_max_total: Duration::from_secs(900),
            max_page_size: 100,
        }
    }
}

/// Both stores' answers to a health check.
#[derive(Debug)]
pub struct StorageHealth {
    pub bookings: Result<StoreInfo, StoreError>,
    pub holds: Result<StoreInfo, StoreError>,
}

/// The booking use cases. Cheap to share: clone the `Arc` it lives in.
pub struct BookingService {
    ledger: Arc<SeatLedger>,
    holds: Arc<dyn HoldStore>,
    repo: Arc<dyn BookingRepo>,
    limits: Limits,
    events: EventCache,
}

impl std::fmt::Debug for BookingService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BookingService")
            .field("limits", &self.limits)
            .field("ledger", &self.ledger)
            .finish_non_exhaustive()
    }
}

impl BookingService {
    /// How many events each instance keeps in memory.
    const CACHED_EVENTS: usize = 10_000;

    pub fn new(
        holds: Arc<dyn HoldStore>,
        repo: Arc<dyn BookingRepo>,
        limits: Limits,
        ledger: LedgerConfig,
    ) -> Self {
        Self {
            ledger: Arc::new(SeatLedger::new(holds.clone(), repo.clone(), ledger)),
            holds,
            repo,
            limits,
            events: EventCache::new(Self::CACHED_EVENTS),
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub async fn health(&self) -> StorageHealth {
        let (bookings, holds) = tokio::join!(self.repo.info(), self.holds.info());
        StorageHealth { bookings, holds }
    }

    /// The background work of the ledger; run it every second or so.
    pub async fn maintain(&self) -> MaintenanceReport {
        self.ledger.maintain().await
    }

    /// The event, from the cache or the repo.
    async fn event(&self, id: EventId) -> Result<Option<Arc<Event>>, StoreError> {
        match self.events.get(id) {
            Cached::Found(event) => return Ok(Some(event)),
            Cached::Missing => return Ok(None),
            Cached::Unknown => {}
        }
        match self.repo.event(id).await? {
            Some(event) => {
                let event = Arc::new(event);
                self.events.found(event.clone());
                Ok(Some(event))
            }
            None => {
                self.events.missing(id);
                Ok(None)
            }
        }
    }
}
