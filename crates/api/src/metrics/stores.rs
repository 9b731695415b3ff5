//! Decorators that time every call to the ports, by store, call and
//! outcome, for `/metrics`. What the seat ledger meets (loads, stale
//! mirrors, settled confirms) it counts itself, in the domain.
//!
//! Mechanical on purpose: each method forwards to the wrapped store
//! through `timed`, so a port that changes its signatures changes here
//! line by line.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::tallied::Family;
use async_trait::async_trait;
use booking_domain::{
    BeginConfirm, BeginLoad, Booking, BookingCursor, BookingPage, BookingRepo, CancelOutcome,
    ConfirmOutcome, CreateOutcome, Event, EventId, ExtendOutcome, FeedPosition, FeedRead, Hold,
    HoldId, HoldRequest, HoldStore, LoadStep, LoadToken, Mirror, MirrorSpec, NewEvent,
    ReleaseOutcome, ReserveOutcome, SeatCounts, SeatMap, SeatNo, SettleOutcome, StoreError,
    StoreInfo, UserId, WatchStart,
};

/// `booking_store_call_duration_seconds`, counted per thread (`tallied`):
/// every request that reaches a store records at least one call.
pub static CALLS: Family = Family::histogram(
    "booking_store_call_duration_seconds",
    "Time of each call to a store, by store, call and outcome (ok, unavailable, indeterminate, error).",
    ["store", "call", "outcome"],
);

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
        Err(StoreError::Indeterminate { .. }) => "indeterminate",
        Err(StoreError::Internal { .. }) => "error",
    };
    CALLS.record([store, call, outcome], started.elapsed());
    result
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
    async fn reserve(&self, request: &HoldRequest) -> Result<Mirror<ReserveOutcome>, StoreError> {
        timed(self.store, "reserve", self.inner.reserve(request)).await
    }

    async fn hold(&self, event: EventId, id: HoldId) -> Result<Mirror<Option<Hold>>, StoreError> {
        timed(self.store, "hold", self.inner.hold(event, id)).await
    }

    async fn extend(
        &self,
        event: EventId,
        id: HoldId,
        user: &UserId,
        by: Duration,
        max_total: Duration,
    ) -> Result<Mirror<ExtendOutcome>, StoreError> {
        timed(
            self.store,
            "extend",
            self.inner.extend(event, id, user, by, max_total),
        )
        .await
    }

    async fn begin_confirm(
        &self,
        event: EventId,
        id: HoldId,
        user: &UserId,
    ) -> Result<Mirror<BeginConfirm>, StoreError> {
        timed(
            self.store,
            "begin_confirm",
            self.inner.begin_confirm(event, id, user),
        )
        .await
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
    ) -> Result<Mirror<ReleaseOutcome>, StoreError> {
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

    async fn forget_holds(&self, event: EventId, holds: &[HoldId]) -> Result<(), StoreError> {
        timed(
            self.store,
            "forget_holds",
            self.inner.forget_holds(event, holds),
        )
        .await
    }

    async fn counts(
        &self,
        event: EventId,
        stale_after: Duration,
    ) -> Result<Mirror<SeatCounts>, StoreError> {
        timed(self.store, "counts", self.inner.counts(event, stale_after)).await
    }

    async fn seat_map(&self, event: EventId) -> Result<Mirror<SeatMap>, StoreError> {
        timed(self.store, "seat_map", self.inner.seat_map(event)).await
    }

    async fn stale_pending(
        &self,
        event: EventId,
        older_than: Duration,
    ) -> Result<Vec<Hold>, StoreError> {
        timed(
            self.store,
            "stale_pending",
            self.inner.stale_pending(event, older_than),
        )
        .await
    }

    async fn begin_load(
        &self,
        event: EventId,
        token: LoadToken,
        spec: &MirrorSpec,
    ) -> Result<BeginLoad, StoreError> {
        timed(
            self.store,
            "begin_load",
            self.inner.begin_load(event, token, spec),
        )
        .await
    }

    async fn load_booked(
        &self,
        event: EventId,
        token: LoadToken,
        booked: &[(SeatNo, HoldId)],
    ) -> Result<LoadStep, StoreError> {
        timed(
            self.store,
            "load_booked",
            self.inner.load_booked(event, token, booked),
        )
        .await
    }

    async fn finish_load(&self, event: EventId, token: LoadToken) -> Result<LoadStep, StoreError> {
        timed(
            self.store,
            "finish_load",
            self.inner.finish_load(event, token),
        )
        .await
    }

    async fn abandon_load(&self, event: EventId, token: LoadToken) -> Result<(), StoreError> {
        timed(
            self.store,
            "abandon_load",
            self.inner.abandon_load(event, token),
        )
        .await
    }

    async fn watch(&self, event: EventId, ttl: Duration) -> Result<Mirror<WatchStart>, StoreError> {
        timed(self.store, "watch", self.inner.watch(event, ttl)).await
    }

    async fn changes(
        &self,
        event: EventId,
        after: FeedPosition,
        limit: u32,
        ttl: Duration,
    ) -> Result<Mirror<FeedRead>, StoreError> {
        timed(
            self.store,
            "changes",
            self.inner.changes(event, after, limit, ttl),
        )
        .await
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
    async fn create_event(&self, event: &NewEvent) -> Result<CreateOutcome, StoreError> {
        timed(self.store, "create_event", self.inner.create_event(event)).await
    }

    async fn event(&self, id: EventId) -> Result<Option<Event>, StoreError> {
        timed(self.store, "event", self.inner.event(id)).await
    }

    async fn confirm(&self, hold: &Hold) -> Result<ConfirmOutcome, StoreError> {
        timed(self.store, "confirm", self.inner.confirm(hold)).await
    }

    async fn settle(&self, hold: &Hold) -> Result<SettleOutcome, StoreError> {
        timed(self.store, "settle", self.inner.settle(hold)).await
    }

    async fn booking(&self, id: HoldId) -> Result<Option<Booking>, StoreError> {
        timed(self.store, "booking", self.inner.booking(id)).await
    }

    async fn cancel(&self, id: HoldId) -> Result<CancelOutcome, StoreError> {
        timed(self.store, "cancel", self.inner.cancel(id)).await
    }

    async fn unbooks_due(
        &self,
        older_than: Duration,
        limit: u32,
    ) -> Result<Vec<Booking>, StoreError> {
        timed(
            self.store,
            "unbooks_due",
            self.inner.unbooks_due(older_than, limit),
        )
        .await
    }

    async fn unbooked(&self, id: HoldId) -> Result<(), StoreError> {
        timed(self.store, "unbooked", self.inner.unbooked(id)).await
    }

    async fn booked_seats(&self, event: EventId) -> Result<Vec<(SeatNo, HoldId)>, StoreError> {
        timed(self.store, "booked_seats", self.inner.booked_seats(event)).await
    }

    async fn spent_holds(
        &self,
        event: EventId,
        within: Duration,
    ) -> Result<Vec<HoldId>, StoreError> {
        timed(
            self.store,
            "spent_holds",
            self.inner.spent_holds(event, within),
        )
        .await
    }

    async fn user_bookings(
        &self,
        user: &UserId,
        cursor: Option<BookingCursor>,
        limit: u32,
    ) -> Result<BookingPage, StoreError> {
        timed(
            self.store,
            "user_bookings",
            self.inner.user_bookings(user, cursor, limit),
        )
        .await
    }

    async fn info(&self) -> Result<StoreInfo, StoreError> {
        timed(self.store, "info", self.inner.info()).await
    }
}
