//! Loading an event's mirror, one load at a time: a lock per event in this
//! process (requests that find the mirror missing together share one load)
//! and the store's own lock across instances (`BeginLoad::Busy`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use tokio::time::Instant;
use tracing::{info, warn};

use super::SeatLedger;
use crate::{BeginLoad, Event, EventId, LoadStep, LoadToken, Mirror, MirrorSpec, StoreError};

/// The least time a loaded mirror is kept, whatever the event's date.
const MIN_KEEP: chrono::Duration = chrono::Duration::minutes(1);

/// How often a request waiting for another instance's load looks again.
const POLL: Duration = Duration::from_millis(25);

#[derive(Default)]
pub(super) struct Loads {
    locks: Mutex<HashMap<EventId, Arc<tokio::sync::Mutex<()>>>>,
}

impl Loads {
    fn lock_for(&self, event: EventId) -> Arc<tokio::sync::Mutex<()>> {
        self.locks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(event)
            .or_default()
            .clone()
    }

    /// Drops the event's lock once nobody holds or waits for it, so the map
    /// stays as small as the set of events loading right now.
    fn forget(&self, event: EventId, lock: Arc<tokio::sync::Mutex<()>>) {
        let mut locks = self.locks.lock().unwrap_or_else(|e| e.into_inner());
        // One reference is the map's, one is ours.
        if Arc::strong_count(&lock) <= 2 {
            locks.remove(&event);
        }
    }

    /// Makes sure the event's mirror is loaded. Unless `force`, a request
    /// that waited for another's load trusts it instead of loading again.
    pub(super) async fn ensure(
        &self,
        ledger: &SeatLedger,
        event: &Event,
        force: bool,
    ) -> Result<(), StoreError> {
        let lock = self.lock_for(event.id);
        let wait = ledger.config.load_wait;
        let result = async {
            let guard = match lock.try_lock() {
                Ok(guard) => guard,
                Err(_) => {
                    let guard = tokio::time::timeout(wait, lock.lock())
                        .await
                        .map_err(|_| busy(event.id))?;
                    if !force && is_loaded(ledger, event.id).await? {
                        return Ok(());
                    }
                    guard
                }
            };
            let result = load(ledger, event, force).await;
            drop(guard);
            result
        }
        .await;
        self.forget(event.id, lock);
        result
    }
}

async fn is_loaded(ledger: &SeatLedger, event: EventId) -> Result<bool, StoreError> {
    let counts = ledger
        .holds
        .counts(event, ledger.config.pending_grace)
        .await?;
    Ok(matches!(counts, Mirror::Ready(_)))
}

fn busy(event: EventId) -> StoreError {
    StoreError::unavailable(
        "hold store",
        format!("event {event} is being loaded; try again shortly"),
    )
}

/// One fenced load: begin with a fresh token, copy the booked seats from
/// the repo in chunks, finish. A token that went stale (the store lost the
/// data, or another load took over) starts again, a few times at most.
async fn load(ledger: &SeatLedger, event: &Event, reload: bool) -> Result<(), StoreError> {
    let config = &ledger.config;
    let keep_until = event.date
        + chrono::Duration::from_std(config.keep_after_event).unwrap_or(chrono::Duration::MAX);
    let spec = MirrorSpec {
        layout: event.layout.clone(),
        // An event long past is still read now and then: its mirror lives
        // at least a little while, or every read would load it again.
        keep_until: keep_until.max(Utc::now() + MIN_KEEP),
        lease: config.load_lease,
        reload,
    };
    let started = Instant::now();
    for attempt in 1..=3 {
        let token = LoadToken::generate();
        match ledger.holds.begin_load(event.id, token, &spec).await? {
            BeginLoad::Begun => {}
            // Another instance's load finished after this request found
            // the mirror missing: one load was enough.
            BeginLoad::Loaded => return Ok(()),
            BeginLoad::Busy => {
                reloaded("busy");
                return wait_for_other_load(ledger, event.id, started).await;
            }
        }
        let step = match copy_booked(ledger, event, token).await {
            Ok(step) => step,
            Err(error) => {
                // Let the next load begin now, not when the lease runs out.
                reloaded("failed");
                if let Err(e) = ledger.holds.abandon_load(event.id, token).await {
                    warn!(event = %event.id, error = %e, "could not give up a failed load");
                }
                return Err(error);
            }
        };
        if let Some(booked) = step {
            reloaded("loaded");
            info!(
                event = %event.id,
                booked,
                millis = started.elapsed().as_millis() as u64,
                "loaded the mirror"
            );
            return Ok(());
        }
        reloaded("stale");
        warn!(event = %event.id, attempt, "a load went stale; loading again");
    }
    Err(StoreError::unavailable(
        "hold store",
        format!(
            "event {} could not be loaded: its loads kept going stale",
            event.id
        ),
    ))
}

fn reloaded(outcome: &'static str) {
    metrics::counter!(super::RELOADS, "outcome" => outcome).increment(1);
}

/// How much the stores' clocks may differ: a hold's age is the hold
/// store's, a booking's the repo's.
const CLOCK_SLACK: Duration = Duration::from_secs(60);

/// Copies the event's booked seats from the repo into the load `token`, in
/// chunks, forgets the holds the repo knows are spent, and ends the load.
/// `Some(booked seats)` when it ended, `None` when the token went stale.
async fn copy_booked(
    ledger: &SeatLedger,
    event: &Event,
    token: LoadToken,
) -> Result<Option<usize>, StoreError> {
    let chunk_size = ledger.config.load_chunk.max(1);
    let booked = ledger.repo.booked_seats(event.id).await?;
    for chunk in booked.chunks(chunk_size) {
        if ledger.holds.load_booked(event.id, token, chunk).await? == LoadStep::Stale {
            return Ok(None);
        }
    }
    // A load follows lost or stale data, and older data brings back holds
    // that were confirmed and cancelled (or settled as dead) since: left
    // alone, such a hold keeps a cancelled booking's seats until it
    // expires. Read after the chunks: a cancel that commits later frees
    // its seats by its own unbook.
    let within = ledger.config.hold_lifetime + CLOCK_SLACK;
    let spent = ledger.repo.spent_holds(event.id, within).await?;
    for chunk in spent.chunks(chunk_size) {
        ledger.holds.forget_holds(event.id, chunk).await?;
    }
    match ledger.holds.finish_load(event.id, token).await? {
        LoadStep::Done => Ok(Some(booked.len())),
        LoadStep::Stale => Ok(None),
    }
}

/// Another instance is loading the event: wait for its answer, up to the
/// configured patience, then let the client retry.
async fn wait_for_other_load(
    ledger: &SeatLedger,
    event: EventId,
    started: Instant,
) -> Result<(), StoreError> {
    while started.elapsed() < ledger.config.load_wait {
        tokio::time::sleep(POLL).await;
        if is_loaded(ledger, event).await? {
            return Ok(());
        }
    }
    Err(busy(event))
}
