//! The booking rules, as `BookingService` keeps them. Each test runs the
//! real use cases over the in-memory stores (the reference adapters, which
//! pass the port contract suite) and asserts what a client would see.
//!
//! Failures a real store can have (a refused call, a lost answer, a mirror
//! that is gone, a load overtaken by another) are injected by
//! [`Faulty`](faulty::Faulty), which wraps the memory stores, breaks the
//! chosen step and keeps the rest of the state real. Port mocks remain
//! only for answers no correct store gives (`failures.rs`).
//!
//! These tests live in the memory crate: the domain depending on its own
//! adapter would link two copies of the domain.

mod faulty;

mod best_available;
mod bookings;
mod confirm;
mod events;
mod failures;
mod ledger_loads;
mod ledger_settling;
mod release_and_extend;
mod reserve;
mod unbook_queue;

use std::sync::Arc;
use std::time::Duration;

use booking_domain::contract::{new_event_with, rows};
use booking_domain::{
    Availability, BookingService, Caller, Event, Hold, HoldId, LedgerConfig, Limits, ReserveError,
    SeatCode, SeatRequest, SeatState, UserId,
};
use booking_memory::{MemoryBookingRepo, MemoryHoldStore};

use faulty::Faulty;

/// How long a hold lasts, and the most it may last with extensions, in
/// tests where holds must not expire.
pub const TTL: Duration = Duration::from_secs(60);
pub const MAX_TOTAL: Duration = Duration::from_secs(150);
/// Holds that expire within a test, and how long to wait for that: the
/// stores judge expiry by the same clock, so the margin is for a busy
/// machine, not for clock skew.
pub const SHORT_TTL: Duration = Duration::from_secs(1);
pub const PAST_SHORT_TTL: Duration = Duration::from_millis(1_300);
/// How long a confirm may stay pending before `maintain` settles it.
pub const GRACE: Duration = Duration::from_millis(300);
pub const PAST_GRACE: Duration = Duration::from_millis(450);

pub fn limits() -> Limits {
    Limits {
        max_seats_per_event: 1_000,
        max_seats_per_hold: 4,
        max_held_seats_per_user: 6,
        hold_ttl: TTL,
        hold_max_total: MAX_TOTAL,
        max_page_size: 3,
    }
}

/// Limits whose holds expire within a test.
pub fn short_holds() -> Limits {
    Limits {
        hold_ttl: SHORT_TTL,
        hold_max_total: Duration::from_secs(3),
        ..limits()
    }
}

pub fn ledger() -> LedgerConfig {
    LedgerConfig {
        pending_grace: GRACE,
        load_wait: Duration::from_secs(5),
        load_lease: Duration::from_secs(30),
        // Small, so that every load with a few booked seats comes in chunks.
        load_chunk: 2,
        unbook_retry_after: Duration::ZERO,
        ..LedgerConfig::default()
    }
}

/// One api instance: the service and the stores under it, each behind a
/// `Faulty` that passes everything through until told otherwise.
#[derive(Debug)]
pub struct App {
    pub service: Arc<BookingService>,
    pub holds: Arc<Faulty<MemoryHoldStore>>,
    pub repo: Arc<Faulty<MemoryBookingRepo>>,
    limits: Limits,
    ledger: LedgerConfig,
}

impl Default for App {
    fn default() -> Self {
        Self::with(limits(), ledger())
    }
}

impl App {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with(limits: Limits, ledger: LedgerConfig) -> Self {
        Self::over(
            Arc::new(MemoryHoldStore::new()),
            Arc::new(MemoryBookingRepo::new()),
            limits,
            ledger,
        )
    }

    fn over(
        holds: Arc<MemoryHoldStore>,
        repo: Arc<MemoryBookingRepo>,
        limits: Limits,
        ledger: LedgerConfig,
    ) -> Self {
        let holds = Arc::new(Faulty::new("hold store", holds));
        let repo = Arc::new(Faulty::new("repo", repo));
        let service = BookingService::new(holds.clone(), repo.clone(), limits, ledger);
        Self {
            service: Arc::new(service),
            holds,
            repo,
            limits,
            ledger,
        }
    }

    /// Another api instance on the same two stores.
    pub fn another_instance(&self) -> Self {
        Self::over(
            self.holds.inner().clone(),
            self.repo.inner().clone(),
            self.limits,
            self.ledger,
        )
    }

    /// Another api instance on the same repo, whose hold store knows
    /// nothing yet: a new or flushed Redis.
    pub fn with_fresh_hold_store(&self) -> Self {
        Self::over(
            Arc::new(MemoryHoldStore::new()),
            self.repo.inner().clone(),
            self.limits,
            self.ledger,
        )
    }

    /// A new event with rows `A`, `B`, ... of these sizes.
    pub async fn event(&self, row_sizes: &[u32]) -> Arc<Event> {
        let created = self
            .service
            .create_event(new_event_with(rows(row_sizes)))
            .await
            .unwrap();
        assert!(!created.replayed);
        created.event
    }

    /// Holds these seats for `who`, which must succeed.
    pub async fn hold(&self, event: &Event, who: &str, seats: &[&str]) -> Hold {
        let wanted = SeatRequest::Codes(codes(seats));
        match self.service.reserve(event.id, user(who), wanted).await {
            Ok(reservation) => reservation.hold,
            Err(error) => panic!("{who} could not hold {seats:?}: {error:?}"),
        }
    }

    /// Holds and confirms these seats for `who`, which must succeed.
    pub async fn book(&self, event: &Event, who: &str, seats: &[&str]) -> HoldId {
        let hold = self.hold(event, who, seats).await;
        let booked = self.service.confirm(event.id, &user(who), hold.id).await;
        assert_eq!(booked.unwrap(), hold.id, "a booking's id is its hold's");
        hold.id
    }

    /// `who` asks for these seats and is refused: the seats named.
    pub async fn refused(&self, event: &Event, who: &str, seats: &[&str]) -> Vec<SeatCode> {
        let wanted = SeatRequest::Codes(codes(seats));
        match self.service.reserve(event.id, user(who), wanted).await {
            Err(ReserveError::SeatsUnavailable(taken)) => taken,
            other => panic!("{who} should have been refused {seats:?}, got {other:?}"),
        }
    }

    /// The seats in `state`, by name, in venue order.
    pub async fn seats(&self, event: &Event, state: SeatState) -> Vec<String> {
        let (event, map) = self.service.seat_map(event.id).await.unwrap();
        assert_eq!(map.states.len() as u32, event.total_seats());
        event
            .layout
            .names()
            .zip(&map.states)
            .filter(|(_, s)| **s == state)
            .map(|(name, _)| name.to_string())
            .collect()
    }

    pub async fn availability(&self, event: &Event) -> Availability {
        self.service.event_details(event.id).await.unwrap().1
    }
}

pub fn user(name: &str) -> UserId {
    UserId::parse(name).unwrap()
}

pub fn codes(raw: &[&str]) -> Vec<SeatCode> {
    raw.iter()
        .map(|code| SeatCode::parse(code).unwrap())
        .collect()
}

pub fn owner(name: &str) -> Caller {
    Caller::user(user(name))
}

pub fn admin(name: &str) -> Caller {
    Caller {
        user: user(name),
        admin: true,
    }
}

/// Seat names, for comparing with `App::seats`.
pub fn names(raw: &[&str]) -> Vec<String> {
    raw.iter().map(|name| name.to_string()).collect()
}
