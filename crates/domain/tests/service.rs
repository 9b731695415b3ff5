//! Every branch of `BookingService`, driven through mocks of its two ports.
//!
//! Each mock states which calls the use case must make (`.times(n)`) and
//! which it must not (`.never()`); a call nobody expected panics, and a
//! mock dropped with an unmet count fails the test.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use booking_domain::contract::{event, hold, new_event, seats, user};
use booking_domain::{
    Availability, BeginConfirm, Booking, BookingService, BookingStatus, Caller, CancelError,
    CancelOutcome, ConfirmError, ConfirmOutcome, CreateEventError, Event, EventDetailsError,
    EventId, Hold, HoldId, HoldRequest, Limits, LoadOutcome, MockBookingRepo, MockHoldStore,
    ReleaseError, ReleaseOutcome, ReserveError, ReserveOutcome, SeatCode, SeatCounts, SeatNo,
    StoreError, StoreInfo, ViewBookingError,
};
use chrono::{TimeZone, Utc};
use mockall::predicate::eq;
use mockall::Sequence;
use uuid::Uuid;

// ---------------------------------------------------------------- helpers

const EVENT: i64 = 7;
const OTHER_EVENT: i64 = 8;
/// How long a confirm may stay pending: set apart from the default so the
/// tests see it passed on.
const GRACE: Duration = Duration::from_secs(45);

fn limits() -> Limits {
    Limits {
        max_seats_per_event: 100,
        max_seats_per_hold: 3,
        max_held_seats_per_user: 5,
        hold_ttl: Duration::from_secs(60),
        pending_grace: GRACE,
    }
}

fn service(holds: MockHoldStore, repo: MockBookingRepo) -> BookingService {
    BookingService::new(Arc::new(holds), Arc::new(repo), limits())
}

fn stored_event(id: EventId, total_seats: u32) -> Event {
    Event {
        id,
        name: "Concert".to_owned(),
        date: Utc.with_ymd_and_hms(2030, 6, 1, 19, 30, 0).unwrap(),
        location: Some("Main hall".to_owned()),
        total_seats,
        created_at: Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap(),
    }
}

/// The repo knows the event and is asked for it exactly once: later calls
/// of the same service are answered from its cache.
fn expect_event(repo: &mut MockBookingRepo, id: EventId, total_seats: u32) {
    let stored = stored_event(id, total_seats);
    repo.expect_event()
        .with(eq(id))
        .times(1)
        .returning(move |_| Ok(Some(stored.clone())));
}

fn expect_no_event(repo: &mut MockBookingRepo, id: EventId) {
    repo.expect_event()
        .with(eq(id))
        .times(1)
        .returning(|_| Ok(None));
}

/// One successful reload of the event's mirror, in `seq`: the load begun,
/// then the repo's booked seats, handed to the hold store as they are.
fn expect_reload(
    repo: &mut MockBookingRepo,
    holds: &mut MockHoldStore,
    id: EventId,
    booked: Vec<(SeatNo, HoldId)>,
    seq: &mut Sequence,
) {
    expect_load_attempt(repo, holds, id, booked, LoadOutcome::Loaded, seq);
}

/// One attempt of a reload, in `seq`: `begin_load`, the repo's booked
/// seats, then `load` of exactly those seats, answered with `outcome`.
fn expect_load_attempt(
    repo: &mut MockBookingRepo,
    holds: &mut MockHoldStore,
    id: EventId,
    booked: Vec<(SeatNo, HoldId)>,
    outcome: LoadOutcome,
    seq: &mut Sequence,
) {
    holds
        .expect_begin_load()
        .with(eq(id))
        .times(1)
        .in_sequence(seq)
        .returning(|_| Ok(()));
    let returned = booked.clone();
    repo.expect_booked_seats()
        .with(eq(id))
        .times(1)
        .in_sequence(seq)
        .returning(move |_| Ok(returned.clone()));
    holds
        .expect_load()
        .withf(move |event, loaded| *event == id && loaded == booked.as_slice())
        .times(1)
        .in_sequence(seq)
        .returning(move |_, _| Ok(outcome));
}

/// `holds.counts` of the event with the configured grace, answered once
/// with `answer`, in `seq`.
fn expect_counts(
    holds: &mut MockHoldStore,
    id: EventId,
    answer: Option<SeatCounts>,
    seq: &mut Sequence,
) {
    holds
        .expect_counts()
        .with(eq(id), eq(GRACE))
        .times(1)
        .in_sequence(seq)
        .returning(move |_, _| Ok(answer));
}

fn seat_counts(booked: u32, held: u32, stale_pending: u32) -> SeatCounts {
    SeatCounts {
        booked,
        held,
        stale_pending,
    }
}

fn store_down() -> StoreError {
    StoreError::unavailable("test store", "connection refused")
}

fn store_confused() -> StoreError {
    StoreError::internal("test store", "unexpected reply")
}

fn codes(raw: &[&str]) -> Vec<SeatCode> {
    raw.iter()
        .map(|code| SeatCode::parse(code).unwrap())
        .collect()
}

fn hold_with_id(id: HoldId, event_id: EventId, who: &str, numbers: &[u32]) -> Hold {
    Hold {
        id,
        ..hold(event_id, who, numbers)
    }
}

fn booking(id: HoldId, event_id: EventId, who: &str, status: BookingStatus) -> Booking {
    Booking {
        id,
        event: event_id,
        user: user(who),
        status,
        seats: seats(&[1, 2]),
        created_at: Utc.with_ymd_and_hms(2030, 2, 1, 12, 0, 0).unwrap(),
    }
}

fn expect_booking(repo: &mut MockBookingRepo, found: Option<Booking>) {
    repo.expect_booking()
        .times(1)
        .returning(move |_| Ok(found.clone()));
}

fn info(version: &str) -> StoreInfo {
    StoreInfo {
        version: version.to_owned(),
        current_time: Utc.with_ymd_and_hms(2030, 3, 1, 8, 0, 0).unwrap(),
    }
}

fn admin(name: &str) -> Caller {
    Caller {
        user: user(name),
        admin: true,
    }
}

// ---------------------------------------------------------- create_event

#[tokio::test]
async fn create_event_refuses_zero_seats_without_touching_the_stores() {
    let mut repo = MockBookingRepo::new();
    repo.expect_create_event().never();
    let mut holds = MockHoldStore::new();
    holds.expect_begin_load().never();
    holds.expect_load().never();

    let err = service(holds, repo)
        .create_event(new_event(0))
        .await
        .unwrap_err();

    assert!(
        matches!(err, CreateEventError::TooManySeats { max: 100 }),
        "{err:?}"
    );
}

#[tokio::test]
async fn create_event_refuses_more_seats_than_the_configured_maximum() {
    let mut repo = MockBookingRepo::new();
    repo.expect_create_event().never();
    let mut holds = MockHoldStore::new();
    holds.expect_begin_load().never();
    holds.expect_load().never();

    let err = service(holds, repo)
        .create_event(new_event(101))
        .await
        .unwrap_err();

    assert!(
        matches!(err, CreateEventError::TooManySeats { max: 100 }),
        "{err:?}"
    );
}

#[tokio::test]
async fn create_event_stores_the_event_marks_its_mirror_loaded_and_caches_it() {
    let id = event(EVENT);
    let mut repo = MockBookingRepo::new();
    repo.expect_create_event()
        .withf(|new| new.total_seats == 100)
        .times(1)
        .returning(move |new| Ok(stored_event(id, new.total_seats)));
    // The new event is served from the cache afterwards, and has no
    // bookings to read.
    repo.expect_event().never();
    repo.expect_booked_seats().never();
    let mut seq = Sequence::new();
    let mut holds = MockHoldStore::new();
    holds
        .expect_begin_load()
        .with(eq(id))
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(()));
    holds
        .expect_load()
        .withf(move |event, booked| *event == id && booked.is_empty())
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| Ok(LoadOutcome::Loaded));
    expect_counts(&mut holds, id, Some(SeatCounts::default()), &mut seq);
    let service = service(holds, repo);

    let created = service.create_event(new_event(100)).await.unwrap();
    let (details, _) = service.event_details(id).await.unwrap();

    assert_eq!(created.id, id);
    assert_eq!(created.total_seats, 100);
    assert!(Arc::ptr_eq(&created, &details));
}

#[tokio::test]
async fn create_event_reports_a_repo_failure_as_a_store_error() {
    let mut repo = MockBookingRepo::new();
    repo.expect_create_event()
        .times(1)
        .returning(|_| Err(store_down()));
    let mut holds = MockHoldStore::new();
    holds.expect_begin_load().never();
    holds.expect_load().never();

    let err = service(holds, repo)
        .create_event(new_event(10))
        .await
        .unwrap_err();

    assert!(
        matches!(err, CreateEventError::Store(StoreError::Unavailable { .. })),
        "{err:?}"
    );
}

#[tokio::test]
async fn create_event_succeeds_when_the_hold_store_cannot_mark_it_loaded() {
    let id = event(EVENT);
    let mut repo = MockBookingRepo::new();
    repo.expect_create_event()
        .times(1)
        .returning(move |new| Ok(stored_event(id, new.total_seats)));
    repo.expect_booked_seats().never();
    let mut holds = MockHoldStore::new();
    holds.expect_begin_load().times(1).returning(|_| Ok(()));
    holds
        .expect_load()
        .times(1)
        .returning(|_, _| Err(store_down()));

    let created = service(holds, repo)
        .create_event(new_event(10))
        .await
        .unwrap();

    assert_eq!(created.id, id);
}

#[tokio::test]
async fn create_event_succeeds_when_the_hold_store_cannot_begin_the_load() {
    let id = event(EVENT);
    let mut repo = MockBookingRepo::new();
    repo.expect_create_event()
        .times(1)
        .returning(move |new| Ok(stored_event(id, new.total_seats)));
    repo.expect_booked_seats().never();
    let mut holds = MockHoldStore::new();
    holds
        .expect_begin_load()
        .times(1)
        .returning(|_| Err(store_down()));
    holds.expect_load().never();

    let created = service(holds, repo)
        .create_event(new_event(10))
        .await
        .unwrap();

    assert_eq!(created.id, id);
}

#[tokio::test]
async fn create_event_falls_back_to_a_reload_when_its_load_is_stale() {
    let id = event(EVENT);
    let mut seq = Sequence::new();
    let mut repo = MockBookingRepo::new();
    repo.expect_create_event()
        .times(1)
        .in_sequence(&mut seq)
        .returning(move |new| Ok(stored_event(id, new.total_seats)));
    let mut holds = MockHoldStore::new();
    holds
        .expect_begin_load()
        .with(eq(id))
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(()));
    holds
        .expect_load()
        .withf(move |event, booked| *event == id && booked.is_empty())
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| Ok(LoadOutcome::Stale));
    // The store lost the begun load: read the repo after all.
    expect_reload(&mut repo, &mut holds, id, vec![], &mut seq);

    let created = service(holds, repo)
        .create_event(new_event(10))
        .await
        .unwrap();

    assert_eq!(created.id, id);
}

// --------------------------------------------------------- event_details

#[tokio::test]
async fn event_details_of_an_unknown_event_is_not_found() {
    let id = event(EVENT);
    let mut repo = MockBookingRepo::new();
    expect_no_event(&mut repo, id);
    let mut holds = MockHoldStore::new();
    holds.expect_counts().never();

    let err = service(holds, repo).event_details(id).await.unwrap_err();

    assert!(matches!(err, EventDetailsError::EventNotFound), "{err:?}");
}

#[tokio::test]
async fn event_details_reports_a_repo_failure_as_a_store_error() {
    let id = event(EVENT);
    let mut repo = MockBookingRepo::new();
    repo.expect_event()
        .times(1)
        .returning(|_| Err(store_down()));
    let mut holds = MockHoldStore::new();
    holds.expect_counts().never();

    let err = service(holds, repo).event_details(id).await.unwrap_err();

    assert!(matches!(err, EventDetailsError::Store(_)), "{err:?}");
}

#[tokio::test]
async fn event_details_counts_booked_and_held_seats() {
    let id = event(EVENT);
    let mut seq = Sequence::new();
    let mut repo = MockBookingRepo::new();
    expect_event(&mut repo, id, 10);
    let mut holds = MockHoldStore::new();
    expect_counts(&mut holds, id, Some(seat_counts(3, 2, 0)), &mut seq);
    // No confirm is stale: nothing to reconcile.
    holds.expect_stale_pending().never();

    let (details, availability) = service(holds, repo).event_details(id).await.unwrap();

    assert_eq!(details.id, id);
    assert_eq!(
        availability,
        Availability {
            total: 10,
            confirmed: 3,
            held: 2
        }
    );
    assert_eq!(availability.available(), 5);
}

#[tokio::test]
async fn event_details_asks_the_repo_for_an_event_only_once() {
    let id = event(EVENT);
    let mut repo = MockBookingRepo::new();
    expect_event(&mut repo, id, 10);
    let mut holds = MockHoldStore::new();
    holds
        .expect_counts()
        .with(eq(id), eq(GRACE))
        .times(2)
        .returning(|_, _| Ok(Some(SeatCounts::default())));
    let service = service(holds, repo);

    let (first, _) = service.event_details(id).await.unwrap();
    let (second, _) = service.event_details(id).await.unwrap();

    assert!(Arc::ptr_eq(&first, &second));
}

#[tokio::test]
async fn event_details_never_reports_more_seats_than_the_event_has() {
    let id = event(EVENT);
    let mut seq = Sequence::new();
    let mut repo = MockBookingRepo::new();
    expect_event(&mut repo, id, 10);
    let mut holds = MockHoldStore::new();
    expect_counts(&mut holds, id, Some(seat_counts(8, 5, 0)), &mut seq);

    let (_, availability) = service(holds, repo).event_details(id).await.unwrap();

    assert_eq!(availability.confirmed, 8);
    assert_eq!(availability.held, 2);
    assert_eq!(availability.available(), 0);
}

#[tokio::test]
async fn event_details_reloads_the_mirror_when_it_is_not_loaded() {
    let id = event(EVENT);
    let booked = vec![(SeatNo::new(1).unwrap(), HoldId::generate(id))];
    let mut seq = Sequence::new();
    let mut repo = MockBookingRepo::new();
    expect_event(&mut repo, id, 10);
    let mut holds = MockHoldStore::new();
    expect_counts(&mut holds, id, None, &mut seq);
    expect_reload(&mut repo, &mut holds, id, booked, &mut seq);
    expect_counts(&mut holds, id, Some(seat_counts(1, 0, 0)), &mut seq);

    let (_, availability) = service(holds, repo).event_details(id).await.unwrap();

    assert_eq!(availability.confirmed, 1);
    assert_eq!(availability.available(), 9);
}

#[tokio::test]
async fn event_details_fails_when_the_mirror_is_still_not_loaded_after_a_reload() {
    let id = event(EVENT);
    let mut seq = Sequence::new();
    let mut repo = MockBookingRepo::new();
    expect_event(&mut repo, id, 10);
    let mut holds = MockHoldStore::new();
    expect_counts(&mut holds, id, None, &mut seq);
    expect_reload(&mut repo, &mut holds, id, vec![], &mut seq);
    expect_counts(&mut holds, id, None, &mut seq);

    let err = service(holds, repo).event_details(id).await.unwrap_err();

    assert!(
        matches!(err, EventDetailsError::Store(StoreError::Internal { .. })),
        "{err:?}"
    );
}

#[tokio::test]
async fn event_details_reports_a_failed_reload_as_a_store_error() {
    let id = event(EVENT);
    let mut seq = Sequence::new();
    let mut repo = MockBookingRepo::new();
    expect_event(&mut repo, id, 10);
    let mut holds = MockHoldStore::new();
    expect_counts(&mut holds, id, None, &mut seq);
    holds
        .expect_begin_load()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(()));
    repo.expect_booked_seats()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Err(store_down()));
    holds.expect_load().never();

    let err = service(holds, repo).event_details(id).await.unwrap_err();

    assert!(
        matches!(
            err,
            EventDetailsError::Store(StoreError::Unavailable { .. })
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn event_details_reads_the_booked_seats_again_after_a_stale_load() {
    let id = event(EVENT);
    let first_read = vec![(SeatNo::new(1).unwrap(), HoldId::generate(id))];
    let second_read = vec![
        (SeatNo::new(1).unwrap(), first_read[0].1),
        (SeatNo::new(2).unwrap(), HoldId::generate(id)),
    ];
    let mut seq = Sequence::new();
    let mut repo = MockBookingRepo::new();
    expect_event(&mut repo, id, 10);
    let mut holds = MockHoldStore::new();
    expect_counts(&mut holds, id, None, &mut seq);
    expect_load_attempt(
        &mut repo,
        &mut holds,
        id,
        first_read,
        LoadOutcome::Stale,
        &mut seq,
    );
    // The second attempt begins the load again and loads the new read.
    expect_reload(&mut repo, &mut holds, id, second_read, &mut seq);
    expect_counts(&mut holds, id, Some(seat_counts(2, 0, 0)), &mut seq);

    let (_, availability) = service(holds, repo).event_details(id).await.unwrap();

    assert_eq!(availability.confirmed, 2);
}

#[tokio::test]
async fn event_details_gives_up_after_three_stale_loads() {
    let id = event(EVENT);
    let mut seq = Sequence::new();
    let mut repo = MockBookingRepo::new();
    expect_event(&mut repo, id, 10);
    let mut holds = MockHoldStore::new();
    expect_counts(&mut holds, id, None, &mut seq);
    for _ in 0..3 {
        expect_load_attempt(
            &mut repo,
            &mut holds,
            id,
            vec![],
            LoadOutcome::Stale,
            &mut seq,
        );
    }
    // No fourth attempt, and no counts read from an unloaded mirror. The
    // expectations above are saturated, so a fourth call would panic.

    let err = service(holds, repo).event_details(id).await.unwrap_err();

    assert!(
        matches!(
            err,
            EventDetailsError::Store(StoreError::Unavailable { .. })
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn event_details_reconciles_stale_confirms_and_counts_again() {
    let id = event(EVENT);
    let stale = hold(id, "bob", &[4, 5]);
    let mut seq = Sequence::new();
    let mut repo = MockBookingRepo::new();
    expect_event(&mut repo, id, 10);
    let mut holds = MockHoldStore::new();
    expect_counts(&mut holds, id, Some(seat_counts(1, 2, 1)), &mut seq);
    let answer = vec![stale.clone()];
    holds
        .expect_stale_pending()
        .with(eq(id), eq(GRACE))
        .times(1)
        .in_sequence(&mut seq)
        .returning(move |_, _| Ok(answer.clone()));
    let booked = booking(stale.id, id, "bob", BookingStatus::Confirmed);
    repo.expect_booking()
        .with(eq(stale.id))
        .times(1)
        .in_sequence(&mut seq)
        .returning(move |_| Ok(Some(booked.clone())));
    holds
        .expect_finish_confirm()
        .with(eq(stale.clone()))
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(()));
    holds.expect_abort_confirm().never();
    expect_counts(&mut holds, id, Some(seat_counts(3, 0, 0)), &mut seq);

    let (_, availability) = service(holds, repo).event_details(id).await.unwrap();

    // The second reading, after the stale confirm was finished.
    assert_eq!(availability.confirmed, 3);
    assert_eq!(availability.held, 0);
}

#[tokio::test]
async fn event_details_keeps_its_counts_when_no_stale_confirm_is_left_to_reconcile() {
    let id = event(EVENT);
    let mut seq = Sequence::new();
    let mut repo = MockBookingRepo::new();
    expect_event(&mut repo, id, 10);
    repo.expect_booking().never();
    let mut holds = MockHoldStore::new();
    expect_counts(&mut holds, id, Some(seat_counts(1, 2, 1)), &mut seq);
    // Finished by its own confirm between the two calls.
    holds
        .expect_stale_pending()
        .with(eq(id), eq(GRACE))
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| Ok(vec![]));

    let (_, availability) = service(holds, repo).event_details(id).await.unwrap();

    assert_eq!(availability.confirmed, 1);
    assert_eq!(availability.held, 2);
}

// --------------------------------------------------------------- reserve

/// Stores that must not be asked anything: the request is refused first.
fn untouched_stores() -> (MockHoldStore, MockBookingRepo) {
    let mut holds = MockHoldStore::new();
    holds.expect_reserve().never();
    let mut repo = MockBookingRepo::new();
    repo.expect_event().never();
    (holds, repo)
}

#[tokio::test]
async fn reserve_refuses_an_empty_request_before_asking_any_store() {
    let (holds, repo) = untouched_stores();

    let err = service(holds, repo)
        .reserve(event(EVENT), user("alice"), vec![])
        .await
        .unwrap_err();

    assert!(matches!(err, ReserveError::NoSeats), "{err:?}");
}

#[tokio::test]
async fn reserve_names_each_duplicated_seat_code() {
    let (holds, repo) = untouched_stores();

    let err = service(holds, repo)
        .reserve(event(EVENT), user("alice"), codes(&["S1", "S2", "S1"]))
        .await
        .unwrap_err();

    match err {
        ReserveError::DuplicateSeats(duplicates) => assert_eq!(duplicates, codes(&["S1"])),
        other => panic!("expected DuplicateSeats, got {other:?}"),
    }
}

#[tokio::test]
async fn reserve_refuses_more_seats_than_one_hold_may_take() {
    let (holds, repo) = untouched_stores();

    let err = service(holds, repo)
        .reserve(
            event(EVENT),
            user("alice"),
            codes(&["S1", "S2", "S3", "S4"]),
        )
        .await
        .unwrap_err();

    assert!(
        matches!(err, ReserveError::TooManySeats { max: 3 }),
        "{err:?}"
    );
}

#[tokio::test]
async fn reserve_in_an_unknown_event_is_not_found() {
    let id = event(EVENT);
    let mut repo = MockBookingRepo::new();
    expect_no_event(&mut repo, id);
    let mut holds = MockHoldStore::new();
    holds.expect_reserve().never();

    let err = service(holds, repo)
        .reserve(id, user("alice"), codes(&["S1"]))
        .await
        .unwrap_err();

    assert!(matches!(err, ReserveError::EventNotFound), "{err:?}");
}

#[tokio::test]
async fn reserve_reports_a_repo_failure_while_finding_the_event() {
    let mut repo = MockBookingRepo::new();
    repo.expect_event()
        .times(1)
        .returning(|_| Err(store_down()));
    let mut holds = MockHoldStore::new();
    holds.expect_reserve().never();

    let err = service(holds, repo)
        .reserve(event(EVENT), user("alice"), codes(&["S1"]))
        .await
        .unwrap_err();

    assert!(matches!(err, ReserveError::Store(_)), "{err:?}");
}

#[tokio::test]
async fn reserve_names_the_seats_the_event_does_not_have() {
    let id = event(EVENT);
    let mut repo = MockBookingRepo::new();
    expect_event(&mut repo, id, 10);
    let mut holds = MockHoldStore::new();
    holds.expect_reserve().never();

    let err = service(holds, repo)
        .reserve(id, user("alice"), codes(&["S1", "S11", "A1"]))
        .await
        .unwrap_err();

    match err {
        ReserveError::UnknownSeats(unknown) => assert_eq!(unknown, codes(&["S11", "A1"])),
        other => panic!("expected UnknownSeats, got {other:?}"),
    }
}

#[tokio::test]
async fn reserve_holds_the_requested_seats_in_the_clients_order() {
    let id = event(EVENT);
    let mut repo = MockBookingRepo::new();
    expect_event(&mut repo, id, 10);
    let mut holds = MockHoldStore::new();
    holds
        .expect_reserve()
        .withf(move |request: &HoldRequest| {
            request.event == id
                && request.user == user("alice")
                && request.seats == seats(&[3, 1, 10])
                && request.ttl == Duration::from_secs(60)
                && request.max_held_per_user == 5
                && request.id.event_hint() == Some(id)
        })
        .times(1)
        .returning(|request| {
            Ok(ReserveOutcome::Held(Hold {
                id: request.id,
                event: request.event,
                user: request.user.clone(),
                seats: request.seats.clone(),
                expires_at: Utc::now() + chrono::Duration::seconds(60),
            }))
        });

    let held = service(holds, repo)
        .reserve(id, user("alice"), codes(&["S3", "S1", "S10"]))
        .await
        .unwrap();

    assert_eq!(held.event, id);
    assert_eq!(held.user, user("alice"));
    assert_eq!(held.seats, seats(&[3, 1, 10]));
}

#[tokio::test]
async fn reserve_names_seats_that_are_held_or_booked_by_their_codes() {
    let id = event(EVENT);
    let mut repo = MockBookingRepo::new();
    expect_event(&mut repo, id, 10);
    let mut holds = MockHoldStore::new();
    holds
        .expect_reserve()
        .times(1)
        .returning(|_| Ok(ReserveOutcome::Unavailable(seats(&[2, 3]))));
    holds
        .expect_stale_pending()
        .times(1)
        .returning(|_, _| Ok(vec![]));

    let err = service(holds, repo)
        .reserve(id, user("alice"), codes(&["S1", "S2", "S3"]))
        .await
        .unwrap_err();

    match err {
        ReserveError::SeatsUnavailable(taken) => assert_eq!(taken, codes(&["S2", "S3"])),
        other => panic!("expected SeatsUnavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn reserve_reports_the_hold_limit_with_the_seats_already_held() {
    let id = event(EVENT);
    let mut repo = MockBookingRepo::new();
    expect_event(&mut repo, id, 10);
    let mut holds = MockHoldStore::new();
    holds
        .expect_reserve()
        .times(1)
        .returning(|_| Ok(ReserveOutcome::HoldLimit { held: 4 }));

    let err = service(holds, repo)
        .reserve(id, user("alice"), codes(&["S1", "S2"]))
        .await
        .unwrap_err();

    assert!(
        matches!(err, ReserveError::HoldLimit { max: 5, held: 4 }),
        "{err:?}"
    );
}

#[tokio::test]
async fn reserve_loads_the_mirror_and_retries_the_same_request_when_it_is_not_loaded() {
    let id = event(EVENT);
    let booked = vec![(SeatNo::new(9).unwrap(), HoldId::generate(id))];
    let tried: Arc<Mutex<Vec<HoldId>>> = Arc::default();
    let mut seq = Sequence::new();
    let mut repo = MockBookingRepo::new();
    expect_event(&mut repo, id, 10);
    let mut holds = MockHoldStore::new();
    let first = tried.clone();
    holds
        .expect_reserve()
        .times(1)
        .in_sequence(&mut seq)
        .returning(move |request| {
            first.lock().unwrap().push(request.id);
            Ok(ReserveOutcome::NotLoaded)
        });
    expect_reload(&mut repo, &mut holds, id, booked, &mut seq);
    let second = tried.clone();
    holds
        .expect_reserve()
        .times(1)
        .in_sequence(&mut seq)
        .returning(move |request| {
            second.lock().unwrap().push(request.id);
            Ok(ReserveOutcome::Held(hold_with_id(
                request.id,
                request.event,
                "alice",
                &[1],
            )))
        });

    let held = service(holds, repo)
        .reserve(id, user("alice"), codes(&["S1"]))
        .await
        .unwrap();

    let tried = tried.lock().unwrap();
    assert_eq!(tried.len(), 2);
    assert_eq!(tried[0], tried[1], "the retry must reuse the hold id");
    assert_eq!(held.id, tried[0]);
}

#[tokio::test]
async fn reserve_fails_when_the_mirror_is_still_not_loaded_after_a_reload() {
    let id = event(EVENT);
    let mut seq = Sequence::new();
    let mut repo = MockBookingRepo::new();
    expect_event(&mut repo, id, 10);
    let mut holds = MockHoldStore::new();
    holds
        .expect_reserve()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(ReserveOutcome::NotLoaded));
    expect_reload(&mut repo, &mut holds, id, vec![], &mut seq);
    holds
        .expect_reserve()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(ReserveOutcome::NotLoaded));

    let err = service(holds, repo)
        .reserve(id, user("alice"), codes(&["S1"]))
        .await
        .unwrap_err();

    assert!(
        matches!(err, ReserveError::Store(StoreError::Internal { .. })),
        "{err:?}"
    );
}

#[tokio::test]
async fn reserve_reports_a_failed_reload_without_retrying() {
    let id = event(EVENT);
    let mut seq = Sequence::new();
    let mut repo = MockBookingRepo::new();
    expect_event(&mut repo, id, 10);
    let mut holds = MockHoldStore::new();
    holds
        .expect_reserve()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(ReserveOutcome::NotLoaded));
    holds
        .expect_begin_load()
        .with(eq(id))
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(()));
    repo.expect_booked_seats()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Err(store_down()));
    holds.expect_load().never();

    let err = service(holds, repo)
        .reserve(id, user("alice"), codes(&["S1"]))
        .await
        .unwrap_err();

    assert!(
        matches!(err, ReserveError::Store(StoreError::Unavailable { .. })),
        "{err:?}"
    );
}

#[tokio::test]
async fn reserve_passes_a_hold_store_failure_on() {
    let id = event(EVENT);
    let mut repo = MockBookingRepo::new();
    expect_event(&mut repo, id, 10);
    let mut holds = MockHoldStore::new();
    holds
        .expect_reserve()
        .times(1)
        .returning(|_| Err(store_down()));

    let err = service(holds, repo)
        .reserve(id, user("alice"), codes(&["S1"]))
        .await
        .unwrap_err();

    assert!(
        matches!(err, ReserveError::Store(StoreError::Unavailable { .. })),
        "{err:?}"
    );
}

/// One `holds.reserve` of alice's request in `EVENT`, in `seq`, answered
/// with `answer`; the hold id it was asked with is pushed onto `tried`.
fn expect_reserve(
    holds: &mut MockHoldStore,
    tried: &Arc<Mutex<Vec<HoldId>>>,
    answer: fn(&HoldRequest) -> ReserveOutcome,
    seq: &mut Sequence,
) {
    let tried = tried.clone();
    holds
        .expect_reserve()
        .withf(|request: &HoldRequest| {
            request.event == event(EVENT) && request.user == user("alice")
        })
        .times(1)
        .in_sequence(seq)
        .returning(move |request| {
            tried.lock().unwrap().push(request.id);
            Ok(answer(request))
        });
}

fn held_as_asked(request: &HoldRequest) -> ReserveOutcome {
    ReserveOutcome::Held(Hold {
        id: request.id,
        event: request.event,
        user: request.user.clone(),
        seats: request.seats.clone(),
        expires_at: Utc::now() + chrono::Duration::seconds(60),
    })
}

/// `holds.stale_pending` of `EVENT` with the configured grace, in `seq`.
fn expect_stale_pending(holds: &mut MockHoldStore, stale: Vec<Hold>, seq: &mut Sequence) {
    holds
        .expect_stale_pending()
        .with(eq(event(EVENT)), eq(GRACE))
        .times(1)
        .in_sequence(seq)
        .returning(move |_, _| Ok(stale.clone()));
}

/// `repo.booking` of the stale hold's id, in `seq`.
fn expect_booking_of(
    repo: &mut MockBookingRepo,
    stale: &Hold,
    status: Option<BookingStatus>,
    seq: &mut Sequence,
) {
    let found = status.map(|status| booking(stale.id, stale.event, "bob", status));
    repo.expect_booking()
        .with(eq(stale.id))
        .times(1)
        .in_sequence(seq)
        .returning(move |_| Ok(found.clone()));
}

#[tokio::test]
async fn reserve_refuses_without_a_retry_when_no_confirm_is_stale() {
    let id = event(EVENT);
    let tried: Arc<Mutex<Vec<HoldId>>> = Arc::default();
    let mut seq = Sequence::new();
    let mut repo = MockBookingRepo::new();
    expect_event(&mut repo, id, 10);
    repo.expect_booking().never();
    let mut holds = MockHoldStore::new();
    expect_reserve(
        &mut holds,
        &tried,
        |_| ReserveOutcome::Unavailable(seats(&[1])),
        &mut seq,
    );
    expect_stale_pending(&mut holds, vec![], &mut seq);
    holds.expect_finish_confirm().never();
    holds.expect_abort_confirm().never();

    let err = service(holds, repo)
        .reserve(id, user("alice"), codes(&["S1", "S2"]))
        .await
        .unwrap_err();

    match err {
        ReserveError::SeatsUnavailable(taken) => assert_eq!(taken, codes(&["S1"])),
        other => panic!("expected SeatsUnavailable, got {other:?}"),
    }
    assert_eq!(tried.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn reserve_still_names_the_seats_when_looking_for_stale_confirms_fails() {
    let id = event(EVENT);
    let tried: Arc<Mutex<Vec<HoldId>>> = Arc::default();
    let mut seq = Sequence::new();
    let mut repo = MockBookingRepo::new();
    expect_event(&mut repo, id, 10);
    repo.expect_booking().never();
    let mut holds = MockHoldStore::new();
    expect_reserve(
        &mut holds,
        &tried,
        |_| ReserveOutcome::Unavailable(seats(&[1])),
        &mut seq,
    );
    holds
        .expect_stale_pending()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| Err(store_down()));

    let err = service(holds, repo)
        .reserve(id, user("alice"), codes(&["S1", "S2"]))
        .await
        .unwrap_err();

    assert!(matches!(err, ReserveError::SeatsUnavailable(_)), "{err:?}");
    assert_eq!(tried.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn reserve_settles_the_other_stale_confirms_when_one_fails() {
    let id = event(EVENT);
    let (broken, fine) = (hold(id, "bob", &[2]), hold(id, "carol", &[3]));
    let tried: Arc<Mutex<Vec<HoldId>>> = Arc::default();
    let mut repo = MockBookingRepo::new();
    expect_event(&mut repo, id, 10);
    let broken_id = broken.id;
    repo.expect_booking().times(2).returning(move |asked| {
        if asked == broken_id {
            Err(store_down())
        } else {
            Ok(None)
        }
    });
    let mut holds = MockHoldStore::new();
    let mut outcomes = vec![
        ReserveOutcome::Unavailable(seats(&[2, 3])),
        ReserveOutcome::Unavailable(seats(&[2])),
    ]
    .into_iter();
    let seen = tried.clone();
    holds.expect_reserve().times(2).returning(move |request| {
        seen.lock().unwrap().push(request.id);
        Ok(outcomes.next().unwrap())
    });
    let stale = vec![broken.clone(), fine.clone()];
    holds
        .expect_stale_pending()
        .times(1)
        .returning(move |_, _| Ok(stale.clone()));
    holds
        .expect_abort_confirm()
        .with(eq(id), eq(fine.id))
        .times(1)
        .returning(|_, _| Ok(()));

    let err = service(holds, repo)
        .reserve(id, user("alice"), codes(&["S2", "S3"]))
        .await
        .unwrap_err();

    assert!(matches!(err, ReserveError::SeatsUnavailable(_)), "{err:?}");
    assert_eq!(
        tried.lock().unwrap().len(),
        2,
        "retried once after settling one"
    );
}

#[tokio::test]
async fn reserve_finishes_a_stale_confirm_that_was_booked_and_retries() {
    let id = event(EVENT);
    let stale = hold(id, "bob", &[2]);
    let tried: Arc<Mutex<Vec<HoldId>>> = Arc::default();
    let mut seq = Sequence::new();
    let mut repo = MockBookingRepo::new();
    expect_event(&mut repo, id, 10);
    let mut holds = MockHoldStore::new();
    expect_reserve(
        &mut holds,
        &tried,
        |_| ReserveOutcome::Unavailable(seats(&[2])),
        &mut seq,
    );
    expect_stale_pending(&mut holds, vec![stale.clone()], &mut seq);
    expect_booking_of(&mut repo, &stale, Some(BookingStatus::Confirmed), &mut seq);
    holds
        .expect_finish_confirm()
        .with(eq(stale.clone()))
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(()));
    holds.expect_abort_confirm().never();
    holds.expect_release().never();
    // The service retries whenever it settled a confirm, whatever its seats.
    expect_reserve(&mut holds, &tried, held_as_asked, &mut seq);

    let held = service(holds, repo)
        .reserve(id, user("alice"), codes(&["S1"]))
        .await
        .unwrap();

    let tried = tried.lock().unwrap();
    assert_eq!(tried.len(), 2);
    assert_eq!(tried[0], tried[1], "the retry must reuse the hold id");
    assert_eq!(held.id, tried[0]);
    assert_eq!(held.seats, seats(&[1]));
}

#[tokio::test]
async fn reserve_puts_back_a_stale_confirm_that_has_no_booking_and_retries() {
    let id = event(EVENT);
    let stale = hold(id, "bob", &[1]);
    let tried: Arc<Mutex<Vec<HoldId>>> = Arc::default();
    let mut seq = Sequence::new();
    let mut repo = MockBookingRepo::new();
    expect_event(&mut repo, id, 10);
    let mut holds = MockHoldStore::new();
    expect_reserve(
        &mut holds,
        &tried,
        |_| ReserveOutcome::Unavailable(seats(&[1])),
        &mut seq,
    );
    expect_stale_pending(&mut holds, vec![stale.clone()], &mut seq);
    expect_booking_of(&mut repo, &stale, None, &mut seq);
    holds
        .expect_abort_confirm()
        .with(eq(id), eq(stale.id))
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| Ok(()));
    holds.expect_finish_confirm().never();
    // The hold was never booked: it is bob's again until it expires.
    holds.expect_release().never();
    expect_reserve(&mut holds, &tried, held_as_asked, &mut seq);

    let held = service(holds, repo)
        .reserve(id, user("alice"), codes(&["S1"]))
        .await
        .unwrap();

    assert_eq!(held.seats, seats(&[1]));
    assert_eq!(tried.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn reserve_frees_a_stale_confirm_whose_booking_was_cancelled_and_retries() {
    let id = event(EVENT);
    let stale = hold(id, "bob", &[1]);
    let tried: Arc<Mutex<Vec<HoldId>>> = Arc::default();
    let mut seq = Sequence::new();
    let mut repo = MockBookingRepo::new();
    expect_event(&mut repo, id, 10);
    let mut holds = MockHoldStore::new();
    expect_reserve(
        &mut holds,
        &tried,
        |_| ReserveOutcome::Unavailable(seats(&[1])),
        &mut seq,
    );
    expect_stale_pending(&mut holds, vec![stale.clone()], &mut seq);
    expect_booking_of(&mut repo, &stale, Some(BookingStatus::Cancelled), &mut seq);
    holds
        .expect_abort_confirm()
        .with(eq(id), eq(stale.id))
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| Ok(()));
    // Released on behalf of its owner, not of the caller.
    holds
        .expect_release()
        .with(eq(id), eq(stale.id), eq(user("bob")))
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _, _| Ok(ReleaseOutcome::Released));
    holds.expect_finish_confirm().never();
    expect_reserve(&mut holds, &tried, held_as_asked, &mut seq);

    let held = service(holds, repo)
        .reserve(id, user("alice"), codes(&["S1"]))
        .await
        .unwrap();

    assert_eq!(held.seats, seats(&[1]));
    assert_eq!(tried.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn reserve_reconciles_only_once_and_then_names_the_seats_still_taken() {
    let id = event(EVENT);
    let stale = hold(id, "bob", &[1]);
    let tried: Arc<Mutex<Vec<HoldId>>> = Arc::default();
    let mut seq = Sequence::new();
    let mut repo = MockBookingRepo::new();
    expect_event(&mut repo, id, 10);
    let mut holds = MockHoldStore::new();
    expect_reserve(
        &mut holds,
        &tried,
        |_| ReserveOutcome::Unavailable(seats(&[1, 2])),
        &mut seq,
    );
    expect_stale_pending(&mut holds, vec![stale.clone()], &mut seq);
    expect_booking_of(&mut repo, &stale, None, &mut seq);
    holds
        .expect_abort_confirm()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| Ok(()));
    expect_reserve(
        &mut holds,
        &tried,
        |_| ReserveOutcome::Unavailable(seats(&[2])),
        &mut seq,
    );
    // Saturated above: a second reconcile or a third reserve would panic.

    let err = service(holds, repo)
        .reserve(id, user("alice"), codes(&["S1", "S2"]))
        .await
        .unwrap_err();

    match err {
        ReserveError::SeatsUnavailable(taken) => assert_eq!(taken, codes(&["S2"])),
        other => panic!("expected SeatsUnavailable, got {other:?}"),
    }
    assert_eq!(tried.lock().unwrap().len(), 2);
}

// --------------------------------------------------------------- confirm

/// `holds.begin_confirm` for alice's hold `id` of `EVENT`, answered once.
fn expect_begin(holds: &mut MockHoldStore, id: HoldId, answer: BeginConfirm, seq: &mut Sequence) {
    holds
        .expect_begin_confirm()
        .with(eq(event(EVENT)), eq(id), eq(user("alice")))
        .times(1)
        .in_sequence(seq)
        .returning(move |_, _, _| Ok(answer.clone()));
}

#[tokio::test]
async fn confirm_in_an_unknown_event_is_not_found() {
    let id = event(EVENT);
    let mut repo = MockBookingRepo::new();
    expect_no_event(&mut repo, id);
    repo.expect_confirm().never();
    let mut holds = MockHoldStore::new();
    holds.expect_begin_confirm().never();

    let err = service(holds, repo)
        .confirm(id, &user("alice"), HoldId::generate(id))
        .await
        .unwrap_err();

    assert!(matches!(err, ConfirmError::EventNotFound), "{err:?}");
}

#[tokio::test]
async fn confirm_of_a_live_hold_of_another_event_is_the_wrong_event() {
    let (id, other) = (event(EVENT), event(OTHER_EVENT));
    let hold_id = HoldId::generate(other);
    let mut repo = MockBookingRepo::new();
    expect_event(&mut repo, id, 10);
    repo.expect_booking().never();
    let mut holds = MockHoldStore::new();
    holds
        .expect_hold()
        .with(eq(other), eq(hold_id))
        .times(1)
        .returning(|event_id, id| Ok(Some(hold_with_id(id, event_id, "alice", &[1]))));
    holds.expect_begin_confirm().never();

    let err = service(holds, repo)
        .confirm(id, &user("alice"), hold_id)
        .await
        .unwrap_err();

    assert!(matches!(err, ConfirmError::WrongEvent), "{err:?}");
}

#[tokio::test]
async fn confirm_of_a_booked_hold_of_another_event_is_the_wrong_event() {
    let (id, other) = (event(EVENT), event(OTHER_EVENT));
    let hold_id = HoldId::generate(other);
    let mut repo = MockBookingRepo::new();
    expect_event(&mut repo, id, 10);
    repo.expect_booking()
        .with(eq(hold_id))
        .times(1)
        .returning(move |id| Ok(Some(booking(id, other, "alice", BookingStatus::Confirmed))));
    let mut holds = MockHoldStore::new();
    holds.expect_hold().times(1).returning(|_, _| Ok(None));
    holds.expect_begin_confirm().never();

    let err = service(holds, repo)
        .confirm(id, &user("alice"), hold_id)
        .await
        .unwrap_err();

    assert!(matches!(err, ConfirmError::WrongEvent), "{err:?}");
}

#[tokio::test]
async fn confirm_of_an_unknown_hold_of_another_event_has_expired() {
    let (id, other) = (event(EVENT), event(OTHER_EVENT));
    let hold_id = HoldId::generate(other);
    let mut repo = MockBookingRepo::new();
    expect_event(&mut repo, id, 10);
    expect_booking(&mut repo, None);
    let mut holds = MockHoldStore::new();
    holds.expect_hold().times(1).returning(|_, _| Ok(None));
    holds.expect_begin_confirm().never();

    let err = service(holds, repo)
        .confirm(id, &user("alice"), hold_id)
        .await
        .unwrap_err();

    assert!(matches!(err, ConfirmError::HoldExpired), "{err:?}");
}

#[tokio::test]
async fn confirm_by_someone_other_than_the_holder_is_refused() {
    let id = event(EVENT);
    let hold_id = HoldId::generate(id);
    let mut seq = Sequence::new();
    let mut repo = MockBookingRepo::new();
    expect_event(&mut repo, id, 10);
    repo.expect_confirm().never();
    repo.expect_booking().never();
    let mut holds = MockHoldStore::new();
    expect_begin(&mut holds, hold_id, BeginConfirm::NotOwner, &mut seq);

    let err = service(holds, repo)
        .confirm(id, &user("alice"), hold_id)
        .await
        .unwrap_err();

    assert!(matches!(err, ConfirmError::NotOwner), "{err:?}");
}

#[tokio::test]
async fn confirm_retried_by_its_owner_returns_the_same_booking_id() {
    let id = event(EVENT);
    let hold_id = HoldId::generate(id);
    let mut seq = Sequence::new();
    let mut repo = MockBookingRepo::new();
    expect_event(&mut repo, id, 10);
    expect_booking(
        &mut repo,
        Some(booking(hold_id, id, "alice", BookingStatus::Confirmed)),
    );
    repo.expect_confirm().never();
    let mut holds = MockHoldStore::new();
    expect_begin(&mut holds, hold_id, BeginConfirm::NotFound, &mut seq);
    holds.expect_finish_confirm().never();

    let confirmed = service(holds, repo)
        .confirm(id, &user("alice"), hold_id)
        .await
        .unwrap();

    assert_eq!(confirmed, hold_id);
}

#[tokio::test]
async fn confirm_retried_by_another_user_is_refused() {
    let id = event(EVENT);
    let hold_id = HoldId::generate(id);
    let mut seq = Sequence::new();
    let mut repo = MockBookingRepo::new();
    expect_event(&mut repo, id, 10);
    expect_booking(
        &mut repo,
        Some(booking(hold_id, id, "bob", BookingStatus::Confirmed)),
    );
    let mut holds = MockHoldStore::new();
    expect_begin(&mut holds, hold_id, BeginConfirm::NotFound, &mut seq);

    let err = service(holds, repo)
        .confirm(id, &user("alice"), hold_id)
        .await
        .unwrap_err();

    assert!(matches!(err, ConfirmError::NotOwner), "{err:?}");
}

#[tokio::test]
async fn confirm_of_a_hold_whose_booking_was_cancelled_has_expired() {
    let id = event(EVENT);
    let hold_id = HoldId::generate(id);
    let mut seq = Sequence::new();
    let mut repo = MockBookingRepo::new();
    expect_event(&mut repo, id, 10);
    expect_booking(
        &mut repo,
        Some(booking(hold_id, id, "alice", BookingStatus::Cancelled)),
    );
    let mut holds = MockHoldStore::new();
    expect_begin(&mut holds, hold_id, BeginConfirm::NotFound, &mut seq);

    let err = service(holds, repo)
        .confirm(id, &user("alice"), hold_id)
        .await
        .unwrap_err();

    assert!(matches!(err, ConfirmError::HoldExpired), "{err:?}");
}

#[tokio::test]
async fn confirm_of_an_expired_or_unknown_hold_has_expired() {
    let id = event(EVENT);
    let hold_id = HoldId::generate(id);
    let mut seq = Sequence::new();
    let mut repo = MockBookingRepo::new();
    expect_event(&mut repo, id, 10);
    expect_booking(&mut repo, None);
    let mut holds = MockHoldStore::new();
    expect_begin(&mut holds, hold_id, BeginConfirm::NotFound, &mut seq);

    let err = service(holds, repo)
        .confirm(id, &user("alice"), hold_id)
        .await
        .unwrap_err();

    assert!(matches!(err, ConfirmError::HoldExpired), "{err:?}");
}

#[tokio::test]
async fn confirm_of_a_foreign_id_booked_in_another_event_is_the_wrong_event() {
    // A version 4 id carries no event, so only the booking can tell.
    let id = event(EVENT);
    let hold_id = HoldId::from_uuid(Uuid::new_v4());
    let mut seq = Sequence::new();
    let mut repo = MockBookingRepo::new();
    expect_event(&mut repo, id, 10);
    expect_booking(
        &mut repo,
        Some(booking(
            hold_id,
            event(OTHER_EVENT),
            "alice",
            BookingStatus::Confirmed,
        )),
    );
    let mut holds = MockHoldStore::new();
    holds.expect_hold().never();
    expect_begin(&mut holds, hold_id, BeginConfirm::NotFound, &mut seq);

    let err = service(holds, repo)
        .confirm(id, &user("alice"), hold_id)
        .await
        .unwrap_err();

    assert!(matches!(err, ConfirmError::WrongEvent), "{err:?}");
}

/// A pending hold whose booking the repo answers with `outcome`, in order:
/// begin, then the repo's confirm.
fn pending_hold_confirmed_as(
    outcome: ConfirmOutcome,
    hold: &Hold,
    seq: &mut Sequence,
) -> (MockHoldStore, MockBookingRepo) {
    let mut repo = MockBookingRepo::new();
    expect_event(&mut repo, hold.event, 10);
    let mut holds = MockHoldStore::new();
    expect_begin(
        &mut holds,
        hold.id,
        BeginConfirm::Pending(hold.clone()),
        seq,
    );
    repo.expect_confirm()
        .with(eq(hold.clone()))
        .times(1)
        .in_sequence(seq)
        .returning(move |_| Ok(outcome.clone()));
    (holds, repo)
}

#[tokio::test]
async fn confirm_records_a_pending_hold_and_then_finishes_it() {
    let pending = hold(event(EVENT), "alice", &[1, 2]);
    let mut seq = Sequence::new();
    let created = ConfirmOutcome::Created(booking(
        pending.id,
        pending.event,
        "alice",
        BookingStatus::Confirmed,
    ));
    let (mut holds, repo) = pending_hold_confirmed_as(created, &pending, &mut seq);
    holds
        .expect_finish_confirm()
        .with(eq(pending.clone()))
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(()));
    holds.expect_abort_confirm().never();

    let confirmed = service(holds, repo)
        .confirm(pending.event, &user("alice"), pending.id)
        .await
        .unwrap();

    assert_eq!(confirmed, pending.id);
}

#[tokio::test]
async fn confirm_finishes_a_hold_whose_booking_already_exists() {
    let pending = hold(event(EVENT), "alice", &[1, 2]);
    let mut seq = Sequence::new();
    let existing = ConfirmOutcome::Existing(booking(
        pending.id,
        pending.event,
        "alice",
        BookingStatus::Confirmed,
    ));
    let (mut holds, repo) = pending_hold_confirmed_as(existing, &pending, &mut seq);
    holds
        .expect_finish_confirm()
        .with(eq(pending.clone()))
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(()));
    holds.expect_abort_confirm().never();

    let confirmed = service(holds, repo)
        .confirm(pending.event, &user("alice"), pending.id)
        .await
        .unwrap();

    assert_eq!(confirmed, pending.id);
}

#[tokio::test]
async fn confirm_of_a_pending_hold_whose_booking_was_cancelled_frees_it_and_has_expired() {
    let pending = hold(event(EVENT), "alice", &[1, 2]);
    let mut seq = Sequence::new();
    let cancelled = ConfirmOutcome::Existing(booking(
        pending.id,
        pending.event,
        "alice",
        BookingStatus::Cancelled,
    ));
    let (mut holds, repo) = pending_hold_confirmed_as(cancelled, &pending, &mut seq);
    holds.expect_finish_confirm().never();
    holds
        .expect_abort_confirm()
        .with(eq(pending.event), eq(pending.id))
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| Ok(()));
    holds
        .expect_release()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _, _| Ok(ReleaseOutcome::Released));

    let err = service(holds, repo)
        .confirm(pending.event, &user("alice"), pending.id)
        .await
        .unwrap_err();

    assert!(matches!(err, ConfirmError::HoldExpired), "{err:?}");
}

#[tokio::test]
async fn reserve_names_a_seat_sent_three_times_once() {
    let (holds, repo) = untouched_stores();

    let err = service(holds, repo)
        .reserve(
            event(EVENT),
            user("alice"),
            codes(&["S1", "S1", "S1", "S2", "S2"]),
        )
        .await
        .unwrap_err();

    match err {
        ReserveError::DuplicateSeats(duplicates) => assert_eq!(duplicates, codes(&["S1", "S2"])),
        other => panic!("expected DuplicateSeats, got {other:?}"),
    }
}

#[tokio::test]
async fn confirm_succeeds_once_the_booking_is_durable_even_if_finishing_the_hold_fails() {
    let pending = hold(event(EVENT), "alice", &[1, 2]);
    let mut seq = Sequence::new();
    let created = ConfirmOutcome::Created(booking(
        pending.id,
        pending.event,
        "alice",
        BookingStatus::Confirmed,
    ));
    let (mut holds, repo) = pending_hold_confirmed_as(created, &pending, &mut seq);
    holds
        .expect_finish_confirm()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Err(store_down()));
    holds.expect_abort_confirm().never();

    let confirmed = service(holds, repo)
        .confirm(pending.event, &user("alice"), pending.id)
        .await
        .unwrap();

    assert_eq!(confirmed, pending.id);
}

#[tokio::test]
async fn confirm_puts_the_hold_back_when_the_repo_fails() {
    let pending = hold(event(EVENT), "alice", &[1, 2]);
    let mut seq = Sequence::new();
    let mut repo = MockBookingRepo::new();
    expect_event(&mut repo, pending.event, 10);
    let mut holds = MockHoldStore::new();
    expect_begin(
        &mut holds,
        pending.id,
        BeginConfirm::Pending(pending.clone()),
        &mut seq,
    );
    repo.expect_confirm()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Err(store_down()));
    holds
        .expect_abort_confirm()
        .with(eq(pending.event), eq(pending.id))
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| Ok(()));
    holds.expect_finish_confirm().never();

    let err = service(holds, repo)
        .confirm(pending.event, &user("alice"), pending.id)
        .await
        .unwrap_err();

    assert!(
        matches!(err, ConfirmError::Store(StoreError::Unavailable { .. })),
        "{err:?}"
    );
}

#[tokio::test]
async fn confirm_reports_the_repo_failure_even_when_the_hold_cannot_be_put_back() {
    let pending = hold(event(EVENT), "alice", &[1, 2]);
    let mut seq = Sequence::new();
    let mut repo = MockBookingRepo::new();
    expect_event(&mut repo, pending.event, 10);
    let mut holds = MockHoldStore::new();
    expect_begin(
        &mut holds,
        pending.id,
        BeginConfirm::Pending(pending.clone()),
        &mut seq,
    );
    repo.expect_confirm()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Err(store_down()));
    holds
        .expect_abort_confirm()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| Err(store_confused()));

    let err = service(holds, repo)
        .confirm(pending.event, &user("alice"), pending.id)
        .await
        .unwrap_err();

    // The repo's failure, not the hold store's.
    assert!(
        matches!(err, ConfirmError::Store(StoreError::Unavailable { .. })),
        "{err:?}"
    );
}

#[tokio::test]
async fn confirm_gives_the_seats_back_and_reloads_when_they_were_booked_meanwhile() {
    let pending = hold(event(EVENT), "alice", &[1, 2]);
    let booked = vec![(SeatNo::new(2).unwrap(), HoldId::generate(pending.event))];
    let mut seq = Sequence::new();
    let (mut holds, mut repo) =
        pending_hold_confirmed_as(ConfirmOutcome::SeatsTaken(seats(&[2])), &pending, &mut seq);
    holds
        .expect_abort_confirm()
        .with(eq(pending.event), eq(pending.id))
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| Ok(()));
    holds
        .expect_release()
        .with(eq(pending.event), eq(pending.id), eq(user("alice")))
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _, _| Ok(ReleaseOutcome::Released));
    expect_reload(&mut repo, &mut holds, pending.event, booked, &mut seq);
    holds.expect_finish_confirm().never();

    let err = service(holds, repo)
        .confirm(pending.event, &user("alice"), pending.id)
        .await
        .unwrap_err();

    match err {
        ConfirmError::SeatsUnavailable(taken) => assert_eq!(taken, codes(&["S2"])),
        other => panic!("expected SeatsUnavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn confirm_reports_seats_booked_meanwhile_even_when_cleaning_up_fails() {
    let pending = hold(event(EVENT), "alice", &[1, 2]);
    let mut seq = Sequence::new();
    let (mut holds, mut repo) =
        pending_hold_confirmed_as(ConfirmOutcome::SeatsTaken(seats(&[1])), &pending, &mut seq);
    holds
        .expect_abort_confirm()
        .times(1)
        .returning(|_, _| Err(store_down()));
    holds
        .expect_release()
        .times(1)
        .returning(|_, _, _| Err(store_down()));
    holds.expect_begin_load().times(1).returning(|_| Ok(()));
    repo.expect_booked_seats()
        .times(1)
        .returning(|_| Err(store_down()));
    holds.expect_load().never();

    let err = service(holds, repo)
        .confirm(pending.event, &user("alice"), pending.id)
        .await
        .unwrap_err();

    match err {
        ConfirmError::SeatsUnavailable(taken) => assert_eq!(taken, codes(&["S1"])),
        other => panic!("expected SeatsUnavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn confirm_loads_the_mirror_and_retries_when_it_is_not_loaded() {
    let pending = hold(event(EVENT), "alice", &[1]);
    let mut seq = Sequence::new();
    let mut repo = MockBookingRepo::new();
    expect_event(&mut repo, pending.event, 10);
    let mut holds = MockHoldStore::new();
    expect_begin(&mut holds, pending.id, BeginConfirm::NotLoaded, &mut seq);
    expect_reload(&mut repo, &mut holds, pending.event, vec![], &mut seq);
    expect_begin(
        &mut holds,
        pending.id,
        BeginConfirm::Pending(pending.clone()),
        &mut seq,
    );
    let created = booking(pending.id, pending.event, "alice", BookingStatus::Confirmed);
    repo.expect_confirm()
        .times(1)
        .in_sequence(&mut seq)
        .returning(move |_| Ok(ConfirmOutcome::Created(created.clone())));
    holds
        .expect_finish_confirm()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(()));

    let confirmed = service(holds, repo)
        .confirm(pending.event, &user("alice"), pending.id)
        .await
        .unwrap();

    assert_eq!(confirmed, pending.id);
}

#[tokio::test]
async fn confirm_fails_when_the_mirror_is_still_not_loaded_after_a_reload() {
    let id = event(EVENT);
    let hold_id = HoldId::generate(id);
    let mut seq = Sequence::new();
    let mut repo = MockBookingRepo::new();
    expect_event(&mut repo, id, 10);
    repo.expect_confirm().never();
    let mut holds = MockHoldStore::new();
    expect_begin(&mut holds, hold_id, BeginConfirm::NotLoaded, &mut seq);
    expect_reload(&mut repo, &mut holds, id, vec![], &mut seq);
    expect_begin(&mut holds, hold_id, BeginConfirm::NotLoaded, &mut seq);

    let err = service(holds, repo)
        .confirm(id, &user("alice"), hold_id)
        .await
        .unwrap_err();

    assert!(
        matches!(err, ConfirmError::Store(StoreError::Internal { .. })),
        "{err:?}"
    );
}

#[tokio::test]
async fn confirm_passes_a_hold_store_failure_on() {
    let id = event(EVENT);
    let mut repo = MockBookingRepo::new();
    expect_event(&mut repo, id, 10);
    repo.expect_confirm().never();
    let mut holds = MockHoldStore::new();
    holds
        .expect_begin_confirm()
        .times(1)
        .returning(|_, _, _| Err(store_down()));

    let err = service(holds, repo)
        .confirm(id, &user("alice"), HoldId::generate(id))
        .await
        .unwrap_err();

    assert!(
        matches!(err, ConfirmError::Store(StoreError::Unavailable { .. })),
        "{err:?}"
    );
}

// --------------------------------------------------------------- release

/// `holds.release` of alice's hold `id` of `EVENT`, answered once.
fn releasing(id: HoldId, answer: ReleaseOutcome) -> (MockHoldStore, MockBookingRepo) {
    let mut repo = MockBookingRepo::new();
    expect_event(&mut repo, event(EVENT), 10);
    let mut holds = MockHoldStore::new();
    holds
        .expect_release()
        .with(eq(event(EVENT)), eq(id), eq(user("alice")))
        .times(1)
        .returning(move |_, _, _| Ok(answer));
    (holds, repo)
}

#[tokio::test]
async fn release_in_an_unknown_event_is_not_found() {
    let id = event(EVENT);
    let mut repo = MockBookingRepo::new();
    expect_no_event(&mut repo, id);
    let mut holds = MockHoldStore::new();
    holds.expect_release().never();

    let err = service(holds, repo)
        .release(id, &user("alice"), HoldId::generate(id))
        .await
        .unwrap_err();

    assert!(matches!(err, ReleaseError::EventNotFound), "{err:?}");
}

#[tokio::test]
async fn release_frees_the_hold_of_its_owner() {
    let hold_id = HoldId::generate(event(EVENT));
    let (holds, repo) = releasing(hold_id, ReleaseOutcome::Released);

    let released = service(holds, repo)
        .release(event(EVENT), &user("alice"), hold_id)
        .await;

    assert!(released.is_ok(), "{released:?}");
}

#[tokio::test]
async fn release_by_someone_other_than_the_holder_is_refused() {
    let hold_id = HoldId::generate(event(EVENT));
    let (holds, repo) = releasing(hold_id, ReleaseOutcome::NotOwner);

    let err = service(holds, repo)
        .release(event(EVENT), &user("alice"), hold_id)
        .await
        .unwrap_err();

    assert!(matches!(err, ReleaseError::NotOwner), "{err:?}");
}

#[tokio::test]
async fn release_of_an_expired_or_unknown_hold_is_not_found() {
    let hold_id = HoldId::generate(event(EVENT));
    let (holds, repo) = releasing(hold_id, ReleaseOutcome::NotFound);

    let err = service(holds, repo)
        .release(event(EVENT), &user("alice"), hold_id)
        .await
        .unwrap_err();

    assert!(matches!(err, ReleaseError::HoldNotFound), "{err:?}");
}

#[tokio::test]
async fn release_passes_a_hold_store_failure_on() {
    let id = event(EVENT);
    let mut repo = MockBookingRepo::new();
    expect_event(&mut repo, id, 10);
    let mut holds = MockHoldStore::new();
    holds
        .expect_release()
        .times(1)
        .returning(|_, _, _| Err(store_down()));

    let err = service(holds, repo)
        .release(id, &user("alice"), HoldId::generate(id))
        .await
        .unwrap_err();

    assert!(matches!(err, ReleaseError::Store(_)), "{err:?}");
}

// ------------------------------------------------------------------ hold

#[tokio::test]
async fn hold_is_read_from_the_hold_store() {
    let live = hold(event(EVENT), "alice", &[4]);
    let answer = live.clone();
    let mut holds = MockHoldStore::new();
    holds
        .expect_hold()
        .with(eq(live.event), eq(live.id))
        .times(1)
        .returning(move |_, _| Ok(Some(answer.clone())));

    let found = service(holds, MockBookingRepo::new())
        .hold(live.event, live.id)
        .await
        .unwrap();

    assert_eq!(found, Some(live));
}

// ---------------------------------------------------------------- cancel

#[tokio::test]
async fn cancel_of_an_unknown_booking_is_not_found() {
    let mut repo = MockBookingRepo::new();
    expect_booking(&mut repo, None);
    repo.expect_cancel().never();
    let mut holds = MockHoldStore::new();
    holds.expect_unbook().never();

    let err = service(holds, repo)
        .cancel(&Caller::user(user("alice")), HoldId::generate(event(EVENT)))
        .await
        .unwrap_err();

    assert!(matches!(err, CancelError::NotFound), "{err:?}");
}

#[tokio::test]
async fn cancel_of_someone_elses_booking_is_forbidden() {
    let id = HoldId::generate(event(EVENT));
    let mut repo = MockBookingRepo::new();
    expect_booking(
        &mut repo,
        Some(booking(id, event(EVENT), "bob", BookingStatus::Confirmed)),
    );
    repo.expect_cancel().never();
    let mut holds = MockHoldStore::new();
    holds.expect_unbook().never();

    let err = service(holds, repo)
        .cancel(&Caller::user(user("alice")), id)
        .await
        .unwrap_err();

    assert!(matches!(err, CancelError::Forbidden), "{err:?}");
}

/// A booking of bob's that the repo finds, then answers `cancel` with
/// `outcome`; the hold store must then unbook its seats once.
fn cancelling(
    id: HoldId,
    outcome: fn(Booking) -> CancelOutcome,
    unbooked: fn() -> Result<(), StoreError>,
) -> (MockHoldStore, MockBookingRepo) {
    let mut seq = Sequence::new();
    let found = booking(id, event(EVENT), "bob", BookingStatus::Confirmed);
    let mut repo = MockBookingRepo::new();
    expect_booking(&mut repo, Some(found.clone()));
    repo.expect_cancel()
        .with(eq(id))
        .times(1)
        .in_sequence(&mut seq)
        .returning(move |_| Ok(outcome(found.clone())));
    let mut holds = MockHoldStore::new();
    holds
        .expect_unbook()
        .withf(move |event_id, booking, freed| {
            *event_id == event(EVENT) && *booking == id && freed == seats(&[1, 2]).as_slice()
        })
        .times(1)
        .in_sequence(&mut seq)
        .returning(move |_, _, _| unbooked());
    (holds, repo)
}

#[tokio::test]
async fn cancel_frees_the_bookings_seats_in_the_hold_store() {
    let id = HoldId::generate(event(EVENT));
    let (holds, repo) = cancelling(id, CancelOutcome::Cancelled, || Ok(()));

    let cancelled = service(holds, repo)
        .cancel(&Caller::user(user("bob")), id)
        .await;

    assert!(cancelled.is_ok(), "{cancelled:?}");
}

#[tokio::test]
async fn an_admin_may_cancel_someone_elses_booking() {
    let id = HoldId::generate(event(EVENT));
    let (holds, repo) = cancelling(id, CancelOutcome::Cancelled, || Ok(()));

    let cancelled = service(holds, repo).cancel(&admin("carol"), id).await;

    assert!(cancelled.is_ok(), "{cancelled:?}");
}

#[tokio::test]
async fn cancelling_twice_frees_the_seats_again_and_reports_already_cancelled() {
    let id = HoldId::generate(event(EVENT));
    let (holds, repo) = cancelling(id, CancelOutcome::AlreadyCancelled, || Ok(()));

    let err = service(holds, repo)
        .cancel(&Caller::user(user("bob")), id)
        .await
        .unwrap_err();

    assert!(matches!(err, CancelError::AlreadyCancelled), "{err:?}");
}

#[tokio::test]
async fn cancel_reports_a_failed_unbook_as_a_store_error() {
    let id = HoldId::generate(event(EVENT));
    let (holds, repo) = cancelling(id, CancelOutcome::Cancelled, || Err(store_down()));

    let err = service(holds, repo)
        .cancel(&Caller::user(user("bob")), id)
        .await
        .unwrap_err();

    assert!(
        matches!(err, CancelError::Store(StoreError::Unavailable { .. })),
        "{err:?}"
    );
}

#[tokio::test]
async fn cancel_of_a_booking_that_vanished_meanwhile_is_not_found() {
    let id = HoldId::generate(event(EVENT));
    let mut repo = MockBookingRepo::new();
    expect_booking(
        &mut repo,
        Some(booking(id, event(EVENT), "bob", BookingStatus::Confirmed)),
    );
    repo.expect_cancel()
        .times(1)
        .returning(|_| Ok(CancelOutcome::NotFound));
    let mut holds = MockHoldStore::new();
    holds.expect_unbook().never();

    let err = service(holds, repo)
        .cancel(&Caller::user(user("bob")), id)
        .await
        .unwrap_err();

    assert!(matches!(err, CancelError::NotFound), "{err:?}");
}

#[tokio::test]
async fn cancel_reports_a_repo_failure_as_a_store_error() {
    let mut repo = MockBookingRepo::new();
    repo.expect_booking()
        .times(1)
        .returning(|_| Err(store_down()));
    repo.expect_cancel().never();

    let err = service(MockHoldStore::new(), repo)
        .cancel(&Caller::user(user("bob")), HoldId::generate(event(EVENT)))
        .await
        .unwrap_err();

    assert!(matches!(err, CancelError::Store(_)), "{err:?}");
}

// ---------------------------------------------------------- booking view

#[tokio::test]
async fn booking_view_of_an_unknown_booking_is_not_found() {
    let mut repo = MockBookingRepo::new();
    expect_booking(&mut repo, None);
    repo.expect_event().never();

    let err = service(MockHoldStore::new(), repo)
        .booking(&Caller::user(user("alice")), HoldId::generate(event(EVENT)))
        .await
        .unwrap_err();

    assert!(matches!(err, ViewBookingError::NotFound), "{err:?}");
}

#[tokio::test]
async fn booking_view_of_someone_elses_booking_is_forbidden() {
    let id = HoldId::generate(event(EVENT));
    let mut repo = MockBookingRepo::new();
    expect_booking(
        &mut repo,
        Some(booking(id, event(EVENT), "bob", BookingStatus::Confirmed)),
    );
    repo.expect_event().never();

    let err = service(MockHoldStore::new(), repo)
        .booking(&Caller::user(user("alice")), id)
        .await
        .unwrap_err();

    assert!(matches!(err, ViewBookingError::Forbidden), "{err:?}");
}

#[tokio::test]
async fn booking_view_shows_the_owner_their_booking_with_its_event() {
    let id = HoldId::generate(event(EVENT));
    let found = booking(id, event(EVENT), "bob", BookingStatus::Cancelled);
    let mut repo = MockBookingRepo::new();
    expect_booking(&mut repo, Some(found.clone()));
    expect_event(&mut repo, event(EVENT), 10);

    let (shown, shown_event) = service(MockHoldStore::new(), repo)
        .booking(&Caller::user(user("bob")), id)
        .await
        .unwrap();

    assert_eq!(shown, found);
    assert_eq!(shown_event.id, event(EVENT));
}

#[tokio::test]
async fn an_admin_may_view_someone_elses_booking() {
    let id = HoldId::generate(event(EVENT));
    let found = booking(id, event(EVENT), "bob", BookingStatus::Confirmed);
    let mut repo = MockBookingRepo::new();
    expect_booking(&mut repo, Some(found.clone()));
    expect_event(&mut repo, event(EVENT), 10);

    let (shown, _) = service(MockHoldStore::new(), repo)
        .booking(&admin("carol"), id)
        .await
        .unwrap();

    assert_eq!(shown, found);
}

#[tokio::test]
async fn booking_view_of_a_booking_whose_event_is_gone_is_not_found() {
    let id = HoldId::generate(event(EVENT));
    let mut repo = MockBookingRepo::new();
    expect_booking(
        &mut repo,
        Some(booking(id, event(EVENT), "bob", BookingStatus::Confirmed)),
    );
    expect_no_event(&mut repo, event(EVENT));

    let err = service(MockHoldStore::new(), repo)
        .booking(&Caller::user(user("bob")), id)
        .await
        .unwrap_err();

    assert!(matches!(err, ViewBookingError::NotFound), "{err:?}");
}

// ---------------------------------------------------------------- health

#[tokio::test]
async fn health_reports_each_store_on_its_own() {
    let mut repo = MockBookingRepo::new();
    repo.expect_info()
        .times(1)
        .returning(|| Ok(info("PostgreSQL 17")));
    let mut holds = MockHoldStore::new();
    holds.expect_info().times(1).returning(|| Err(store_down()));

    let health = service(holds, repo).health().await;

    assert_eq!(health.bookings.unwrap(), info("PostgreSQL 17"));
    assert!(
        matches!(health.holds, Err(StoreError::Unavailable { .. })),
        "{:?}",
        health.holds
    );
}

#[tokio::test]
async fn health_reports_both_stores_when_both_answer() {
    let mut repo = MockBookingRepo::new();
    repo.expect_info()
        .times(1)
        .returning(|| Ok(info("PostgreSQL 17")));
    let mut holds = MockHoldStore::new();
    holds.expect_info().times(1).returning(|| Ok(info("7.4")));

    let health = service(holds, repo).health().await;

    assert_eq!(health.bookings.unwrap().version, "PostgreSQL 17");
    assert_eq!(health.holds.unwrap().version, "7.4");
}
