//! A cancel queues its unbook in the repo in the same step; the seats are
//! freed in the mirror at once or, if that fails, by `maintain()`, and
//! never twice.

use std::time::Duration;

use booking_domain::{BookingStatus, LedgerConfig, MaintenanceReport, SeatState};

use crate::faulty::{Call, Fault};
use crate::{codes, ledger, limits, names, owner, App};

fn unbooked(unbooked: usize, failures: usize) -> MaintenanceReport {
    MaintenanceReport {
        settled: 0,
        unbooked,
        failures,
    }
}

#[tokio::test]
async fn a_cancel_whose_unbook_failed_still_succeeds_and_maintain_frees_its_seats() {
    let app = App::new();
    let event = app.event(&[3]).await;
    let booking = app.book(&event, "alice", &["A1", "A2"]).await;
    app.holds.fail(Call::Unbook, Fault::Unavailable);

    app.service.cancel(&owner("alice"), booking).await.unwrap();

    let view = app.service.booking(&owner("alice"), booking).await.unwrap();
    assert_eq!(view.booking.status, BookingStatus::Cancelled);
    // The mirror still has them booked, until maintenance.
    assert_eq!(app.refused(&event, "bob", &["A1"]).await, codes(&["A1"]));
    assert_eq!(app.service.maintain().await, unbooked(1, 0));
    assert_eq!(app.seats(&event, SeatState::Available).await.len(), 3);
    app.book(&event, "bob", &["A1", "A2"]).await;
}

#[tokio::test]
async fn a_queued_unbook_is_retried_only_once_it_is_due() {
    let app = App::with(
        limits(),
        LedgerConfig {
            unbook_retry_after: Duration::from_secs(60),
            ..ledger()
        },
    );
    let event = app.event(&[3]).await;
    let booking = app.book(&event, "alice", &["A1"]).await;
    app.holds.fail(Call::Unbook, Fault::Unavailable);
    app.service.cancel(&owner("alice"), booking).await.unwrap();

    let report = app.service.maintain().await;

    assert_eq!(report, unbooked(0, 0));
    assert_eq!(app.holds.calls(Call::Unbook), 1);
    assert_eq!(app.seats(&event, SeatState::Booked).await, names(&["A1"]));
}

#[tokio::test]
async fn a_done_unbook_is_not_repeated() {
    let app = App::new();
    let event = app.event(&[3]).await;
    let booking = app.book(&event, "alice", &["A1"]).await;
    app.service.cancel(&owner("alice"), booking).await.unwrap();

    let report = app.service.maintain().await;

    assert_eq!(report, unbooked(0, 0));
    assert_eq!(app.holds.calls(Call::Unbook), 1);
}

#[tokio::test]
async fn a_queued_unbook_never_frees_a_seat_booked_again_since() {
    let app = App::new();
    let event = app.event(&[3]).await;
    let booking = app.book(&event, "alice", &["A1"]).await;
    // The seats are freed, but the repo does not hear that it was done.
    app.repo.fail(Call::Unbooked, Fault::Unavailable);
    app.service.cancel(&owner("alice"), booking).await.unwrap();
    app.book(&event, "bob", &["A1"]).await;

    // The unbook runs again, and frees only what alice's booking still has.
    assert_eq!(app.service.maintain().await, unbooked(1, 0));

    assert_eq!(app.seats(&event, SeatState::Booked).await, names(&["A1"]));
    assert_eq!(app.refused(&event, "carol", &["A1"]).await, codes(&["A1"]));
    assert_eq!(app.service.maintain().await, unbooked(0, 0));
}

#[tokio::test]
async fn a_failed_unbook_retry_is_reported_and_tried_again() {
    let app = App::new();
    let event = app.event(&[3]).await;
    let booking = app.book(&event, "alice", &["A1"]).await;
    app.holds.fail_times(Call::Unbook, Fault::Unavailable, 2);
    app.service.cancel(&owner("alice"), booking).await.unwrap();

    let first = app.service.maintain().await;
    let second = app.service.maintain().await;

    assert_eq!(first, unbooked(0, 1));
    assert_eq!(second, unbooked(1, 0));
    app.hold(&event, "bob", &["A1"]).await;
}

#[tokio::test]
async fn maintain_reports_a_queue_it_cannot_read_and_reads_it_next_time() {
    let app = App::new();
    let event = app.event(&[3]).await;
    let booking = app.book(&event, "alice", &["A1"]).await;
    app.holds.fail(Call::Unbook, Fault::Unavailable);
    app.service.cancel(&owner("alice"), booking).await.unwrap();
    app.repo.fail(Call::UnbooksDue, Fault::Unavailable);

    let first = app.service.maintain().await;
    let second = app.service.maintain().await;

    assert_eq!(first, unbooked(0, 1));
    assert_eq!(second, unbooked(1, 0));
    app.hold(&event, "bob", &["A1"]).await;
}

#[tokio::test]
async fn maintain_with_nothing_to_do_reports_nothing() {
    let app = App::new();
    let event = app.event(&[3]).await;
    app.book(&event, "alice", &["A1"]).await;
    app.hold(&event, "bob", &["A2"]).await;

    assert_eq!(app.service.maintain().await, MaintenanceReport::default());
}
