//! The ports: what the booking rules need from storage. Each method's doc is
//! its contract; the memory, Postgres and Redis adapters obey the same text,
//! and one contract test suite checks them all.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{
    Booking, BookingCursor, BookingPage, Event, EventId, Hold, HoldId, HoldRequest, Layout,
    NewEvent, SeatCounts, SeatMap, SeatNo, StoreError, StoreInfo, UserId,
};

/// An answer from the event's mirror, or the news that there is none to
/// ask: never loaded, expired after being idle, lost with a flush or a
/// restart, being loaded, or older than the store claims (restored from an
/// earlier snapshot, or a replica promoted with replication lag). Only the
/// seat ledger sees `NotLoaded`: it loads the event and asks again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mirror<T> {
    Ready(T),
    NotLoaded,
}

/// What a reserve did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReserveOutcome {
    /// Every seat asked for is now held by the new hold.
    Held(Hold),
    /// Nothing was held. For named seats: those of them that are held,
    /// pending or booked. For a best-available request: fewer seats than
    /// asked for are available (the list is empty).
    Unavailable(Vec<SeatNo>),
    /// Nothing was held: the user already holds `held` seats of the event
    /// and the request would take them past the limit.
    HoldLimit { held: u32 },
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
}

/// What a release did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReleaseOutcome {
    Released,
    NotFound,
    NotOwner,
}

/// What extending a hold did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtendOutcome {
    /// The hold now expires later (at most `max_total` after its creation).
    Extended(Hold),
    /// Nothing changed: the hold already expires `max_total` after its
    /// creation.
    AtLimit(Hold),
    /// The hold is being confirmed; it no longer expires.
    Confirming,
    /// No unexpired hold with that id in the event.
    NotFound,
    NotOwner,
}

/// A load's own token: a load whose token is no longer the event's current
/// one (another load began after it, or the data it was building was lost)
/// changes nothing and answers `Stale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LoadToken(Uuid);

impl LoadToken {
    pub fn generate() -> Self {
        Self(Uuid::new_v4())
    }

    pub fn uuid(self) -> Uuid {
        self.0
    }
}

impl std::fmt::Display for LoadToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.simple().fmt(f)
    }
}

/// What the mirror of an event needs to know about it.
#[derive(Debug, Clone)]
pub struct MirrorSpec {
    pub layout: Arc<Layout>,
    /// The latest the mirror may be kept, however busy the event: some time
    /// after the event's date. A mirror also goes when idle for the store's
    /// configured time; either way the next use loads it again.
    pub keep_until: DateTime<Utc>,
    /// How long this load may hold the event's load lock before another
    /// load may take over.
    pub lease: Duration,
    /// Begin even when the mirror is loaded (the mirror was found wrong);
    /// otherwise a loaded mirror answers `BeginLoad::Loaded`.
    pub reload: bool,
}

/// What `begin_load` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BeginLoad {
    /// This load is now the event's current one. The mirror's booked seats
    /// are cleared (holds are kept); until `finish_load` the event answers
    /// `NotLoaded`.
    Begun,
    /// Another load holds the lock and its lease has not run out: wait for
    /// it.
    Busy,
    /// The mirror is loaded (another load finished since the caller found
    /// it missing) and this is not a reload: nothing changed.
    Loaded,
}

/// What a step of a load did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadStep {
    Done,
    /// The token is no longer current; nothing changed. Begin again.
    Stale,
}

/// A position in an event's change feed. Positions only grow while the
/// feed lasts; a load of the mirror starts a new epoch, since it may change
/// any seat without a change entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FeedPosition {
    pub epoch: u64,
    pub at: u64,
    pub seq: u64,
}

impl FeedPosition {
    /// Parses what `Display` wrote (a client's `Last-Event-ID`).
    pub fn parse(raw: &str) -> Option<Self> {
        let mut parts = raw.splitn(3, '-').map(|part| part.parse::<u64>().ok());
        Some(Self {
            epoch: parts.next()??,
            at: parts.next()??,
            seq: parts.next()??,
        })
    }
}

impl std::fmt::Display for FeedPosition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}-{}", self.epoch, self.at, self.seq)
    }
}

/// Seats that all went to one state, and the event's counts right after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatChange {
    pub position: FeedPosition,
    /// In venue order.
    pub seats: Vec<SeatNo>,
    pub state: crate::SeatState,
    pub counts: SeatCounts,
}

/// Where a watcher starts: every seat's state and the counts, and the
/// feed position they reflect, read in one step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchStart {
    pub map: SeatMap,
    pub counts: SeatCounts,
    pub position: FeedPosition,
}

/// What reading the change feed found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedRead {
    /// Every change after the position asked for, oldest first (at most
    /// the limit asked for: ask again from the last one).
    Changes(Vec<SeatChange>),
    /// The position is no longer retained (trimmed, of an older epoch, or
    /// never given out): start again from `watch`.
    Gap,
}

/// Holds, and the mirror of which seats are booked, per event (Redis in
/// production). The seat ledger is its only user.
///
/// Expiry is data, judged by the store's own clock at the moment of each
/// call: an expired hold MUST NOT be counted, returned, confirmed, extended
/// or block a seat, with no background sweeper needed for that.
///
/// A seat is free, held by one hold, pending in one confirm, or booked. The
/// store MUST never report a booked or pending seat as free (rule 6: when
/// in doubt, a seat is taken).
///
/// Calls that answer `Mirror` MUST answer `NotLoaded`, and change nothing,
/// while the event's mirror is not loaded: never loaded, being loaded,
/// expired, lost, or detected as older than it claims.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait HoldStore: Send + Sync {
    /// Holds the seats of `request` for `request.ttl`, or none of them.
    ///
    /// MUST return `Unavailable` with every named seat that is held
    /// (unexpired), pending or booked, or for a best-available request when
    /// fewer seats are available than asked. MUST return `HoldLimit` when
    /// the user's unexpired held seats of the event plus the request exceed
    /// `request.max_held_per_user`. Checks happen in that order, and all of
    /// them and the write are one atomic step. A best-available request
    /// MUST pick as [`SeatChoice::Best`](crate::SeatChoice) says, with the
    /// rows of the layout the mirror was loaded with.
    ///
    /// A request whose `id` already names a live hold of the same user in
    /// the event is a retry of a reserve that landed (a cluster client
    /// resends a command whose answer a failover lost): it MUST answer
    /// `Held` with that hold, unchanged, and hold nothing more.
    async fn reserve(&self, request: &HoldRequest) -> Result<Mirror<ReserveOutcome>, StoreError>;

    /// The unexpired hold `id` of `event`, pending or not.
    ///
    /// Like every call below that answers from the mirror, MUST answer
    /// `NotLoaded` where `reserve` would: a hold read from data older than
    /// the store claims may be one released since.
    async fn hold(&self, event: EventId, id: HoldId) -> Result<Mirror<Option<Hold>>, StoreError>;

    /// Moves an unexpired, not pending hold owned by `user` to expire `by`
    /// later, but never later than `max_total` after its creation.
    ///
    /// MUST return `AtLimit` (changing nothing) when it already expires at
    /// that cap, `Confirming` when it is pending, `NotOwner` when another
    /// user owns it, `NotFound` when it is unknown or expired.
    async fn extend(
        &self,
        event: EventId,
        id: HoldId,
        user: &UserId,
        by: Duration,
        max_total: Duration,
    ) -> Result<Mirror<ExtendOutcome>, StoreError>;

    /// Moves an unexpired hold owned by `user` to pending, so it can no
    /// longer expire while its booking is written.
    ///
    /// MUST return `Pending` with the hold when it is held or already
    /// pending (a retried confirm), `NotOwner` when another user owns it,
    /// `NotFound` when it is unknown or expired.
    async fn begin_confirm(
        &self,
        event: EventId,
        id: HoldId,
        user: &UserId,
    ) -> Result<Mirror<BeginConfirm>, StoreError>;

    /// Marks the seats booked by booking `hold.id` (the hold's own id) and
    /// forgets the hold, once its booking is durable. MUST be idempotent.
    /// MUST mark the seats booked even when the hold record is gone, and
    /// while a load is under way (the load's read may predate the booking);
    /// MUST do nothing when the mirror is neither loaded nor being loaded
    /// (the next load reads the booking from the source of truth).
    async fn finish_confirm(&self, hold: &Hold) -> Result<(), StoreError>;

    /// Puts a pending hold back: held again until its original expiry, or
    /// free if that has passed. Frees only seats the hold still has (a
    /// load may have marked one booked since). MUST be idempotent.
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
    ) -> Result<Mirror<ReleaseOutcome>, StoreError>;

    /// Frees the seats of a cancelled booking: only those still marked as
    /// booked by `booking`, so a seat booked again since stays booked.
    /// MUST be idempotent and MUST succeed whatever the mirror's state.
    /// While a load is under way it MUST also keep that load from marking
    /// these seats booked by `booking` (its read may predate the cancel).
    async fn unbook(
        &self,
        event: EventId,
        booking: HoldId,
        seats: &[SeatNo],
    ) -> Result<(), StoreError>;

    /// Forgets these holds of the event, pending or not, if the store has
    /// them, and frees the seats each still owns (booked seats stay
    /// booked): holds that can never be booked (their booking was
    /// cancelled, or they were settled as never booked) which older data
    /// brought back, as a restart from a snapshot or a promoted replica
    /// does. Unknown ids are skipped. MUST be idempotent and MUST succeed
    /// whatever the mirror's state: a load runs it before it ends.
    async fn forget_holds(&self, event: EventId, holds: &[HoldId]) -> Result<(), StoreError>;

    /// Booked and held seat counts of the event, exact at this instant, and
    /// how many holds have been pending for longer than `stale_after`.
    async fn counts(
        &self,
        event: EventId,
        stale_after: Duration,
    ) -> Result<Mirror<SeatCounts>, StoreError>;

    /// Every seat's state, exact at this instant (an expired hold's seats
    /// are available), in one step.
    async fn seat_map(&self, event: EventId) -> Result<Mirror<SeatMap>, StoreError>;

    /// Holds of the event that have been pending for longer than
    /// `older_than`: confirms that crashed or could not finish. MUST NOT
    /// return holds that are not pending. At most 100, oldest first.
    async fn stale_pending(
        &self,
        event: EventId,
        older_than: Duration,
    ) -> Result<Vec<Hold>, StoreError>;

    /// Begins loading the event's mirror with `token`, unless another load
    /// holds the event's lock (`Busy`), or the mirror is loaded and
    /// `spec.reload` is false (`Loaded`: MUST change nothing; a mirror
    /// found older than it claims is not loaded). On `Begun` the booked seats are
    /// cleared, holds are kept, and the event answers `NotLoaded` until
    /// `finish_load` with this token. A lock whose lease ran out is taken
    /// over, making the old load's token stale.
    async fn begin_load(
        &self,
        event: EventId,
        token: LoadToken,
        spec: &MirrorSpec,
    ) -> Result<BeginLoad, StoreError>;

    /// Marks these seats booked by these bookings, for the load `token`.
    /// A seat booked here is no longer held by any hold (booked wins),
    /// except that a booking unbooked since the load began is skipped.
    /// Callers pass at most a few thousand seats per call, so no call
    /// blocks the store for long.
    async fn load_booked(
        &self,
        event: EventId,
        token: LoadToken,
        booked: &[(SeatNo, HoldId)],
    ) -> Result<LoadStep, StoreError>;

    /// Ends the load `token`: the mirror is loaded and answers again.
    async fn finish_load(&self, event: EventId, token: LoadToken) -> Result<LoadStep, StoreError>;

    /// Gives up the load `token` after a failure, releasing the event's
    /// lock so that another load may begin at once rather than when the
    /// lease runs out. The event stays not loaded. MUST be harmless when
    /// the token is no longer the current one.
    async fn abandon_load(&self, event: EventId, token: LoadToken) -> Result<(), StoreError>;

    /// Starts recording the event's seat changes, or keeps recording them,
    /// for the next `ttl`, and answers the seat map, counts and the feed
    /// position they reflect, in one atomic step. While recording, every
    /// change of a seat's state (held, released, expired, booked,
    /// unbooked) MUST be recorded with the counts right after it; an
    /// expiry is recorded at the latest by the next `changes` call.
    /// Stores keep at least the last 1,000 changes.
    async fn watch(&self, event: EventId, ttl: Duration) -> Result<Mirror<WatchStart>, StoreError>;

    /// The recorded changes after `after`, at most `limit`, and keeps
    /// recording for the next `ttl`. Expired holds are freed first, so
    /// their expiry shows up as changes.
    async fn changes(
        &self,
        event: EventId,
        after: FeedPosition,
        limit: u32,
        ttl: Duration,
    ) -> Result<Mirror<FeedRead>, StoreError>;

    /// The store's version and clock, for health checks.
    async fn info(&self) -> Result<StoreInfo, StoreError>;
}

/// What creating an event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateOutcome {
    Created(Event),
    /// The caller's idempotency key was used before with the same request
    /// (within 24 hours): that event, and nothing written.
    Replayed(Event),
    /// The caller's idempotency key was used before with another request;
    /// nothing written.
    KeyReused,
}

/// What recording a booking did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfirmOutcome {
    /// Rows were written for every seat, all CONFIRMED, in one transaction.
    Created(Booking),
    /// A booking with this id existed already (a retried confirm);
    /// nothing was written.
    Existing(Booking),
    /// Nothing was written: these seats have a CONFIRMED booking of another
    /// group.
    SeatsTaken(Vec<SeatNo>),
    /// Nothing was written: the hold was settled as never booked (its
    /// confirm was presumed dead), and can never be booked now.
    Aborted,
}

/// What settling a confirm that never finished decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettleOutcome {
    /// The booking exists and is CONFIRMED.
    Booked(Booking),
    /// The booking exists and was cancelled since.
    Cancelled(Booking),
    /// There was no booking, and now there never will be: a confirm of
    /// this hold arriving later answers `Aborted`.
    Aborted,
}

/// What a cancel did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelOutcome {
    /// The booking was CONFIRMED and is now CANCELLED; its seats are
    /// listed by `unbooks_due` until `unbooked` is called.
    Cancelled(Booking),
    /// The booking was already CANCELLED; nothing changed.
    AlreadyCancelled(Booking),
    NotFound,
}

/// Events and bookings: the source of truth (Postgres in production).
///
/// Every write is atomic, and a write whose answer was lost (the connection
/// dropped after it was sent) MUST be reported as
/// `StoreError::Indeterminate`, never as having failed.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait BookingRepo: Send + Sync {
    /// Stores the event, its layout and one seat per place in it, assigning
    /// the next id, in one transaction. With an idempotency key, records it
    /// in that transaction, and answers `Replayed`/`KeyReused` when the
    /// caller used the key in the last 24 hours.
    async fn create_event(&self, event: &NewEvent) -> Result<CreateOutcome, StoreError>;

    /// The event with that id, or `None`.
    async fn event(&self, id: EventId) -> Result<Option<Event>, StoreError>;

    /// Records the hold as a CONFIRMED booking whose id is the hold's id,
    /// one row per seat, all or nothing.
    ///
    /// MUST return `Existing` and write nothing when a booking with that id
    /// exists (whatever its status), so a retry never makes a second row.
    /// MUST return `Aborted` when the hold was settled as never booked.
    /// MUST return `SeatsTaken` and write nothing when any seat has a
    /// CONFIRMED booking of another id; the store itself MUST refuse two
    /// CONFIRMED bookings of one seat, even under concurrent calls.
    async fn confirm(&self, hold: &Hold) -> Result<ConfirmOutcome, StoreError>;

    /// Decides a confirm that never finished: the booking as it stands if
    /// it exists, else records that the hold will never be booked, in one
    /// atomic step that a concurrent or later `confirm` of it cannot slip
    /// past (so a confirm stuck in a hung server and committed late loses).
    async fn settle(&self, hold: &Hold) -> Result<SettleOutcome, StoreError>;

    /// The booking with that id, or `None`.
    async fn booking(&self, id: HoldId) -> Result<Option<Booking>, StoreError>;

    /// Marks a CONFIRMED booking CANCELLED, freeing its seats for new
    /// bookings, and in the same step queues its seats to be freed in the
    /// mirror (see `unbooks_due`). MUST return `AlreadyCancelled` for a
    /// cancelled one and `NotFound` for an unknown id.
    async fn cancel(&self, id: HoldId) -> Result<CancelOutcome, StoreError>;

    /// Cancelled bookings whose seats may still be marked booked in the
    /// mirror, cancelled more than `older_than` ago, oldest first, at most
    /// `limit`.
    async fn unbooks_due(
        &self,
        older_than: Duration,
        limit: u32,
    ) -> Result<Vec<Booking>, StoreError>;

    /// Takes a cancelled booking off the `unbooks_due` list. Idempotent.
    async fn unbooked(&self, id: HoldId) -> Result<(), StoreError>;

    /// Every seat of the event with a CONFIRMED booking, with that booking.
    async fn booked_seats(&self, event: EventId) -> Result<Vec<(SeatNo, HoldId)>, StoreError>;

    /// The event's holds that can never be booked again, recorded within
    /// the last `within`: bookings that are now cancelled (by when they
    /// were booked) and holds settled as never booked (by when they were
    /// settled). A hold store restored from older data may have them back
    /// as live holds; holds made before `within` have expired anyway. In
    /// any order.
    async fn spent_holds(
        &self,
        event: EventId,
        within: Duration,
    ) -> Result<Vec<HoldId>, StoreError>;

    /// The user's bookings, newest first (ties by id, descending), at most
    /// `limit`, strictly after `cursor` when given. `next` is set when
    /// more bookings follow this page (so `None` on the last, even when it
    /// is full).
    async fn user_bookings(
        &self,
        user: &UserId,
        cursor: Option<BookingCursor>,
        limit: u32,
    ) -> Result<BookingPage, StoreError>;

    /// The store's version and clock, for health checks.
    async fn info(&self) -> Result<StoreInfo, StoreError>;
}
