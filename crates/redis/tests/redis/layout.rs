//! What the scripts leave in Redis: one hash slot per event, a fixed set
//! of keys per event (none per hold or user), and a TTL on every key, so
//! memory stays bounded by the events in use.

use std::time::Duration;

use booking_domain::contract::{event, request, user};
use booking_domain::{HoldStore, Mirror, ReserveOutcome};
use booking_redis::testing::{connect_or_explain, TestPrefix};
use booking_redis::{EventKeys, Part, RedisHoldStore, RedisOptions};
use chrono::Utc;

use crate::helpers::{book, counted, counts, hold, load, GRACE, LONG};

fn pttl(prefix: &TestPrefix, key: &str) -> i64 {
    let mut con = redis::Client::open(prefix.url())
        .unwrap()
        .get_connection()
        .unwrap();
    redis::cmd("PTTL").arg(key).query(&mut con).unwrap()
}

async fn store_with_idle(prefix: &TestPrefix, idle: Duration) -> RedisHoldStore {
    // Answers once first, or explains how to start Redis.
    connect_or_explain(prefix.url(), prefix.prefix(), 2).await;
    let options = RedisOptions { idle_ttl: idle };
    RedisHoldStore::connect_with(prefix.url(), prefix.prefix().as_str(), 2, options).unwrap()
}

/// Every key of the event with its PTTL (-2: missing).
fn ttls(prefix: &TestPrefix, e: booking_domain::EventId) -> Vec<(String, i64)> {
    EventKeys::new(prefix.prefix(), e)
        .all()
        .names()
        .into_iter()
        .map(|name| {
            let ttl = pttl(prefix, &name);
            (name, ttl)
        })
        .collect()
}

#[tokio::test]
async fn an_event_keeps_a_fixed_set_of_keys_in_its_own_slot() {
    let prefix = TestPrefix::new();
    let store = store_with_idle(&prefix, Duration::from_secs(3600)).await;
    for id in [1, 22] {
        let e = event(id);
        load(&store, e, 10, &[]).await;
        book(&store, e, "a{x}", &[1, 2]).await;
        hold(&store, e, "bob", &[3]).await;
        hold(&store, e, "carol", &[4, 5]).await;
    }
    let mut names = prefix.key_names();
    names.sort();
    // meta, state, booked, owners, holds, exp, pending, users, local: no
    // load runs (no lock, no unbooked), and nothing per hold or user.
    assert_eq!(names.len(), 2 * 9, "{names:?}");
    for name in names {
        let tag = &name[name.find('{').unwrap()..=name.find('}').unwrap()];
        assert!(
            tag == "{e:1}" || tag == "{e:22}",
            "{name} is outside its event's slot"
        );
    }
}

#[tokio::test]
async fn every_key_of_an_event_carries_the_idle_ttl() {
    let prefix = TestPrefix::new();
    let idle = Duration::from_secs(600);
    let store = store_with_idle(&prefix, idle).await;
    let e = event(1);
    load(&store, e, 10, &[]).await;
    // Watched, so the change feed exists and records what follows.
    store.watch(e, Duration::from_secs(60)).await.unwrap();
    let booked = book(&store, e, "alice", &[1]).await;
    let held = hold(&store, e, "bob", &[2]).await;
    store.release(e, held.id, &user("bob")).await.unwrap();
    store
        .unbook(e, booked, &booking_domain::contract::seats(&[1]))
        .await
        .unwrap();
    // Emptied hashes and sets keep their placeholder, and so their TTL.
    for (name, ttl) in ttls(&prefix, e) {
        if name.ends_with(":lock") || name.ends_with(":unbooked") {
            assert_eq!(ttl, -2, "{name} exists only while a load runs");
        } else {
            assert!(ttl > 590_000 && ttl <= 600_000, "{name}: {ttl}");
        }
    }
}

#[tokio::test]
async fn an_idle_event_expires_and_a_used_one_stays() {
    let prefix = TestPrefix::new();
    let store = store_with_idle(&prefix, Duration::from_secs(2)).await;
    let (idle, busy) = (event(1), event(2));
    for e in [idle, busy] {
        load(&store, e, 10, &[]).await;
        hold(&store, e, "alice", &[1]).await;
    }
    // Used every 400 ms (more than an eighth of the idle time), for longer
    // than the idle time.
    for _ in 0..8 {
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(counts(&store, busy).await, counted(0, 1));
    }
    assert_eq!(counts(&store, idle).await, Mirror::NotLoaded);
    for (name, ttl) in ttls(&prefix, idle) {
        assert_eq!(ttl, -2, "{name} should be gone");
    }
    assert_eq!(
        store
            .reserve(&request(idle, "bob", &[1], LONG))
            .await
            .unwrap(),
        Mirror::NotLoaded
    );
    // The next load starts from nothing.
    load(&store, idle, 10, &[]).await;
    assert_eq!(counts(&store, idle).await, counted(0, 0));
}

#[tokio::test]
async fn a_mirror_kept_past_its_keep_until_still_lives_a_minute() {
    let prefix = TestPrefix::new();
    let store = store_with_idle(&prefix, Duration::from_secs(3600)).await;
    let e = event(1);
    let token = booking_domain::LoadToken::generate();
    let spec = booking_domain::MirrorSpec {
        layout: booking_domain::contract::single_row(10),
        keep_until: Utc::now() - chrono::Duration::days(30),
        lease: LONG,
        reload: false,
    };
    store.begin_load(e, token, &spec).await.unwrap();
    store.finish_load(e, token).await.unwrap();
    store.watch(e, Duration::from_secs(60)).await.unwrap();
    assert_eq!(counts(&store, e).await, counted(0, 0));
    let r = request(e, "alice", &[1], LONG);
    assert!(matches!(
        store.reserve(&r).await.unwrap(),
        Mirror::Ready(ReserveOutcome::Held(_))
    ));
    for (name, ttl) in ttls(&prefix, e) {
        if name.ends_with(":lock") || name.ends_with(":unbooked") {
            continue;
        }
        assert!(ttl > 50_000 && ttl <= 60_000, "{name}: {ttl}");
    }
    assert!(store.counts(e, GRACE).await.unwrap() != Mirror::NotLoaded);
    let keys = EventKeys::new(prefix.prefix(), e);
    assert!(pttl(&prefix, &keys.key(Part::Meta).to_string()) > 0);
}
