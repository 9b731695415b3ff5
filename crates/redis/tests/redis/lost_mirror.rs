//! Losing an event's keys (a flush, simulated for one prefix: the shared
//! server is never flushed) never lets a booked seat be held.

use booking_domain::contract::ready;
use booking_domain::contract::{event, request, seats, user};
use booking_domain::{BeginLoad, HoldId, HoldStore, LoadStep, LoadToken, Mirror, ReleaseOutcome};
use booking_redis::testing::test_store;

use crate::helpers::{counted, counts, hold, load, LONG};

#[tokio::test]
async fn an_event_whose_keys_were_lost_answers_not_loaded_until_reloaded() {
    let store = test_store().await;
    let e = event(1);
    let booking = HoldId::generate(e);
    load(&*store, e, 10, &[(5, booking)]).await;
    let held = hold(&*store, e, "alice", &[1, 2]).await;
    let other = event(2);
    load(&*store, other, 10, &[]).await;

    store.forget_event(e);

    let r = request(e, "bob", &[3], LONG);
    assert_eq!(store.reserve(&r).await.unwrap(), Mirror::NotLoaded);
    assert_eq!(counts(&*store, e).await, Mirror::NotLoaded);
    assert_eq!(store.seat_map(e).await.unwrap(), Mirror::NotLoaded);
    assert_eq!(
        store
            .begin_confirm(e, held.id, &user("alice"))
            .await
            .unwrap(),
        Mirror::NotLoaded
    );
    assert_eq!(store.hold(e, held.id).await.unwrap(), Mirror::NotLoaded);
    assert_eq!(
        store.release(e, held.id, &user("alice")).await.unwrap(),
        Mirror::NotLoaded
    );
    assert_eq!(
        store
            .extend(e, held.id, &user("alice"), LONG, LONG * 2)
            .await
            .unwrap(),
        Mirror::NotLoaded
    );
    // None of these bring back a key: the next load starts from nothing.
    store.finish_confirm(&held).await.unwrap();
    store.abort_confirm(e, held.id).await.unwrap();
    store.unbook(e, booking, &seats(&[5])).await.unwrap();
    store.stale_pending(e, LONG).await.unwrap();
    assert!(
        store.key_names().iter().all(|k| !k.contains("{e:1}")),
        "{:?}",
        store.key_names()
    );
    // Only that event was lost.
    assert_eq!(counts(&*store, other).await, counted(0, 0));

    load(&*store, e, 10, &[(5, booking)]).await;
    assert_eq!(counts(&*store, e).await, counted(1, 0));
    assert_eq!(
        store
            .reserve(&request(e, "bob", &[5, 1], LONG))
            .await
            .unwrap(),
        Mirror::Ready(booking_domain::ReserveOutcome::Unavailable(seats(&[5])))
    );
}

#[tokio::test]
async fn a_confirm_that_straddles_a_lost_mirror_still_books_its_seats() {
    let store = test_store().await;
    let e = event(1);
    load(&*store, e, 10, &[]).await;
    let held = hold(&*store, e, "alice", &[1, 2]).await;
    let Mirror::Ready(booking_domain::BeginConfirm::Pending(pending)) = store
        .begin_confirm(e, held.id, &user("alice"))
        .await
        .unwrap()
    else {
        panic!("a live hold should go pending");
    };
    store.forget_event(e);
    // Reloaded before the booking was durable, and someone holds seat 2.
    load(&*store, e, 10, &[]).await;
    let bobs = hold(&*store, e, "bob", &[2, 3]).await;
    store.finish_confirm(&pending).await.unwrap();
    // Booked wins: seat 2 is booked, counted once; Bob's count dropped with
    // it, and his release frees only the seat still his.
    assert_eq!(counts(&*store, e).await, counted(2, 1));
    let mut limited = request(e, "bob", &[4], LONG);
    limited.max_held_per_user = 2;
    assert!(matches!(
        store.reserve(&limited).await.unwrap(),
        Mirror::Ready(booking_domain::ReserveOutcome::Held(_))
    ));
    assert_eq!(
        ready(store.release(e, bobs.id, &user("bob")).await),
        ReleaseOutcome::Released
    );
    assert_eq!(counts(&*store, e).await, counted(2, 1));
    assert_eq!(
        store
            .reserve(&request(e, "carol", &[1, 2, 3], LONG))
            .await
            .unwrap(),
        Mirror::Ready(booking_domain::ReserveOutcome::Unavailable(seats(&[1, 2])))
    );
}

#[tokio::test]
async fn a_load_begun_before_the_keys_were_lost_is_stale_and_a_new_one_succeeds() {
    let store = test_store().await;
    let e = event(1);
    let token = LoadToken::generate();
    let spec = booking_domain::contract::spec(booking_domain::contract::single_row(10), LONG);
    assert_eq!(
        store.begin_load(e, token, &spec).await.unwrap(),
        BeginLoad::Begun
    );
    // The loader read the repo; then Redis lost everything, including a
    // booking finished meanwhile that the loader's read does not have.
    store.forget_event(e);
    let missed = booking_domain::contract::hold(e, "alice", &[7]);
    store.finish_confirm(&missed).await.unwrap();
    assert_eq!(
        store.load_booked(e, token, &[]).await.unwrap(),
        LoadStep::Stale
    );
    assert_eq!(store.finish_load(e, token).await.unwrap(), LoadStep::Stale);
    assert_eq!(counts(&*store, e).await, Mirror::NotLoaded);
    // Read again: this time the repo has the booking.
    load(&*store, e, 10, &[(7, missed.id)]).await;
    assert_eq!(
        store.reserve(&request(e, "bob", &[7], LONG)).await.unwrap(),
        Mirror::Ready(booking_domain::ReserveOutcome::Unavailable(seats(&[7])))
    );
}
