//! Cases of the `BookingRepo` contract. Each takes a fresh repo.

use std::collections::HashSet;
use std::time::Duration;

use super::{hold, new_event, new_event_with, rows, seat, seats, user};
use crate::{
    BookingRepo, BookingStatus, CancelOutcome, ConfirmOutcome, CreateOutcome, Event, EventId,
    HoldId, IdempotencyKey, SettleOutcome,
};

async fn created(repo: &dyn BookingRepo, new: &crate::NewEvent) -> Event {
    match repo.create_event(new).await.unwrap() {
        CreateOutcome::Created(event) => event,
        other => panic!("expected a new event, got {other:?}"),
    }
}

async fn event_of(repo: &dyn BookingRepo, total_seats: u32) -> EventId {
    created(repo, &new_event(total_seats)).await.id
}

pub async fn created_events_get_increasing_ids_and_can_be_read_back(repo: &dyn BookingRepo) {
    let new = new_event(25);
    let first = created(repo, &new).await;
    let second = created(repo, &new_event(1)).await;
    assert!(second.id > first.id);
    assert_eq!(first.name, new.name.as_str());
    assert_eq!(first.location.as_deref(), Some(new.location.as_str()));
    assert_eq!(first.date, new.date);
    assert_eq!(first.total_seats(), 25);
    assert!(first.layout.is_single_row());
    let age = (chrono::Utc::now() - first.created_at).num_seconds().abs();
    assert!(age < 5, "created_at is {age} s off");
    assert_eq!(repo.event(first.id).await.unwrap(), Some(first.clone()));
    assert_eq!(repo.booked_seats(first.id).await.unwrap(), vec![]);
}

pub async fn events_keep_their_rows(repo: &dyn BookingRepo) {
    let layout = rows(&[3, 2, 4]);
    let event = created(repo, &new_event_with(layout.clone())).await;
    assert_eq!(event.layout, layout);
    let read = repo.event(event.id).await.unwrap().unwrap();
    assert_eq!(read.layout, layout);
    assert_eq!(read.total_seats(), 9);
    // Seats of every row can be booked, by their venue numbers.
    let h = hold(event.id, "alice", &[1, 4, 9]);
    assert!(matches!(
        repo.confirm(&h).await.unwrap(),
        ConfirmOutcome::Created(_)
    ));
    // A seat beyond the venue is refused by the repo itself.
    let beyond = hold(event.id, "bob", &[10]);
    assert!(repo.confirm(&beyond).await.is_err());
}

pub async fn unknown_events_and_bookings_are_none(repo: &dyn BookingRepo) {
    let id = event_of(repo, 3).await;
    let unknown = EventId::new(id.get() + 1000).unwrap();
    assert_eq!(repo.event(unknown).await.unwrap(), None);
    assert_eq!(
        repo.event(EventId::new(i64::MAX).unwrap()).await.unwrap(),
        None
    );
    assert_eq!(repo.booking(HoldId::generate(id)).await.unwrap(), None);
    assert_eq!(
        repo.cancel(HoldId::generate(id)).await.unwrap(),
        CancelOutcome::NotFound
    );
}

pub async fn an_idempotency_key_replays_its_event_and_refuses_another_request(
    repo: &dyn BookingRepo,
) {
    let keyed = |caller: Option<&str>, key: &str, fingerprint: &str| {
        let mut new = new_event(5);
        new.idempotency = Some(IdempotencyKey {
            caller: caller.map(user),
            key: key.to_owned(),
            fingerprint: fingerprint.to_owned(),
        });
        new
    };
    let first = created(repo, &keyed(Some("admin"), "k-1", "f-1")).await;
    assert_eq!(
        repo.create_event(&keyed(Some("admin"), "k-1", "f-1"))
            .await
            .unwrap(),
        CreateOutcome::Replayed(first.clone())
    );
    assert_eq!(
        repo.create_event(&keyed(Some("admin"), "k-1", "f-2"))
            .await
            .unwrap(),
        CreateOutcome::KeyReused
    );
    // Keys are scoped per caller; anonymous callers share one scope.
    let other = created(repo, &keyed(Some("other-admin"), "k-1", "f-1")).await;
    assert_ne!(other.id, first.id);
    let anonymous = created(repo, &keyed(None, "k-1", "f-1")).await;
    assert_eq!(
        repo.create_event(&keyed(None, "k-1", "f-1")).await.unwrap(),
        CreateOutcome::Replayed(anonymous)
    );
    // Concurrent creates with one key make one event.
    let new = keyed(Some("admin"), "k-2", "f-1");
    let outcomes = futures_util::future::join_all((0..8).map(|_| repo.create_event(&new))).await;
    let ids: HashSet<EventId> = outcomes
        .into_iter()
        .map(|o| match o.unwrap() {
            CreateOutcome::Created(e) | CreateOutcome::Replayed(e) => e.id,
            CreateOutcome::KeyReused => panic!("same request, same key"),
        })
        .collect();
    assert_eq!(ids.len(), 1);
    // Without a key every create is new.
    assert_ne!(
        created(repo, &new_event(5)).await.id,
        created(repo, &new_event(5)).await.id
    );
}

pub async fn confirm_records_every_seat_of_the_hold(repo: &dyn BookingRepo) {
    let e = event_of(repo, 10).await;
    let h = hold(e, "alice", &[3, 1, 2]);
    let ConfirmOutcome::Created(booking) = repo.confirm(&h).await.unwrap() else {
        panic!("a free hold should be booked");
    };
    assert_eq!(booking.id, h.id);
    assert_eq!(booking.event, e);
    assert_eq!(booking.user, user("alice"));
    assert_eq!(booking.status, BookingStatus::Confirmed);
    assert_eq!(booking.seats, seats(&[1, 2, 3]), "in venue order");
    let read = repo
        .booking(h.id)
        .await
        .unwrap()
        .expect("the booking is stored");
    assert_eq!(read, booking);
    let mut mirror = repo.booked_seats(e).await.unwrap();
    mirror.sort();
    assert_eq!(
        mirror,
        vec![(seat(1), h.id), (seat(2), h.id), (seat(3), h.id)]
    );
}

pub async fn a_retried_confirm_finds_the_existing_booking(repo: &dyn BookingRepo) {
    let e = event_of(repo, 10).await;
    let h = hold(e, "alice", &[4, 5]);
    assert!(matches!(
        repo.confirm(&h).await.unwrap(),
        ConfirmOutcome::Created(_)
    ));
    let ConfirmOutcome::Existing(booking) = repo.confirm(&h).await.unwrap() else {
        panic!("a retried confirm must find the first booking");
    };
    assert_eq!(booking.id, h.id);
    assert_eq!(booking.seats, seats(&[4, 5]));
    assert_eq!(
        repo.booked_seats(e).await.unwrap().len(),
        2,
        "no second row"
    );
}

pub async fn confirm_refuses_seats_booked_by_another_booking(repo: &dyn BookingRepo) {
    let e = event_of(repo, 10).await;
    assert!(matches!(
        repo.confirm(&hold(e, "alice", &[2, 3])).await.unwrap(),
        ConfirmOutcome::Created(_)
    ));
    let late = hold(e, "bob", &[1, 3, 4]);
    assert_eq!(
        repo.confirm(&late).await.unwrap(),
        ConfirmOutcome::SeatsTaken(vec![seat(3)])
    );
    assert_eq!(
        repo.booking(late.id).await.unwrap(),
        None,
        "nothing was written"
    );
    assert_eq!(repo.booked_seats(e).await.unwrap().len(), 2);
}

pub async fn cancel_frees_the_seats_and_happens_once(repo: &dyn BookingRepo) {
    let e = event_of(repo, 10).await;
    let h = hold(e, "alice", &[7]);
    repo.confirm(&h).await.unwrap();
    let CancelOutcome::Cancelled(booking) = repo.cancel(h.id).await.unwrap() else {
        panic!("a confirmed booking can be cancelled");
    };
    assert_eq!(booking.status, BookingStatus::Cancelled);
    assert_eq!(booking.seats, vec![seat(7)]);
    assert!(matches!(
        repo.cancel(h.id).await.unwrap(),
        CancelOutcome::AlreadyCancelled(_)
    ));
    assert_eq!(
        repo.booking(h.id).await.unwrap().unwrap().status,
        BookingStatus::Cancelled
    );
    assert_eq!(repo.booked_seats(e).await.unwrap(), vec![]);
    // A cancelled booking is still a booking: its confirm is not redone.
    assert!(matches!(
        repo.confirm(&h).await.unwrap(),
        ConfirmOutcome::Existing(_)
    ));
    // The seat can be booked again by someone else.
    let again = hold(e, "bob", &[7]);
    assert!(matches!(
        repo.confirm(&again).await.unwrap(),
        ConfirmOutcome::Created(_)
    ));
    assert_eq!(
        repo.booked_seats(e).await.unwrap(),
        vec![(seat(7), again.id)]
    );
}

pub async fn a_cancel_is_queued_for_the_mirror_until_marked_unbooked(repo: &dyn BookingRepo) {
    let e = event_of(repo, 10).await;
    let (first, second) = (hold(e, "alice", &[1, 2]), hold(e, "bob", &[3]));
    for h in [&first, &second] {
        repo.confirm(h).await.unwrap();
    }
    assert_eq!(repo.unbooks_due(Duration::ZERO, 100).await.unwrap(), vec![]);
    repo.cancel(first.id).await.unwrap();
    // Not due yet for a caller that gives cancels a while to unbook.
    assert_eq!(
        repo.unbooks_due(Duration::from_secs(3600), 100)
            .await
            .unwrap(),
        vec![]
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    let due = repo.unbooks_due(Duration::ZERO, 100).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].id, first.id);
    assert_eq!(due[0].event, e);
    assert_eq!(due[0].seats, seats(&[1, 2]));
    assert_eq!(due[0].status, BookingStatus::Cancelled);
    repo.unbooked(first.id).await.unwrap();
    repo.unbooked(first.id).await.unwrap();
    assert_eq!(repo.unbooks_due(Duration::ZERO, 100).await.unwrap(), vec![]);
    // Cancelling again queues nothing.
    repo.cancel(first.id).await.unwrap();
    assert_eq!(repo.unbooks_due(Duration::ZERO, 100).await.unwrap(), vec![]);
}

pub async fn settling_decides_once_and_fences_out_late_confirms(repo: &dyn BookingRepo) {
    let e = event_of(repo, 10).await;
    // A confirm that never reached the repo: settled as never booked, and
    // a late arrival of it cannot book it.
    let dead = hold(e, "alice", &[1]);
    assert_eq!(repo.settle(&dead).await.unwrap(), SettleOutcome::Aborted);
    assert_eq!(repo.settle(&dead).await.unwrap(), SettleOutcome::Aborted);
    assert_eq!(repo.confirm(&dead).await.unwrap(), ConfirmOutcome::Aborted);
    assert_eq!(repo.booking(dead.id).await.unwrap(), None);
    assert_eq!(repo.booked_seats(e).await.unwrap(), vec![]);
    // The seat itself is free for others.
    assert!(matches!(
        repo.confirm(&hold(e, "bob", &[1])).await.unwrap(),
        ConfirmOutcome::Created(_)
    ));
    // A confirm that committed: settled as booked.
    let done = hold(e, "carol", &[2]);
    repo.confirm(&done).await.unwrap();
    let SettleOutcome::Booked(booking) = repo.settle(&done).await.unwrap() else {
        panic!("a committed booking settles as booked");
    };
    assert_eq!(booking.id, done.id);
    repo.cancel(done.id).await.unwrap();
    assert!(matches!(
        repo.settle(&done).await.unwrap(),
        SettleOutcome::Cancelled(_)
    ));
}

pub async fn concurrent_confirms_and_settles_of_one_hold_agree(repo: &dyn BookingRepo) {
    let e = event_of(repo, 100).await;
    for n in 1..=12 {
        let h = hold(e, "alice", &[n]);
        let (confirmed, settled) = tokio::join!(repo.confirm(&h), repo.settle(&h));
        match (confirmed.unwrap(), settled.unwrap()) {
            (ConfirmOutcome::Created(_), SettleOutcome::Booked(_))
            | (ConfirmOutcome::Aborted, SettleOutcome::Aborted) => {}
            other => panic!("confirm and settle disagree: {other:?}"),
        }
    }
}

pub async fn concurrent_confirms_of_one_seat_book_it_once(repo: &dyn BookingRepo) {
    let e = event_of(repo, 10).await;
    let holds: Vec<_> = (0..16)
        .map(|i| hold(e, &format!("buyer-{i}"), &[1, 2 + i % 3]))
        .collect();
    let outcomes = futures_util::future::join_all(holds.iter().map(|h| repo.confirm(h))).await;
    let created = outcomes
        .into_iter()
        .filter(|o| matches!(o.as_ref().unwrap(), ConfirmOutcome::Created(_)))
        .count();
    assert_eq!(created, 1, "seat 1 was booked by {created} bookings");
    let booked = repo.booked_seats(e).await.unwrap();
    let distinct: HashSet<_> = booked.iter().map(|(s, _)| *s).collect();
    assert_eq!(distinct.len(), booked.len());
    assert_eq!(booked.len(), 2);
}

pub async fn user_bookings_come_newest_first_a_page_at_a_time(repo: &dyn BookingRepo) {
    let (a, b) = (event_of(repo, 10).await, event_of(repo, 10).await);
    let mut made = Vec::new();
    for (i, event) in [a, b, a, b, a].into_iter().enumerate() {
        let h = hold(event, "alice", &[i as u32 + 1]);
        repo.confirm(&h).await.unwrap();
        made.push(h.id);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    repo.confirm(&hold(a, "bob", &[9])).await.unwrap();
    repo.cancel(made[1]).await.unwrap();
    let alice = user("alice");

    let mut listed = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let page = repo.user_bookings(&alice, cursor, 2).await.unwrap();
        pages += 1;
        assert!(page.bookings.len() <= 2);
        listed.extend(page.bookings.iter().cloned());
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
        assert!(pages < 10, "pagination does not end");
    }
    assert_eq!(pages, 3, "five bookings, two a page");
    let ids: Vec<HoldId> = listed.iter().map(|b| b.id).collect();
    let newest_first: Vec<HoldId> = made.iter().rev().copied().collect();
    assert_eq!(ids, newest_first);
    // A full page is the last when nothing follows it.
    let all = repo.user_bookings(&alice, None, 5).await.unwrap();
    assert_eq!((all.bookings.len(), all.next), (5, None));
    let but_one = repo.user_bookings(&alice, None, 4).await.unwrap();
    assert_eq!(but_one.bookings.len(), 4);
    assert!(but_one.next.is_some());
    assert!(listed.iter().all(|b| b.user == alice));
    assert_eq!(listed[3].status, BookingStatus::Cancelled);
    assert_eq!(listed[0].seats, seats(&[5]));
    assert_eq!(listed[0].event, a);
    assert!(repo
        .user_bookings(&user("nobody"), None, 10)
        .await
        .unwrap()
        .bookings
        .is_empty());
}

pub async fn booked_seats_lists_every_confirmed_seat(repo: &dyn BookingRepo) {
    let e = event_of(repo, 10).await;
    let (kept, cancelled) = (hold(e, "alice", &[1, 2]), hold(e, "bob", &[3]));
    repo.confirm(&kept).await.unwrap();
    repo.confirm(&cancelled).await.unwrap();
    repo.cancel(cancelled.id).await.unwrap();
    let mut booked = repo.booked_seats(e).await.unwrap();
    booked.sort();
    assert_eq!(booked, vec![(seat(1), kept.id), (seat(2), kept.id)]);
    let other = event_of(repo, 10).await;
    assert_eq!(repo.booked_seats(other).await.unwrap(), vec![]);
}

pub async fn spent_holds_are_the_events_cancelled_and_settled_holds_of_late(
    repo: &dyn BookingRepo,
) {
    let (e, other) = (event_of(repo, 10).await, event_of(repo, 10).await);
    let kept = hold(e, "alice", &[1]);
    let cancelled = hold(e, "bob", &[2]);
    let dead = hold(e, "carol", &[3]);
    let elsewhere = hold(other, "dave", &[1]);
    for h in [&kept, &cancelled, &elsewhere] {
        repo.confirm(h).await.unwrap();
    }
    repo.cancel(cancelled.id).await.unwrap();
    repo.cancel(elsewhere.id).await.unwrap();
    assert_eq!(repo.settle(&dead).await.unwrap(), SettleOutcome::Aborted);

    let mut spent = repo
        .spent_holds(e, Duration::from_secs(3600))
        .await
        .unwrap();
    spent.sort();
    let mut expected = vec![cancelled.id, dead.id];
    expected.sort();
    assert_eq!(spent, expected);
    assert_eq!(
        repo.spent_holds(other, Duration::from_secs(3600))
            .await
            .unwrap(),
        vec![elsewhere.id]
    );
    // Only what was recorded within the time asked for.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        repo.spent_holds(e, Duration::from_millis(100))
            .await
            .unwrap(),
        vec![]
    );
}

pub async fn info_reports_a_version_and_a_clock(repo: &dyn BookingRepo) {
    let info = repo.info().await.unwrap();
    assert!(!info.version.is_empty());
    let drift = (info.current_time - chrono::Utc::now()).num_seconds().abs();
    assert!(drift < 5, "the store's clock is {drift} s off");
}
