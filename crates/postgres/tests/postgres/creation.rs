//! How fast an event of 100,000 seats is created, against the fastest way
//! to put the same rows into the same tables: a bulk COPY.
//!
//! Prints its figures (`cargo test -p booking-postgres --test postgres
//! creation -- --nocapture`); asserts only generous bounds, so a busy
//! machine does not fail it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use booking_domain::contract::new_event_with;
use booking_domain::{BookingRepo, ConfirmOutcome, Layout, Row, RowLabel};
use booking_postgres::testing::TestDatabase;
use booking_postgres::PostgresOptions;
use bytes::Bytes;
use futures_util::SinkExt;
use tokio_postgres::Client;

use crate::common::created;

/// Runs of each way; the median is reported.
const RUNS: usize = 3;

/// 500 rows of 200 seats, labelled AA, AB, ... (two letters each, so no
/// label is another's prefix and every name is unique).
fn rows_of_200() -> Arc<Layout> {
    let rows = (0u32..500)
        .map(|i| {
            let letter = |k: u32| char::from(b'A' + k as u8);
            let label = format!("{}{}", letter(i / 26), letter(i % 26));
            Row {
                label: RowLabel::parse(&label).unwrap(),
                seats: 200,
            }
        })
        .collect();
    Arc::new(Layout::new(rows).unwrap())
}

/// CPU time a backend has used so far, from the kernel's accounting of
/// its process (the server runs on this machine in tests); `None` when it
/// cannot be read.
fn backend_cpu(pid: i32) -> Option<Duration> {
    let schedstat = std::fs::read_to_string(format!("/proc/{pid}/schedstat")).ok()?;
    let nanos: u64 = schedstat.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

async fn pid_of(client: &Client) -> i32 {
    client
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0)
}

/// The same event and rows as the repo writes, the bulk way: the event
/// row, then its rows and seats by COPY, in one transaction.
async fn copy_event(client: &mut Client, layout: &Layout) {
    let tx = client.transaction().await.unwrap();
    let id: i64 = tx
        .query_one(
            "INSERT INTO events (name, event_date, location, total_seats)
             VALUES ('Copied', now(), 'Main hall', $1) RETURNING id",
            &[&(layout.total() as i32)],
        )
        .await
        .unwrap()
        .get(0);
    let mut seats = String::with_capacity(layout.total() as usize * 24);
    let mut rows = String::new();
    let mut n = 0;
    for (position, row) in layout.rows().iter().enumerate() {
        rows.push_str(&format!(
            "{id}\t{}\t{}\t{}\n",
            position + 1,
            row.label,
            row.seats
        ));
        for k in 1..=row.seats {
            n += 1;
            seats.push_str(&format!("{id}\t{n}\t{}{k}\n", row.label));
        }
    }
    if !layout.is_single_row() {
        let sink = tx
            .copy_in("COPY event_rows (event_id, position, label, seats) FROM STDIN")
            .await
            .unwrap();
        futures_util::pin_mut!(sink);
        sink.send(Bytes::from(rows)).await.unwrap();
        sink.finish().await.unwrap();
    }
    let sink = tx
        .copy_in("COPY seats (event_id, seat_no, seat_code) FROM STDIN")
        .await
        .unwrap();
    futures_util::pin_mut!(sink);
    sink.send(Bytes::from(seats)).await.unwrap();
    sink.finish().await.unwrap();
    tx.commit().await.unwrap();
}

/// Wall and backend CPU time of one creation.
#[derive(Debug, Clone, Copy)]
struct Cost {
    wall: Duration,
    cpu: Option<Duration>,
}

fn median(mut costs: Vec<Cost>) -> Cost {
    costs.sort_by_key(|c| c.wall);
    let wall = costs[costs.len() / 2].wall;
    let mut cpus: Vec<Duration> = costs.iter().filter_map(|c| c.cpu).collect();
    cpus.sort();
    let cpu = (cpus.len() == costs.len()).then(|| cpus[cpus.len() / 2]);
    Cost { wall, cpu }
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_of_100k_seats_is_created_in_one_statement_about_as_fast_as_a_copy() {
    let db = TestDatabase::create().await;
    // One connection, so its backend is the one measured; a statement
    // timeout that a busy machine cannot hit.
    let repo = db.repo_with(PostgresOptions {
        pool_size: 1,
        statement_timeout: Duration::from_secs(60),
        ..TestDatabase::options()
    });
    // Warm the connection and its statement cache, as a running server has.
    created(
        &repo,
        &new_event_with(Arc::new(Layout::single_row(1).unwrap())),
    )
    .await;
    let watcher = db.raw_client().await;
    let repo_pid: i32 = watcher
        .query_one(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = 'booking-api'",
            &[&db.name()],
        )
        .await
        .unwrap()
        .get(0);
    let mut copier = db.raw_client().await;
    let copier_pid = pid_of(&copier).await;

    let layouts = [
        (
            "one row of 100,000",
            Arc::new(Layout::single_row(100_000).unwrap()),
        ),
        ("500 rows of 200", rows_of_200()),
    ];
    for (name, layout) in layouts {
        let (mut ours, mut copies) = (Vec::new(), Vec::new());
        for _ in 0..RUNS {
            let cpu = backend_cpu(repo_pid);
            let started = Instant::now();
            let event = created(&repo, &new_event_with(layout.clone())).await;
            ours.push(Cost {
                wall: started.elapsed(),
                cpu: cpu.zip(backend_cpu(repo_pid)).map(|(a, b)| b - a),
            });
            assert_eq!(event.total_seats(), 100_000);

            let cpu = backend_cpu(copier_pid);
            let started = Instant::now();
            copy_event(&mut copier, &layout).await;
            copies.push(Cost {
                wall: started.elapsed(),
                cpu: cpu.zip(backend_cpu(copier_pid)).map(|(a, b)| b - a),
            });
        }
        let (ours, copy) = (median(ours), median(copies));
        println!(
            "{name}: create_event {} wall, {} backend CPU; COPY {} wall, {} backend CPU; \
             ratio {:.2}x wall, {} CPU (median of {RUNS})",
            ms(ours.wall),
            ours.cpu.map_or("n/a".into(), ms),
            ms(copy.wall),
            copy.cpu.map_or("n/a".into(), ms),
            ratio(ours.wall, copy.wall),
            ours.cpu
                .zip(copy.cpu)
                .map_or("n/a".into(), |(a, b)| format!("{:.2}x", ratio(a, b))),
        );
        // Generous: the figures above are the ones to watch.
        assert!(ours.wall < Duration::from_secs(10), "{ours:?}");
        assert!(ratio(ours.wall, copy.wall) < 4.0, "{ours:?} vs {copy:?}");
    }

    // The seats are there and bookable, to the last one.
    let last = created(&repo, &new_event_with(rows_of_200())).await;
    let h = booking_domain::contract::hold(last.id, "alice", &[100_000]);
    assert!(matches!(
        repo.confirm(&h).await.unwrap(),
        ConfirmOutcome::Created(_)
    ));
    let code: String = watcher
        .query_one(
            "SELECT seat_code FROM seats WHERE event_id = $1 AND seat_no = 100000",
            &[&last.id.get()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(code, last.layout.code(h.seats[0]).unwrap().as_str());
}
