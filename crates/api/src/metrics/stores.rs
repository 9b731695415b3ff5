//! Decorators that time every call to the ports and count what the seat
//! ledger meets (mirror loads, missing mirrors, confirms left pending).
//!
//! Mechanical on purpose: each method forwards to the wrapped store
//! through `timed`, so a port that changes its signatures changes here
//! line by line.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use booking_domain::{
    BeginConfirm, Booking, BookingRepo, CancelOutcome, ConfirmOutcome, Event, EventId, Hold,
    HoldId, HoldRequest, HoldStore, LoadOutcome, NewEvent, ReleaseOutcome, ReserveOutcome,
    SeatCounts, SeatNo, StoreError, StoreInfo, UserId,
};

pub const CALL_DURATION: &str = "booking_store_call_duration_seconds";
pub const RELOADS: &str = "booking_ledger_reloads_total";
pub const FAULTS: &str = "booking_ledger_faults_total";

/// Runs one call, recording its duration by store, call and outcome.
async fn timed<T>(
    store: &'static str,
    call: &'static str,
    future: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    let started = Instant::now();
    let result = future.await;
    let outcome = match &result {
        Ok(_) => "ok",
        Err(StoreError::Unavailable { .. }) => "unavailable",
        Err(StoreError::Internal { .. }) => "error",
    };
    metrics::histogram!(CALL_DURATION, "store" => store, "call" => call, "outcome" => outcome)
        .record(started.elapsed().as_secs_f64());
    result
}

fn fault(kind: &'static str, n: u64) {
    if n > 0 {
        metrics::counter!(FAULTS, "fault" => kind).increment(n);
    }
}

/// A `HoldStore` whose calls are timed.
pub struct TimedHoldStore {
    inner: Arc<dyn HoldStore>,
    store: &'static str,
}

impl std::fmt::Debug for TimedHoldStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimedHoldStore")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl TimedHoldStore {
    /// `store` names the adapter in the labels (`redis`, `memory`).
    pub fn new(store: &'static str, inner: Arc<dyn HoldStore>) -> Self {
        Self { inner, store }
    }
}

#[async_trait]
impl HoldStore for TimedHoldStore {
    async fn reserve(&self, request: &HoldRequest) -> Result<ReserveOutcome, StoreError> {
        let outcome = timed(self.store, "reserve", self.inner.reserve(request)).await;
        if let Ok(ReserveOutcome::NotLoaded) = outcome {
            fault("mirror_missing", 1);
        }
        outcome
    }

    async fn hold(&self, event: EventId, id: HoldId) -> Result<Option<Hold>, StoreError> {
        timed(self.store, "hold", self.inner.hold(event, id)).await
    }

    async fn begin_confirm(
        &self,
        event: EventId,
        id: HoldId,
        user: &UserId,
    ) -> Result<BeginConfirm, StoreError> {
        let outcome = timed(
            self.store,
            "begin_confirm",
            self.inner.begin_confirm(event, id, user),
        )
        .await;
        if let Ok(BeginConfirm::NotLoaded) = outcome {
            fault("mirror_missing", 1);
        }
        outcome
    }

    async fn finish_confirm(&self, hold: &Hold) -> Result<(), StoreError> {
        timed(
            self.store,
            "finish_confirm",
            self.inner.finish_confirm(hold),
        )
        .await
    }

    async fn abort_confirm(&self, event: EventId, id: HoldId) -> Result<(), StoreError> {
        timed(
            self.store,
            "abort_confirm",
            self.inner.abort_confirm(event, id),
        )
        .await
    }

    async fn release(
        &self,
        event: EventId,
        id: HoldId,
        user: &UserId,
    ) -> Result<ReleaseOutcome, StoreError> {
        timed(self.store, "release", self.inner.release(event, id, user)).await
    }

    async fn unbook(
        &self,
        event: EventId,
        booking: HoldId,
        seats: &[SeatNo],
    ) -> Result<(), StoreError> {
        timed(
            self.store,
            "unbook",
            self.inner.unbook(event, booking, seats),
        )
        .await
    }

    async fn counts(
        &self,
        event: EventId,
        stale_after: Duration,
    ) -> Result<Option<SeatCounts>, StoreError> {
        let counts = timed(self.store, "counts", self.inner.counts(event, stale_after)).await;
        if let Ok(None) = counts {
            fault("mirror_missing", 1);
        }
        counts
    }

    async fn begin_load(&self, event: EventId) -> Result<(), StoreError> {
        timed(self.store, "begin_load", self.inner.begin_load(event)).await
    }

    async fn load(
        &self,
        event: EventId,
        booked: &[(SeatNo, HoldId)],
    ) -> Result<LoadOutcome, StoreError> {
        let outcome = timed(self.store, "load", self.inner.load(event, booked)).await;
        match outcome {
            Ok(LoadOutcome::Loaded) => {
                metrics::counter!(RELOADS, "outcome" => "loaded").increment(1)
            }
            Ok(LoadOutcome::Stale) => metrics::counter!(RELOADS, "outcome" => "stale").increment(1),
            Err(_) => {}
        }
        outcome
    }

    async fn stale_pending(
        &self,
        event: EventId,
        older_than: Duration,
    ) -> Result<Vec<Hold>, StoreError> {
        let holds = timed(
            self.store,
            "stale_pending",
            self.inner.stale_pending(event, older_than),
        )
        .await;
        if let Ok(holds) = &holds {
            fault("stale_pending", holds.len() as u64);
        }
        holds
    }

    async fn info(&self) -> Result<StoreInfo, StoreError> {
        timed(self.store, "info", self.inner.info()).await
    }
}

/// A `BookingRepo` whose calls are timed.
pub struct TimedBookingRepo {
    inner: Arc<dyn BookingRepo>,
    store: &'static str,
}

impl std::fmt::Debug for TimedBookingRepo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimedBookingRepo")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl TimedBookingRepo {
    /// `store` names the adapter in the labels (`postgres`, `memory`).
    pub fn new(store: &'static str, inner: Arc<dyn BookingRepo>) -> Self {
        Self { inner, store }
    }
}

#[async_trait]
impl BookingRepo for TimedBookingRepo {
    async fn create_event(&self, event: &NewEvent) -> Result<Event, StoreError> {
        timed(self.store, "create_event", self.inner.create_event(event)).await
    }

    async fn event(&self, id: EventId) -> Result<Option<Event>, StoreError> {
        timed(self.store, "event", self.inner.event(id)).await
    }

    async fn confirm(&self, hold: &Hold) -> Result<ConfirmOutcome, StoreError> {
        timed(self.store, "confirm", self.inner.confirm(hold)).await
    }

    async fn booking(&self, id: HoldId) -> Result<Option<Booking>, StoreError> {
        timed(self.store, "booking", self.inner.booking(id)).await
    }

    async fn cancel(&self, id: HoldId) -> Result<CancelOutcome, StoreError> {
        timed(self.store, "cancel", self.inner.cancel(id)).await
    }

    async fn booked_seats(&self, event: EventId) -> Result<Vec<(SeatNo, HoldId)>, StoreError> {
        timed(self.store, "booked_seats", self.inner.booked_seats(event)).await
    }

    async fn info(&self) -> Result<StoreInfo, StoreError> {
        timed(self.store, "info", self.inner.info()).await
    }
}
