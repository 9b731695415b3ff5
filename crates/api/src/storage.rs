//! Picks and builds the adapters that `storage` names.

use std::sync::Arc;

use booking_domain::{BookingRepo, BookingService, HoldStore};
use booking_memory::{MemoryBookingRepo, MemoryHoldStore};

use crate::settings::{Settings, Storage};

/// Builds the service on the configured stores. Postgres migrations run
/// here, before the first request.
pub async fn connect(settings: &Settings) -> anyhow::Result<BookingService> {
    let (holds, repo): (Arc<dyn HoldStore>, Arc<dyn BookingRepo>) = match settings.storage {
        Storage::Memory => (
            Arc::new(MemoryHoldStore::new()),
            Arc::new(MemoryBookingRepo::new()),
        ),
        Storage::PostgresRedis => anyhow::bail!("postgres_redis storage is not wired yet"),
    };
    Ok(BookingService::new(holds, repo, settings.limits()))
}
