//! Deterministic fault tests: one fault each, injected at a known moment
//! with the harness (`tests/harness`), on an app whose Redis is a private
//! redis-server and whose Postgres is the test's database, either of them
//! behind a TCP proxy when the test breaks the network. Each checks what
//! clients see (never a 500; a 503 with `Retry-After`, within a bounded
//! time, when a store fails or hangs) and what Postgres holds afterwards
//! (nothing confirmed is lost, nothing is booked twice).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use booking_tests::harness::{wait_for, wait_until, PgAdmin};
use futures_util::future::join_all;
use futures_util::FutureExt;
use serde_json::json;

use crate::breakable::{
    answered, assert_no_500, assert_unavailable, timed, Group, Proxies, Rig, Truth,
};
use crate::helpers::{As, TestApp};

/// The longest a request may take when Redis hangs: its client gives up
/// after 2 s, and the answer is a 503.
const REDIS_HANG_BOUND: Duration = Duration::from_secs(3);

/// Short Postgres timeouts, so that a confirm may be presumed dead (and
/// settled) 3 s after it began: the grace must be twice the longest a
/// Postgres call can take (100 + 100 + 200 ms + the client's 1 s margin).
fn quick_settling(s: &mut booking_api::Settings) {
    s.postgres.pool_wait_ms = 100;
    s.postgres.connect_timeout_ms = 100;
    s.postgres.statement_timeout_ms = 200;
    s.holds.pending_grace_seconds = 3;
    s.ledger.maintenance_interval_ms = 200;
}

fn confirmed(rows: i64) -> Option<Group> {
    Some(Group {
        status: "CONFIRMED".into(),
        rows,
    })
}

/// Asserts that the app's counts and seat map of the event, read through
/// `app`, say exactly what Postgres says is booked (and that `held` seats
/// are held, when the test knows).
async fn assert_agrees_with_postgres(
    app: &TestApp,
    truth: &Truth<'_>,
    event: i64,
    held: Option<u64>,
) {
    let booked = truth.booked(event).await;
    assert_eq!(
        truth.double_booked(event).await,
        0,
        "a seat is booked twice"
    );
    let (confirmed, held_now, _, _) = app.counts(event).await;
    assert_eq!(
        (confirmed, held.unwrap_or(held_now)),
        (booked.len() as u64, held_now),
        "counts against Postgres' {} booked seats",
        booked.len()
    );
    let map = app
        .send("GET", &format!("/events/{event}/seats"), As::Nobody, None)
        .await;
    assert_eq!(map.status, 200, "{:?}", map.body);
    let shown: BTreeSet<String> = map
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|seat| seat["status"] == "booked")
        .map(|seat| seat["seatCode"].as_str().unwrap().to_owned())
        .collect();
    let truth: BTreeSet<String> = booked.into_values().collect();
    assert_eq!(
        shown, truth,
        "the seat map's booked seats against Postgres'"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarted_from_an_older_snapshot_keeps_later_bookings_and_frees_later_cancels() {
    let Rig { mut redis, app, .. } = Rig::spawn(Proxies::NONE, |_| {}).await;
    let event = app.create_event(10).await;
    let first = app.book(event, "alice", &["S1"]).await;
    app.book(event, "alice", &["S2"]).await;
    let carols = app.hold(event, "carol", &["S5"]).await;
    let snapshot = redis.snapshot().await;

    // After the snapshot: a booking, a cancel of one made before it, and
    // Carol's hold booked and cancelled.
    let later = app.hold(event, "bob", &["S3", "S4"]).await;
    assert_eq!(app.confirm(event, "bob", &later).await.status, 200);
    assert_eq!(app.cancel(&first, As::Header("alice")).await.status, 200);
    assert_eq!(app.confirm(event, "carol", &carols).await.status, 200);
    assert_eq!(app.cancel(&carols, As::Header("carol")).await.status, 200);

    // Redis comes back OLDER: it remembers S1 booked, S3 and S4 free, and
    // Carol's hold of S5 live.
    redis.restart_from(&snapshot).await;
    let wait = Duration::from_secs(5);
    let taken = answered(wait, || app.reserve(event, "mallory", &["S3"])).await;
    taken.assert_error(409, "SEATS_UNAVAILABLE");
    let taken = answered(wait, || app.reserve(event, "mallory", &["S4", "S5"])).await;
    taken.assert_error(409, "SEATS_UNAVAILABLE");
    assert_eq!(taken.body["seats"], json!(["S4"]));
    // The booking's owner retrying its confirm is told it is booked, and
    // nothing is written twice.
    for _ in 0..2 {
        let retry = answered(wait, || app.confirm(event, "bob", &later)).await;
        assert_eq!(retry.status, 200, "{:?}", retry.body);
        assert_eq!(retry.str("bookingGroupId"), later);
    }
    let rig_truth = Truth::of(&app);
    assert_eq!(rig_truth.group(&later).await, confirmed(2));
    assert_agrees_with_postgres(&app, &rig_truth, event, Some(0)).await;
    assert_eq!(app.counts(event).await, (3, 0, 7, 10));

    // The seats cancelled after the snapshot are on sale again: Carol's
    // spent hold did not come back to keep S5.
    app.hold(event, "dave", &["S1", "S5"]).await;
    app.reserve(event, "dave", &["S2"])
        .await
        .assert_error(409, "SEATS_UNAVAILABLE");
    let late = app.confirm(event, "carol", &carols).await;
    late.assert_error(410, "HOLD_EXPIRED");
    assert_agrees_with_postgres(&app, &rig_truth, event, Some(2)).await;
}

/// A hold released after the snapshot must not come back with the older
/// data (a black-box audit saw one come back, block others and then be
/// confirmed): its seat is on sale at once and its confirm is refused.
/// The older data's holds go with it, as losing the hold store may lose
/// unconfirmed holds; its bookings do not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarted_from_an_older_snapshot_brings_no_released_hold_back() {
    let Rig { mut redis, app, .. } = Rig::spawn(Proxies::NONE, |_| {}).await;
    let event = app.create_event(10).await;
    let booking = app.book(event, "alice", &["S1"]).await;
    let erins = app.hold(event, "erin", &["S3"]).await;
    let franks = app.hold(event, "frank", &["S4"]).await;
    let snapshot = redis.snapshot().await;
    assert_eq!(app.release(event, "erin", &erins).await.status, 200);

    redis.restart_from(&snapshot).await;
    let wait = Duration::from_secs(5);
    let carols = answered(wait, || app.reserve(event, "carol", &["S3", "S4"])).await;
    assert_eq!(carols.status, 201, "{:?}", carols.body);
    app.confirm(event, "erin", &erins)
        .await
        .assert_error(410, "HOLD_EXPIRED");
    app.confirm(event, "frank", &franks)
        .await
        .assert_error(410, "HOLD_EXPIRED");
    app.reserve(event, "mallory", &["S1"])
        .await
        .assert_error(409, "SEATS_UNAVAILABLE");
    let truth = Truth::of(&app);
    assert_eq!(truth.group(&booking).await, confirmed(1));
    assert_eq!(truth.group(&erins).await, None);
    assert_agrees_with_postgres(&app, &truth, event, Some(2)).await;
}

/// Nothing answers from the older data before it is reloaded: the first
/// requests after the restart ask about a hold released since, by its
/// owner, and each finds it gone (a read, an extend and a release that
/// answered from the record the snapshot brought back would show it
/// live, move its expiry and release it a second time).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarted_from_an_older_snapshot_shows_no_released_hold() {
    let Rig { mut redis, app, .. } = Rig::spawn(Proxies::NONE, |_| {}).await;
    let event = app.create_event(10).await;
    let erins = app.hold(event, "erin", &["S3"]).await;
    let snapshot = redis.snapshot().await;
    assert_eq!(app.release(event, "erin", &erins).await.status, 200);

    redis.restart_from(&snapshot).await;
    let wait = Duration::from_secs(5);
    let path = format!("/holds/{erins}");
    let view = answered(wait, || app.send("GET", &path, As::Header("erin"), None)).await;
    view.assert_error(404, "HOLD_NOT_FOUND");
    app.send(
        "POST",
        &format!("/holds/{erins}/extend"),
        As::Header("erin"),
        None,
    )
    .await
    .assert_error(410, "HOLD_EXPIRED");
    app.release(event, "erin", &erins)
        .await
        .assert_error(404, "HOLD_NOT_FOUND");
    let carols = app.reserve(event, "carol", &["S3"]).await;
    assert_eq!(carols.status, 201, "{:?}", carols.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_paused_mid_sale_answers_503_with_retry_after_within_3_s_then_loses_nothing() {
    let Rig { mut redis, app, .. } =
        Rig::spawn(Proxies::NONE, |s| s.ledger.maintenance_interval_ms = 200).await;
    let event = app.create_event(20).await;
    let booking = app.book(event, "alice", &["S1", "S2"]).await;
    let bobs = app.hold(event, "bob", &["S3"]).await;
    let daves = app.hold(event, "dave", &["S5"]).await;

    redis.pause();
    let (reserve, seats) = (
        format!("/events/{event}/seats/reserve"),
        format!("/events/{event}/seats"),
    );
    let requests = [
        app.reserve(event, "carol", &["S4"]).boxed(),
        app.send(
            "POST",
            &reserve,
            As::Nobody,
            Some(json!({"userId": "erin", "quantity": 2})),
        )
        .boxed(),
        app.event(event).boxed(),
        app.send("GET", &seats, As::Nobody, None).boxed(),
        app.confirm(event, "bob", &bobs).boxed(),
        app.release(event, "dave", &daves).boxed(),
        app.send("GET", "/test-pg", As::Nobody, None).boxed(),
    ];
    let cancel = timed(app.cancel(&booking, As::Header("alice")));
    let ready = timed(app.send("GET", "/health/ready", As::Nobody, None));
    let (answers, (cancelled, cancel_took), (ready, ready_took)) =
        tokio::join!(join_all(requests.into_iter().map(timed)), cancel, ready);
    redis.resume();

    for (answer, took) in &answers {
        assert_unavailable(answer);
        assert!(*took <= REDIS_HANG_BOUND, "a 503 took {took:?}");
    }
    // Readiness, for load balancers, says so too.
    assert_eq!(ready.status, 503, "{:?}", ready.body);
    assert_eq!(ready.body["code"], "SERVICE_UNAVAILABLE");
    assert!(ready.body["error"].is_string());
    assert!(ready.headers.contains_key("retry-after"));
    assert!(
        ready_took <= REDIS_HANG_BOUND,
        "readiness took {ready_took:?}"
    );
    let slowest = answers.iter().map(|(_, took)| *took).max();
    eprintln!("under SIGSTOP: slowest 503 {slowest:?}, the cancel {cancel_took:?}");
    // The cancel committed in Postgres; its seats are freed once Redis
    // answers again.
    assert_eq!(cancelled.status, 200, "{:?}", cancelled.body);
    assert!(
        cancel_took <= REDIS_HANG_BOUND,
        "the cancel took {cancel_took:?}"
    );

    // Everything recovers by itself; the confirm's retry books it once.
    let retry = answered(Duration::from_secs(5), || app.confirm(event, "bob", &bobs)).await;
    assert_eq!(retry.status, 200, "{:?}", retry.body);
    let truth = Truth::of(&app);
    assert_eq!(truth.group(&bobs).await, confirmed(1));
    assert_eq!(truth.group(&booking).await.unwrap().status, "CANCELLED");
    wait_until(
        Duration::from_secs(5),
        "the cancelled seats on sale",
        || async { app.reserve(event, "carol", &["S1", "S2"]).await.status == 201 },
    )
    .await;
    // What Redis ran when it woke (Carol's and Erin's reserves, Dave's
    // release) may hold seats or not; the bookings are exactly Postgres'.
    assert_agrees_with_postgres(&app, &truth, event, None).await;
}

/// The rate limiter and a create's idempotency record are calls a request
/// can do without: under a hung Redis they give up within their budget,
/// so the request's answer still comes within its own operation's bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_paused_with_rate_limits_and_idempotency_keys_answers_within_the_same_bound() {
    let Rig { mut redis, app, .. } = Rig::spawn(Proxies::NONE, |s| {
        s.rate_limits.enabled = true;
    })
    .await;
    let event = app.create_event(20).await;
    let bobs = app.hold(event, "bob", &["S3"]).await;
    let create = json!({
        "name": "Late show",
        "date": "2030-06-02T19:30:00Z",
        "location": "Main hall",
        "totalSeats": 10,
    });
    let key = [("Idempotency-Key", "late-show-1")];
    let reserve_key = [("Idempotency-Key", "carol-s4")];
    let reserve = format!("/events/{event}/seats/reserve");
    let carols = json!({"seatCodes": ["S4"]});

    redis.pause();
    let requests = [
        app.reserve(event, "carol", &["S4"]).boxed(),
        app.send_with(
            "POST",
            &reserve,
            As::Header("carol"),
            &reserve_key,
            Some(carols),
        )
        .boxed(),
        app.confirm(event, "bob", &bobs).boxed(),
        app.event(event).boxed(),
    ];
    let created = timed(app.send_with(
        "POST",
        "/events",
        As::Header("alice"),
        &key,
        Some(create.clone()),
    ));
    let (answers, (created, create_took)) =
        tokio::join!(join_all(requests.into_iter().map(timed)), created);
    redis.resume();

    for (answer, took) in &answers {
        assert_unavailable(answer);
        assert!(*took <= REDIS_HANG_BOUND, "a 503 took {took:?}");
    }
    // Creating needs only Postgres, which works: the event is made, its
    // key kept with it, in well under the bound. Its calls on Redis (the
    // key's two, the mirror's load) wait 250 ms each at most: it took over
    // 2 s while the load was awaited to its timeout.
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert!(
        create_took <= Duration::from_millis(1500),
        "the create took {create_took:?}"
    );
    let again = answered(Duration::from_secs(5), || {
        app.send_with(
            "POST",
            "/events",
            As::Header("alice"),
            &key,
            Some(create.clone()),
        )
    })
    .await;
    assert_eq!(again.status, 201, "{:?}", again.body);
    assert_eq!(again.body["eventId"], created.body["eventId"]);
    let retry = answered(Duration::from_secs(5), || app.confirm(event, "bob", &bobs)).await;
    assert_eq!(retry.status, 200, "{:?}", retry.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_and_restarted_empty_mid_sale_reloads_each_event_once() {
    let mut rig = Rig::spawn(Proxies::NONE, |_| {}).await;
    let other = rig.another_instance(|_| {}).await;
    let app = &rig.app;
    let one = app.create_event(30).await;
    let rows = app
        .send(
            "POST",
            "/events",
            As::Nobody,
            Some(json!({
                "name": "Rows", "date": "2030-06-01T19:30:00Z", "location": "Hall",
                "rows": [{"label": "A", "seats": 10}, {"label": "B", "seats": 10}],
            })),
        )
        .await;
    let two = rows.body["eventId"].as_i64().unwrap();
    app.book(one, "alice", &["S1", "S2", "S3"]).await;
    other.book(two, "bob", &["A1", "B10"]).await;
    app.hold(one, "carol", &["S4"]).await;

    rig.redis.kill();
    // Down: 503s at once, from both instances. Enough of them that every
    // pooled connection to the dead server is tried, found broken and
    // dropped.
    let down = join_all((0..64).map(|i| timed([app, &other][i % 2].event(one)))).await;
    for (answer, took) in &down {
        assert_unavailable(answer);
        assert!(*took <= REDIS_HANG_BOUND, "a 503 took {took:?}");
    }

    rig.redis.restart_empty().await;
    // Everyone comes back at once, to both events, through both instances.
    let reads = join_all((0..50).map(|i| {
        let event = if i % 2 == 0 { one } else { two };
        let path = match i % 4 {
            0 | 1 => format!("/events/{event}"),
            _ => format!("/events/{event}/seats"),
        };
        let instance = [app, &other][(i / 4) % 2];
        async move { timed(instance.send("GET", &path, As::Nobody, None)).await }
    }))
    .await;
    let mut ok = 0;
    for (answer, took) in &reads {
        assert_no_500(answer);
        assert!(
            *took <= Duration::from_secs(8),
            "a read after the restart took {took:?}"
        );
        ok += usize::from(answer.status == 200);
    }
    eprintln!("after the restart: {ok} of 50 reads answered 200, the rest 503");
    assert!(ok > 0, "no read after the restart succeeded");
    // One load per event for all those requests of both instances: the
    // mirror's epoch counts the loads begun since the empty server made
    // it anew.
    assert_eq!(rig.loads_begun(one).await, 1, "loads of event {one}");
    assert_eq!(rig.loads_begun(two).await, 1, "loads of event {two}");

    let truth = Truth::of(app);
    for (event, seat) in [(one, "S2"), (two, "B10")] {
        app.reserve(event, "mallory", &[seat])
            .await
            .assert_error(409, "SEATS_UNAVAILABLE");
    }
    // Carol's unconfirmed hold went with Redis' data; the bookings did not.
    assert_agrees_with_postgres(app, &truth, one, Some(0)).await;
    assert_agrees_with_postgres(app, &truth, two, Some(0)).await;
    app.hold(one, "mallory", &["S4"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_backends_terminated_mid_confirm_answer_503_and_a_retry_books_once() {
    let rig = Rig::spawn(Proxies::NONE, |_| {}).await;
    let app = &rig.app;
    let truth = rig.truth();
    let event = app.create_event(20).await;
    // Warm the pool: connections that have run a confirm before.
    join_all((11..=14).map(|n| {
        let seat = format!("S{n}");
        async move { app.book(event, &format!("early-{n}"), &[&seat]).await }
    }))
    .await;
    let users = ["u1", "u2", "u3", "u4"];
    let mut holds = Vec::new();
    for (n, user) in users.iter().enumerate() {
        holds.push(app.hold(event, user, &[&format!("S{}", n + 1)]).await);
    }

    // Stall the confirms on a lock, then end the app's sessions under them.
    let database = app.database.as_ref().unwrap();
    let mut saboteur = database.raw_client().await;
    let lock = saboteur.transaction().await.unwrap();
    lock.batch_execute("LOCK TABLE bookings IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let admin = PgAdmin::local().await;
    let confirms = join_all(
        users
            .iter()
            .zip(&holds)
            .map(|(user, hold)| timed(app.confirm(event, user, hold))),
    );
    let terminate = async {
        wait_until(Duration::from_secs(5), "confirms waiting", || async {
            admin.backends(database.name()).await.iter().any(|b| {
                b.application_name == "booking-api" && b.state.as_deref() == Some("active")
            })
        })
        .await;
        admin
            .terminate_backends(database.name(), "booking-api")
            .await
    };
    let (answers, terminated) = tokio::join!(confirms, terminate);
    assert!(terminated > 0);
    for (answer, took) in &answers {
        assert_unavailable(answer);
        assert!(*took <= Duration::from_secs(4), "a 503 took {took:?}");
    }

    // Unknown outcomes keep their seats taken: nobody else can hold them.
    for n in 1..=4 {
        app.reserve(event, "mallory", &[&format!("S{n}")])
            .await
            .assert_error(409, "SEATS_UNAVAILABLE");
    }
    lock.rollback().await.unwrap();
    for (user, hold) in users.iter().zip(&holds) {
        for _ in 0..2 {
            let retry = answered(Duration::from_secs(5), || app.confirm(event, user, hold)).await;
            assert_eq!(retry.status, 200, "{:?}", retry.body);
            assert_eq!(&retry.str("bookingGroupId"), hold);
        }
        assert_eq!(truth.group(hold).await, confirmed(1));
    }
    assert_agrees_with_postgres(app, &truth, event, Some(0)).await;
    assert_eq!(app.counts(event).await, (8, 0, 12, 20));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_postgres_answers_503_in_bounded_time_and_each_confirm_resolves_once() {
    let rig = Rig::spawn(
        Proxies {
            redis: false,
            postgres: true,
        },
        quick_settling,
    )
    .await;
    let app = &rig.app;
    let truth = rig.truth();
    let event = app.create_event(12).await;
    // Warm the pool, so the confirms below are sent on open connections.
    join_all((9..=12).map(|n| {
        let seat = format!("S{n}");
        async move { app.book(event, &format!("early-{n}"), &[&seat]).await }
    }))
    .await;
    let alices = app.hold(event, "alice", &["S1", "S2"]).await;
    let bobs = app.hold(event, "bob", &["S3"]).await;
    let carols = app.hold(event, "carol", &["S4"]).await;

    rig.pg_proxy().blackhole(true);
    let answers = join_all(
        [("alice", &alices), ("bob", &bobs), ("carol", &carols)]
            .map(|(user, hold)| timed(app.confirm(event, user, hold))),
    )
    .await;
    // Pool wait 100 ms + connect 100 ms + statement 200 ms + 1 s margin.
    for (answer, took) in &answers {
        assert_unavailable(answer);
        assert!(*took <= Duration::from_secs(3), "a 503 took {took:?}");
    }
    // Their seats stay taken while Postgres may still commit them.
    for seat in ["S1", "S2", "S3", "S4"] {
        app.reserve(event, "mallory", &[seat])
            .await
            .assert_error(409, "SEATS_UNAVAILABLE");
    }
    rig.pg_proxy().blackhole(false);

    // Alice and Bob retry: booked, once.
    for (user, hold, seats) in [("alice", &alices, 2), ("bob", &bobs, 1)] {
        let retry = answered(Duration::from_secs(5), || app.confirm(event, user, hold)).await;
        assert_eq!(retry.status, 200, "{:?}", retry.body);
        assert_eq!(truth.group(hold).await, confirmed(seats));
    }
    // Carol never retries: settling decides hers.
    let carol = settled(&rig, event, &carols, "S4").await;

    // Erin's confirm hangs too, but the link is cut before it heals: her
    // statement never reaches Postgres, and settling records that it never
    // will.
    let erins = app.hold(event, "erin", &["S6"]).await;
    rig.pg_proxy().blackhole(true);
    let (answer, took) = timed(app.confirm(event, "erin", &erins)).await;
    assert_unavailable(&answer);
    assert!(took <= Duration::from_secs(3), "a 503 took {took:?}");
    rig.pg_proxy().cut();
    rig.pg_proxy().blackhole(false);
    let erin = settled(&rig, event, &erins, "S6").await;
    eprintln!("settled as booked: Carol's {carol:?}, Erin's {erin:?}");
    assert_ne!(erin, Some(true), "a statement cut off on its way committed");

    // Late confirms answer as settling decided; nothing is booked twice.
    let mut held = 0;
    for (user, hold, outcome) in [("carol", &carols, carol), ("erin", &erins, erin)] {
        let late = app.confirm(event, user, hold).await;
        if outcome == Some(false) {
            late.assert_error(410, "HOLD_EXPIRED");
            held += 1; // by Mallory, who got the seat
        } else {
            assert_eq!(late.status, 200, "{:?}", late.body);
            assert_eq!(truth.group(hold).await, confirmed(1));
        }
    }
    assert_agrees_with_postgres(app, &truth, event, Some(held)).await;
}

/// How a confirm that a hung Postgres left pending ends when its owner
/// never retries: once its grace is over, settling decides it from
/// Postgres, with a fence a late commit cannot pass. `Some(true)`: the
/// hung statement committed late, and the seat is booked. `Some(false)`:
/// it never will, and the seat is free (Mallory holds it now). `None`: the
/// confirm never left the pool (no open connection), so the hold is
/// simply held still.
async fn settled(rig: &Rig, event: i64, hold: &str, seat: &str) -> Option<bool> {
    let (app, truth) = (&rig.app, rig.truth());
    if !rig.is_pending(event, hold).await {
        assert_eq!(truth.group(hold).await, None);
        return None;
    }
    let booked = wait_for(Duration::from_secs(10), "the confirm settled", || async {
        let group = truth.group(hold).await;
        let taken = app.reserve(event, "mallory", &[seat]).await;
        assert_no_500(&taken);
        match (group, taken.status.as_u16()) {
            (Some(g), 409) if g.status == "CONFIRMED" && g.rows == 1 => Ok(true),
            (Some(g), 201) if g.status == "ABORTED" && g.rows == 0 => Ok(false),
            (group, status) => Err(format!("group {group:?}, a reserve of {seat}: {status}")),
        }
    })
    .await;
    Some(booked)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_while_redis_is_unreachable_answers_200_and_frees_its_seats_once_it_is_back() {
    let rig = Rig::spawn(
        Proxies {
            redis: true,
            postgres: false,
        },
        |s| s.ledger.maintenance_interval_ms = 200,
    )
    .await;
    let app = &rig.app;
    let truth = rig.truth();
    let event = app.create_event(10).await;
    let booking = app.book(event, "alice", &["S1", "S2"]).await;

    // Redis' data survives; the app just cannot reach it.
    rig.redis_proxy().refuse(true);
    rig.redis_proxy().cut();
    let (cancelled, took) = timed(app.cancel(&booking, As::Header("alice"))).await;
    assert_eq!(cancelled.status, 200, "{:?}", cancelled.body);
    assert!(took <= REDIS_HANG_BOUND, "the cancel took {took:?}");
    assert_eq!(truth.group(&booking).await.unwrap().status, "CANCELLED");
    assert!(truth.unbook_pending(&booking).await, "the unbook is queued");
    assert_unavailable(&app.reserve(event, "bob", &["S1"]).await);

    // Back: maintenance frees the seats without anyone asking.
    rig.redis_proxy().refuse(false);
    let back = Instant::now();
    wait_until(Duration::from_secs(5), "the unbook to run", || async {
        !truth.unbook_pending(&booking).await
    })
    .await;
    let holdable = answered(Duration::from_secs(2), || {
        app.reserve(event, "bob", &["S1", "S2"])
    })
    .await;
    assert_eq!(holdable.status, 201, "{:?}", holdable.body);
    assert!(back.elapsed() <= Duration::from_secs(5));
    assert_agrees_with_postgres(app, &truth, event, Some(2)).await;
}

/// A reserve whose answer Redis sends too late is told 503, yet Redis made
/// its hold: nobody knows its id, so nobody could confirm or release it,
/// and its seats stayed held for the whole hold time (the latency test
/// below saw it under CI's load). The api forgets such holds once Redis
/// answers again: the seats are on sale within seconds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reserve_answered_503_because_redis_was_late_holds_nothing_for_long() {
    let rig = Rig::spawn(Proxies::BOTH, |_| {}).await;
    let app = &rig.app;
    let event = app.create_event(10).await;
    app.hold(event, "alice", &["S1"]).await;

    // 1.5 s each way: the script runs at 1.5 s, its answer would be back
    // at 3 s, past the 2 s a Redis call may take.
    rig.redis_proxy().set_delay(Duration::from_millis(1500));
    let late = app.reserve(event, "bob", &["S2", "S3"]).await;
    assert_unavailable(&late);
    rig.redis_proxy().set_delay(Duration::ZERO);

    let started = Instant::now();
    loop {
        let (_, held, _, _) = app.counts(event).await;
        if held == 1 {
            break;
        }
        assert_eq!(held, 3, "Alice's seat and, for a while, Bob's two");
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the late reserve's seats are still held"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let carols = app.reserve(event, "carol", &["S2", "S3"]).await;
    assert_eq!(carols.status, 201, "{:?}", carols.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_on_either_store_slows_answers_but_fails_none_with_a_500() {
    let rig = Rig::spawn(Proxies::BOTH, |_| {}).await;
    let app = &rig.app;
    let truth = rig.truth();
    let event = app.create_event(40).await;
    let ms = Duration::from_millis;
    let rounds = [
        ("redis", ms(250), Duration::ZERO),
        ("postgres", Duration::ZERO, ms(200)),
        ("both", ms(200), ms(200)),
        ("redis", ms(500), Duration::ZERO),
        ("postgres", Duration::ZERO, ms(500)),
    ];
    let mut booked = Vec::new();
    let mut holds = 0u64;
    let mut slowest = Duration::ZERO;
    for (round, (_, redis_delay, pg_delay)) in rounds.iter().enumerate() {
        rig.redis_proxy().set_delay(*redis_delay);
        rig.pg_proxy().set_delay(*pg_delay);
        let buyers = join_all((0..4).map(|buyer| async move {
            let user = format!("buyer-{buyer}");
            let seats = [
                format!("S{}", round * 8 + buyer * 2 + 1),
                format!("S{}", round * 8 + buyer * 2 + 2),
            ];
            let codes = [seats[0].as_str(), seats[1].as_str()];
            let mut answers = Vec::new();
            let (reserved, took) = timed(app.reserve(event, &user, &codes)).await;
            answers.push(took);
            assert_no_500(&reserved);
            let mut booking = None;
            let held = reserved.status == 201;
            if held {
                let hold = reserved.str("holdGroupId");
                let (confirm, took) = timed(app.confirm(event, &user, &hold)).await;
                answers.push(took);
                assert_no_500(&confirm);
                if confirm.status == 200 {
                    booking = Some(hold);
                }
            }
            let (read, took) = timed(app.event(event)).await;
            answers.push(took);
            assert_no_500(&read);
            (held, booking, answers)
        }))
        .await;
        for (held, booking, took) in buyers {
            holds += u64::from(held);
            booked.extend(booking);
            slowest = took.into_iter().fold(slowest, Duration::max);
        }
    }
    rig.redis_proxy().set_delay(Duration::ZERO);
    rig.pg_proxy().set_delay(Duration::ZERO);
    eprintln!(
        "under latency: {} of 20 bookings made, slowest answer {slowest:?}",
        booked.len()
    );
    // Every wait under these delays is well inside the stores' timeouts.
    assert!(
        slowest <= Duration::from_secs(8),
        "an answer took {slowest:?}"
    );
    assert!(!booked.is_empty(), "nothing could be booked under latency");
    let groups = truth.groups(&booked).await;
    for hold in &booked {
        assert_eq!(groups.get(hold).cloned(), confirmed(2), "booking {hold}");
    }
    // A confirm that failed (503) gave its hold back: still held, two
    // seats each. A reserve told 503 because Redis answered late may have
    // held its seats all the same, until the api forgets that hold (within
    // seconds: the test above); under CI's load both happen at 500 ms a
    // round trip.
    let held = 2 * (holds - booked.len() as u64);
    let started = Instant::now();
    while app.counts(event).await.1 != held && started.elapsed() < Duration::from_secs(15) {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_agrees_with_postgres(app, &truth, event, Some(held)).await;
}
