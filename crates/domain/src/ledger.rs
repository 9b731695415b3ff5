//! The seat ledger: the one owner of the hold store's mirror of booked
//! seats. It is the only code that knows the mirror can be missing (never
//! loaded, expired, flushed), stale (restored from an older snapshot, a
//! promoted replica) or half-finished (a confirm or cancel that died
//! between the two stores), and the only code that loads, fences, settles
//! and reconciles. The use cases ask it for an event's seats and act on the
//! answer; none of them ever sees "not loaded".
//!
//! How each rule is kept on a bad day:
//! - Loads are fenced: each carries its own token, holds a lock in the
//!   store (one load per event across every api instance) and one in
//!   process (requests of one instance share it), and is authoritative for
//!   the seats it covers: booked marks are rebuilt from the repo, so a
//!   cancelled seat cannot come back booked, and holds the repo knows are
//!   spent are forgotten, so a cancelled seat cannot come back held by a
//!   hold that older data (a snapshot, a lagging replica) brought back.
//!   Bookings finished and cancels made while it runs are applied to it by
//!   the store.
//! - Confirms move seats held → pending → booked. An error after the
//!   repo's write was sent never frees seats: they stay pending until the
//!   repo decides (a retry of the confirm, or settling).
//! - Confirms left pending too long are settled from the repo by
//!   [`SeatLedger::maintain`], never inline in a request, with a fence in
//!   the repo so a confirm that commits late cannot be lost.
//! - A cancel that committed is queued in the repo in the same step; its
//!   seats are freed in the mirror at once or, if the store failed, by
//!   `maintain` within seconds.

mod loads;

/// Counters of what the ledger meets, through the `metrics` facade (the
/// api renders them at `/metrics`; without a recorder they cost nothing).
pub const RELOADS: &str = "booking_ledger_reloads_total";
pub const FAULTS: &str = "booking_ledger_faults_total";

/// What the ledger found wrong and mended: the `fault` label of
/// [`FAULTS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    MirrorMissing,
    StalePending,
    Indeterminate,
    FinishFailed,
    UnbookFailed,
    AbortFailed,
}

impl Fault {
    /// Every kind, so a dashboard sees each series (at 0) before the first.
    pub const ALL: [Fault; 6] = [
        Fault::MirrorMissing,
        Fault::StalePending,
        Fault::Indeterminate,
        Fault::FinishFailed,
        Fault::UnbookFailed,
        Fault::AbortFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Fault::MirrorMissing => "mirror_missing",
            Fault::StalePending => "stale_pending",
            Fault::Indeterminate => "indeterminate",
            Fault::FinishFailed => "finish_failed",
            Fault::UnbookFailed => "unbook_failed",
            Fault::AbortFailed => "abort_failed",
        }
    }
}

fn fault(kind: Fault) {
    metrics::counter!(FAULTS, "fault" => kind.as_str()).increment(1);
}

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tracing::{info, warn};

use crate::{
    BeginConfirm, BookingRepo, BookingStatus, CancelOutcome, ConfirmOutcome, Event, EventId,
    ExtendOutcome, FeedPosition, FeedRead, Hold, HoldId, HoldRequest, HoldStore, Mirror,
    ReleaseOutcome, ReserveOutcome, SeatCounts, SeatMap, SeatNo, SettleOutcome, StoreError, UserId,
    WatchStart,
};
use loads::Loads;

/// How the ledger treats the mirror.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LedgerConfig {
    /// How long a confirm may stay pending before it is presumed dead (its
    /// process crashed, or the hold store failed as it finished) and is
    /// settled from the repo. Must be well above the longest a confirm's
    /// write can take (pool wait plus statement timeout).
    pub pending_grace: Duration,
    /// How long a request waits for a load of its event, run by this or
    /// another instance, before it answers "unavailable" (503).
    pub load_wait: Duration,
    /// How long one load may hold an event's lock before another may take
    /// over (a load whose instance died).
    pub load_lease: Duration,
    /// Booked seats written to the store per call while loading, so that
    /// no call blocks the store for long.
    pub load_chunk: usize,
    /// How long after an event's date its mirror may be kept.
    pub keep_after_event: Duration,
    /// How old a queued unbook must be before `maintain` retries it (the
    /// cancel itself tries at once).
    pub unbook_retry_after: Duration,
    /// The longest a hold may live, extensions included: older data can
    /// bring back no hold made before that, so a load forgets the spent
    /// holds of that long (and a minute more, for the stores' clocks).
    pub hold_lifetime: Duration,
}

impl Default for LedgerConfig {
    fn default() -> Self {
        Self {
            pending_grace: Duration::from_secs(30),
            load_wait: Duration::from_secs(5),
            load_lease: Duration::from_secs(30),
            load_chunk: 2_000,
            keep_after_event: Duration::from_secs(7 * 24 * 3600),
            unbook_retry_after: Duration::from_secs(2),
            hold_lifetime: Duration::from_secs(900),
        }
    }
}

/// What confirming a hold came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmation {
    /// The booking is durable (now, or by an earlier attempt).
    Booked,
    /// No live hold with that id, and no booking of it.
    NotFound,
    /// The hold or its booking belongs to another user.
    NotOwner,
    /// The hold's booking was cancelled, or the hold was settled as never
    /// booked: it cannot be confirmed.
    Gone,
    /// Nothing booked: these seats were booked by someone else.
    SeatsTaken(Vec<SeatNo>),
}

/// What cancelling came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cancellation {
    Cancelled,
    AlreadyCancelled,
    NotFound,
}

/// The seat ledger. Cheap to share behind an `Arc`.
pub struct SeatLedger {
    holds: Arc<dyn HoldStore>,
    repo: Arc<dyn BookingRepo>,
    config: LedgerConfig,
    loads: Loads,
    /// Events with confirms that may be stale, and from when `maintain`
    /// should look at them.
    to_settle: Mutex<HashMap<EventId, Instant>>,
}

impl std::fmt::Debug for SeatLedger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeatLedger")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl SeatLedger {
    pub fn new(
        holds: Arc<dyn HoldStore>,
        repo: Arc<dyn BookingRepo>,
        config: LedgerConfig,
    ) -> Self {
        Self {
            holds,
            repo,
            config,
            loads: Loads::default(),
            to_settle: Mutex::new(HashMap::new()),
        }
    }

    pub fn config(&self) -> &LedgerConfig {
        &self.config
    }

    /// Runs `op` against the event's mirror, loading the mirror first
    /// whenever the store says it is not loaded.
    async fn ready<T, F, Fut>(&self, event: &Event, op: F) -> Result<T, StoreError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<Mirror<T>, StoreError>>,
    {
        // A load can be undone before this request gets its turn (the
        // store lost its data again); a few rounds, then give up honestly,
        // without a last load that nobody would ask.
        const ROUNDS: usize = 3;
        for round in 1..=ROUNDS {
            match op().await? {
                Mirror::Ready(answer) => return Ok(answer),
                Mirror::NotLoaded if round < ROUNDS => {
                    fault(Fault::MirrorMissing);
                    self.loads.ensure(self, event, false).await?
                }
                Mirror::NotLoaded => {}
            }
        }
        Err(StoreError::unavailable(
            "hold store",
            format!("event {} kept losing its mirror while loading", event.id),
        ))
    }

    /// Loads a new event's (empty) mirror ahead of its first use.
    pub async fn prime(&self, event: &Event) -> Result<(), StoreError> {
        self.loads.ensure(self, event, false).await
    }

    /// Holds seats, all or none.
    pub async fn reserve(
        &self,
        event: &Event,
        request: &HoldRequest,
    ) -> Result<ReserveOutcome, StoreError> {
        let outcome = self.ready(event, || self.holds.reserve(request)).await?;
        if matches!(outcome, ReserveOutcome::Unavailable(_)) {
            // Seats of a dead confirm stay taken until it is settled.
            self.settle_soon(event.id);
        }
        Ok(outcome)
    }

    /// Booked and held seat counts, exact at this instant.
    pub async fn counts(&self, event: &Event) -> Result<SeatCounts, StoreError> {
        let grace = self.config.pending_grace;
        let counts = self
            .ready(event, || self.holds.counts(event.id, grace))
            .await?;
        if counts.stale_pending > 0 {
            self.settle_soon(event.id);
        }
        Ok(counts)
    }

    /// Every seat's state, exact at this instant.
    pub async fn seat_map(&self, event: &Event) -> Result<SeatMap, StoreError> {
        self.ready(event, || self.holds.seat_map(event.id)).await
    }

    /// Starts (or keeps) recording the event's seat changes for `ttl`;
    /// the map and counts they start from.
    pub async fn watch(&self, event: &Event, ttl: Duration) -> Result<WatchStart, StoreError> {
        self.ready(event, || self.holds.watch(event.id, ttl)).await
    }

    /// The event's seat changes after `after` (at most `limit`), and keeps
    /// recording for `ttl`.
    pub async fn changes(
        &self,
        event: &Event,
        after: FeedPosition,
        limit: u32,
        ttl: Duration,
    ) -> Result<FeedRead, StoreError> {
        self.ready(event, || self.holds.changes(event.id, after, limit, ttl))
            .await
    }

    pub async fn hold(&self, event: &Event, id: HoldId) -> Result<Option<Hold>, StoreError> {
        self.ready(event, || self.holds.hold(event.id, id)).await
    }

    pub async fn extend(
        &self,
        event: &Event,
        id: HoldId,
        user: &UserId,
        by: Duration,
        max_total: Duration,
    ) -> Result<ExtendOutcome, StoreError> {
        self.ready(event, || {
            self.holds.extend(event.id, id, user, by, max_total)
        })
        .await
    }

    pub async fn release(
        &self,
        event: &Event,
        id: HoldId,
        user: &UserId,
    ) -> Result<ReleaseOutcome, StoreError> {
        self.ready(event, || self.holds.release(event.id, id, user))
            .await
    }

    /// Turns a hold into a booking, exactly once: the booking's id is the
    /// hold's, and a retry finds it (and finishes the mirror if an earlier
    /// attempt could not).
    pub async fn confirm(
        &self,
        event: &Event,
        id: HoldId,
        user: &UserId,
    ) -> Result<Confirmation, StoreError> {
        let hold = match self
            .ready(event, || self.holds.begin_confirm(event.id, id, user))
            .await?
        {
            BeginConfirm::Pending(hold) => hold,
            BeginConfirm::NotOwner => return Ok(Confirmation::NotOwner),
            BeginConfirm::NotFound => return self.confirmed_before(event, id, user).await,
        };
        let outcome = match self.repo.confirm(&hold).await {
            Ok(outcome) => outcome,
            Err(error @ StoreError::Unavailable { .. }) => {
                // Nothing reached the repo: the hold can go back at once.
                self.abort(event.id, id).await;
                return Err(error);
            }
            // The write may have happened: the seats stay pending, which
            // keeps them taken, until a retry or settling finds out.
            Err(error) => {
                self.left_pending(Fault::Indeterminate, event.id);
                return Err(error);
            }
        };
        match outcome {
            ConfirmOutcome::Created(_) => {
                self.finish(&hold).await;
                Ok(Confirmation::Booked)
            }
            ConfirmOutcome::Existing(booking) if booking.status == BookingStatus::Confirmed => {
                self.finish(&hold).await;
                Ok(Confirmation::Booked)
            }
            // Booked once and cancelled since, or settled as dead: the
            // hold is spent and its seats go back.
            ConfirmOutcome::Existing(_) | ConfirmOutcome::Aborted => {
                self.give_back(&hold).await;
                Ok(Confirmation::Gone)
            }
            ConfirmOutcome::SeatsTaken(seats) => {
                // The mirror was wrong about these seats: give the hold
                // back and rebuild the mirror from what the repo knows.
                self.give_back(&hold).await;
                if let Err(error) = self.loads.ensure(self, event, true).await {
                    warn!(event = %event.id, error = %error, "could not reload the booked seats");
                }
                Ok(Confirmation::SeatsTaken(seats))
            }
        }
    }

    /// No live hold: either this confirm succeeded before (answer as then,
    /// and make sure the mirror knows), or the hold expired or never was.
    async fn confirmed_before(
        &self,
        event: &Event,
        id: HoldId,
        user: &UserId,
    ) -> Result<Confirmation, StoreError> {
        let Some(booking) = self.repo.booking(id).await? else {
            return Ok(Confirmation::NotFound);
        };
        if booking.event != event.id {
            return Ok(Confirmation::NotFound);
        }
        if &booking.user != user {
            return Ok(Confirmation::NotOwner);
        }
        if booking.status != BookingStatus::Confirmed {
            return Ok(Confirmation::NotFound);
        }
        self.finish(&Hold {
            id,
            event: booking.event,
            user: booking.user,
            seats: booking.seats,
            created_at: booking.created_at,
            expires_at: booking.created_at,
        })
        .await;
        Ok(Confirmation::Booked)
    }

    /// Cancels a booking; its seats come back on sale at once, or within
    /// seconds if the hold store fails now.
    pub async fn cancel(&self, id: HoldId) -> Result<Cancellation, StoreError> {
        match self.repo.cancel(id).await? {
            CancelOutcome::Cancelled(booking) => {
                if let Err(error) = self.unbook(booking.event, id, &booking.seats).await {
                    fault(Fault::UnbookFailed);
                    warn!(event = %booking.event, booking = %id, error = %error, "cancelled, but the seats are not freed yet; retrying later");
                }
                Ok(Cancellation::Cancelled)
            }
            CancelOutcome::AlreadyCancelled(_) => Ok(Cancellation::AlreadyCancelled),
            CancelOutcome::NotFound => Ok(Cancellation::NotFound),
        }
    }

    /// Frees a cancelled booking's seats in the mirror and takes it off the
    /// repo's queue. If the mirror's step fails it stays queued for
    /// `maintain`.
    async fn unbook(&self, event: EventId, id: HoldId, seats: &[SeatNo]) -> Result<(), StoreError> {
        self.holds.unbook(event, id, seats).await?;
        if let Err(error) = self.repo.unbooked(id).await {
            // Harmless: the queued unbook runs again and changes nothing.
            warn!(%event, booking = %id, error = %error, "could not dequeue a done unbook");
        }
        Ok(())
    }

    /// Marks a durable booking in the mirror. If the store fails, the seats
    /// stay pending (taken) until a retry, settling or a load finishes them.
    async fn finish(&self, hold: &Hold) {
        if let Err(error) = self.holds.finish_confirm(hold).await {
            self.left_pending(Fault::FinishFailed, hold.event);
            warn!(event = %hold.event, hold = %hold.id, error = %error, "booked, but the mirror is not updated yet");
        }
    }

    /// Puts a pending hold back (held until its expiry, or free).
    async fn abort(&self, event: EventId, id: HoldId) {
        if let Err(error) = self.holds.abort_confirm(event, id).await {
            self.left_pending(Fault::AbortFailed, event);
            // The seats stay pending: taken, never double-booked; settling
            // gives them back.
            warn!(%event, hold = %id, error = %error, "could not put a hold back");
        }
    }

    /// Frees a spent hold's seats.
    async fn give_back(&self, hold: &Hold) {
        self.abort(hold.event, hold.id).await;
        if let Err(error) = self.holds.release(hold.event, hold.id, &hold.user).await {
            warn!(event = %hold.event, hold = %hold.id, error = %error, "could not free a spent hold");
        }
    }

    fn settle_soon(&self, event: EventId) {
        self.settle_from(event, Instant::now());
    }

    /// A confirm this instance left pending (its repo write in doubt, or
    /// the mirror's finish or abort failed): counted, and settled once the
    /// grace has passed, whether or not anyone reads the event's counts or
    /// reserves its seats meanwhile. The extra half grace covers the
    /// store's clock, by which the pending confirm's age is judged.
    fn left_pending(&self, kind: Fault, event: EventId) {
        fault(kind);
        let grace = self.config.pending_grace;
        self.settle_from(event, Instant::now() + grace + grace / 2);
    }

    fn settle_from(&self, event: EventId, due: Instant) {
        self.to_settle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(event)
            .and_modify(|at| *at = (*at).min(due))
            .or_insert(due);
    }

    /// The ledger's background work, for the api to run every second or
    /// so: settles confirms left pending too long in the events where they
    /// were noticed, and frees the seats of cancels whose unbook failed.
    /// Best effort: what fails is logged and tried again next time.
    pub async fn maintain(&self) -> MaintenanceReport {
        let mut report = MaintenanceReport::default();
        let now = Instant::now();
        let mut events = Vec::new();
        self.to_settle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|event, due| {
                let keep = *due > now;
                if !keep {
                    events.push(*event);
                }
                keep
            });
        for event in events {
            if let Err(error) = self.settle_event(event, &mut report).await {
                warn!(%event, error = %error, "could not list stale confirms");
                report.failures += 1;
                self.settle_soon(event);
            }
        }
        match self
            .repo
            .unbooks_due(self.config.unbook_retry_after, 100)
            .await
        {
            Ok(due) => {
                for booking in due {
                    match self.unbook(booking.event, booking.id, &booking.seats).await {
                        Ok(()) => report.unbooked += 1,
                        Err(error) => {
                            warn!(event = %booking.event, booking = %booking.id, error = %error, "could not free a cancelled booking's seats; retrying later");
                            report.failures += 1;
                        }
                    }
                }
            }
            Err(error) => {
                warn!(error = %error, "could not read the queued unbooks");
                report.failures += 1;
            }
        }
        report
    }

    /// Settles the confirms of one event pending for longer than the
    /// grace. One that fails is tried again next time and does not hold
    /// up the others.
    async fn settle_event(
        &self,
        event: EventId,
        report: &mut MaintenanceReport,
    ) -> Result<(), StoreError> {
        let stale = self
            .holds
            .stale_pending(event, self.config.pending_grace)
            .await?;
        for hold in &stale {
            match self.settle(hold).await {
                Ok(()) => {
                    fault(Fault::StalePending);
                    info!(%event, hold = %hold.id, "settled a stale confirm");
                    report.settled += 1;
                }
                Err(error) => {
                    warn!(%event, hold = %hold.id, error = %error, "could not settle a stale confirm");
                    report.failures += 1;
                    self.settle_soon(event);
                }
            }
        }
        Ok(())
    }

    /// Settles one confirm: the repo decides, with a fence a late commit
    /// cannot pass, and the mirror follows.
    async fn settle(&self, hold: &Hold) -> Result<(), StoreError> {
        match self.repo.settle(hold).await? {
            SettleOutcome::Booked(_) => self.holds.finish_confirm(hold).await,
            SettleOutcome::Cancelled(_) | SettleOutcome::Aborted => {
                self.holds.abort_confirm(hold.event, hold.id).await?;
                self.holds.release(hold.event, hold.id, &hold.user).await?;
                Ok(())
            }
        }
    }
}

/// What one `maintain` round did, for logs and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MaintenanceReport {
    pub settled: usize,
    pub unbooked: usize,
    pub failures: usize,
}
