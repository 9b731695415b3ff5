//! The ports: what the booking rules need from storage. Each method's doc is
//! its contract; the memory, Postgres and Redis adapters obey the same text,
//! and one contract test suite checks them all.

use std::time::Duration;

use async_trait::async_trait;

use crate::{
    Booking, Event, EventId, Hold, HoldId, HoldRequest, NewEvent, SeatCounts, SeatNo, StoreError,
    StoreInfo, UserId,
};

/// What a reserve did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReserveOutcome {
    /// Every requested seat is now held by the new hold.
    Held(Hold),
    /// None was held: these seats are held by another hold or booked.
    Unavailable(Vec<SeatNo>),
    /// None was held: the user already holds `held` seats of the event and
    /// the request would take them past the limit.
    HoldLimit { held: u32 },
    /// The store has no booked-seat mirror for the event (never loaded, or
    /// lost with a flush or restart). Nothing was held; load it and retry.
    NotLoaded,
}

/// What the first step of a confirm found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BeginConfirm {
    /// The hold's seats are now pending: no longer expiring, not yet booked.
    Pending(Hold),
    /// No unexpired hold with that id in the event.
    NotFound,
    /// The hold exists but belongs to another user; nothing changed.
    NotOwner,
    /// The store has no booked-seat mirror for the event; nothing changed.
    NotLoaded,
}

/// What a load did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadOutcome {
    Loaded,
    /// The load was not begun, or the store lost it since; nothing changed.
    Stale,
}

/// What a release did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReleaseOutcome {
    Released,
    NotFound,
    NotOwner,
}

/// Holds and the mirror of booked seats, per event (Redis in production).
///
/// Expiry is data, judged by the store's own clock at the moment of each
/// call: an expired hold MUST NOT be counted, returned, confirmed or block
/// a seat, with no background sweeper needed for that.
///
/// A seat is free, held by one hold, pending in one confirm, or booked. The
/// store MUST never report a booked or pending seat as free (rule 6: when in
/// doubt, a seat is taken).
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait HoldStore: Send + Sync {
    /// Holds every seat of `request` for `request.ttl`, or none of them.
    ///
    /// MUST return `NotLoaded` and hold nothing if the event's mirror is not
    /// loaded. MUST return `Unavailable` with every requested seat that is
    /// held (unexpired), pending or booked. MUST return `HoldLimit` when the
    /// user's unexpired held seats of the event plus the request exceed
    /// `request.max_held_per_user`. Checks happen in that order, and all of
    /// them and the write are one atomic step.
    async fn reserve(&self, request: &HoldRequest) -> Result<ReserveOutcome, StoreError>;

    /// The unexpired hold `id` of `event`, pending or not.
    async fn hold(&self, event: EventId, id: HoldId) -> Result<Option<Hold>, StoreError>;

    /// Moves an unexpired hold owned by `user` to pending, so it can no
    /// longer expire while its booking is written.
    ///
    /// MUST return `Pending` with the hold when it is held or already
    /// pending (a retried confirm), `NotOwner` when another user owns it,
    /// `NotFound` when it is unknown or expired, `NotLoaded` when the
    /// event's mirror is missing.
    async fn begin_confirm(
        &self,
        event: EventId,
        id: HoldId,
        user: &UserId,
    ) -> Result<BeginConfirm, StoreError>;

    /// Marks the hold's seats booked by booking `hold.id` (its own id) and
    /// forgets the hold, once its booking is durable. MUST be idempotent.
    /// MUST mark the seats booked even when the hold record is gone (lost
    /// with a flush and reloaded since), and while a load is begun; MUST do
    /// nothing when the mirror is neither loaded nor being loaded (the next
    /// load reads the booking from the source of truth).
    async fn finish_confirm(&self, hold: &Hold) -> Result<(), StoreError>;

    /// Puts a pending hold back: held again until its original expiry, or
    /// free if that has passed. MUST be idempotent.
    async fn abort_confirm(&self, event: EventId, id: HoldId) -> Result<(), StoreError>;

    /// Frees the seats of an unexpired, not pending hold owned by `user`.
    ///
    /// MUST return `NotOwner` (and free nothing) when another user owns it,
    /// `NotFound` when it is unknown, expired or pending.
    async fn release(
        &self,
        event: EventId,
        id: HoldId,
        user: &UserId,
    ) -> Result<ReleaseOutcome, StoreError>;

    /// Frees the seats of a cancelled booking: only those still marked as
    /// booked by `booking`, so a seat booked again since stays booked.
    /// MUST be idempotent and MUST succeed when the mirror is not loaded.
    async fn unbook(
        &self,
        event: EventId,
        booking: HoldId,
        seats: &[SeatNo],
    ) -> Result<(), StoreError>;

    /// Booked and held seat counts of the event, and how many holds have
    /// been pending for longer than `stale_after`, or `None` when its
    /// mirror is not loaded.
    async fn counts(
        &self,
        event: EventId,
        stale_after: Duration,
    ) -> Result<Option<SeatCounts>, StoreError>;

    /// Starts loading the event's mirror: call before reading the booked
    /// seats from the source of truth, then pass them to `load`.
    ///
    /// From here until `load`, `finish_confirm` MUST mark its seats booked
    /// even though the mirror is not loaded yet, so a booking committed
    /// after the caller's read is not lost. If the store loses its data in
    /// between, `load` MUST answer `Stale`.
    async fn begin_load(&self, event: EventId) -> Result<(), StoreError>;

    /// Merges the event's booked seats (each with its booking id) into the
    /// mirror and marks it loaded, then answers `Loaded`. Holds already
    /// present are kept; seats in `booked` win over them; booked seats
    /// already in the mirror stay. MUST answer `Stale` and mark nothing
    /// when no `begin_load` of the event is in effect (never begun, or lost
    /// since): the caller's read may predate a booking the store missed.
    async fn load(
        &self,
        event: EventId,
        booked: &[(SeatNo, HoldId)],
    ) -> Result<LoadOutcome, StoreError>;

    /// Holds of the event that have been pending for longer than
    /// `older_than`: confirms that crashed or could not finish. The caller
    /// asks the source of truth whether each was booked, then finishes or
    /// aborts it. MUST NOT return holds that are not pending.
    async fn stale_pending(
        &self,
        event: EventId,
        older_than: Duration,
    ) -> Result<Vec<Hold>, StoreError>;

    /// The store's version and clock, for health checks.
    async fn info(&self) -> Result<StoreInfo, StoreError>;
}

/// What recording a booking did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfirmOutcome {
    /// Rows were written for every seat, all CONFIRMED, in one transaction.
    Created(Booking),
    /// Rows for this booking id existed already (a retried confirm);
    /// nothing was written.
    Existing(Booking),
    /// Nothing was written: these seats have a CONFIRMED booking of another
    /// group.
    SeatsTaken(Vec<SeatNo>),
}

/// What a cancel did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelOutcome {
    /// The booking was CONFIRMED and is now CANCELLED.
    Cancelled(Booking),
    /// The booking was already CANCELLED; nothing changed.
    AlreadyCancelled(Booking),
    NotFound,
}

/// Events and bookings: the source of truth (Postgres in production).
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait BookingRepo: Send + Sync {
    /// Stores the event and its seats `S1`..`S<total_seats>`, assigning the
    /// next id, in one transaction.
    async fn create_event(&self, event: &NewEvent) -> Result<Event, StoreError>;

    /// The event with that id, or `None`.
    async fn event(&self, id: EventId) -> Result<Option<Event>, StoreError>;

    /// Records the hold as a CONFIRMED booking whose id is the hold's id,
    /// one row per seat, all or nothing.
    ///
    /// MUST return `Existing` and write nothing when a booking with that id
    /// exists (whatever its status), so a retry never makes a second row.
    /// MUST return `SeatsTaken` and write nothing when any seat has a
    /// CONFIRMED booking of another id; the store itself MUST refuse two
    /// CONFIRMED bookings of one seat, even under concurrent calls.
    async fn confirm(&self, hold: &Hold) -> Result<ConfirmOutcome, StoreError>;

    /// The booking with that id, or `None`.
    async fn booking(&self, id: HoldId) -> Result<Option<Booking>, StoreError>;

    /// Marks a CONFIRMED booking CANCELLED, freeing its seats for new
    /// bookings. MUST return `AlreadyCancelled` for a cancelled one and
    /// `NotFound` for an unknown id.
    async fn cancel(&self, id: HoldId) -> Result<CancelOutcome, StoreError>;

    /// Every seat of the event with a CONFIRMED booking, with that booking.
    async fn booked_seats(&self, event: EventId) -> Result<Vec<(SeatNo, HoldId)>, StoreError>;

    /// The store's version and clock, for health checks.
    async fn info(&self) -> Result<StoreInfo, StoreError>;
}
