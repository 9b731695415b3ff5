//! Confirms that end in doubt: the seats stay taken until the repo
//! decides, by the owner's retry or by `maintain()` settling them once the
//! grace has passed, with a fence a late commit cannot pass.

use std::time::Duration;

use booking_domain::{
    BookingRepo, ConfirmError, ConfirmOutcome, EventId, ExtendError, Hold, HoldId, LedgerConfig,
    MaintenanceReport, SeatNo, SeatState, StoreError,
};
use chrono::Utc;

use crate::faulty::{Call, Fault};
use crate::{
    codes, ledger, limits, names, owner, short_holds, user, App, PAST_GRACE, PAST_SHORT_TTL,
};

/// Alice's confirm of `hold`, left in doubt: the repo may or may not have
/// written it.
async fn confirm_in_doubt(app: &App, event: EventId, hold: HoldId) {
    app.repo.fail(Call::Confirm, Fault::Indeterminate);
    let in_doubt = app.service.confirm(event, &user("alice"), hold).await;
    assert!(in_doubt.is_err(), "{in_doubt:?}");
}

/// Alice's confirm of `hold` books it, but the mirror's finish fails: its
/// seats stay pending until a retry or settling.
async fn booked_without_its_mirror(app: &App, event: EventId, hold: HoldId) {
    app.holds.fail(Call::FinishConfirm, Fault::Unavailable);
    let booked = app.service.confirm(event, &user("alice"), hold).await;
    assert_eq!(booked.unwrap(), hold);
}

fn settled(settled: usize, failures: usize) -> MaintenanceReport {
    MaintenanceReport {
        settled,
        unbooked: 0,
        failures,
    }
}

#[tokio::test]
async fn a_confirm_whose_answer_was_lost_keeps_its_seats_taken_and_its_retry_books_them() {
    let app = App::new();
    let event = app.event(&[3]).await;
    let hold = app.hold(&event, "alice", &["A1", "A2"]).await;
    app.repo.fail(Call::Confirm, Fault::LostAnswer);

    let err = app
        .service
        .confirm(event.id, &user("alice"), hold.id)
        .await
        .unwrap_err();

    assert!(
        matches!(err, ConfirmError::Store(StoreError::Indeterminate { .. })),
        "{err:?}"
    );
    assert_eq!(
        app.refused(&event, "bob", &["A2", "A3"]).await,
        codes(&["A2"])
    );
    assert_eq!(
        app.seats(&event, SeatState::Held).await,
        names(&["A1", "A2"])
    );
    let retried = app.service.confirm(event.id, &user("alice"), hold.id).await;
    assert_eq!(retried.unwrap(), hold.id);
    assert_eq!(
        app.seats(&event, SeatState::Booked).await,
        names(&["A1", "A2"])
    );
    let list = app
        .service
        .user_bookings(&owner("alice"), None, 3)
        .await
        .unwrap();
    assert_eq!(list.bookings.len(), 1);
}

#[tokio::test]
async fn a_confirm_lost_on_its_way_to_the_repo_is_booked_by_its_retry() {
    let app = App::new();
    let event = app.event(&[3]).await;
    let hold = app.hold(&event, "alice", &["A1"]).await;
    app.repo.fail(Call::Confirm, Fault::Indeterminate);

    let err = app
        .service
        .confirm(event.id, &user("alice"), hold.id)
        .await
        .unwrap_err();

    assert!(
        matches!(err, ConfirmError::Store(StoreError::Indeterminate { .. })),
        "{err:?}"
    );
    assert_eq!(app.refused(&event, "bob", &["A1"]).await, codes(&["A1"]));
    let retried = app.service.confirm(event.id, &user("alice"), hold.id).await;
    assert_eq!(retried.unwrap(), hold.id);
    assert_eq!(app.seats(&event, SeatState::Booked).await, names(&["A1"]));
}

#[tokio::test]
async fn a_confirm_whose_repo_answered_nonsense_keeps_its_seats_taken_too() {
    let app = App::new();
    let event = app.event(&[3]).await;
    let hold = app.hold(&event, "alice", &["A1"]).await;
    app.repo.fail(Call::Confirm, Fault::Internal);

    let err = app
        .service
        .confirm(event.id, &user("alice"), hold.id)
        .await
        .unwrap_err();

    assert!(
        matches!(err, ConfirmError::Store(StoreError::Internal { .. })),
        "{err:?}"
    );
    let extend = app.service.extend(&user("alice"), hold.id).await;
    assert!(matches!(extend, Err(ExtendError::Confirming)), "{extend:?}");
    assert_eq!(app.refused(&event, "bob", &["A1"]).await, codes(&["A1"]));
}

#[tokio::test]
async fn a_confirm_the_repo_refused_puts_the_hold_back_at_once() {
    let app = App::new();
    let event = app.event(&[3]).await;
    let hold = app.hold(&event, "alice", &["A1"]).await;
    app.repo.fail(Call::Confirm, Fault::Unavailable);

    let err = app
        .service
        .confirm(event.id, &user("alice"), hold.id)
        .await
        .unwrap_err();

    assert!(
        matches!(err, ConfirmError::Store(StoreError::Unavailable { .. })),
        "{err:?}"
    );
    // Held by alice again, not pending: she may extend it; bob may not have it.
    app.service.extend(&user("alice"), hold.id).await.unwrap();
    assert_eq!(app.refused(&event, "bob", &["A1"]).await, codes(&["A1"]));
    let retried = app.service.confirm(event.id, &user("alice"), hold.id).await;
    assert_eq!(retried.unwrap(), hold.id);
}

#[tokio::test]
async fn a_refused_confirm_whose_hold_cannot_be_put_back_stays_pending_until_settled() {
    let app = App::new();
    let event = app.event(&[3]).await;
    let hold = app.hold(&event, "alice", &["A1"]).await;
    app.repo.fail(Call::Confirm, Fault::Unavailable);
    app.holds.fail(Call::AbortConfirm, Fault::Unavailable);

    let err = app
        .service
        .confirm(event.id, &user("alice"), hold.id)
        .await
        .unwrap_err();

    // The repo's failure is the answer, not the hold store's.
    let ConfirmError::Store(error @ StoreError::Unavailable { .. }) = err else {
        panic!("expected the repo's Unavailable, got {err:?}");
    };
    assert_eq!(error.store(), "repo");
    let extend = app.service.extend(&user("alice"), hold.id).await;
    assert!(matches!(extend, Err(ExtendError::Confirming)), "{extend:?}");

    tokio::time::sleep(PAST_GRACE).await;
    assert_eq!(app.availability(&event).await.held, 1);
    assert_eq!(app.service.maintain().await, settled(1, 0));

    // Never booked, and now it never will be: the seat is free.
    app.hold(&event, "bob", &["A1"]).await;
    let late = app.service.confirm(event.id, &user("alice"), hold.id).await;
    assert!(matches!(late, Err(ConfirmError::HoldExpired)), "{late:?}");
}

#[tokio::test]
async fn a_booking_whose_mirror_update_failed_is_finished_by_its_owners_retry() {
    let app = App::new();
    let event = app.event(&[3]).await;
    let hold = app.hold(&event, "alice", &["A1"]).await;
    app.holds.fail(Call::FinishConfirm, Fault::Unavailable);

    let booked = app.service.confirm(event.id, &user("alice"), hold.id).await;

    // The booking is durable, so the confirm succeeded; the seat stays
    // taken (pending) until the mirror knows.
    assert_eq!(booked.unwrap(), hold.id);
    assert_eq!(app.seats(&event, SeatState::Held).await, names(&["A1"]));
    assert_eq!(app.refused(&event, "bob", &["A1"]).await, codes(&["A1"]));
    let retried = app.service.confirm(event.id, &user("alice"), hold.id).await;
    assert_eq!(retried.unwrap(), hold.id);
    assert_eq!(app.seats(&event, SeatState::Booked).await, names(&["A1"]));
}

#[tokio::test]
async fn a_booking_whose_mirror_update_failed_is_finished_by_maintain_once_the_grace_has_passed() {
    let app = App::new();
    let event = app.event(&[3]).await;
    let hold = app.hold(&event, "alice", &["A1"]).await;
    booked_without_its_mirror(&app, event.id, hold.id).await;

    tokio::time::sleep(PAST_GRACE).await;
    // Reading the counts notices the confirm pending for too long.
    let before = app.availability(&event).await;
    let report = app.service.maintain().await;

    assert_eq!((before.confirmed, before.held), (0, 1));
    assert_eq!(report, settled(1, 0));
    let after = app.availability(&event).await;
    assert_eq!((after.confirmed, after.held), (1, 0));
    assert_eq!(app.seats(&event, SeatState::Booked).await, names(&["A1"]));
}

/// Nobody reads the counts or reserves these seats (only the seat map is
/// read): the instance that left the confirm in doubt settles it by
/// itself once the grace has passed. The black-box fault audit saw such
/// seats held for minutes, until someone read the event.
#[tokio::test]
async fn a_confirm_left_in_doubt_is_settled_after_the_grace_without_anyone_reading_the_event() {
    let app = App::with(short_holds(), ledger());
    let event = app.event(&[3]).await;
    let hold = app.hold(&event, "alice", &["A1", "A2"]).await;
    confirm_in_doubt(&app, event.id, hold.id).await;

    // Not yet: it may still be running.
    assert_eq!(app.service.maintain().await, settled(0, 0));
    tokio::time::sleep(PAST_SHORT_TTL).await;
    assert_eq!(
        app.seats(&event, SeatState::Held).await,
        names(&["A1", "A2"])
    );
    let report = app.service.maintain().await;

    assert_eq!(report, settled(1, 0));
    assert!(app.seats(&event, SeatState::Held).await.is_empty());
    app.hold(&event, "bob", &["A1", "A2"]).await;
}

/// The same for a booking whose mirror update failed: it shows as booked
/// after the grace, with nobody reading the counts.
#[tokio::test]
async fn a_booking_whose_mirror_update_failed_is_finished_after_the_grace_without_anyone_reading() {
    let app = App::new();
    let event = app.event(&[3]).await;
    let hold = app.hold(&event, "alice", &["A1"]).await;
    booked_without_its_mirror(&app, event.id, hold.id).await;

    tokio::time::sleep(PAST_GRACE * 2).await;
    let report = app.service.maintain().await;

    assert_eq!(report, settled(1, 0));
    assert_eq!(app.seats(&event, SeatState::Booked).await, names(&["A1"]));
}

#[tokio::test]
async fn a_booking_the_mirror_never_heard_of_is_finished_by_its_owners_retry() {
    // The repo committed, then the instance died and the hold was lost.
    let app = App::new();
    let event = app.event(&[3]).await;
    let id = HoldId::generate(event.id);
    let now = Utc::now();
    let written = app
        .repo
        .inner()
        .confirm(&Hold {
            id,
            event: event.id,
            user: user("alice"),
            seats: vec![SeatNo::new(1).unwrap(), SeatNo::new(2).unwrap()],
            created_at: now,
            expires_at: now + chrono::Duration::minutes(5),
        })
        .await
        .unwrap();
    assert!(matches!(written, ConfirmOutcome::Created(_)));
    assert!(app.seats(&event, SeatState::Booked).await.is_empty());

    let booked = app.service.confirm(event.id, &user("alice"), id).await;

    assert_eq!(booked.unwrap(), id);
    assert_eq!(
        app.seats(&event, SeatState::Booked).await,
        names(&["A1", "A2"])
    );
}

#[tokio::test]
async fn a_confirm_in_doubt_is_not_settled_while_it_may_still_be_running() {
    let app = App::with(
        limits(),
        LedgerConfig {
            pending_grace: Duration::from_secs(60),
            ..ledger()
        },
    );
    let event = app.event(&[3]).await;
    let hold = app.hold(&event, "alice", &["A1"]).await;
    confirm_in_doubt(&app, event.id, hold.id).await;
    // A refused reserve notices the taken seat.
    assert_eq!(app.refused(&event, "bob", &["A1"]).await, codes(&["A1"]));

    let report = app.service.maintain().await;

    assert_eq!(report, settled(0, 0));
    assert_eq!(app.repo.calls(Call::Settle), 0);
    assert_eq!(app.refused(&event, "bob", &["A1"]).await, codes(&["A1"]));
}

#[tokio::test]
async fn a_pending_confirm_whose_booking_never_happened_is_aborted_by_maintain_and_its_seats_freed()
{
    let app = App::with(short_holds(), ledger());
    let event = app.event(&[3]).await;
    let hold = app.hold(&event, "alice", &["A1", "A2"]).await;
    confirm_in_doubt(&app, event.id, hold.id).await;

    tokio::time::sleep(PAST_SHORT_TTL).await;
    // A pending hold does not expire: still taken, and the refusal
    // notices it.
    assert_eq!(app.refused(&event, "bob", &["A1"]).await, codes(&["A1"]));
    let report = app.service.maintain().await;

    assert_eq!(report, settled(1, 0));
    app.hold(&event, "bob", &["A1", "A2"]).await;
    let late = app.service.confirm(event.id, &user("alice"), hold.id).await;
    assert!(matches!(late, Err(ConfirmError::HoldExpired)), "{late:?}");
    let alices = app
        .service
        .user_bookings(&owner("alice"), None, 3)
        .await
        .unwrap();
    assert!(alices.bookings.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confirm_that_commits_after_it_was_settled_as_dead_loses_and_the_seats_stay_with_the_next_buyer(
) {
    let app = App::new();
    let event = app.event(&[3]).await;
    let hold = app.hold(&event, "alice", &["A1", "A2"]).await;
    // Alice's confirm hangs on its way to the repo.
    app.repo.pause(Call::Confirm);
    let service = app.service.clone();
    let id = event.id;
    let hanging = tokio::spawn(async move { service.confirm(id, &user("alice"), hold.id).await });
    app.repo.reached(Call::Confirm, 1).await;

    tokio::time::sleep(PAST_GRACE).await;
    assert_eq!(app.refused(&event, "bob", &["A1"]).await, codes(&["A1"]));
    assert_eq!(app.service.maintain().await, settled(1, 0));
    let bobs = app.hold(&event, "bob", &["A1", "A2"]).await;
    // Now it arrives: the repo's fence refuses it.
    app.repo.resume(Call::Confirm);

    let late = hanging.await.unwrap();
    assert!(matches!(late, Err(ConfirmError::HoldExpired)), "{late:?}");
    let booked = app.service.confirm(event.id, &user("bob"), bobs.id).await;
    assert_eq!(booked.unwrap(), bobs.id);
    assert_eq!(
        app.seats(&event, SeatState::Booked).await,
        names(&["A1", "A2"])
    );
    let alices = app
        .service
        .user_bookings(&owner("alice"), None, 3)
        .await
        .unwrap();
    assert!(alices.bookings.is_empty());
}

#[tokio::test]
async fn a_confirm_in_doubt_whose_booking_was_cancelled_meanwhile_frees_its_seats_on_retry() {
    let app = App::new();
    let event = app.event(&[3]).await;
    let hold = app.hold(&event, "alice", &["A1"]).await;
    app.repo.fail(Call::Confirm, Fault::LostAnswer);
    assert!(app
        .service
        .confirm(event.id, &user("alice"), hold.id)
        .await
        .is_err());
    // The booking exists (its answer was lost): its owner cancels it.
    app.service.cancel(&owner("alice"), hold.id).await.unwrap();
    assert_eq!(app.refused(&event, "bob", &["A1"]).await, codes(&["A1"]));

    let retried = app.service.confirm(event.id, &user("alice"), hold.id).await;

    assert!(
        matches!(retried, Err(ConfirmError::HoldExpired)),
        "{retried:?}"
    );
    app.book(&event, "bob", &["A1"]).await;
}

#[tokio::test]
async fn a_stale_confirm_whose_booking_was_cancelled_is_freed_by_maintain() {
    let app = App::new();
    let event = app.event(&[3]).await;
    let hold = app.hold(&event, "alice", &["A1"]).await;
    app.repo.fail(Call::Confirm, Fault::LostAnswer);
    assert!(app
        .service
        .confirm(event.id, &user("alice"), hold.id)
        .await
        .is_err());
    app.service.cancel(&owner("alice"), hold.id).await.unwrap();

    tokio::time::sleep(PAST_GRACE).await;
    assert_eq!(app.availability(&event).await.held, 1);
    let report = app.service.maintain().await;

    assert_eq!(report.settled, 1);
    assert_eq!(app.availability(&event).await.held, 0);
    app.book(&event, "bob", &["A1"]).await;
}

#[tokio::test]
async fn settling_that_fails_is_tried_again_on_the_next_maintain() {
    let app = App::new();
    let event = app.event(&[3]).await;
    let hold = app.hold(&event, "alice", &["A1"]).await;
    booked_without_its_mirror(&app, event.id, hold.id).await;
    tokio::time::sleep(PAST_GRACE).await;
    app.availability(&event).await;
    app.repo.fail(Call::Settle, Fault::Unavailable);

    let first = app.service.maintain().await;
    // Nobody looks at the event again; the ledger remembers it.
    let second = app.service.maintain().await;

    assert_eq!(first, settled(0, 1));
    assert_eq!(second, settled(1, 0));
    assert_eq!(app.seats(&event, SeatState::Booked).await, names(&["A1"]));
}

#[tokio::test]
async fn settling_that_cannot_list_the_stale_confirms_is_tried_again_on_the_next_maintain() {
    let app = App::new();
    let event = app.event(&[3]).await;
    let hold = app.hold(&event, "alice", &["A1"]).await;
    booked_without_its_mirror(&app, event.id, hold.id).await;
    tokio::time::sleep(PAST_GRACE).await;
    app.availability(&event).await;
    app.holds.fail(Call::StalePending, Fault::Unavailable);

    let first = app.service.maintain().await;
    let second = app.service.maintain().await;

    assert_eq!(first, settled(0, 1));
    assert_eq!(second, settled(1, 0));
    assert_eq!(app.seats(&event, SeatState::Booked).await, names(&["A1"]));
}

#[tokio::test]
async fn one_stale_confirm_that_cannot_be_settled_does_not_hold_up_the_others() {
    let app = App::new();
    let event = app.event(&[3]).await;
    let alices = app.hold(&event, "alice", &["A1"]).await;
    let bobs = app.hold(&event, "bob", &["A2"]).await;
    app.holds
        .fail_times(Call::FinishConfirm, Fault::Unavailable, 2);
    for (who, hold) in [("alice", &alices), ("bob", &bobs)] {
        let booked = app.service.confirm(event.id, &user(who), hold.id).await;
        assert_eq!(booked.unwrap(), hold.id);
    }
    tokio::time::sleep(PAST_GRACE).await;
    assert_eq!(app.availability(&event).await.held, 2);
    // The oldest, alice's, fails to settle.
    app.repo.fail(Call::Settle, Fault::Unavailable);

    let first = app.service.maintain().await;

    assert_eq!(first, settled(1, 1));
    assert_eq!(app.seats(&event, SeatState::Booked).await, names(&["A2"]));
    assert_eq!(app.service.maintain().await, settled(1, 0));
    assert_eq!(
        app.seats(&event, SeatState::Booked).await,
        names(&["A1", "A2"])
    );
}
