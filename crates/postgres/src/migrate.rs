//! Schema migrations, embedded from `migrations/` at build time so the
//! binary needs no files beside it.

use booking_domain::StoreError;
use deadpool_postgres::{Object, Pool};

use crate::errors;
use crate::options::millis;
use crate::PostgresOptions;

mod embedded {
    refinery::embed_migrations!("../../migrations");
}

/// The advisory lock that serialises migrations across instances: any
/// constant works as long as nothing else in the database uses it.
/// ("booking" in ASCII.)
const LOCK_KEY: i64 = 0x0062_6f6f_6b69_6e67;

pub(crate) async fn run(pool: &Pool, options: &PostgresOptions) -> Result<(), StoreError> {
    let mut client = pool.get().await.map_err(errors::pool)?;
    // The session's limits are for the service's short statements. A
    // migration may rewrite a large table, and an instance may wait for
    // another's migrations (the advisory lock) for as long as they take;
    // each lock a migration takes still fails after lock_timeout rather
    // than queue every request of a running service behind it. The
    // connection is discarded afterwards, never returned with these.
    let prepare = format!(
        "SET statement_timeout = 0; SET idle_in_transaction_session_timeout = 0; \
         SET lock_timeout = 0; SELECT pg_advisory_lock({LOCK_KEY}); \
         SET lock_timeout = {}",
        millis(options.lock_timeout)
    );
    let outcome = match client.batch_execute(&prepare).await {
        Ok(()) => embedded::migrations::runner()
            .run_async(&mut **client)
            .await
            .map_err(errors::migration),
        Err(e) => Err(errors::before_send(e)),
    };
    // Closing the connection releases the lock and anything a failed
    // migration left open, whatever state it is in.
    drop(Object::take(client));
    let report = outcome?;
    for migration in report.applied_migrations() {
        tracing::info!(migration = %migration, "applied a database migration");
    }
    Ok(())
}
