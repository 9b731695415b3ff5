//! (e) Creating events, each beside its reference: the same rows written
//! by one bulk `COPY` (what Postgres allows for loading them at all). A
//! creation inserts the event, then one `seats` row per seat
//! (`event_id, seat_no, seat_code`; the id from its sequence) in one
//! statement (`crates/postgres/src/sql.rs`, `CREATE_EVENT`); the COPY
//! writes the event row and the same seats rows through the same indexes,
//! foreign key and checks, in one transaction.

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::SinkExt;

use crate::cpu::{self, Usage};
use crate::events::create_event;
use crate::scenarios::Target;

/// Work Postgres does after a commit (WAL writer, hint bits) shows up a
/// moment later: both ways are read this long after they finish.
const SETTLE: Duration = Duration::from_millis(300);

#[derive(Debug, Clone, Copy)]
pub struct Creation {
    pub seats: u32,
    /// Through the api: its answer's latency; by COPY: BEGIN to COMMIT.
    pub wall: Duration,
    pub cpu: Usage,
}

/// `times` creations of `seats`-seat events through the api, each
/// followed by the same rows by COPY: (api, copy) pairs.
pub async fn measure(
    target: &Target,
    database_url: &str,
    seats: u32,
    times: usize,
) -> anyhow::Result<Vec<(Creation, Creation)>> {
    let (client, connection) = tokio_postgres::connect(database_url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    let mut pairs = Vec::with_capacity(times);
    for _ in 0..times {
        let before = cpu::Snapshot::take(&target.watched);
        let (_, wall) = create_event(target.addr, seats).await?;
        tokio::time::sleep(SETTLE).await;
        let api = Creation {
            seats,
            wall,
            cpu: before.used_until(&cpu::Snapshot::take(&target.watched)),
        };
        pairs.push((api, copy(target, &client, seats).await?));
    }
    Ok(pairs)
}

/// An event row and its seats by COPY, in one transaction.
async fn copy(
    target: &Target,
    client: &tokio_postgres::Client,
    seats: u32,
) -> anyhow::Result<Creation> {
    let total = i32::try_from(seats)?;
    // The id and the rows' text are made before the clock starts: the
    // reference is Postgres's work, not the generator's.
    let event: i64 = client
        .query_one(
            "SELECT nextval(pg_get_serial_sequence('events', 'id'))",
            &[],
        )
        .await?
        .get(0);
    let data = rows(event, seats);
    let before = cpu::Snapshot::take(&target.watched);
    let started = Instant::now();
    client.batch_execute("BEGIN").await?;
    client
        .execute(
            "INSERT INTO events (id, name, event_date, location, total_seats) \
             VALUES ($1, 'Benchmark', '2030-01-01T20:00:00Z', 'Arena', $2)",
            &[&event, &total],
        )
        .await?;
    let sink = client
        .copy_in("COPY seats (event_id, seat_no, seat_code) FROM STDIN")
        .await?;
    futures_util::pin_mut!(sink);
    sink.send(data).await?;
    sink.finish().await?;
    client.batch_execute("COMMIT").await?;
    let wall = started.elapsed();
    tokio::time::sleep(SETTLE).await;
    Ok(Creation {
        seats,
        wall,
        cpu: before.used_until(&cpu::Snapshot::take(&target.watched)),
    })
}

/// The seats rows in COPY's text format, as a creation names them.
fn rows(event: i64, seats: u32) -> Bytes {
    let mut text = String::with_capacity(seats as usize * 24);
    for n in 1..=seats {
        text.push_str(&format!("{event}\t{n}\tS{n}\n"));
    }
    Bytes::from(text)
}
