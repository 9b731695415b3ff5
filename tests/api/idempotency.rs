//! `Idempotency-Key` on POSTs: replays without redoing the work, 422 for
//! another body, 409 while the first runs, scoped per caller, kept across
//! restarts and instances on the real stores, never keeping a 5xx.

use serde_json::{json, Value};

use crate::helpers::{
    spawn_app, spawn_app_with, spawn_jwt_app, token, Answer, As, Stores, TestApp, STORES,
};

fn new_event() -> Value {
    json!({"name": "Concert", "date": "2030-06-01T19:30:00Z", "location": "Main hall", "totalSeats": 10})
}

async fn post(app: &TestApp, path: &str, key: &str, who: As<'_>, body: Value) -> Answer {
    app.send_with("POST", path, who, &[("Idempotency-Key", key)], Some(body))
        .await
}

fn replayed(answer: &Answer) -> bool {
    answer
        .headers
        .get("idempotent-replayed")
        .is_some_and(|v| v == "true")
}

on_both_stores! {
    async fn a_retried_post_replays_its_first_response_and_does_no_work() {
        let app = spawn_app().await;
        let first = post(&app, "/events", "create-1", As::Nobody, new_event()).await;
        assert_eq!(first.status, 201, "{:?}", first.body);
        assert!(!replayed(&first));
        let again = post(&app, "/events", "create-1", As::Nobody, new_event()).await;
        assert_eq!(again.status, 201);
        assert!(replayed(&again));
        assert_eq!(again.body, first.body);
        assert_eq!(again.headers["location"], first.headers["location"]);
        assert_eq!(again.headers["content-type"], "application/json");
        let event = first.body["eventId"].as_i64().unwrap();
        // No second event was made: the next one gets the next id.
        assert_eq!(app.create_event(5).await, event + 1);

        let path = format!("/events/{event}/seats/reserve");
        let body = json!({"userId": "alice", "seatCodes": ["S1", "S2"]});
        let held = post(&app, &path, "hold-1", As::Nobody, body.clone()).await;
        assert_eq!(held.status, 201);
        let again = post(&app, &path, "hold-1", As::Nobody, body).await;
        assert!(replayed(&again));
        assert_eq!(again.str("holdGroupId"), held.str("holdGroupId"));
        assert_eq!(app.counts(event).await.1, 2, "one hold, not two");

        // An error is an answer too: replayed as it was, even once the
        // seat is free again (the work is never redone under that key).
        let taken = json!({"userId": "bob", "seatCodes": ["S1"]});
        let conflict = post(&app, &path, "bob-1", As::Nobody, taken.clone()).await;
        conflict.assert_error(409, "SEATS_UNAVAILABLE");
        app.release(event, "alice", &held.str("holdGroupId")).await;
        let again = post(&app, &path, "bob-1", As::Nobody, taken).await;
        again.assert_error(409, "SEATS_UNAVAILABLE");
        assert!(replayed(&again));
        assert_eq!(app.counts(event).await.1, 0);
        let (_, _, metrics) = app.get_text("/metrics").await;
        for outcome in ["stored", "replayed"] {
            let series = format!("booking_idempotency_requests_total{{outcome=\"{outcome}\"}}");
            assert!(metrics.contains(&series), "{series}");
        }
        let replay = "booking_operations_total{operation=\"hold\",result=\"replayed\"}";
        assert!(metrics.contains(replay), "{replay}");
    }
}

on_both_stores! {
    async fn the_same_key_with_another_request_is_422() {
        let app = spawn_app().await;
        assert_eq!(post(&app, "/events", "k", As::Nobody, new_event()).await.status, 201);
        let mut other = new_event();
        other["totalSeats"] = json!(11);
        post(&app, "/events", "k", As::Nobody, other)
            .await
            .assert_error(422, "IDEMPOTENCY_KEY_REUSED");
        // Another path is another request, too.
        let event = app.create_event(5).await;
        post(&app, &format!("/events/{event}/seats/reserve"), "k", As::Nobody, new_event())
            .await
            .assert_error(422, "IDEMPOTENCY_KEY_REUSED");
    }
}

on_both_stores! {
    async fn keys_are_scoped_per_caller() {
        let app = spawn_app().await;
        let event = app.create_event(10).await;
        let path = format!("/events/{event}/seats/reserve");
        let alice = post(&app, &path, "same", As::Header("alice"), json!({"seatCodes": ["S1"]})).await;
        let bob = post(&app, &path, "same", As::Header("bob"), json!({"seatCodes": ["S1"]})).await;
        assert_eq!(alice.status, 201);
        // Bob's request ran: his own answer, not Alice's replayed.
        bob.assert_error(409, "SEATS_UNAVAILABLE");
        assert!(!replayed(&bob));
        // The body's userId names the caller in trust mode, as it does for
        // the handler: the same key and body from Alice replays.
        let again = post(&app, &path, "same", As::Header("alice"), json!({"seatCodes": ["S1"]})).await;
        assert!(replayed(&again));
    }
}

on_both_stores! {
    async fn a_create_naming_a_bad_caller_is_refused_so_a_retry_makes_nothing() {
        let app = spawn_app().await;
        let first = app.create_event(5).await;
        let long = "u".repeat(129);
        for (who, user) in [
            (As::Nobody, Some("")),
            (As::Nobody, Some("a\nb")),
            (As::Nobody, Some(long.as_str())),
            (As::Header(&long), None),
        ] {
            let mut body = new_event();
            if let Some(user) = user {
                body["userId"] = json!(user);
            }
            for _ in 0..2 {
                post(&app, "/events", "bad-caller", who, body.clone())
                    .await
                    .assert_error(400, "VALIDATION_ERROR");
            }
        }
        // A good caller may name itself; nothing was made in between.
        let mut body = new_event();
        body["userId"] = json!("alice");
        let made = post(&app, "/events", "good-caller", As::Nobody, body.clone()).await;
        assert_eq!(made.status, 201, "{:?}", made.body);
        assert_eq!(made.body["eventId"], first + 1);
        let again = post(&app, "/events", "good-caller", As::Nobody, body).await;
        assert!(replayed(&again));
    }
}

/// API.md: a replay answers what the first request was answered, whatever
/// changed since. An admin whose role was taken away gets the create's
/// 201 again, and nothing is made; another user with the key gets a 403.
#[tokio::test]
async fn a_replay_answers_as_the_first_time_even_after_a_role_change() {
    let app = spawn_jwt_app().await;
    let (admin, demoted) = (token("boss", true), token("boss", false));
    let first = post(&app, "/events", "role", As::Bearer(&admin), new_event()).await;
    assert_eq!(first.status, 201, "{:?}", first.body);
    let again = post(&app, "/events", "role", As::Bearer(&demoted), new_event()).await;
    assert_eq!(again.status, 201, "{:?}", again.body);
    assert!(replayed(&again));
    assert_eq!(again.body["eventId"], first.body["eventId"]);
    let other = token("mallory", false);
    post(&app, "/events", "role", As::Bearer(&other), new_event())
        .await
        .assert_error(403, "FORBIDDEN");
    let next = app.create_event_as(As::Bearer(&admin), 3).await;
    assert_eq!(
        next.body["eventId"],
        first.body["eventId"].as_i64().unwrap() + 1
    );
}

on_both_stores! {
    async fn a_malformed_key_is_400_and_a_quoted_one_is_the_same_key() {
        let app = spawn_app().await;
        for bad in ["", &"k".repeat(256)] {
            post(&app, "/events", bad, As::Nobody, new_event())
                .await
                .assert_error(400, "INVALID_IDEMPOTENCY_KEY");
        }
        let raw = app
            .client
            .post(format!("{}/events", app.address))
            .header("Idempotency-Key", reqwest::header::HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap())
            .json(&new_event())
            .send()
            .await
            .unwrap();
        assert_eq!(raw.status(), 400);
        let ok = post(&app, "/events", &"k".repeat(255), As::Nobody, new_event()).await;
        assert_eq!(ok.status, 201);
        let first = post(&app, "/events", "\"quoted\"", As::Nobody, new_event()).await;
        let again = post(&app, "/events", "quoted", As::Nobody, new_event()).await;
        assert!(replayed(&again));
        assert_eq!(again.body, first.body);
        // GETs ignore the header.
        let get = app.send_with("GET", "/events/1", As::Nobody, &[("Idempotency-Key", "")], None).await;
        assert_eq!(get.status, 200);
    }
}

on_both_stores! {
    async fn concurrent_duplicates_run_once() {
        let app = spawn_app().await;
        let mut big = new_event();
        big["totalSeats"] = json!(100_000);
        let answers = futures_util::future::join_all(
            (0..8).map(|_| post(&app, "/events", "big", As::Nobody, big.clone())),
        )
        .await;
        let ran: Vec<&Answer> = answers.iter().filter(|a| a.status == 201 && !replayed(a)).collect();
        assert_eq!(ran.len(), 1, "{answers:?}");
        let event = ran[0].body["eventId"].as_i64().unwrap();
        let mut in_use = 0;
        for answer in &answers {
            if answer.status == 409 {
                answer.assert_error(409, "IDEMPOTENCY_KEY_IN_USE");
                in_use += 1;
            } else {
                assert_eq!(answer.status, 201);
                assert_eq!(answer.body["eventId"], event);
            }
        }
        assert_eq!(app.create_event(5).await, event + 1, "one event was made");
        if STORES.with(|s| *s) == Stores::PostgresRedis {
            // 100,000 seats take Postgres a good fraction of a second: the
            // others arrived while the first ran.
            assert!(in_use > 0, "{answers:?}");
        }
    }
}

async fn real_app(change: impl FnOnce(&mut booking_api::Settings)) -> TestApp {
    STORES
        .scope(Stores::PostgresRedis, spawn_app_with(change))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replays_survive_a_restart_and_work_across_instances() {
    let mut first = real_app(|_| {}).await;
    let created = post(&first, "/events", "restart", As::Nobody, new_event()).await;
    assert_eq!(created.status, 201);
    let settings = first.settings.clone();
    let database = first.database.take();
    first.stop().await;

    let mut second = real_app(|s| {
        s.postgres.url = settings.postgres.url.clone();
        s.redis.key_prefix = settings.redis.key_prefix.clone();
    })
    .await;
    second.database = database;
    let third = real_app(|s| {
        s.postgres.url = settings.postgres.url.clone();
        s.redis.key_prefix = settings.redis.key_prefix.clone();
    })
    .await;
    for app in [&second, &third] {
        let again = post(app, "/events", "restart", As::Nobody, new_event()).await;
        assert!(replayed(&again), "{:?}", again.headers);
        assert_eq!(again.body, created.body);
    }
    let event = created.body["eventId"].as_i64().unwrap();
    assert_eq!(third.create_event(5).await, event + 1);
    drop(first);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_error_is_not_kept_so_the_retry_runs() {
    let app = real_app(|_| {}).await;
    let client = app.database.as_ref().unwrap().raw_client().await;
    client
        .batch_execute("ALTER TABLE events RENAME TO events_away")
        .await
        .unwrap();
    let failed = post(&app, "/events", "retry-me", As::Nobody, new_event()).await;
    assert!(failed.status.is_server_error(), "{:?}", failed.body);
    client
        .batch_execute("ALTER TABLE events_away RENAME TO events")
        .await
        .unwrap();
    let retried = post(&app, "/events", "retry-me", As::Nobody, new_event()).await;
    assert_eq!(retried.status, 201, "{:?}", retried.body);
    assert!(!replayed(&retried));
}
