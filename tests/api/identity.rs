//! Who may do what, in both identity modes.

use serde_json::json;

use crate::helpers::{spawn_app, spawn_jwt_app, token, token_with, As, JWT_SECRET};

on_both_stores! {
    async fn trust_mode_takes_the_caller_from_the_body_then_the_header() {
        let app = spawn_app().await;
        let id = app.create_event(10).await;
        let path = format!("/events/{id}/seats/reserve");
        let by_header = app
            .send(
                "POST",
                &path,
                As::Header("alice"),
                Some(json!({"seatCodes": ["S1"]})),
            )
            .await;
        assert_eq!(by_header.status, 201);
        let hold = by_header.str("holdGroupId");
        // alice owns it: the header names her for confirm as well.
        let confirm = app
            .send(
                "POST",
                &format!("/events/{id}/seats/confirm"),
                As::Header("alice"),
                Some(json!({"holdGroupId": hold})),
            )
            .await;
        assert_eq!(confirm.status, 200, "{:?}", confirm.body);
        let nobody = app
            .send(
                "POST",
                &path,
                As::Nobody,
                Some(json!({"seatCodes": ["S2"]})),
            )
            .await;
        nobody.assert_error(401, "UNAUTHORIZED");
        // Two X-User-Id headers name nobody in particular.
        app.send_with(
            "POST",
            &path,
            As::Nobody,
            &[("X-User-Id", "alice"), ("X-User-Id", "bob")],
            Some(json!({"seatCodes": ["S3"]})),
        )
        .await
        .assert_error(400, "VALIDATION_ERROR");
    }
}

on_both_stores! {
    async fn trust_mode_keeps_bookings_to_their_owner() {
        let app = spawn_app().await;
        let id = app.create_event(10).await;
        let booking = app.book(id, "alice", &["S1"]).await;
        app.booking(&booking, As::Header("bob"))
            .await
            .assert_error(403, "NOT_BOOKING_OWNER");
        app.cancel(&booking, As::Header("bob"))
            .await
            .assert_error(403, "NOT_BOOKING_OWNER");
        app.booking(&booking, As::Nobody)
            .await
            .assert_error(401, "UNAUTHORIZED");
        app.cancel(&booking, As::Nobody)
            .await
            .assert_error(401, "UNAUTHORIZED");
        assert_eq!(app.counts(id).await.0, 1, "the booking survived");
    }
}

on_both_stores! {
    async fn jwt_mode_lets_only_admins_create_events() {
        let app = spawn_jwt_app().await;
        app.create_event_as(As::Nobody, 10)
            .await
            .assert_error(401, "UNAUTHORIZED");
        app.create_event_as(As::Bearer(&token("alice", false)), 10)
            .await
            .assert_error(403, "FORBIDDEN");
        let created = app
            .create_event_as(As::Bearer(&token("boss", true)), 10)
            .await;
        assert_eq!(created.status, 201);
        // A body naming someone else is refused, as on every endpoint.
        let body = json!({"name": "Gig", "date": "2030-01-01T20:00:00Z", "location": "Club",
            "totalSeats": 5, "userId": "someone-else"});
        app.send("POST", "/events", As::Bearer(&token("boss", true)), Some(body))
            .await
            .assert_error(403, "FORBIDDEN");
    }
}

on_both_stores! {
    async fn jwt_mode_refuses_bad_tokens() {
        let app = spawn_jwt_app().await;
        let id = create_event_as_admin(&app).await;
        let path = format!("/events/{id}/seats/reserve");
        let body = || Some(json!({"seatCodes": ["S1"]}));
        let now = chrono::Utc::now().timestamp();
        let expired = token_with(json!({"sub": "alice", "exp": now - 3600}), JWT_SECRET);
        let wrong_key = token_with(
            json!({"sub": "alice", "exp": now + 3600}),
            "another-secret-entirely",
        );
        let no_sub = token_with(json!({"exp": now + 3600}), JWT_SECRET);
        let no_exp = token_with(json!({"sub": "alice"}), JWT_SECRET);
        for bad in [
            expired.as_str(),
            wrong_key.as_str(),
            no_sub.as_str(),
            no_exp.as_str(),
            "garbage",
        ] {
            app.send("POST", &path, As::Bearer(bad), body())
                .await
                .assert_error(401, "UNAUTHORIZED");
        }
        app.send("POST", &path, As::Nobody, body())
            .await
            .assert_error(401, "UNAUTHORIZED");
        // trust-mode naming means nothing here.
        app.send("POST", &path, As::Header("alice"), body())
            .await
            .assert_error(401, "UNAUTHORIZED");
        assert_eq!(app.counts(id).await, (0, 0, 10, 10));
        // The scheme's name is case-insensitive; another scheme is not a
        // bearer token.
        let alice = token("alice", false);
        for (header, status) in [
            (format!("bearer {alice}"), 201),
            (format!("BEARER {alice}"), 409),
            (format!("Basic {alice}"), 401),
            (alice.clone(), 401),
        ] {
            let answer = app
                .send_with("POST", &path, As::Nobody, &[("Authorization", &header)], body())
                .await;
            assert_eq!(answer.status, status, "{header}: {:?}", answer.body);
        }
        // Two Authorization headers: which one counts would depend on who
        // reads them, so neither does (the first one won before).
        let bob = format!("Bearer {}", token("bob", false));
        for pair in [[bob.as_str(), "Bearer garbage"], [bob.as_str(), bob.as_str()]] {
            app.send_with(
                "POST",
                &path,
                As::Nobody,
                &[("Authorization", pair[0]), ("Authorization", pair[1])],
                Some(json!({"seatCodes": ["S2"]})),
            )
            .await
            .assert_error(401, "UNAUTHORIZED");
        }
        assert_eq!(app.counts(id).await, (0, 1, 9, 10));
    }
}

on_both_stores! {
    async fn jwt_mode_refuses_a_body_user_other_than_the_token() {
        let app = spawn_jwt_app().await;
        let id = create_event_as_admin(&app).await;
        let alice = token("alice", false);
        let path = format!("/events/{id}/seats/reserve");
        let mismatch = app
            .send(
                "POST",
                &path,
                As::Bearer(&alice),
                Some(json!({"userId": "bob", "seatCodes": ["S1"]})),
            )
            .await;
        mismatch.assert_error(403, "FORBIDDEN");
        let same = app
            .send(
                "POST",
                &path,
                As::Bearer(&alice),
                Some(json!({"userId": "alice", "seatCodes": ["S1"]})),
            )
            .await;
        assert_eq!(same.status, 201);
    }
}

on_both_stores! {
    async fn jwt_mode_keeps_holds_and_bookings_to_their_owner_and_admins() {
        let app = spawn_jwt_app().await;
        let id = create_event_as_admin(&app).await;
        let (alice, bob, admin) = (
            token("alice", false),
            token("bob", false),
            token("boss", true),
        );
        let reserve = |seat: &'static str| {
            let alice = alice.clone();
            let app = &app;
            async move {
                app.send(
                    "POST",
                    &format!("/events/{id}/seats/reserve"),
                    As::Bearer(&alice),
                    Some(json!({"seatCodes": [seat]})),
                )
                .await
                .str("holdGroupId")
            }
        };
        let hold = reserve("S1").await;
        let confirm_path = format!("/events/{id}/seats/confirm");
        let release_path = format!("/events/{id}/seats/release");
        let hold_body = || Some(json!({"holdGroupId": hold}));
        app.send("POST", &confirm_path, As::Bearer(&bob), hold_body())
            .await
            .assert_error(403, "NOT_HOLD_OWNER");
        app.send("POST", &release_path, As::Bearer(&bob), hold_body())
            .await
            .assert_error(403, "NOT_HOLD_OWNER");
        app.send("POST", &confirm_path, As::Nobody, hold_body())
            .await
            .assert_error(401, "UNAUTHORIZED");
        let confirmed = app
            .send("POST", &confirm_path, As::Bearer(&alice), hold_body())
            .await;
        assert_eq!(confirmed.status, 200);

        app.booking(&hold, As::Bearer(&bob))
            .await
            .assert_error(403, "NOT_BOOKING_OWNER");
        app.cancel(&hold, As::Bearer(&bob))
            .await
            .assert_error(403, "NOT_BOOKING_OWNER");
        app.booking(&hold, As::Nobody)
            .await
            .assert_error(401, "UNAUTHORIZED");
        assert_eq!(app.booking(&hold, As::Bearer(&alice)).await.status, 200);
        assert_eq!(app.booking(&hold, As::Bearer(&admin)).await.status, 200);
        assert_eq!(app.cancel(&hold, As::Bearer(&admin)).await.status, 200);

        let second = reserve("S2").await;
        let release = app
            .send(
                "POST",
                &release_path,
                As::Bearer(&alice),
                Some(json!({"holdGroupId": second})),
            )
            .await;
        assert_eq!(release.status, 200);
    }
}

/// A 10-seat event created with an admin's token (jwt mode).
async fn create_event_as_admin(app: &crate::helpers::TestApp) -> i64 {
    let created = app
        .create_event_as(As::Bearer(&token("boss", true)), 10)
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    created.body["eventId"].as_i64().unwrap()
}

/// A reserve as the holder of `token`, for the claim checks below.
async fn reserve_with(
    app: &crate::helpers::TestApp,
    event: i64,
    token: &str,
) -> crate::helpers::Answer {
    app.send(
        "POST",
        &format!("/events/{event}/seats/reserve"),
        As::Bearer(token),
        Some(json!({"quantity": 1})),
    )
    .await
}

fn claims(extra: serde_json::Value) -> serde_json::Value {
    let mut claims = json!({"sub": "alice", "exp": chrono::Utc::now().timestamp() + 3600});
    for (k, v) in extra.as_object().unwrap() {
        claims[k] = v.clone();
    }
    claims
}

on_both_stores! {
    async fn jwt_mode_ignores_an_audience_it_was_not_told_to_check() {
        let app = spawn_jwt_app().await;
        let event = create_event_as_admin(&app).await;
        // Most identity providers put an aud in every token.
        for aud in [json!("booking-api"), json!(["a", "b"])] {
            let token = token_with(claims(json!({ "aud": aud })), JWT_SECRET);
            assert_eq!(reserve_with(&app, event, &token).await.status, 201);
        }
    }
}

on_both_stores! {
    async fn jwt_mode_checks_audience_and_issuer_when_configured() {
        let app = crate::helpers::spawn_app_with(|s| {
            s.auth.mode = booking_api::settings::AuthMode::Jwt;
            s.auth.jwt_secret = booking_api::settings::Secret::new(JWT_SECRET);
            s.auth.jwt_audience = "booking-api".into();
            s.auth.jwt_issuer = "https://id.example".into();
        })
        .await;
        let event = create_event_as_admin_with(&app, json!({
            "aud": "booking-api", "iss": "https://id.example"
        }))
        .await;
        let good = json!({"aud": ["other", "booking-api"], "iss": "https://id.example"});
        let token = token_with(claims(good), JWT_SECRET);
        assert_eq!(reserve_with(&app, event, &token).await.status, 201);
        for bad in [
            json!({"iss": "https://id.example"}),
            json!({"aud": "other", "iss": "https://id.example"}),
            json!({"aud": "booking-api"}),
            json!({"aud": "booking-api", "iss": "https://evil.example"}),
        ] {
            let token = token_with(claims(bad.clone()), JWT_SECRET);
            reserve_with(&app, event, &token)
                .await
                .assert_error(401, "UNAUTHORIZED");
        }
    }
}

on_both_stores! {
    async fn jwt_mode_refuses_a_token_before_its_not_before_time() {
        let app = spawn_jwt_app().await;
        let event = create_event_as_admin(&app).await;
        let later = chrono::Utc::now().timestamp() + 600;
        let early = token_with(claims(json!({ "nbf": later })), JWT_SECRET);
        reserve_with(&app, event, &early)
            .await
            .assert_error(401, "UNAUTHORIZED");
        let now = chrono::Utc::now().timestamp() - 1;
        let ready = token_with(claims(json!({ "nbf": now })), JWT_SECRET);
        assert_eq!(reserve_with(&app, event, &ready).await.status, 201);
    }
}

async fn create_event_as_admin_with(
    app: &crate::helpers::TestApp,
    extra: serde_json::Value,
) -> i64 {
    let mut claims = claims(extra);
    claims["sub"] = json!("admin");
    claims["role"] = json!("admin");
    let admin = token_with(claims, JWT_SECRET);
    let answer = app.create_event_as(As::Bearer(&admin), 10).await;
    assert_eq!(answer.status, 201, "{:?}", answer.body);
    answer.body["eventId"].as_i64().unwrap()
}
