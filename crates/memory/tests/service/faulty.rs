//! `Faulty`: a store that passes every call to a real one, except those a
//! test tells it to break, the way a real store breaks: refused, answer
//! lost before or after the write, nonsense, mirror gone, load overtaken.
//! It can also hold a call back until the test lets it go, and it counts
//! every call. The state stays real; only the chosen step fails.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use booking_domain::{
    BeginConfirm, BeginLoad, Booking, BookingCursor, BookingPage, BookingRepo, CancelOutcome,
    ConfirmOutcome, CreateOutcome, Event, EventId, ExtendOutcome, FeedPosition, FeedRead, Hold,
    HoldId, HoldRequest, HoldStore, LoadStep, LoadToken, Mirror, MirrorSpec, NewEvent,
    ReleaseOutcome, ReserveOutcome, SeatCounts, SeatMap, SeatNo, SettleOutcome, StoreError,
    StoreInfo, UserId, WatchStart,
};
use tokio::sync::Semaphore;

/// A method of either port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Call {
    // HoldStore
    Reserve,
    Hold,
    Extend,
    BeginConfirm,
    FinishConfirm,
    AbortConfirm,
    Release,
    Unbook,
    ForgetHolds,
    Counts,
    SeatMap,
    StalePending,
    BeginLoad,
    LoadBooked,
    FinishLoad,
    AbandonLoad,
    Watch,
    Changes,
    // BookingRepo
    CreateEvent,
    Event,
    Confirm,
    Settle,
    Booking,
    Cancel,
    UnbooksDue,
    Unbooked,
    BookedSeats,
    SpentHolds,
    UserBookings,
    // Both
    Info,
}

/// How a call fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Refused: nothing reached the store (`StoreError::Unavailable`).
    Unavailable,
    /// Lost on the way: nothing reached the store, but the caller cannot
    /// know that (`StoreError::Indeterminate`).
    Indeterminate,
    /// Done, but the answer was lost on the way back
    /// (`StoreError::Indeterminate`).
    LostAnswer,
    /// The store answered nonsense; nothing done (`StoreError::Internal`).
    Internal,
    /// The event's mirror is gone (calls that answer `Mirror` only).
    NotLoaded,
    /// Another load took the event's lock (load steps only): answers
    /// `Stale` and leaves the store as it is.
    Stale,
}

#[derive(Debug)]
struct Planned {
    call: Call,
    fault: Fault,
    /// How many more calls it breaks; `None`: every one.
    left: Option<usize>,
}

pub struct Faulty<S: ?Sized> {
    name: &'static str,
    inner: Arc<S>,
    planned: Mutex<Vec<Planned>>,
    calls: Mutex<HashMap<Call, usize>>,
    /// Calls held back until the test resumes them (closes the gate).
    gates: Mutex<HashMap<Call, Arc<Semaphore>>>,
    /// Set when a `NotLoaded` was faked: the store is to act as if it had
    /// really lost the mirror, so the next load must not find it loaded.
    lost: std::sync::atomic::AtomicBool,
}

impl<S: ?Sized> std::fmt::Debug for Faulty<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Faulty")
            .field("name", &self.name)
            .field("planned", &self.planned)
            .field("calls", &self.calls)
            .finish_non_exhaustive()
    }
}

impl<S: ?Sized> Faulty<S> {
    /// `name` is the store its errors name.
    pub fn new(name: &'static str, inner: Arc<S>) -> Self {
        Self {
            name,
            inner,
            planned: Mutex::default(),
            calls: Mutex::default(),
            gates: Mutex::default(),
            lost: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The real store, to arrange or inspect state without going through
    /// (or being counted by) the decorator.
    pub fn inner(&self) -> &Arc<S> {
        &self.inner
    }

    /// Breaks the next call of `call`.
    pub fn fail(&self, call: Call, fault: Fault) {
        self.fail_times(call, fault, 1);
    }

    /// Breaks the next `times` calls of `call`.
    pub fn fail_times(&self, call: Call, fault: Fault, times: usize) {
        self.plan(call, fault, Some(times));
    }

    /// Breaks every call of `call` from now on.
    pub fn fail_always(&self, call: Call, fault: Fault) {
        self.plan(call, fault, None);
    }

    fn plan(&self, call: Call, fault: Fault, left: Option<usize>) {
        self.planned
            .lock()
            .unwrap()
            .push(Planned { call, fault, left });
    }

    /// Holds every call of `call` back, after counting it, until `resume`.
    pub fn pause(&self, call: Call) {
        self.gates
            .lock()
            .unwrap()
            .insert(call, Arc::new(Semaphore::new(0)));
    }

    /// Lets the calls held back by `pause` go on, and later ones through.
    pub fn resume(&self, call: Call) {
        if let Some(gate) = self.gates.lock().unwrap().remove(&call) {
            gate.close();
        }
    }

    /// How many times `call` was made.
    pub fn calls(&self, call: Call) -> usize {
        self.calls.lock().unwrap().get(&call).copied().unwrap_or(0)
    }

    /// Waits until `call` was made `n` times (it may be held back).
    pub async fn reached(&self, call: Call, n: usize) {
        self.reached_together(&[call], n).await;
    }

    /// Waits until these calls were made `n` times between them.
    pub async fn reached_together(&self, calls: &[Call], n: usize) {
        let made = || calls.iter().map(|call| self.calls(*call)).sum::<usize>();
        let wait = async {
            while made() < n {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(5), wait)
            .await
            .unwrap_or_else(|_| panic!("{calls:?} were made {} times, not {n}", made()));
    }

    /// Counts the call, waits at its gate if paused, and takes the fault
    /// planned for it, if any.
    async fn enter(&self, call: Call) -> Option<Fault> {
        *self.calls.lock().unwrap().entry(call).or_default() += 1;
        let gate = self.gates.lock().unwrap().get(&call).cloned();
        if let Some(gate) = gate {
            // No permits are ever added: this returns when the gate closes.
            let _ = gate.acquire().await;
        }
        let mut planned = self.planned.lock().unwrap();
        let index = planned.iter().position(|p| p.call == call)?;
        let fault = planned[index].fault;
        match planned[index].left {
            Some(1) => {
                planned.remove(index);
            }
            Some(ref mut left) => *left -= 1,
            None => {}
        }
        Some(fault)
    }

    async fn apply<T, F, Fut>(
        &self,
        call: Call,
        fault: Option<Fault>,
        op: F,
    ) -> Result<T, StoreError>
    where
        F: FnOnce() -> Fut + Send,
        Fut: Future<Output = Result<T, StoreError>> + Send,
        T: Send,
    {
        match fault {
            None => op().await,
            Some(Fault::Unavailable) => {
                Err(StoreError::unavailable(self.name, "injected: refused"))
            }
            Some(Fault::Indeterminate) => Err(StoreError::indeterminate(
                self.name,
                "injected: lost before it arrived",
            )),
            Some(Fault::LostAnswer) => {
                op().await?;
                Err(StoreError::indeterminate(
                    self.name,
                    "injected: done, but the answer was lost",
                ))
            }
            Some(Fault::Internal) => Err(StoreError::internal(self.name, "injected: nonsense")),
            Some(fault) => panic!("{fault:?} cannot be injected into {call:?}"),
        }
    }

    async fn call<T, F, Fut>(&self, call: Call, op: F) -> Result<T, StoreError>
    where
        F: FnOnce() -> Fut + Send,
        Fut: Future<Output = Result<T, StoreError>> + Send,
        T: Send,
    {
        let fault = self.enter(call).await;
        self.apply(call, fault, op).await
    }

    async fn mirror<T, F, Fut>(&self, call: Call, op: F) -> Result<Mirror<T>, StoreError>
    where
        F: FnOnce() -> Fut + Send,
        Fut: Future<Output = Result<Mirror<T>, StoreError>> + Send,
        T: Send,
    {
        match self.enter(call).await {
            Some(Fault::NotLoaded) => {
                self.lost.store(true, std::sync::atomic::Ordering::SeqCst);
                Ok(Mirror::NotLoaded)
            }
            fault => self.apply(call, fault, op).await,
        }
    }

    async fn step<F, Fut>(&self, call: Call, op: F) -> Result<LoadStep, StoreError>
    where
        F: FnOnce() -> Fut + Send,
        Fut: Future<Output = Result<LoadStep, StoreError>> + Send,
    {
        match self.enter(call).await {
            Some(Fault::Stale) => Ok(LoadStep::Stale),
            fault => self.apply(call, fault, op).await,
        }
    }
}

#[async_trait]
impl<S: HoldStore + ?Sized> HoldStore for Faulty<S> {
    async fn reserve(&self, request: &HoldRequest) -> Result<Mirror<ReserveOutcome>, StoreError> {
        self.mirror(Call::Reserve, || self.inner.reserve(request))
            .await
    }

    async fn hold(&self, event: EventId, id: HoldId) -> Result<Mirror<Option<Hold>>, StoreError> {
        self.mirror(Call::Hold, || self.inner.hold(event, id)).await
    }

    async fn extend(
        &self,
        event: EventId,
        id: HoldId,
        user: &UserId,
        by: Duration,
        max_total: Duration,
    ) -> Result<Mirror<ExtendOutcome>, StoreError> {
        self.mirror(Call::Extend, || {
            self.inner.extend(event, id, user, by, max_total)
        })
        .await
    }

    async fn begin_confirm(
        &self,
        event: EventId,
        id: HoldId,
        user: &UserId,
    ) -> Result<Mirror<BeginConfirm>, StoreError> {
        self.mirror(Call::BeginConfirm, || {
            self.inner.begin_confirm(event, id, user)
        })
        .await
    }

    async fn finish_confirm(&self, hold: &Hold) -> Result<(), StoreError> {
        self.call(Call::FinishConfirm, || self.inner.finish_confirm(hold))
            .await
    }

    async fn abort_confirm(&self, event: EventId, id: HoldId) -> Result<(), StoreError> {
        self.call(Call::AbortConfirm, || self.inner.abort_confirm(event, id))
            .await
    }

    async fn release(
        &self,
        event: EventId,
        id: HoldId,
        user: &UserId,
    ) -> Result<Mirror<ReleaseOutcome>, StoreError> {
        self.mirror(Call::Release, || self.inner.release(event, id, user))
            .await
    }

    async fn unbook(
        &self,
        event: EventId,
        booking: HoldId,
        seats: &[SeatNo],
    ) -> Result<(), StoreError> {
        self.call(Call::Unbook, || self.inner.unbook(event, booking, seats))
            .await
    }

    async fn forget_holds(&self, event: EventId, holds: &[HoldId]) -> Result<(), StoreError> {
        self.call(Call::ForgetHolds, || self.inner.forget_holds(event, holds))
            .await
    }

    async fn counts(
        &self,
        event: EventId,
        stale_after: Duration,
    ) -> Result<Mirror<SeatCounts>, StoreError> {
        self.mirror(Call::Counts, || self.inner.counts(event, stale_after))
            .await
    }

    async fn seat_map(&self, event: EventId) -> Result<Mirror<SeatMap>, StoreError> {
        self.mirror(Call::SeatMap, || self.inner.seat_map(event))
            .await
    }

    async fn stale_pending(
        &self,
        event: EventId,
        older_than: Duration,
    ) -> Result<Vec<Hold>, StoreError> {
        self.call(Call::StalePending, || {
            self.inner.stale_pending(event, older_than)
        })
        .await
    }

    async fn begin_load(
        &self,
        event: EventId,
        token: LoadToken,
        spec: &MirrorSpec,
    ) -> Result<BeginLoad, StoreError> {
        let lost = self.lost.swap(false, std::sync::atomic::Ordering::SeqCst);
        let spec = MirrorSpec {
            reload: spec.reload || lost,
            ..spec.clone()
        };
        self.call(Call::BeginLoad, || {
            self.inner.begin_load(event, token, &spec)
        })
        .await
    }

    async fn load_booked(
        &self,
        event: EventId,
        token: LoadToken,
        booked: &[(SeatNo, HoldId)],
    ) -> Result<LoadStep, StoreError> {
        self.step(Call::LoadBooked, || {
            self.inner.load_booked(event, token, booked)
        })
        .await
    }

    async fn finish_load(&self, event: EventId, token: LoadToken) -> Result<LoadStep, StoreError> {
        self.step(Call::FinishLoad, || self.inner.finish_load(event, token))
            .await
    }

    async fn abandon_load(&self, event: EventId, token: LoadToken) -> Result<(), StoreError> {
        self.call(Call::AbandonLoad, || self.inner.abandon_load(event, token))
            .await
    }

    async fn watch(&self, event: EventId, ttl: Duration) -> Result<Mirror<WatchStart>, StoreError> {
        self.mirror(Call::Watch, || self.inner.watch(event, ttl))
            .await
    }

    async fn changes(
        &self,
        event: EventId,
        after: FeedPosition,
        limit: u32,
        ttl: Duration,
    ) -> Result<Mirror<FeedRead>, StoreError> {
        self.mirror(Call::Changes, || {
            self.inner.changes(event, after, limit, ttl)
        })
        .await
    }

    async fn info(&self) -> Result<StoreInfo, StoreError> {
        self.call(Call::Info, || self.inner.info()).await
    }
}

#[async_trait]
impl<S: BookingRepo + ?Sized> BookingRepo for Faulty<S> {
    async fn create_event(&self, event: &NewEvent) -> Result<CreateOutcome, StoreError> {
        self.call(Call::CreateEvent, || self.inner.create_event(event))
            .await
    }

    async fn event(&self, id: EventId) -> Result<Option<Event>, StoreError> {
        self.call(Call::Event, || self.inner.event(id)).await
    }

    async fn confirm(&self, hold: &Hold) -> Result<ConfirmOutcome, StoreError> {
        self.call(Call::Confirm, || self.inner.confirm(hold)).await
    }

    async fn settle(&self, hold: &Hold) -> Result<SettleOutcome, StoreError> {
        self.call(Call::Settle, || self.inner.settle(hold)).await
    }

    async fn booking(&self, id: HoldId) -> Result<Option<Booking>, StoreError> {
        self.call(Call::Booking, || self.inner.booking(id)).await
    }

    async fn cancel(&self, id: HoldId) -> Result<CancelOutcome, StoreError> {
        self.call(Call::Cancel, || self.inner.cancel(id)).await
    }

    async fn unbooks_due(
        &self,
        older_than: Duration,
        limit: u32,
    ) -> Result<Vec<Booking>, StoreError> {
        self.call(Call::UnbooksDue, || {
            self.inner.unbooks_due(older_than, limit)
        })
        .await
    }

    async fn unbooked(&self, id: HoldId) -> Result<(), StoreError> {
        self.call(Call::Unbooked, || self.inner.unbooked(id)).await
    }

    async fn booked_seats(&self, event: EventId) -> Result<Vec<(SeatNo, HoldId)>, StoreError> {
        self.call(Call::BookedSeats, || self.inner.booked_seats(event))
            .await
    }

    async fn spent_holds(
        &self,
        event: EventId,
        within: Duration,
    ) -> Result<Vec<HoldId>, StoreError> {
        self.call(Call::SpentHolds, || self.inner.spent_holds(event, within))
            .await
    }

    async fn user_bookings(
        &self,
        user: &UserId,
        cursor: Option<BookingCursor>,
        limit: u32,
    ) -> Result<BookingPage, StoreError> {
        self.call(Call::UserBookings, || {
            self.inner.user_bookings(user, cursor, limit)
        })
        .await
    }

    async fn info(&self) -> Result<StoreInfo, StoreError> {
        self.call(Call::Info, || self.inner.info()).await
    }
}
