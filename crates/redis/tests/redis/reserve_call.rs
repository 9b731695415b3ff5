//! The published reserve call (script source, KEYS, ARGV) is the one the
//! store runs, so a benchmark can replay it with `redis-benchmark EVALSHA`.

use booking_domain::contract::ready;
use std::time::Duration;

use booking_domain::contract::{best, event, request, seats};
use booking_domain::{HoldRequest, HoldStore};
use booking_redis::testing::{test_store, TestHoldStore};
use booking_redis::{reserve_args, reserve_keys, reserve_script};

use crate::helpers::load;

/// The script's SHA and a connection to the store's server.
async fn published(store: &TestHoldStore) -> (String, redis::aio::MultiplexedConnection) {
    let client = redis::Client::open(store.url()).unwrap();
    let mut con = client.get_multiplexed_async_connection().await.unwrap();
    let sha: String = redis::cmd("SCRIPT")
        .arg("LOAD")
        .arg(reserve_script())
        .query_async(&mut con)
        .await
        .unwrap();
    (sha, con)
}

/// One call holding `requests` in order, all of one event; each one's
/// answer, as text (numbers written out).
async fn call(store: &TestHoldStore, requests: &[&HoldRequest]) -> Vec<Vec<String>> {
    let (sha, mut con) = published(store).await;
    let keys = reserve_keys(store.key_prefix(), requests[0]);
    let mut cmd = redis::cmd("EVALSHA");
    cmd.arg(&sha).arg(keys.len()).arg(&keys);
    for request in requests {
        cmd.arg(reserve_args(request));
    }
    let reply: redis::Value = cmd.query_async(&mut con).await.unwrap();
    let redis::Value::Array(items) = reply else {
        panic!("unexpected reply {reply:?}");
    };
    assert_eq!(items[0], redis::Value::BulkString(b"each".to_vec()));
    // Flat: each answer's length, then its words.
    let mut answers = Vec::new();
    let mut rest = &items[1..];
    while let Some((redis::Value::Int(n), after)) = rest.split_first() {
        let (words, next) = after.split_at(usize::try_from(*n).unwrap());
        answers.push(words.iter().map(word).collect());
        rest = next;
    }
    assert!(rest.is_empty(), "unexpected reply {items:?}");
    answers
}

fn word(value: &redis::Value) -> String {
    match value {
        redis::Value::BulkString(text) => String::from_utf8_lossy(text).into_owned(),
        redis::Value::Int(n) => n.to_string(),
        other => panic!("unexpected word {other:?}"),
    }
}

#[tokio::test]
async fn the_published_reserve_call_holds_seats_as_the_store_does() {
    let store = test_store().await;
    let e = event(1);
    load(&*store, e, 10, &[]).await;
    let hold = request(e, "alice", &[4, 2], Duration::from_secs(300));

    let (sha, mut con) = published(&store).await;
    let keys = reserve_keys(store.key_prefix(), &hold);
    let reply: redis::Value = redis::cmd("EVALSHA")
        .arg(&sha)
        .arg(keys.len())
        .arg(&keys)
        .arg(reserve_args(&hold))
        .query_async(&mut con)
        .await
        .unwrap();
    // A batch of one: {'each', 3, 'held', created, expiry}.
    let redis::Value::Array(items) = reply else {
        panic!("unexpected reply {reply:?}");
    };
    let words: Vec<String> = items.iter().map(word).collect();
    assert_eq!(words.len(), 5);
    assert_eq!(words[..3], ["each", "3", "held"]);

    let stored = ready(store.hold(e, hold.id).await).expect("the hold is stored");
    assert_eq!(stored.seats, seats(&[4, 2]));
    assert_eq!(stored.user, hold.user);
}

/// A call reads the seats and users' counts it needs once, at its start,
/// and writes what it holds at its end: each request must still see every
/// hold made before it in the same call, named or best available.
#[tokio::test]
async fn each_request_of_a_call_sees_the_holds_made_before_it() {
    let store = test_store().await;
    let ttl = Duration::from_secs(300);

    // Best available takes all four seats; a named seat among them is
    // then taken, and one beyond the event never free.
    let small = event(1);
    load(&*store, small, 4, &[]).await;
    let all = best(small, "bob", 4, ttl);
    let after = request(small, "carol", &[2], ttl);
    let beyond = request(small, "dave", &[5], ttl);
    let answers = call(&store, &[&all, &after, &beyond]).await;
    assert_eq!(answers[0][0], "held");
    let mut picked: Vec<&str> = answers[0][3..].iter().map(String::as_str).collect();
    picked.sort_unstable();
    assert_eq!(picked, ["1", "2", "3", "4"]);
    assert_eq!(answers[1], ["taken", "2"]);
    assert_eq!(answers[2], ["taken", "5"]);

    // A user's count grows with each hold of the call: at most two seats.
    let e = event(2);
    load(&*store, e, 10, &[]).await;
    let limited = |seats: &[u32]| HoldRequest {
        max_held_per_user: 2,
        ..request(e, "erin", seats, ttl)
    };
    let first = limited(&[1]);
    let over = limited(&[2, 3]);
    let second = limited(&[2]);
    let someone_else = request(e, "frank", &[1, 4], ttl);
    let retried = first.clone();
    let answers = call(&store, &[&first, &over, &second, &someone_else, &retried]).await;
    assert_eq!(answers[0][0], "held");
    assert_eq!(answers[1], ["limit", "1"]);
    assert_eq!(answers[2][0], "held");
    assert_eq!(answers[3], ["taken", "1"]);
    // The same hold again answers that hold, holding nothing more.
    assert_eq!(answers[4], answers[0]);

    // What the call wrote: both holds, and erin's count of two.
    for (hold, numbers) in [(&first, [1]), (&second, [2])] {
        let stored = ready(store.hold(e, hold.id).await).expect("the hold is stored");
        assert_eq!(stored.seats, seats(&numbers));
    }
    let answers = call(&store, &[&limited(&[5]), &request(e, "frank", &[4], ttl)]).await;
    assert_eq!(answers[0], ["limit", "2"]);
    assert_eq!(answers[1][0], "held");
    let taken = call(&store, &[&request(e, "gina", &[1, 2, 4, 5], ttl)]).await;
    assert_eq!(taken[0], ["taken", "1", "2", "4"]);
}
