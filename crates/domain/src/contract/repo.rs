//! Cases of the `BookingRepo` contract. Each takes a fresh repo.

use std::collections::HashSet;

use super::{hold, new_event, user};
use crate::{BookingRepo, BookingStatus, CancelOutcome, ConfirmOutcome, EventId, HoldId, SeatNo};

async fn event_of(repo: &dyn BookingRepo, total_seats: u32) -> EventId {
    repo.create_event(&new_event(total_seats)).await.unwrap().id
}

fn seat(n: u32) -> SeatNo {
    SeatNo::new(n).unwrap()
}

pub async fn created_events_get_increasing_ids_and_can_be_read_back(repo: &dyn BookingRepo) {
    let new = new_event(25);
    let first = repo.create_event(&new).await.unwrap();
    let second = repo.create_event(&new_event(1)).await.unwrap();
    assert!(second.id > first.id);
    assert_eq!(first.name, new.name.as_str());
    assert_eq!(first.location.as_deref(), Some(new.location.as_str()));
    assert_eq!(first.date, new.date);
    assert_eq!(first.total_seats, 25);
    let age = (chrono::Utc::now() - first.created_at).num_seconds().abs();
    assert!(age < 5, "created_at is {age} s off");
    assert_eq!(repo.event(first.id).await.unwrap(), Some(first.clone()));
    assert_eq!(repo.booked_seats(first.id).await.unwrap(), vec![]);
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
    let mut booked_seats = booking.seats.clone();
    booked_seats.sort();
    assert_eq!(booked_seats, vec![seat(1), seat(2), seat(3)]);

    let read = repo
        .booking(h.id)
        .await
        .unwrap()
        .expect("the booking is stored");
    assert_eq!(read.status, BookingStatus::Confirmed);
    let mut read_seats = read.seats.clone();
    read_seats.sort();
    assert_eq!(read_seats, booked_seats);

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
    assert_eq!(booking.seats.len(), 2);
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

pub async fn info_reports_a_version_and_a_clock(repo: &dyn BookingRepo) {
    let info = repo.info().await.unwrap();
    assert!(!info.version.is_empty());
    let drift = (info.current_time - chrono::Utc::now()).num_seconds().abs();
    assert!(drift < 5, "the store's clock is {drift} s off");
}
