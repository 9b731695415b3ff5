//! What the scripts leave in Redis: one hash slot per event, and nothing
//! that outlives its use.

use std::time::Duration;

use booking_domain::contract::{event, request, user};
use booking_domain::{BeginConfirm, HoldStore, ReserveOutcome};
use booking_redis::testing::{test_store, TestHoldStore};
use booking_redis::EventKeys;

const LONG: Duration = Duration::from_secs(300);
const SHORT: Duration = Duration::from_millis(400);

fn pttl(store: &TestHoldStore, key: &impl std::fmt::Display) -> i64 {
    let mut con = redis::Client::open(store.url())
        .unwrap()
        .get_connection()
        .unwrap();
    redis::cmd("PTTL")
        .arg(key.to_string())
        .query(&mut con)
        .unwrap()
}

#[tokio::test]
async fn every_key_of_an_event_shares_the_events_hash_tag() {
    let store = test_store().await;
    for id in [1, 22] {
        let e = event(id);
        store.begin_load(e).await.unwrap();
        assert_eq!(
            store.load(e, &[]).await.unwrap(),
            booking_domain::LoadOutcome::Loaded
        );
        let ReserveOutcome::Held(hold) = store
            .reserve(&request(e, "a{x}", &[1, 2], LONG))
            .await
            .unwrap()
        else {
            panic!("free seats should be held");
        };
        store.reserve(&request(e, "bob", &[3], LONG)).await.unwrap();
        let BeginConfirm::Pending(hold) =
            store.begin_confirm(e, hold.id, &hold.user).await.unwrap()
        else {
            panic!("a live hold should go pending");
        };
        store.finish_confirm(&hold).await.unwrap();
    }
    let names = store.key_names();
    assert!(names.len() >= 8, "{names:?}");
    for name in names {
        let tag = &name[name.find('{').unwrap()..=name.find('}').unwrap()];
        assert!(
            tag == "{e:1}" || tag == "{e:22}",
            "{name} is outside its event's slot"
        );
    }
}

#[tokio::test]
async fn hold_data_expires_after_the_hold_but_never_while_pending() {
    let store = test_store().await;
    let e = event(1);
    let keys = EventKeys::new(store.key_prefix(), e);
    store.begin_load(e).await.unwrap();
    assert_eq!(
        store.load(e, &[]).await.unwrap(),
        booking_domain::LoadOutcome::Loaded
    );
    let alice = user("alice");

    let short = request(e, "alice", &[1], SHORT);
    store.reserve(&short).await.unwrap();
    let grace = 1000;
    for key in [keys.hold(short.id), keys.user(&alice)] {
        let ttl = pttl(&store, &key);
        assert!(ttl > 0 && ttl <= 400 + grace, "{key}: {ttl}");
    }

    // Pending: nothing expires, whatever the hold's TTL said.
    store.begin_confirm(e, short.id, &alice).await.unwrap();
    assert_eq!(pttl(&store, &keys.hold(short.id)), -1);
    assert_eq!(pttl(&store, &keys.user(&alice)), -1);

    // Back to held: the original expiry again.
    store.abort_confirm(e, short.id).await.unwrap();
    for key in [keys.hold(short.id), keys.user(&alice)] {
        let ttl = pttl(&store, &key);
        assert!(ttl > 0 && ttl <= 400 + grace, "{key}: {ttl}");
    }
    tokio::time::sleep(Duration::from_millis(400 + grace as u64 + 200)).await;
    assert_eq!(pttl(&store, &keys.hold(short.id)), -2, "the record is gone");
    assert_eq!(
        pttl(&store, &keys.user(&alice)),
        -2,
        "the user's set is gone"
    );

    // A finished confirm leaves no hold data behind.
    let long = request(e, "alice", &[2], LONG);
    store.reserve(&long).await.unwrap();
    let BeginConfirm::Pending(hold) = store.begin_confirm(e, long.id, &alice).await.unwrap() else {
        panic!("a live hold should go pending");
    };
    store.finish_confirm(&hold).await.unwrap();
    assert_eq!(pttl(&store, &keys.hold(long.id)), -2);
    assert_eq!(pttl(&store, &keys.user(&alice)), -2);
    // The event's own keys stay: they are the mirror.
    assert_eq!(pttl(&store, &keys.booked()), -1);
    assert_eq!(pttl(&store, &keys.loaded()), -1);
}
