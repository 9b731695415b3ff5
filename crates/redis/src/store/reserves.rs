//! Reserves of one event that wait together go to Redis in one call.
//!
//! A hot event lives on one Redis core, and a reserve's script spends
//! about half its cost before it looks at a seat: the round trip, the
//! server's clock, the fence, the purge of expired holds. Each event has
//! a lane: a reserve finding the lane idle goes out at once, alone; those
//! arriving while a call is out wait for it and then go together, in
//! arrival order, in the next call (`reserve.lua` runs each request in
//! turn, each all or nothing, exactly as separate calls in that order
//! would). So an idle event costs what it did and a busy one pays the
//! fixed part once per round trip, with at most one call of its reserves
//! in flight per api instance. Each reserve still happens at an instant
//! inside its own request's lifetime.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use booking_domain::{EventId, HoldId, HoldRequest, Mirror, ReserveOutcome, StoreError};
use redis::{Script, Value};
use tokio::sync::oneshot;

use crate::connection::Backend;
use crate::errors::{self, STORE};
use crate::keys::{EventKeys, KeyPrefix};
use crate::replies::Reply;
use crate::scripts::ReserveArgs;

/// The most reserves one call carries: a call blocks the Redis core for
/// all of them (a few µs each), so a lane with more waiting sends them in
/// several calls, one after the other.
const MOST_PER_CALL: usize = 64;

/// When the holds of a call Redis did not answer are forgotten, counted
/// from its failure: soon, then once more for a call that reached Redis
/// late (held in a slow link past the first).
const FORGET_AFTER: [Duration; 2] = [Duration::from_secs(1), Duration::from_secs(10)];

type Answer = Result<Mirror<ReserveOutcome>, Arc<StoreError>>;

struct Waiting {
    request: HoldRequest,
    answer: oneshot::Sender<Answer>,
}

pub(crate) struct ReserveLanes {
    shared: Arc<Shared>,
}

struct Shared {
    backend: Arc<Backend>,
    script: Script,
    /// `forget_holds.lua`, for the holds of a call nobody was answered.
    forget: Script,
    prefix: KeyPrefix,
    /// An event is here while its lane's task runs, with what waits for
    /// its next call.
    lanes: Mutex<HashMap<EventId, Vec<Waiting>>>,
}

impl ReserveLanes {
    pub fn new(backend: Arc<Backend>, script: Script, forget: Script, prefix: KeyPrefix) -> Self {
        Self {
            shared: Arc::new(Shared {
                backend,
                script,
                forget,
                prefix,
                lanes: Mutex::new(HashMap::new()),
            }),
        }
    }

    pub async fn reserve(
        &self,
        request: &HoldRequest,
    ) -> Result<Mirror<ReserveOutcome>, StoreError> {
        let (answer, answered) = oneshot::channel();
        let event = request.event;
        let waiting = Waiting {
            request: request.clone(),
            answer,
        };
        let idle = {
            let mut lanes = self.shared.lock();
            match lanes.get_mut(&event) {
                Some(queue) => {
                    queue.push(waiting);
                    false
                }
                None => {
                    lanes.insert(event, vec![waiting]);
                    true
                }
            }
        };
        if idle {
            // Its own task: the calls must go on for the others if this
            // request is dropped (its client went away).
            tokio::spawn(Arc::clone(&self.shared).run_lane(event));
        }
        match answered.await {
            Ok(answer) => answer.map_err(|e| errors::copy(&e)),
            Err(_) => Err(StoreError::internal(
                STORE,
                "the reserve's lane ended without answering it",
            )),
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, HashMap<EventId, Vec<Waiting>>> {
        // Every change to the map is one statement: a panic cannot leave
        // it half-done.
        self.lanes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends what waits, call after call, until nothing does.
    async fn run_lane(self: Arc<Self>, event: EventId) {
        let mut lane = Lane {
            shared: &self,
            event,
            closed: false,
        };
        loop {
            let batch = {
                let mut lanes = self.lock();
                let queue = lanes
                    .get_mut(&event)
                    .map(std::mem::take)
                    .unwrap_or_default();
                if queue.is_empty() {
                    lanes.remove(&event);
                    lane.closed = true;
                    return;
                }
                if queue.len() > MOST_PER_CALL {
                    let mut queue = queue;
                    let rest = queue.split_off(MOST_PER_CALL);
                    lanes.insert(event, rest);
                    queue
                } else {
                    queue
                }
            };
            if let Some(outage) = Arc::clone(&self).send(event, batch).await {
                // Redis did not answer (in up to its 2 s timeout): what
                // waited meanwhile fails now, unsent, rather than wait
                // that long again in the next call (a 503 stays bounded).
                let waited = self.lock().get_mut(&event).map(std::mem::take);
                for waiting in waited.unwrap_or_default() {
                    let _ = waiting.answer.send(Err(Arc::clone(&outage)));
                }
            }
        }
    }

    /// Sends one call for `batch` and answers its requests; the error when
    /// it failed for want of Redis (a 503 for each).
    async fn send(self: Arc<Self>, event: EventId, batch: Vec<Waiting>) -> Option<Arc<StoreError>> {
        // A request whose client went away is not held for nobody.
        let batch: Vec<Waiting> = batch
            .into_iter()
            .filter(|w| !w.answer.is_closed())
            .collect();
        if batch.is_empty() {
            return None;
        }
        let mut call = self.script.prepare_invoke();
        call.key(EventKeys::new(&self.prefix, event).all());
        for waiting in &batch {
            call.arg(ReserveArgs(&waiting.request));
        }
        let (replies, outage) = match self.backend.run(&call).await {
            Ok(value) => (answers(&value, &batch), None),
            Err(e) => {
                let outage = errors::is_outage(&e);
                let e = Arc::new(e);
                let replies = batch.iter().map(|_| Err(Arc::clone(&e))).collect();
                if outage {
                    // Redis may have run the call all the same (its answer
                    // was late): holds their requests were told failed,
                    // which nobody can confirm or release, would keep
                    // their seats for the whole hold time.
                    let holds = batch.iter().map(|w| w.request.id).collect();
                    tokio::spawn(Arc::clone(&self).forget_unanswered(event, holds));
                }
                // Those not sent were not done: unavailable, not
                // indeterminate.
                (replies, outage.then(|| Arc::new(errors::unsent(&e))))
            }
        };
        for (waiting, answer) in batch.into_iter().zip(replies) {
            // Its client may have gone meanwhile: nobody to tell.
            let _ = waiting.answer.send(answer);
        }
        outage
    }

    /// Forgets `holds` if Redis made them (unknown ids are skipped), at
    /// each of [`FORGET_AFTER`]: their ids were never given out, so
    /// nothing else can refer to them.
    async fn forget_unanswered(self: Arc<Self>, event: EventId, holds: Vec<HoldId>) {
        let keys = EventKeys::new(&self.prefix, event);
        let failed = tokio::time::Instant::now();
        for after in FORGET_AFTER {
            tokio::time::sleep_until(failed + after).await;
            match super::confirm::forget_holds(&self.backend, &self.forget, keys, &holds).await {
                Ok(0) => {}
                Ok(forgotten) => {
                    tracing::warn!(%event, forgotten, "forgot holds of a reserve Redis answered too late");
                }
                Err(error) => {
                    tracing::warn!(%event, %error, "could not forget the holds of an unanswered reserve");
                }
            }
        }
    }
}

/// Each request's answer from the batch's reply.
fn answers(value: &Value, batch: &[Waiting]) -> Vec<Answer> {
    let all = |answer: Answer| batch.iter().map(|_| answer.clone()).collect();
    let reply = match Reply::parse("reserve", value) {
        Ok(reply) => reply,
        Err(e) => return all(Err(Arc::new(e))),
    };
    let replies = match reply.status() {
        b"not_loaded" => return all(Ok(Mirror::NotLoaded)),
        b"each" => reply
            .split_lengths()
            .filter(|replies| replies.len() == batch.len()),
        _ => None,
    };
    let Some(replies) = replies else {
        return all(Err(Arc::new(reply.unexpected())));
    };
    batch
        .iter()
        .zip(replies)
        .map(|(waiting, words)| {
            Reply::of_words("reserve", value, words)
                .and_then(|reply| super::holds::outcome(&waiting.request, &reply))
                .map_err(Arc::new)
        })
        .collect()
}

/// Closes the lane if its task ends any other way than by emptying it
/// (a panic): its waiting requests then fail instead of waiting for ever,
/// and the next reserve opens a new lane.
struct Lane<'a> {
    shared: &'a Shared,
    event: EventId,
    closed: bool,
}

impl Drop for Lane<'_> {
    fn drop(&mut self) {
        if !self.closed {
            self.shared.lock().remove(&self.event);
        }
    }
}
