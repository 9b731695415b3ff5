//! Rate limits per caller and per client address, by class of operation
//! (`routes::Class`), GCRA everywhere: in Redis on the real stores, so
//! every instance enforces one shared limit, in process on the memory
//! store. Over a limit: 429 `RATE_LIMITED` with `Retry-After`; every
//! limited response carries the IETF draft's `RateLimit-Policy` and
//! `RateLimit` fields.

mod client_ip;
mod memory;
mod middleware;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use booking_domain::StoreError;
use booking_redis::rate_limit as redis_rl;
use booking_redis::RedisRateLimiter;

pub use client_ip::{IpRange, TrustedProxies};
pub use memory::MemoryRateLimiter;
pub use middleware::around;

use crate::outage::SharedOutage;
use crate::routes::Class;
use crate::settings::{ClassLimits, Rate, RateLimitSettings};

pub const REFUSED: &str = "booking_rate_limited_total";

/// What a bucket limits: the `by` label of [`REFUSED`] and the second
/// half of a `RateLimit` item's name.
pub const BY_CALLER: &str = "caller";
pub const BY_IP: &str = "ip";

/// One request to count: who (`c:<caller>` or `ip:<address>`), which
/// class, and that class's limit for them.
#[derive(Debug, Clone, Copy)]
pub struct Bucket<'a> {
    pub scope: &'a str,
    pub class: &'static str,
    pub rate: Rate,
}

/// What one bucket said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub allowed: bool,
    /// Requests that could still arrive at once.
    pub remaining: u32,
    /// When refused: how long until one request is allowed.
    pub retry_after: Duration,
    /// How long until the whole burst is available again.
    pub reset_after: Duration,
}

/// Counts requests against limits. One call per request, all its buckets
/// at once (one round trip on Redis).
#[async_trait]
pub trait RateLimiter: Send + Sync {
    async fn check(&self, buckets: &[Bucket<'_>]) -> Result<Vec<Verdict>, StoreError>;
}

#[async_trait]
impl RateLimiter for RedisRateLimiter {
    async fn check(&self, buckets: &[Bucket<'_>]) -> Result<Vec<Verdict>, StoreError> {
        let buckets: Vec<redis_rl::Bucket<'_>> = buckets
            .iter()
            .map(|b| redis_rl::Bucket {
                scope: b.scope,
                class: b.class,
                limit: redis_rl::GcraLimit {
                    interval: b.rate.interval(),
                    burst: b.rate.burst,
                },
            })
            .collect();
        let verdicts = RedisRateLimiter::check(self, &buckets).await?;
        Ok(verdicts
            .into_iter()
            .map(|v| Verdict {
                allowed: v.allowed,
                remaining: v.remaining,
                retry_after: v.retry_after,
                reset_after: v.reset_after,
            })
            .collect())
    }
}

/// The limiter and the configured limits, shared by the workers.
pub struct RateLimits {
    limiter: Arc<dyn RateLimiter>,
    settings: RateLimitSettings,
    proxies: TrustedProxies,
    /// The limiter's failures, for a warning that does not repeat per
    /// request.
    outage: SharedOutage,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimits")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl RateLimits {
    pub fn new(limiter: Arc<dyn RateLimiter>, settings: &RateLimitSettings) -> Self {
        Self {
            limiter,
            proxies: TrustedProxies::parse(&settings.trusted_proxies),
            settings: settings.clone(),
            outage: SharedOutage::default(),
        }
    }

    /// The limits of `class`, or `None` for the exempt endpoints.
    fn limits(&self, class: Class) -> Option<&ClassLimits> {
        match class {
            Class::Reserve => Some(&self.settings.reserve),
            Class::Write => Some(&self.settings.write),
            Class::Read => Some(&self.settings.read),
            Class::Exempt => None,
        }
    }
}
