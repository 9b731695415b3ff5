//! Losing an event's keys (a flush or restart, simulated for one prefix:
//! the shared server is never flushed) never lets a booked seat be held.

use std::time::Duration;

use booking_domain::contract::{event, request, seats, user};
use booking_domain::{BeginConfirm, HoldId, HoldStore, ReleaseOutcome, ReserveOutcome, SeatCounts};
use booking_redis::testing::test_store;

const LONG: Duration = Duration::from_secs(300);

#[tokio::test]
async fn an_event_whose_keys_were_lost_answers_not_loaded_until_reloaded() {
    let store = test_store().await;
    let e = event(1);
    let booking = HoldId::generate(e);
    store.begin_load(e).await.unwrap();
    assert_eq!(
        store.load(e, &[(seats(&[5])[0], booking)]).await.unwrap(),
        booking_domain::LoadOutcome::Loaded
    );
    let ReserveOutcome::Held(hold) = store
        .reserve(&request(e, "alice", &[1, 2], LONG))
        .await
        .unwrap()
    else {
        panic!("free seats should be held");
    };
    let other = event(2);
    store.begin_load(other).await.unwrap();
    assert_eq!(
        store.load(other, &[]).await.unwrap(),
        booking_domain::LoadOutcome::Loaded
    );

    store.forget_event(e);

    assert_eq!(
        store.reserve(&request(e, "bob", &[3], LONG)).await.unwrap(),
        ReserveOutcome::NotLoaded
    );
    assert_eq!(
        store
            .counts(e, std::time::Duration::from_secs(60))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .begin_confirm(e, hold.id, &user("alice"))
            .await
            .unwrap(),
        BeginConfirm::NotLoaded
    );
    assert_eq!(store.hold(e, hold.id).await.unwrap(), None);
    assert_eq!(
        store.release(e, hold.id, &user("alice")).await.unwrap(),
        ReleaseOutcome::NotFound
    );
    // Finishing does nothing until a load brings the booking in.
    store.finish_confirm(&hold).await.unwrap();
    store.abort_confirm(e, hold.id).await.unwrap();
    store.unbook(e, booking, &seats(&[5])).await.unwrap();
    assert_eq!(
        store
            .counts(e, std::time::Duration::from_secs(60))
            .await
            .unwrap(),
        None
    );
    // Only that event was lost.
    assert_eq!(
        store
            .counts(other, std::time::Duration::from_secs(60))
            .await
            .unwrap(),
        Some(SeatCounts::default())
    );

    store.begin_load(e).await.unwrap();
    assert_eq!(
        store.load(e, &[(seats(&[5])[0], booking)]).await.unwrap(),
        booking_domain::LoadOutcome::Loaded
    );
    assert_eq!(
        store
            .counts(e, std::time::Duration::from_secs(60))
            .await
            .unwrap(),
        Some(SeatCounts {
            booked: 1,
            held: 0,
            stale_pending: 0
        })
    );
    assert_eq!(
        store
            .reserve(&request(e, "bob", &[5, 1], LONG))
            .await
            .unwrap(),
        ReserveOutcome::Unavailable(seats(&[5]))
    );
}

#[tokio::test]
async fn a_confirm_that_straddles_a_lost_mirror_still_books_its_seats() {
    let store = test_store().await;
    let e = event(1);
    store.begin_load(e).await.unwrap();
    assert_eq!(
        store.load(e, &[]).await.unwrap(),
        booking_domain::LoadOutcome::Loaded
    );
    let id = match store
        .reserve(&request(e, "alice", &[1, 2], LONG))
        .await
        .unwrap()
    {
        ReserveOutcome::Held(hold) => hold.id,
        other => panic!("expected a hold, got {other:?}"),
    };
    let BeginConfirm::Pending(hold) = store.begin_confirm(e, id, &user("alice")).await.unwrap()
    else {
        panic!("a live hold should go pending");
    };
    store.forget_event(e);
    // Reloaded before the booking was durable, and someone holds seat 2.
    store.begin_load(e).await.unwrap();
    assert_eq!(
        store.load(e, &[]).await.unwrap(),
        booking_domain::LoadOutcome::Loaded
    );
    let ReserveOutcome::Held(bobs) = store
        .reserve(&request(e, "bob", &[2, 3], LONG))
        .await
        .unwrap()
    else {
        panic!("seat 2 looks free after the reload");
    };
    store.finish_confirm(&hold).await.unwrap();
    // Booked wins: seat 2 is booked, counted once, and Bob's release
    // frees only the seat still his.
    assert_eq!(
        store
            .counts(e, std::time::Duration::from_secs(60))
            .await
            .unwrap(),
        Some(SeatCounts {
            booked: 2,
            held: 1,
            stale_pending: 0
        })
    );
    assert_eq!(
        store.release(e, bobs.id, &user("bob")).await.unwrap(),
        ReleaseOutcome::Released
    );
    assert_eq!(
        store
            .counts(e, std::time::Duration::from_secs(60))
            .await
            .unwrap(),
        Some(SeatCounts {
            booked: 2,
            held: 0,
            stale_pending: 0
        })
    );
    assert_eq!(
        store
            .reserve(&request(e, "carol", &[1, 2, 3], LONG))
            .await
            .unwrap(),
        ReserveOutcome::Unavailable(seats(&[1, 2]))
    );
}

#[tokio::test]
async fn a_load_begun_before_the_keys_were_lost_is_stale_and_a_new_one_succeeds() {
    let store = test_store().await;
    let e = event(1);
    store.begin_load(e).await.unwrap();
    // The loader read the repo; then Redis lost everything, including a
    // booking finished meanwhile that the loader's read does not have.
    store.forget_event(e);
    let missed = booking_domain::contract::hold(e, "alice", &[7]);
    store.finish_confirm(&missed).await.unwrap();
    assert_eq!(
        store.load(e, &[]).await.unwrap(),
        booking_domain::LoadOutcome::Stale
    );
    assert_eq!(store.counts(e, LONG).await.unwrap(), None);
    // Read again: this time the repo has the booking.
    store.begin_load(e).await.unwrap();
    assert_eq!(
        store.load(e, &[(seats(&[7])[0], missed.id)]).await.unwrap(),
        booking_domain::LoadOutcome::Loaded
    );
    assert_eq!(
        store.reserve(&request(e, "bob", &[7], LONG)).await.unwrap(),
        ReserveOutcome::Unavailable(seats(&[7]))
    );
}
