use serde_json::json;

use crate::helpers::{spawn_app, As};

on_both_stores! {
    async fn creating_an_event_answers_201_with_its_id_and_location() {
        let app = spawn_app().await;
        let answer = app.create_event_as(As::Nobody, 50).await;
        answer.status.is_success().then_some(()).expect("created");
        assert_eq!(answer.status, 201);
        let id = answer.body["eventId"].as_i64().unwrap();
        assert!(id >= 1);
        assert_eq!(answer.headers["location"], format!("/events/{id}").as_str());
        let second = app.create_event(5).await;
        assert!(second > id);
    }
}

on_both_stores! {
    async fn event_details_have_the_original_shape_and_counts() {
        let app = spawn_app().await;
        let id = app.create_event(10).await;
        let answer = app.event(id).await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.headers["content-type"], "application/json");
        let body = &answer.body;
        assert_eq!(body["id"], id);
        assert_eq!(body["name"], "Test concert");
        assert_eq!(body["event_date"], "2030-06-01T19:30:00.000Z");
        assert_eq!(body["location"], "Main hall");
        assert_eq!(body["total_seats"], 10);
        assert!(body["created_at"].as_str().unwrap().ends_with('Z'));
        assert_eq!(body["confirmedSeats"], 0);
        assert_eq!(body["heldSeats"], 0);
        assert_eq!(body["availableSeats"], 10);
    }
}

on_both_stores! {
    async fn an_unknown_event_is_404_and_a_malformed_id_400() {
        let app = spawn_app().await;
        app.event(999).await.assert_error(404, "EVENT_NOT_FOUND");
        // Any id a signed 64-bit integer holds is an id, however large.
        for unknown in ["4611686018427387904", "9223372036854775807"] {
            app.send("GET", &format!("/events/{unknown}"), As::Nobody, None)
                .await
                .assert_error(404, "EVENT_NOT_FOUND");
        }
        for bad in ["abc", "0", "-1", "1.5", "99999999999999999999999", "9223372036854775808"] {
            let answer = app
                .send("GET", &format!("/events/{bad}"), As::Nobody, None)
                .await;
            answer.assert_error(400, "INVALID_ID");
        }
        // A path segment is percent-decoded before it is read (API.md).
        let id = app.create_event(2).await;
        let encoded: String = id.to_string().bytes().map(|b| format!("%{b:02X}")).collect();
        let answer = app.send("GET", &format!("/events/{encoded}"), As::Nobody, None).await;
        assert_eq!(answer.status, 200, "{encoded}: {:?}", answer.body);
        assert_eq!(answer.body["id"], id);
    }
}

on_both_stores! {
    async fn reserve_answers_201_with_the_hold() {
        let app = spawn_app().await;
        let id = app.create_event(10).await;
        let answer = app.reserve(id, "alice", &["S3", "S1"]).await;
        assert_eq!(answer.status, 201, "{:?}", answer.body);
        let hold = answer.str("holdGroupId");
        assert!(uuid::Uuid::parse_str(&hold).is_ok());
        assert_eq!(
            answer.headers["location"],
            format!("/holds/{hold}").as_str()
        );
        assert_eq!(answer.body["expiresIn"], 300);
        let expires_at = chrono::DateTime::parse_from_rfc3339(&answer.str("expiresAt")).unwrap();
        let ahead = (expires_at.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_seconds();
        assert!((290..=301).contains(&ahead), "expires {ahead} s from now");
        assert_eq!(answer.body["seatCodes"], json!(["S3", "S1"]));
        assert_eq!(app.counts(id).await, (0, 2, 8, 10));
    }
}

on_both_stores! {
    async fn reserve_errors_have_their_statuses_and_codes() {
        let app = spawn_app().await;
        let id = app.create_event(30).await;
        app.reserve(999, "alice", &["S1"])
            .await
            .assert_error(404, "EVENT_NOT_FOUND");
        app.reserve(id, "alice", &[])
            .await
            .assert_error(400, "VALIDATION_ERROR");
        let dup = app.reserve(id, "alice", &["S1", "S2", "S1"]).await;
        dup.assert_error(400, "DUPLICATE_SEATS");
        assert_eq!(dup.body["seats"], json!(["S1"]));
        let eleven: Vec<String> = (1..=11).map(|n| format!("S{n}")).collect();
        let eleven: Vec<&str> = eleven.iter().map(String::as_str).collect();
        app.reserve(id, "alice", &eleven)
            .await
            .assert_error(400, "TOO_MANY_SEATS");
        let unknown = app.reserve(id, "alice", &["S1", "S31", "A1"]).await;
        unknown.assert_error(404, "UNKNOWN_SEAT");
        assert_eq!(unknown.body["seats"], json!(["S31", "A1"]));

        app.hold(id, "alice", &["S1", "S2"]).await;
        let taken = app.reserve(id, "bob", &["S2", "S3"]).await;
        taken.assert_error(409, "SEATS_UNAVAILABLE");
        assert_eq!(taken.body["seats"], json!(["S2"]));
    }
}

on_both_stores! {
    async fn a_user_may_hold_at_most_20_seats_of_an_event() {
        let app = spawn_app().await;
        let id = app.create_event(100).await;
        for batch in 0..2 {
            let seats: Vec<String> = (1..=10).map(|n| format!("S{}", batch * 10 + n)).collect();
            let seats: Vec<&str> = seats.iter().map(String::as_str).collect();
            app.hold(id, "alice", &seats).await;
        }
        let limited = app.reserve(id, "alice", &["S50"]).await;
        limited.assert_error(429, "HOLD_LIMIT");
        // Every 429 says when to retry.
        assert_eq!(limited.headers["retry-after"], "10");
        // Someone else is not limited by alice's holds.
        app.hold(id, "bob", &["S50"]).await;
    }
}

on_both_stores! {
    async fn the_limits_come_from_configuration() {
        let app = crate::helpers::spawn_app_with(|s| {
            s.limits.max_seats_per_event = 50;
            s.limits.max_seats_per_hold = 2;
            s.limits.max_held_seats_per_user = 3;
        })
        .await;
        app.create_event_as(As::Nobody, 51)
            .await
            .assert_error(400, "VALIDATION_ERROR");
        let id = app.create_event(50).await;
        app.reserve(id, "alice", &["S1", "S2", "S3"])
            .await
            .assert_error(400, "TOO_MANY_SEATS");
        app.hold(id, "alice", &["S1", "S2"]).await;
        app.reserve(id, "alice", &["S3", "S4"])
            .await
            .assert_error(429, "HOLD_LIMIT");
        // The refused reserve counts for nothing: one more seat still fits.
        app.hold(id, "alice", &["S3"]).await;
    }
}

on_both_stores! {
    async fn confirm_turns_the_hold_into_a_booking() {
        let app = spawn_app().await;
        let id = app.create_event(10).await;
        let hold = app.hold(id, "alice", &["S1", "S2"]).await;
        let answer = app.confirm(id, "alice", &hold).await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        assert_eq!(
            answer.body,
            json!({ "success": true, "bookingGroupId": hold })
        );
        assert_eq!(app.counts(id).await, (2, 0, 8, 10));
    }
}

on_both_stores! {
    async fn confirm_errors_have_their_statuses_and_codes() {
        let app = spawn_app().await;
        let id = app.create_event(10).await;
        let other = app.create_event(10).await;
        let hold = app.hold(id, "alice", &["S1"]).await;
        app.confirm(other, "alice", &hold)
            .await
            .assert_error(400, "HOLD_EVENT_MISMATCH");
        app.confirm(id, "bob", &hold)
            .await
            .assert_error(403, "NOT_HOLD_OWNER");
        let unknown = uuid::Uuid::new_v4().to_string();
        app.confirm(id, "alice", &unknown)
            .await
            .assert_error(410, "HOLD_EXPIRED");
        app.confirm(999, "alice", &hold)
            .await
            .assert_error(404, "EVENT_NOT_FOUND");
        app.confirm(id, "alice", "not-a-uuid")
            .await
            .assert_error(400, "INVALID_ID");
        // None of that touched the hold.
        assert_eq!(app.confirm(id, "alice", &hold).await.status, 200);
    }
}

on_both_stores! {
    async fn release_gives_the_seats_back() {
        let app = spawn_app().await;
        let id = app.create_event(10).await;
        let hold = app.hold(id, "alice", &["S1", "S2"]).await;
        app.release(id, "bob", &hold)
            .await
            .assert_error(403, "NOT_HOLD_OWNER");
        let answer = app.release(id, "alice", &hold).await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.body, json!({ "released": true }));
        assert_eq!(app.counts(id).await, (0, 0, 10, 10));
        app.release(id, "alice", &hold)
            .await
            .assert_error(404, "HOLD_NOT_FOUND");
        app.confirm(id, "alice", &hold)
            .await
            .assert_error(410, "HOLD_EXPIRED");
        app.hold(id, "bob", &["S1", "S2"]).await;
    }
}

on_both_stores! {
    async fn a_hold_can_be_read_by_its_owner() {
        let app = spawn_app().await;
        let id = app.create_event(10).await;
        let hold = app.hold(id, "alice", &["S4"]).await;
        let answer = app
            .send("GET", &format!("/holds/{hold}"), As::Header("alice"), None)
            .await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.body["seatCodes"], json!(["S4"]));
        assert_eq!(answer.body["eventId"], id);
        let other = app
            .send("GET", &format!("/holds/{hold}"), As::Header("bob"), None)
            .await;
        other.assert_error(403, "NOT_HOLD_OWNER");
    }
}

on_both_stores! {
    async fn an_event_long_past_can_still_be_read_and_sold() {
        let app = crate::helpers::spawn_app().await;
        let body = serde_json::json!({
            "name": "Antiquity", "date": "0035-04-18T17:04:14Z", "location": "Forum", "totalSeats": 20
        });
        let answer = app.send("POST", "/events", As::Nobody, Some(body)).await;
        assert_eq!(answer.status, 201, "{:?}", answer.body);
        let event = answer.body["eventId"].as_i64().unwrap();
        assert_eq!(app.counts(event).await, (0, 0, 20, 20));
        let seats = app.send("GET", &format!("/events/{event}/seats"), As::Nobody, None).await;
        assert_eq!(seats.status, 200, "{:?}", seats.body);
        app.book(event, "alice", &["S1"]).await;
        assert_eq!(app.counts(event).await, (1, 0, 19, 20));
    }
}
