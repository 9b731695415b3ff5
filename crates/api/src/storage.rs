//! Picks and builds the adapters that `storage` names.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use booking_domain::{BookingRepo, BookingService, HoldStore, StoreError};
use booking_memory::{MemoryBookingRepo, MemoryHoldStore};
use booking_postgres::PostgresRepo;
use booking_redis::{RedisHoldStore, RedisIdempotencyStore, RedisRateLimiter};

use crate::idempotency::{IdempotencyStore, MemoryIdempotencyStore};
use crate::metrics::stores::{TimedBookingRepo, TimedHoldStore};
use crate::metrics::{PoolUsage, Scrape};
use crate::pool_usage;
use crate::rate_limit::{MemoryRateLimiter, RateLimiter};
use crate::settings::{Settings, Storage};

/// Everything that keeps state, built for the configured storage.
pub struct Stores {
    pub service: BookingService,
    /// Shared by every instance on the real stores.
    pub rate_limiter: Arc<dyn RateLimiter>,
    pub idempotency: Arc<dyn IdempotencyStore>,
    /// What `/metrics` renders, with these stores' pools.
    pub scrape: Scrape,
}

/// How long start-up waits for Postgres to come up before giving up: long
/// enough for a database started beside the api (compose, CI) to be ready.
const STARTUP_PATIENCE: Duration = Duration::from_secs(30);

/// Builds the service and the api's own stores on the configured storage.
/// Postgres migrations run here, before the first request. Every port is
/// wrapped so its calls are timed for `/metrics`.
pub async fn connect(settings: &Settings) -> anyhow::Result<Stores> {
    let mut scrape = Scrape::new();
    let stores = match settings.storage {
        Storage::Memory => {
            let holds: Arc<dyn HoldStore> = Arc::new(MemoryHoldStore::new());
            let repo: Arc<dyn BookingRepo> = Arc::new(MemoryBookingRepo::new());
            let service = BookingService::new(
                Arc::new(TimedHoldStore::new("memory", holds)),
                Arc::new(TimedBookingRepo::new("memory", repo)),
                settings.limits(),
            );
            (
                service,
                Arc::new(MemoryRateLimiter::new()) as Arc<dyn RateLimiter>,
                Arc::new(MemoryIdempotencyStore::new()) as Arc<dyn IdempotencyStore>,
            )
        }
        Storage::PostgresRedis => {
            let repo = Arc::new(
                PostgresRepo::connect(settings.postgres.url.expose(), settings.postgres.pool_size)
                    .context("postgres.url is not a valid Postgres URL")?,
            );
            migrate(&repo).await?;
            let (url, prefix, size) = (
                settings.redis.url.expose(),
                settings.redis.key_prefix.as_str(),
                settings.redis.pool_size,
            );
            let invalid = "redis.url is not a valid Redis URL";
            // Redis is not needed to start: while it is down, requests that
            // need it get 503, and it is used as soon as it is back.
            let holds = Arc::new(RedisHoldStore::connect(url, prefix, size).context(invalid)?);
            let limiter = Arc::new(RedisRateLimiter::connect(url, prefix, size).context(invalid)?);
            let idempotency =
                Arc::new(RedisIdempotencyStore::connect(url, prefix, size).context(invalid)?);
            let pg = repo.clone();
            scrape.pool("postgres", move || PoolUsage::from(pg.pool_status()));
            let h = holds.clone();
            scrape.pool("redis_holds", move || pool_usage!(h.pool_status()));
            if settings.rate_limits.enabled {
                let l = limiter.clone();
                scrape.pool("redis_rate_limits", move || pool_usage!(l.pool_status()));
            }
            let i = idempotency.clone();
            scrape.pool("redis_idempotency", move || pool_usage!(i.pool_status()));
            let service = BookingService::new(
                Arc::new(TimedHoldStore::new("redis", holds)),
                Arc::new(TimedBookingRepo::new("postgres", repo)),
                settings.limits(),
            );
            (
                service,
                limiter as Arc<dyn RateLimiter>,
                idempotency as Arc<dyn IdempotencyStore>,
            )
        }
    };
    let (service, rate_limiter, idempotency) = stores;
    Ok(Stores {
        service,
        rate_limiter,
        idempotency,
        scrape,
    })
}

async fn migrate(repo: &PostgresRepo) -> anyhow::Result<()> {
    let started = tokio::time::Instant::now();
    loop {
        match repo.migrate().await {
            Ok(()) => return Ok(()),
            Err(StoreError::Unavailable { .. }) if started.elapsed() < STARTUP_PATIENCE => {
                tracing::warn!("Postgres is not reachable yet; retrying the migrations");
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            Err(error) => {
                return Err(anyhow::Error::new(error).context(
                    "cannot apply the database migrations (is Postgres up at postgres.url?)",
                ))
            }
        }
    }
}
