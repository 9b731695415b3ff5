//! Picks and builds the adapters that `storage` names.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use booking_domain::{BookingRepo, BookingService, HoldStore, StoreError};
use booking_memory::{MemoryBookingRepo, MemoryHoldStore};
use booking_postgres::PostgresRepo;
use booking_redis::{RedisHoldStore, RedisIdempotencyStore, RedisOptions, RedisRateLimiter};

use crate::idempotency::{IdempotencyStore, MemoryIdempotencyStore};
use crate::metrics::stores::{TimedBookingRepo, TimedHoldStore};
use crate::metrics::{PoolUsage, Scrape};
use crate::pool_usage;
use crate::rate_limit::{MemoryRateLimiter, RateLimiter};
use crate::settings::{RedisMode, RedisSettings, Settings, Storage};

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

/// The service's two ports and the api's two stores, as built.
type Ports = (
    Arc<dyn HoldStore>,
    Arc<dyn BookingRepo>,
    Arc<dyn RateLimiter>,
    Arc<dyn IdempotencyStore>,
);

/// The three Redis-backed stores, on one node or a cluster. Each builds
/// its own connections (a pool, or the cluster client's per-node links):
/// the hold store's calls never wait behind rate-limit checks.
struct RedisStores {
    holds: RedisHoldStore,
    limiter: RedisRateLimiter,
    idempotency: RedisIdempotencyStore,
}

fn redis_stores(redis: &RedisSettings) -> anyhow::Result<RedisStores> {
    let options = RedisOptions {
        idle_ttl: Duration::from_secs(redis.mirror_idle_seconds),
    };
    let prefix = redis.key_prefix.as_str();
    // Redis is not needed to start: while it is down, requests that need
    // it get 503, and it is used as soon as it is back.
    Ok(match redis.mode {
        RedisMode::Single => {
            let (url, size) = (redis.url.expose(), redis.pool_size);
            let invalid = "redis.url is not a valid Redis URL";
            RedisStores {
                holds: RedisHoldStore::connect_with(url, prefix, size, options).context(invalid)?,
                limiter: RedisRateLimiter::connect(url, prefix, size).context(invalid)?,
                idempotency: RedisIdempotencyStore::connect(url, prefix, size).context(invalid)?,
            }
        }
        RedisMode::Cluster => {
            let seeds: Vec<String> = redis
                .urls
                .iter()
                .map(|url| url.expose().to_owned())
                .collect();
            let invalid = "redis.urls are not valid Redis URLs of one cluster";
            RedisStores {
                holds: RedisHoldStore::connect_cluster(&seeds, prefix, options).context(invalid)?,
                limiter: RedisRateLimiter::connect_cluster(&seeds, prefix).context(invalid)?,
                idempotency: RedisIdempotencyStore::connect_cluster(&seeds, prefix)
                    .context(invalid)?,
            }
        }
    })
}

/// Redis is not needed to start, but a reachable one that is a node of a
/// cluster, named as a single server, would serve that node's slots and
/// fail the rest: start-up stops with what to set instead.
async fn refuse_a_cluster_node(holds: &RedisHoldStore) -> anyhow::Result<()> {
    match holds.info().await {
        Err(StoreError::Internal { source, .. }) => Err(anyhow::anyhow!(
            "redis is not what redis.mode says: {source}"
        )),
        _ => Ok(()),
    }
}

/// Builds the service and the api's own stores on the configured storage.
/// Postgres migrations run here, before the first request. Every port is
/// wrapped so its calls are timed for `/metrics`.
pub async fn connect(settings: &Settings) -> anyhow::Result<Stores> {
    let mut scrape = Scrape::new();
    let (holds, repo, rate_limiter, idempotency): Ports = match settings.storage {
        Storage::Memory => (
            Arc::new(TimedHoldStore::new(
                "memory",
                Arc::new(MemoryHoldStore::with_idle_ttl(Duration::from_secs(
                    settings.redis.mirror_idle_seconds,
                ))),
            )),
            Arc::new(TimedBookingRepo::new(
                "memory",
                Arc::new(MemoryBookingRepo::new()),
            )),
            Arc::new(MemoryRateLimiter::new()),
            Arc::new(MemoryIdempotencyStore::new()),
        ),
        Storage::PostgresRedis => {
            let repo = Arc::new(
                PostgresRepo::connect(settings.postgres.url.expose(), settings.postgres())
                    .context("postgres.url (or read_url) is not a valid Postgres URL")?,
            );
            migrate(&repo).await?;
            let redis = redis_stores(&settings.redis)?;
            if settings.redis.mode == RedisMode::Single {
                refuse_a_cluster_node(&redis.holds).await?;
            }
            let (holds, limiter, idem) = (
                Arc::new(redis.holds),
                Arc::new(redis.limiter),
                Arc::new(redis.idempotency),
            );
            let pg = repo.clone();
            scrape.pool("postgres", move || PoolUsage::from(pg.pool_status()));
            // A cluster keeps one link per node, no pool to report.
            if holds.pool_status().is_some() {
                let h = holds.clone();
                scrape.pool("redis_holds", move || {
                    h.pool_status().map(|s| pool_usage!(s)).unwrap_or_default()
                });
                if settings.rate_limits.enabled {
                    let l = limiter.clone();
                    scrape.pool("redis_rate_limits", move || {
                        l.pool_status().map(|s| pool_usage!(s)).unwrap_or_default()
                    });
                }
                let i = idem.clone();
                scrape.pool("redis_idempotency", move || {
                    i.pool_status().map(|s| pool_usage!(s)).unwrap_or_default()
                });
            }
            (
                Arc::new(TimedHoldStore::new("redis", holds)),
                Arc::new(TimedBookingRepo::new("postgres", repo)),
                limiter,
                idem,
            )
        }
    };
    Ok(Stores {
        service: BookingService::new(holds, repo, settings.limits(), settings.ledger()),
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
