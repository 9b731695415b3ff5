//! GCRA in process, for the memory store: the same arithmetic as
//! `booking_redis`'s `rate_limit.lua`, on a clock of this process.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use booking_domain::StoreError;

use super::{Bucket, RateLimiter, Verdict};

/// Past this many buckets, full ones (idle clients) are dropped, so
/// clients that come and go cannot grow the map without bound.
const PRUNE_ABOVE: usize = 100_000;

#[derive(Debug)]
pub struct MemoryRateLimiter {
    origin: Instant,
    /// Bucket key → theoretical arrival time, µs since `origin`.
    tats: Mutex<HashMap<String, u64>>,
}

impl MemoryRateLimiter {
    pub fn new() -> Self {
        Self {
            origin: Instant::now(),
            tats: Mutex::new(HashMap::new()),
        }
    }
}

impl Default for MemoryRateLimiter {
    fn default() -> Self {
        Self::new()
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

#[async_trait]
impl RateLimiter for MemoryRateLimiter {
    async fn check(&self, buckets: &[Bucket<'_>]) -> Result<Vec<Verdict>, StoreError> {
        let now = micros(self.origin.elapsed());
        let mut tats = self.tats.lock().unwrap_or_else(|e| e.into_inner());
        if tats.len() > PRUNE_ABOVE {
            tats.retain(|_, tat| *tat > now);
        }
        Ok(buckets
            .iter()
            .map(|bucket| {
                let interval = micros(bucket.rate.interval()).max(1);
                let tolerance = interval.saturating_mul(u64::from(bucket.rate.burst.max(1)));
                let key = format!("{}:{}", bucket.scope, bucket.class);
                let tat = tats.get(&key).copied().unwrap_or(now).max(now);
                let new_tat = tat + interval;
                if new_tat - now > tolerance {
                    return Verdict {
                        allowed: false,
                        remaining: 0,
                        retry_after: Duration::from_micros(new_tat - now - tolerance),
                        reset_after: Duration::from_micros(tat - now),
                    };
                }
                tats.insert(key, new_tat);
                Verdict {
                    allowed: true,
                    remaining: u32::try_from((tolerance - (new_tat - now)) / interval)
                        .unwrap_or(u32::MAX),
                    retry_after: Duration::ZERO,
                    reset_after: Duration::from_micros(new_tat - now),
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Rate;

    #[tokio::test]
    async fn a_burst_is_allowed_then_one_request_per_interval() {
        let limiter = MemoryRateLimiter::new();
        let bucket = Bucket {
            scope: "c:alice",
            class: "read",
            rate: Rate {
                requests: 1,
                period_seconds: 60,
                burst: 3,
            },
        };
        for remaining in [2, 1, 0] {
            let v = limiter.check(&[bucket]).await.unwrap()[0];
            assert!(v.allowed);
            assert_eq!(v.remaining, remaining);
        }
        let refused = limiter.check(&[bucket]).await.unwrap()[0];
        assert!(!refused.allowed);
        assert!(refused.retry_after > Duration::from_secs(58), "{refused:?}");
        assert!(refused.retry_after <= Duration::from_secs(60));
        let other = Bucket {
            scope: "c:bob",
            ..bucket
        };
        assert!(limiter.check(&[other]).await.unwrap()[0].allowed);
    }
}
