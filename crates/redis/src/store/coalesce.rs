//! Reads of one event that arrive together share one script call.
//!
//! At an on-sale thousands of buyers poll the same event: each poll as a
//! script call of its own costs Redis a round trip and the fence's prefix,
//! and the api a write and a read. Here a read joins a call only if that
//! call was sent after the read arrived, so the answer it gets is the
//! event's state at an instant inside its own lifetime, exactly what a
//! call of its own would give (a write that finished before the read
//! arrived is in it). A read that finds an older call in flight waits it
//! out and then joins, or starts, the next one. Under load that is one
//! call per event per round trip, whatever the number of readers; a read
//! alone costs what it did.
//!
//! Where the answer is small (an event's counts) each thread keeps its own
//! calls ([`Coalesced::per_thread`]): a read joins only a call made on its
//! thread, on that thread's connection (`pool.rs`), so neither the call
//! nor its answer wakes another worker. A wake-up across threads is a
//! syscall and often a context switch, more than such a read's share of
//! the call saves. Where the answer is large (a seat map, 100 KB of seat
//! states for a big event) the call costs Redis far more than a wake-up
//! costs the api, and one call serves every thread
//! ([`Coalesced::across_threads`]). Measured in docs/PERFORMANCE.md.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use booking_domain::StoreError;
use thread_local::ThreadLocal;
use tokio::sync::watch;

use crate::errors;

/// An answer as every reader of a call gets it (a store error is not
/// `Clone`: readers get a copy of its kind, with the original as source).
type Answer<V> = Option<Result<V, Arc<StoreError>>>;

/// Which calls a read may join; see the module doc.
pub(crate) enum Coalesced<K: Send, V: Send + Sync> {
    /// Those made on its own thread: a table per thread (boxed: a
    /// thread-local table is several hundred bytes).
    PerThread(Box<ThreadLocal<Mutex<State<K, V>>>>),
    /// Those made on any thread: one table.
    AcrossThreads(Mutex<State<K, V>>),
}

pub(crate) struct State<K, V> {
    /// Calls started so far: numbers a call, and marks a read's arrival.
    started: u64,
    flights: HashMap<K, Flight<V>>,
}

impl<K, V> State<K, V> {
    fn empty() -> Mutex<Self> {
        Mutex::new(Self {
            started: 0,
            flights: HashMap::new(),
        })
    }
}

struct Flight<V> {
    number: u64,
    answer: watch::Receiver<Answer<V>>,
}

enum Step<V> {
    Lead(watch::Sender<Answer<V>>, u64),
    Join(watch::Receiver<Answer<V>>),
    WaitOut(watch::Receiver<Answer<V>>),
}

impl<K: Hash + Eq + Clone + Send, V: Clone + Send + Sync> Coalesced<K, V> {
    /// Reads share calls made on their own thread only.
    pub fn per_thread() -> Self {
        Self::PerThread(Box::default())
    }

    /// Reads share calls whichever thread made them.
    pub fn across_threads() -> Self {
        Self::AcrossThreads(State::empty())
    }

    /// The calls this thread's reads may join. A read keeps the table it
    /// started with to the end, should its future move to another thread
    /// meanwhile.
    fn local(&self) -> &Mutex<State<K, V>> {
        match self {
            Self::PerThread(tables) => tables.get_or(State::empty),
            Self::AcrossThreads(table) => table,
        }
    }

    /// `call`'s answer for `key`, or the answer of a call for the same key
    /// sent after this read arrived.
    pub async fn read<F, Fut>(&self, key: K, call: F) -> Result<V, StoreError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, StoreError>>,
    {
        let state = self.local();
        let arrived = lock(state).started;
        let mut call = Some(call);
        loop {
            match step(state, &key, arrived) {
                Step::Lead(answer, number) => {
                    let flight = Landing {
                        state,
                        key: &key,
                        number,
                    };
                    let call = call.take().expect("a read leads at most one call");
                    let result = call().await.map_err(Arc::new);
                    // Gone before the answer is out: a read arriving from
                    // now on must not join a call that read before it came.
                    drop(flight);
                    // No reader left is fine: nobody needed it.
                    let _ = answer.send(Some(result.clone()));
                    return result.map_err(|e| errors::copy(&e));
                }
                Step::Join(mut answer) => {
                    let got = answer
                        .wait_for(Option::is_some)
                        .await
                        .map(|answer| answer.clone());
                    if let Ok(Some(result)) = got {
                        return result.map_err(|e| errors::copy(&e));
                    }
                    // Its reader gave up before the answer (the request
                    // was dropped): start over.
                }
                Step::WaitOut(mut answer) => {
                    // Answered or given up, either way it is over. If
                    // Redis did not answer it (in up to its 2 s timeout),
                    // neither would it answer the next call in time: this
                    // read fails now (a 503 stays bounded). Any other
                    // answer was read before this read came: not taken.
                    if answer.changed().await.is_ok() {
                        let outage = match &*answer.borrow() {
                            Some(Err(e)) if errors::is_outage(e) => Some(Arc::clone(e)),
                            _ => None,
                        };
                        if let Some(e) = outage {
                            return Err(errors::unsent(&e));
                        }
                    }
                }
            }
        }
    }
}

fn step<K: Hash + Eq + Clone, V>(state: &Mutex<State<K, V>>, key: &K, arrived: u64) -> Step<V> {
    let mut state = lock(state);
    match state.flights.get(key) {
        Some(flight) if flight.number > arrived => Step::Join(flight.answer.clone()),
        Some(flight) => Step::WaitOut(flight.answer.clone()),
        None => {
            state.started += 1;
            let number = state.started;
            let (send, answer) = watch::channel(None);
            state.flights.insert(key.clone(), Flight { number, answer });
            Step::Lead(send, number)
        }
    }
}

fn lock<K, V>(state: &Mutex<State<K, V>>) -> MutexGuard<'_, State<K, V>> {
    // The map is consistent between statements: a panic elsewhere leaves
    // nothing half-done in it.
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Takes a call's flight off the map when the call ends or its reader
/// gives up (the future dropped), so the next read starts a fresh one.
struct Landing<'a, K: Hash + Eq, V> {
    state: &'a Mutex<State<K, V>>,
    key: &'a K,
    number: u64,
}

impl<K: Hash + Eq, V> Drop for Landing<'_, K, V> {
    fn drop(&mut self) {
        let mut state = lock(self.state);
        if state
            .flights
            .get(self.key)
            .is_some_and(|flight| flight.number == self.number)
        {
            state.flights.remove(self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;

    use tokio::sync::oneshot;

    use super::*;

    /// Within one thread the two kinds behave alike: every case runs on
    /// both.
    const KINDS: [fn() -> Coalesced<u32, u32>; 2] =
        [Coalesced::per_thread, Coalesced::across_threads];

    fn unavailable() -> StoreError {
        StoreError::Unavailable {
            store: "redis",
            source: "down".into(),
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn reads_that_arrive_during_a_call_share_the_next_one() {
        for make in KINDS {
            reads_that_arrive_during_a_call_share_the_next_one_with(make).await;
        }
    }

    async fn reads_that_arrive_during_a_call_share_the_next_one_with(
        make: fn() -> Coalesced<u32, u32>,
    ) {
        let reads: Arc<Coalesced<u32, u32>> = Arc::new(make());
        let calls = Arc::new(AtomicU32::new(0));
        let (release_first, first_released) = oneshot::channel::<()>();

        // The first read's call is in flight, sent before the others came.
        let first = tokio::spawn({
            let (reads, calls) = (reads.clone(), calls.clone());
            async move {
                reads
                    .read(1, || async {
                        calls.fetch_add(1, Ordering::SeqCst);
                        first_released.await.ok();
                        Ok(10)
                    })
                    .await
            }
        });
        tokio::task::yield_now().await;
        let later: Vec<_> = (0..5)
            .map(|_| {
                let (reads, calls) = (reads.clone(), calls.clone());
                tokio::spawn(async move {
                    reads
                        .read(1, || async {
                            let n = calls.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(5)).await;
                            Ok(20 + n)
                        })
                        .await
                })
            })
            .collect();
        tokio::task::yield_now().await;
        release_first.send(()).unwrap();

        assert_eq!(first.await.unwrap().unwrap(), 10);
        let mut answers = Vec::new();
        for read in later {
            answers.push(read.await.unwrap().unwrap());
        }
        // None took the answer of the call sent before it arrived; all
        // five shared one call.
        assert_eq!(answers, vec![21; 5]);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn keys_do_not_share_calls() {
        for make in KINDS {
            keys_do_not_share_calls_with(make).await;
        }
    }

    async fn keys_do_not_share_calls_with(make: fn() -> Coalesced<u32, u32>) {
        let reads: Coalesced<u32, u32> = make();
        let calls = AtomicU32::new(0);
        let call = |value| {
            let calls = &calls;
            move || async move {
                calls.fetch_add(1, Ordering::SeqCst);
                tokio::task::yield_now().await;
                Ok(value)
            }
        };
        let (a, b) = tokio::join!(reads.read(1, call(1)), reads.read(2, call(2)));
        assert_eq!((a.unwrap(), b.unwrap()), (1, 2));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn an_error_reaches_every_reader_of_the_call_with_its_kind() {
        for make in KINDS {
            an_error_reaches_every_reader_of_the_call_with_its_kind_with(make).await;
        }
    }

    async fn an_error_reaches_every_reader_of_the_call_with_its_kind_with(
        make: fn() -> Coalesced<u32, u32>,
    ) {
        let reads: Coalesced<u32, u32> = make();
        let call = || async {
            tokio::task::yield_now().await;
            Err(unavailable())
        };
        let (a, b) = tokio::join!(reads.read(1, call), reads.read(1, call));
        for result in [a, b] {
            assert!(matches!(
                result,
                Err(StoreError::Unavailable { store: "redis", .. })
            ));
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_reader_dropped_mid_call_leaves_the_others_to_call_again() {
        for make in KINDS {
            a_reader_dropped_mid_call_leaves_the_others_to_call_again_with(make).await;
        }
    }

    async fn a_reader_dropped_mid_call_leaves_the_others_to_call_again_with(
        make: fn() -> Coalesced<u32, u32>,
    ) {
        let reads: Arc<Coalesced<u32, u32>> = Arc::new(make());
        let never = tokio::spawn({
            let reads = reads.clone();
            async move {
                reads
                    .read(1, || async {
                        std::future::pending::<()>().await;
                        Ok(0)
                    })
                    .await
            }
        });
        tokio::task::yield_now().await;
        let waiting = tokio::spawn({
            let reads = reads.clone();
            async move { reads.read(1, || async { Ok(7) }).await }
        });
        tokio::task::yield_now().await;
        never.abort();
        let answer = tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("the waiting read moved on")
            .unwrap();
        assert_eq!(answer.unwrap(), 7);
        assert!(lock(reads.local()).flights.is_empty());
    }

    /// What sets the kinds apart: a read on another thread than a call in
    /// flight leads a call of its own at once, or waits that call out.
    #[test]
    fn a_read_waits_out_another_threads_call_only_when_calls_are_shared() {
        let runtime = || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
        };
        for (make, shared) in KINDS.into_iter().zip([false, true]) {
            let reads = make();
            let (release, released) = oneshot::channel::<()>();
            let (sent, in_flight) = std::sync::mpsc::channel::<()>();
            std::thread::scope(|scope| {
                let first = scope.spawn(|| {
                    runtime().block_on(reads.read(1, || async move {
                        sent.send(()).unwrap();
                        released.await.ok();
                        Ok(10)
                    }))
                });
                in_flight.recv().unwrap();
                let other = runtime().block_on(async {
                    let read = reads.read(1, || async { Ok(20) });
                    tokio::time::timeout(Duration::from_millis(300), read).await
                });
                if shared {
                    assert!(other.is_err(), "waited for the call in flight");
                } else {
                    assert_eq!(other.unwrap().unwrap(), 20);
                }
                release.send(()).unwrap();
                assert_eq!(first.join().unwrap().unwrap(), 10);
            });
        }
    }
}
