//! Schema migrations, embedded from `migrations/` at build time so the
//! binary needs no files beside it.

use booking_domain::StoreError;
use deadpool_postgres::{Object, Pool};

use crate::errors;

mod embedded {
    refinery::embed_migrations!("../../migrations");
}

/// The advisory lock that serialises migrations across instances: any
/// constant works as long as nothing else in the database uses it.
/// ("booking" in ASCII.)
const LOCK_KEY: i64 = 0x0062_6f6f_6b69_6e67;

pub(crate) async fn run(pool: &Pool) -> Result<(), StoreError> {
    let mut client = pool.get().await.map_err(errors::pool)?;
    // Session-level, so it spans refinery's one transaction per migration.
    client
        .batch_execute(&format!("SELECT pg_advisory_lock({LOCK_KEY})"))
        .await
        .map_err(errors::query)?;
    match embedded::migrations::runner()
        .run_async(&mut **client)
        .await
    {
        Ok(report) => {
            for migration in report.applied_migrations() {
                tracing::info!(migration = %migration, "applied a database migration");
            }
            client
                .batch_execute(&format!("SELECT pg_advisory_unlock({LOCK_KEY})"))
                .await
                .map_err(errors::query)?;
            Ok(())
        }
        Err(e) => {
            // Closing the connection releases the lock and anything a
            // failed migration left open, whatever state it is in.
            drop(Object::take(client));
            Err(errors::migration(e))
        }
    }
}
