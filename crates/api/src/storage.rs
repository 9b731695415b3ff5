//! Picks and builds the adapters that `storage` names.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use booking_domain::{BookingRepo, BookingService, HoldStore, StoreError};
use booking_memory::{MemoryBookingRepo, MemoryHoldStore};
use booking_postgres::PostgresRepo;
use booking_redis::{RedisHoldStore, RedisOptions};

use crate::settings::{RedisMode, Settings, Storage};

/// How long start-up waits for Postgres to come up before giving up: long
/// enough for a database started beside the api (compose, CI) to be ready.
const STARTUP_PATIENCE: Duration = Duration::from_secs(30);

/// Builds the service on the configured stores. Postgres migrations run
/// here, before the first request.
pub async fn connect(settings: &Settings) -> anyhow::Result<BookingService> {
    let (holds, repo): (Arc<dyn HoldStore>, Arc<dyn BookingRepo>) = match settings.storage {
        Storage::Memory => (
            Arc::new(MemoryHoldStore::with_idle_ttl(Duration::from_secs(
                settings.redis.mirror_idle_seconds,
            ))),
            Arc::new(MemoryBookingRepo::new()),
        ),
        Storage::PostgresRedis => {
            let repo = PostgresRepo::connect(settings.postgres.url.expose(), settings.postgres())
                .context("postgres.url (or read_url) is not a valid Postgres URL")?;
            migrate(&repo).await?;
            let options = RedisOptions {
                idle_ttl: Duration::from_secs(settings.redis.mirror_idle_seconds),
            };
            let redis = &settings.redis;
            let holds = match redis.mode {
                RedisMode::Single => RedisHoldStore::connect_with(
                    redis.url.expose(),
                    &redis.key_prefix,
                    redis.pool_size,
                    options,
                )
                .context("redis.url is not a valid Redis URL")?,
                RedisMode::Cluster => {
                    let seeds: Vec<String> = redis
                        .urls
                        .iter()
                        .map(|url| url.expose().to_owned())
                        .collect();
                    RedisHoldStore::connect_cluster(&seeds, &redis.key_prefix, options)
                        .context("redis.urls are not valid Redis URLs of one cluster")?
                }
            };
            // Redis is not needed to start: while it is down, requests that
            // need it get 503, and it is used as soon as it is back.
            (Arc::new(holds), Arc::new(repo))
        }
    };
    Ok(BookingService::new(
        holds,
        repo,
        settings.limits(),
        settings.ledger(),
    ))
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
