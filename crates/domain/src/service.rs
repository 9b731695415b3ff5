//! The use cases, run against the ports. Each returns its own error enum;
//! the api maps those to statuses in one place.

mod cache;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use tracing::{instrument, warn};

use crate::{
    Availability, BeginConfirm, Booking, BookingRepo, BookingStatus, Caller, CancelError,
    CancelOutcome, ConfirmError, ConfirmOutcome, CreateEventError, Event, EventDetailsError,
    EventId, Hold, HoldId, HoldRequest, HoldStore, LoadOutcome, NewEvent, ReleaseError,
    ReleaseOutcome, ReserveError, ReserveOutcome, SeatCode, SeatCounts, SeatNo, StoreError,
    StoreInfo, UserId, ViewBookingError,
};
use cache::EventCache;

/// The configurable limits of API.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_seats_per_event: u32,
    pub max_seats_per_hold: u32,
    pub max_held_seats_per_user: u32,
    pub hold_ttl: Duration,
    /// How long a confirm may stay pending before it is presumed dead (its
    /// process crashed, or the hold store failed as it finished) and is
    /// reconciled from the repo. Far above any real confirm's duration.
    pub pending_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_seats_per_event: 100_000,
            max_seats_per_hold: 10,
            max_held_seats_per_user: 20,
            hold_ttl: Duration::from_secs(300),
            pending_grace: Duration::from_secs(30),
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
    holds: Arc<dyn HoldStore>,
    repo: Arc<dyn BookingRepo>,
    limits: Limits,
    events: EventCache,
}

impl std::fmt::Debug for BookingService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BookingService")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl BookingService {
    pub fn new(holds: Arc<dyn HoldStore>, repo: Arc<dyn BookingRepo>, limits: Limits) -> Self {
        Self {
            holds,
            repo,
            limits,
            events: EventCache::new(10_000),
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    #[instrument(skip_all, fields(total_seats = new.total_seats))]
    pub async fn create_event(&self, new: NewEvent) -> Result<Arc<Event>, CreateEventError> {
        let max = self.limits.max_seats_per_event;
        if new.total_seats == 0 || new.total_seats > max {
            return Err(CreateEventError::TooManySeats { max });
        }
        let event = Arc::new(self.repo.create_event(&new).await?);
        self.events.insert(event.clone());
        // A new event has no bookings; marking its mirror loaded now saves
        // the first reserve a trip to the repo. If the hold store is down,
        // that first reserve loads it instead.
        if let Err(error) = self.load(event.id, &[]).await {
            warn!(event = %event.id, error = %error, "could not mark a new event loaded");
        }
        Ok(event)
    }

    pub async fn event_details(
        &self,
        id: EventId,
    ) -> Result<(Arc<Event>, Availability), EventDetailsError> {
        let event = self
            .event(id)
            .await?
            .ok_or(EventDetailsError::EventNotFound)?;
        let counts = self.counts(id).await?;
        let availability = Availability {
            total: event.total_seats,
            confirmed: counts.booked.min(event.total_seats),
            held: counts
                .held
                .min(event.total_seats.saturating_sub(counts.booked)),
        };
        Ok((event, availability))
    }

    #[instrument(skip_all, fields(event = %event_id, user = %user))]
    pub async fn reserve(
        &self,
        event_id: EventId,
        user: UserId,
        codes: Vec<SeatCode>,
    ) -> Result<Hold, ReserveError> {
        if codes.is_empty() {
            return Err(ReserveError::NoSeats);
        }
        let mut seen = HashSet::with_capacity(codes.len());
        let mut reported = HashSet::new();
        let duplicates: Vec<SeatCode> = codes
            .iter()
            .filter(|code| !seen.insert(*code) && reported.insert(*code))
            .cloned()
            .collect();
        if !duplicates.is_empty() {
            return Err(ReserveError::DuplicateSeats(duplicates));
        }
        let max = self.limits.max_seats_per_hold;
        if codes.len() > max as usize {
            return Err(ReserveError::TooManySeats { max });
        }
        let event = self
            .event(event_id)
            .await?
            .ok_or(ReserveError::EventNotFound)?;
        let (seats, unknown): (Vec<_>, Vec<_>) = codes
            .iter()
            .map(|code| (code, event.seat(code)))
            .partition(|(_, s)| s.is_some());
        if !unknown.is_empty() {
            return Err(ReserveError::UnknownSeats(
                unknown.into_iter().map(|(code, _)| code.clone()).collect(),
            ));
        }
        let request = HoldRequest {
            id: HoldId::generate(event_id),
            event: event_id,
            user,
            seats: seats.into_iter().filter_map(|(_, seat)| seat).collect(),
            ttl: self.limits.hold_ttl,
            max_held_per_user: self.limits.max_held_seats_per_user,
        };
        let (mut reloaded, mut reconciled) = (false, false);
        loop {
            match self.holds.reserve(&request).await? {
                ReserveOutcome::Held(hold) => return Ok(hold),
                ReserveOutcome::Unavailable(seats) => {
                    // Seats of a dead confirm block until it is reconciled:
                    // do that, and if it freed anything, try once more.
                    if !reconciled {
                        reconciled = true;
                        if self.reconcile_pending(event_id).await > 0 {
                            continue;
                        }
                    }
                    return Err(ReserveError::SeatsUnavailable(codes_of(&seats)));
                }
                ReserveOutcome::HoldLimit { held } => {
                    return Err(ReserveError::HoldLimit {
                        max: self.limits.max_held_seats_per_user,
                        held,
                    })
                }
                ReserveOutcome::NotLoaded if !reloaded => {
                    self.reload(event_id).await?;
                    reloaded = true;
                }
                ReserveOutcome::NotLoaded => return Err(not_loaded_after_reload(event_id).into()),
            }
        }
    }

    /// Turns a hold into a booking, exactly once: the booking's id is the
    /// hold's, and a retry by the owner answers with the same id.
    #[instrument(skip_all, fields(event = %event_id, hold = %id, user = %user))]
    pub async fn confirm(
        &self,
        event_id: EventId,
        user: &UserId,
        id: HoldId,
    ) -> Result<HoldId, ConfirmError> {
        self.event(event_id)
            .await?
            .ok_or(ConfirmError::EventNotFound)?;
        if let Some(other) = id.event_hint().filter(|other| *other != event_id) {
            return Err(if self.hold_exists(other, id).await? {
                ConfirmError::WrongEvent
            } else {
                ConfirmError::HoldExpired
            });
        }
        let hold = match self.begin_confirm(event_id, id, user).await? {
            BeginConfirm::Pending(hold) => hold,
            BeginConfirm::NotOwner => return Err(ConfirmError::NotOwner),
            BeginConfirm::NotFound => return self.confirmed_before(event_id, user, id).await,
            BeginConfirm::NotLoaded => return Err(not_loaded_after_reload(event_id).into()),
        };
        let outcome = match self.repo.confirm(&hold).await {
            Ok(outcome) => outcome,
            Err(error) => {
                // Whether the commit happened is unknown only if the
                // connection died after sending it; then the seats stay
                // taken in Postgres and the retry finds them (Existing).
                self.abort_confirm(event_id, id).await;
                return Err(error.into());
            }
        };
        match outcome {
            ConfirmOutcome::Existing(booking) if booking.status == BookingStatus::Cancelled => {
                // Confirmed once, then cancelled while this hold was still
                // pending: the seats are free again, and so is the hold.
                self.abort_confirm(event_id, id).await;
                let _ = self.holds.release(event_id, id, user).await;
                Err(ConfirmError::HoldExpired)
            }
            ConfirmOutcome::Created(_) | ConfirmOutcome::Existing(_) => {
                if let Err(error) = self.holds.finish_confirm(&hold).await {
                    // The booking is durable; the seats stay pending, which
                    // still keeps them from being held, until the retry or
                    // a reload finishes them.
                    warn!(error = %error, "booking committed but the hold store was not updated");
                }
                Ok(id)
            }
            ConfirmOutcome::SeatsTaken(seats) => {
                // The mirror was wrong about these seats: give the hold's
                // seats back and teach the mirror what Postgres knows.
                self.abort_confirm(event_id, id).await;
                let _ = self.holds.release(event_id, id, user).await;
                if let Err(error) = self.reload(event_id).await {
                    warn!(error = %error, "could not reload the booked seats");
                }
                Err(ConfirmError::SeatsUnavailable(codes_of(&seats)))
            }
        }
    }

    #[instrument(skip_all, fields(event = %event_id, hold = %id, user = %user))]
    pub async fn release(
        &self,
        event_id: EventId,
        user: &UserId,
        id: HoldId,
    ) -> Result<(), ReleaseError> {
        self.event(event_id)
            .await?
            .ok_or(ReleaseError::EventNotFound)?;
        match self.holds.release(event_id, id, user).await? {
            ReleaseOutcome::Released => Ok(()),
            ReleaseOutcome::NotFound => Err(ReleaseError::HoldNotFound),
            ReleaseOutcome::NotOwner => Err(ReleaseError::NotOwner),
        }
    }

    /// The hold `id` of an event, for its owner.
    pub async fn hold(&self, event_id: EventId, id: HoldId) -> Result<Option<Hold>, StoreError> {
        self.holds.hold(event_id, id).await
    }

    #[instrument(skip_all, fields(booking = %id, user = %caller.user))]
    pub async fn cancel(&self, caller: &Caller, id: HoldId) -> Result<(), CancelError> {
        let booking = self.repo.booking(id).await?.ok_or(CancelError::NotFound)?;
        if !caller.may_act_for(&booking.user) {
            return Err(CancelError::Forbidden);
        }
        let (booking, result) = match self.repo.cancel(id).await? {
            CancelOutcome::Cancelled(booking) => (booking, Ok(())),
            // Unbooking again heals a cancel whose unbook failed before;
            // it only frees seats still marked with this booking's id.
            CancelOutcome::AlreadyCancelled(booking) => {
                (booking, Err(CancelError::AlreadyCancelled))
            }
            CancelOutcome::NotFound => return Err(CancelError::NotFound),
        };
        self.holds.unbook(booking.event, id, &booking.seats).await?;
        result
    }

    pub async fn booking(
        &self,
        caller: &Caller,
        id: HoldId,
    ) -> Result<(Booking, Arc<Event>), ViewBookingError> {
        let booking = self
            .repo
            .booking(id)
            .await?
            .ok_or(ViewBookingError::NotFound)?;
        if !caller.may_act_for(&booking.user) {
            return Err(ViewBookingError::Forbidden);
        }
        let event = self
            .event(booking.event)
            .await?
            .ok_or(ViewBookingError::NotFound)?;
        Ok((booking, event))
    }

    pub async fn health(&self) -> StorageHealth {
        StorageHealth {
            bookings: self.repo.info().await,
            holds: self.holds.info().await,
        }
    }

    async fn event(&self, id: EventId) -> Result<Option<Arc<Event>>, StoreError> {
        if let Some(event) = self.events.get(id) {
            return Ok(Some(event));
        }
        let Some(event) = self.repo.event(id).await? else {
            return Ok(None);
        };
        let event = Arc::new(event);
        self.events.insert(event.clone());
        Ok(Some(event))
    }

    async fn counts(&self, id: EventId) -> Result<SeatCounts, StoreError> {
        let grace = self.limits.pending_grace;
        let counts = match self.holds.counts(id, grace).await? {
            Some(counts) => counts,
            None => {
                self.reload(id).await?;
                self.holds
                    .counts(id, grace)
                    .await?
                    .ok_or_else(|| not_loaded_after_reload(id))?
            }
        };
        if counts.stale_pending == 0 || self.reconcile_pending(id).await == 0 {
            return Ok(counts);
        }
        Ok(self.holds.counts(id, grace).await?.unwrap_or(counts))
    }

    async fn begin_confirm(
        &self,
        event_id: EventId,
        id: HoldId,
        user: &UserId,
    ) -> Result<BeginConfirm, StoreError> {
        match self.holds.begin_confirm(event_id, id, user).await? {
            BeginConfirm::NotLoaded => {
                self.reload(event_id).await?;
                self.holds.begin_confirm(event_id, id, user).await
            }
            other => Ok(other),
        }
    }

    /// No live hold: either this confirm already succeeded (answer as
    /// before), or the hold expired or never existed.
    async fn confirmed_before(
        &self,
        event_id: EventId,
        user: &UserId,
        id: HoldId,
    ) -> Result<HoldId, ConfirmError> {
        match self.repo.booking(id).await? {
            Some(booking) if booking.event != event_id => Err(ConfirmError::WrongEvent),
            Some(booking) if &booking.user != user => Err(ConfirmError::NotOwner),
            Some(booking) if booking.status == BookingStatus::Confirmed => Ok(id),
            _ => Err(ConfirmError::HoldExpired),
        }
    }

    async fn hold_exists(&self, event_id: EventId, id: HoldId) -> Result<bool, StoreError> {
        if self.holds.hold(event_id, id).await?.is_some() {
            return Ok(true);
        }
        Ok(self.repo.booking(id).await?.is_some())
    }

    async fn abort_confirm(&self, event_id: EventId, id: HoldId) {
        if let Err(error) = self.holds.abort_confirm(event_id, id).await {
            // The seats stay pending: taken, never double-booked. A retry
            // of the confirm picks the hold up again.
            warn!(error = %error, "could not put a hold back after a failed confirm");
        }
    }

    /// Loads the event's booked seats from the repo into the hold store.
    async fn reload(&self, id: EventId) -> Result<(), StoreError> {
        // Stale means the hold store lost its data while we read the repo;
        // the read may miss a booking it also lost, so read again.
        for _ in 0..3 {
            self.holds.begin_load(id).await?;
            let booked = self.repo.booked_seats(id).await?;
            if self.holds.load(id, &booked).await? == LoadOutcome::Loaded {
                return Ok(());
            }
        }
        Err(StoreError::unavailable(
            "hold store",
            format!("event {id} could not be loaded: the store kept losing its data"),
        ))
    }

    /// A new event has no bookings to read.
    async fn load(&self, id: EventId, booked: &[(SeatNo, HoldId)]) -> Result<(), StoreError> {
        self.holds.begin_load(id).await?;
        match self.holds.load(id, booked).await? {
            LoadOutcome::Loaded => Ok(()),
            LoadOutcome::Stale => self.reload(id).await,
        }
    }

    /// Settles confirms that have been pending too long (their process
    /// died, or the hold store failed as they finished): the repo decides
    /// whether each was booked. Returns how many were settled. Best effort:
    /// a failure is logged and leaves that confirm for the next attempt,
    /// and the caller keeps the answer it already had.
    async fn reconcile_pending(&self, id: EventId) -> usize {
        let stale = match self
            .holds
            .stale_pending(id, self.limits.pending_grace)
            .await
        {
            Ok(stale) => stale,
            Err(error) => {
                warn!(event = %id, error = %error, "could not look for stale confirms");
                return 0;
            }
        };
        let mut settled = 0;
        for hold in &stale {
            match self.settle(id, hold).await {
                Ok(()) => {
                    settled += 1;
                    tracing::info!(event = %id, hold = %hold.id, "settled a stale confirm");
                }
                Err(error) => {
                    warn!(event = %id, hold = %hold.id, error = %error, "could not settle a stale confirm")
                }
            }
        }
        settled
    }

    async fn settle(&self, id: EventId, hold: &Hold) -> Result<(), StoreError> {
        match self.repo.booking(hold.id).await? {
            Some(booking) if booking.status == BookingStatus::Confirmed => {
                self.holds.finish_confirm(hold).await
            }
            Some(_) => {
                self.holds.abort_confirm(id, hold.id).await?;
                self.holds
                    .release(id, hold.id, &hold.user)
                    .await
                    .map(|_| ())
            }
            None => self.holds.abort_confirm(id, hold.id).await,
        }
    }
}

fn codes_of(seats: &[SeatNo]) -> Vec<SeatCode> {
    seats.iter().map(|seat| seat.code()).collect()
}

fn not_loaded_after_reload(id: EventId) -> StoreError {
    StoreError::internal(
        "hold store",
        format!("event {id} is still not loaded right after loading it"),
    )
}
