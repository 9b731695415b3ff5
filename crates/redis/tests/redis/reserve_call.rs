//! The published reserve call (script source, KEYS, ARGV) is the one the
//! store runs, so a benchmark can replay it with `redis-benchmark EVALSHA`.

use booking_domain::contract::ready;
use std::time::Duration;

use booking_domain::contract::{event, request, seats};
use booking_domain::HoldStore;
use booking_redis::testing::test_store;
use booking_redis::{reserve_args, reserve_keys, reserve_script};

use crate::helpers::load;

#[tokio::test]
async fn the_published_reserve_call_holds_seats_as_the_store_does() {
    let store = test_store().await;
    let e = event(1);
    load(&*store, e, 10, &[]).await;
    let hold = request(e, "alice", &[4, 2], Duration::from_secs(300));

    let client = redis::Client::open(store.url()).unwrap();
    let mut con = client.get_multiplexed_async_connection().await.unwrap();
    let sha: String = redis::cmd("SCRIPT")
        .arg("LOAD")
        .arg(reserve_script())
        .query_async(&mut con)
        .await
        .unwrap();
    let keys = reserve_keys(store.key_prefix(), &hold);
    let reply: redis::Value = redis::cmd("EVALSHA")
        .arg(&sha)
        .arg(keys.len())
        .arg(&keys)
        .arg(reserve_args(&hold))
        .query_async(&mut con)
        .await
        .unwrap();
    // A batch of one: {'each', {'held', created, expiry}}.
    let redis::Value::Array(items) = reply else {
        panic!("unexpected reply {reply:?}");
    };
    assert_eq!(items[0], redis::Value::BulkString(b"each".to_vec()));
    let redis::Value::Array(answer) = &items[1] else {
        panic!("unexpected answer {:?}", items[1]);
    };
    assert_eq!(answer[0], redis::Value::BulkString(b"held".to_vec()));

    let stored = ready(store.hold(e, hold.id).await).expect("the hold is stored");
    assert_eq!(stored.seats, seats(&[4, 2]));
    assert_eq!(stored.user, hold.user);
}
