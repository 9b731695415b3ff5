//! Idempotency records in process, for the memory store: the semantics of
//! the Redis scripts, on this process's clock. Lost on restart, like
//! everything else on the memory store.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use booking_domain::StoreError;

use super::{Claim, IdempotencyStore, Stored};

/// Past this many records, expired ones are dropped on the next claim.
const PRUNE_ABOVE: usize = 10_000;

#[derive(Debug)]
enum State {
    Running { token: String },
    Done(Stored),
}

#[derive(Debug)]
struct Record {
    fingerprint: String,
    state: State,
    expires: Instant,
}

#[derive(Debug, Default)]
pub struct MemoryIdempotencyStore {
    records: Mutex<HashMap<(String, String), Record>>,
}

impl MemoryIdempotencyStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn records(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Record>> {
        self.records.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn id(scope: &str, key: &str) -> (String, String) {
    (scope.to_owned(), key.to_owned())
}

#[async_trait]
impl IdempotencyStore for MemoryIdempotencyStore {
    async fn begin(
        &self,
        scope: &str,
        key: &str,
        fingerprint: &str,
        token: &str,
        lease: Duration,
    ) -> Result<Claim, StoreError> {
        let now = Instant::now();
        let mut records = self.records();
        if records.len() > PRUNE_ABOVE {
            records.retain(|_, r| r.expires > now);
        }
        match records.get(&id(scope, key)).filter(|r| r.expires > now) {
            None => {
                records.insert(
                    id(scope, key),
                    Record {
                        fingerprint: fingerprint.to_owned(),
                        state: State::Running {
                            token: token.to_owned(),
                        },
                        expires: now + lease,
                    },
                );
                Ok(Claim::Started)
            }
            Some(r) if r.fingerprint != fingerprint => Ok(Claim::Mismatch),
            Some(Record {
                state: State::Running { .. },
                ..
            }) => Ok(Claim::InUse),
            Some(Record {
                state: State::Done(stored),
                ..
            }) => Ok(Claim::Done(stored.clone())),
        }
    }

    async fn finish(
        &self,
        scope: &str,
        key: &str,
        token: &str,
        response: &Stored,
        retention: Duration,
    ) -> Result<bool, StoreError> {
        let mut records = self.records();
        match records.get_mut(&id(scope, key)) {
            Some(record) if matches!(&record.state, State::Running { token: t } if t == token) => {
                record.state = State::Done(response.clone());
                record.expires = Instant::now() + retention;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn abandon(&self, scope: &str, key: &str, token: &str) -> Result<bool, StoreError> {
        let mut records = self.records();
        let ours = matches!(
            records.get(&id(scope, key)),
            Some(Record { state: State::Running { token: t }, .. }) if t == token
        );
        if ours {
            records.remove(&id(scope, key));
        }
        Ok(ours)
    }
}
