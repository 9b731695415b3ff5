//! Bad input always gets a 4xx with `error` and `code`, never a 5xx, and
//! the server keeps answering.

use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

async fn assert_rejected(app: &TestApp, path: &str, body: Value, code: &str) {
    let answer = app
        .send(
            "POST",
            path,
            crate::helpers::As::Header("alice"),
            Some(body.clone()),
        )
        .await;
    answer.assert_error(400, code);
    let _ = body;
}

fn event_body(total_seats: Value) -> Value {
    json!({"name": "Gig", "date": "2030-01-01T20:00:00Z", "location": "Club", "totalSeats": total_seats})
}

on_both_stores! {
    async fn bodies_that_are_not_json_are_400() {
        let app = spawn_app().await;
        let id = app.create_event(10).await;
        let reserve = format!("/events/{id}/seats/reserve");
        for raw in ["not json", "{", "{\"seatCodes\": [\"S1\"", "\u{0}"] {
            app.send_raw("POST", &reserve, raw)
                .await
                .assert_error(400, "INVALID_JSON");
            app.send_raw("POST", "/events", raw)
                .await
                .assert_error(400, "INVALID_JSON");
        }
        for empty in ["", "   "] {
            app.send_raw("POST", &reserve, empty)
                .await
                .assert_error(400, "INVALID_JSON");
            app.send_raw("POST", "/events", empty)
                .await
                .assert_error(400, "INVALID_JSON");
        }
        // JSON, but not an object: the body is refused as a whole, not as
        // a field of a type it never reached.
        for wrong in ["[]", "42", "\"text\"", "null", " [{}]"] {
            app.send_raw("POST", &reserve, wrong)
                .await
                .assert_error(400, "INVALID_JSON");
            app.send_raw("POST", "/events", wrong)
                .await
                .assert_error(400, "INVALID_JSON");
        }
        // A nested value of the wrong kind is named as the client knows
        // it, not by the server's type names.
        let rows = app
            .send(
                "POST",
                "/events",
                crate::helpers::As::Nobody,
                Some(json!({"name": "Gig", "date": "2030-01-01T20:00:00Z", "location": "Club", "rows": [null]})),
            )
            .await;
        rows.assert_error(400, "VALIDATION_ERROR");
        let message = rows.body["error"].as_str().unwrap();
        assert!(!message.contains("struct"), "{message}");
        let seats = app
            .send("POST", "/events", crate::helpers::As::Nobody, Some(event_body(json!(1.5))))
            .await;
        seats.assert_error(400, "VALIDATION_ERROR");
        let message = seats.body["error"].as_str().unwrap();
        assert!(message.contains("expected an integer"), "{message}");
        // A row too large for any venue is too many seats, not too few.
        let huge = app
            .send(
                "POST",
                "/events",
                crate::helpers::As::Nobody,
                Some(json!({"name": "Gig", "date": "2030-01-01T20:00:00Z", "location": "Club",
                    "rows": [{"label": "A", "seats": 4_294_967_297_i64}]})),
            )
            .await;
        huge.assert_error(400, "VALIDATION_ERROR");
        let message = huge.body["error"].as_str().unwrap();
        assert!(message.contains("between 1 and"), "{message}");
    }
}

on_both_stores! {
    async fn total_seats_must_be_an_integer_within_the_limit() {
        let app = spawn_app().await;
        for bad in [
            json!(0),
            json!(-1),
            json!(1.5),
            json!("abc"),
            json!(100_001),
            json!(null),
            json!(1e20),
        ] {
            assert_rejected(&app, "/events", event_body(bad), "VALIDATION_ERROR").await;
        }
        let created = app
            .send(
                "POST",
                "/events",
                crate::helpers::As::Nobody,
                Some(event_body(json!(100_000))),
            )
            .await;
        assert_eq!(created.status, 201, "the limit itself is allowed");
    }
}

on_both_stores! {
    async fn event_fields_are_checked() {
        let app = spawn_app().await;
        let ok = event_body(json!(5));
        let with = |field: &str, value: Value| {
            let mut body = ok.clone();
            body[field] = value;
            body
        };
        let without = |field: &str| {
            let mut body = ok.clone();
            body.as_object_mut().unwrap().remove(field);
            body
        };
        for body in [
            with("name", json!("")),
            with("name", json!("   ")),
            with("name", json!("x".repeat(256))),
            with("name", json!(42)),
            with("name", json!("bad\u{7}name")),
            with("location", json!("")),
            with("date", json!("tomorrow")),
            with("date", json!("2030-13-01T00:00:00Z")),
            with("date", json!(1_700_000_000)),
            without("name"),
            without("date"),
            without("totalSeats"),
        ] {
            assert_rejected(&app, "/events", body, "VALIDATION_ERROR").await;
        }
    }
}

on_both_stores! {
    async fn seat_lists_are_checked() {
        let app = spawn_app().await;
        let id = app.create_event(10).await;
        let path = format!("/events/{id}/seats/reserve");
        let seats = |codes: Value| json!({"userId": "alice", "seatCodes": codes});
        assert_rejected(&app, &path, seats(json!([])), "VALIDATION_ERROR").await;
        assert_rejected(&app, &path, seats(json!(["S1", "S1"])), "DUPLICATE_SEATS").await;
        let oversized: Vec<String> = (0..5000).map(|n| format!("S{n}")).collect();
        assert_rejected(&app, &path, seats(json!(oversized)), "TOO_MANY_SEATS").await;
        for bad in [
            json!([1, 2]),
            json!([null]),
            json!("S1"),
            json!([["S1"]]),
            json!([{"code": "S1"}]),
        ] {
            assert_rejected(&app, &path, seats(bad), "VALIDATION_ERROR").await;
        }
        for bad in ["", "S\u{0}1", "S1\n", "S 1", "Ś1", &"S".repeat(40)] {
            assert_rejected(&app, &path, seats(json!([bad])), "VALIDATION_ERROR").await;
        }
        assert_rejected(&app, &path, json!({"userId": "alice"}), "VALIDATION_ERROR").await;
        assert_eq!(app.counts(id).await, (0, 0, 10, 10));
    }
}

on_both_stores! {
    async fn user_ids_are_checked() {
        let app = spawn_app().await;
        let id = app.create_event(10).await;
        let path = format!("/events/{id}/seats/reserve");
        for bad in [
            json!(""),
            json!("a".repeat(129)),
            json!("eve\r\nX-Admin: yes"),
            json!("\u{1b}[31m"),
            json!(7),
        ] {
            let body = json!({"userId": bad, "seatCodes": ["S1"]});
            let answer = app
                .send("POST", &path, crate::helpers::As::Nobody, Some(body))
                .await;
            answer.assert_error(400, "VALIDATION_ERROR");
        }
    }
}

on_both_stores! {
    async fn malformed_hold_ids_are_400() {
        let app = spawn_app().await;
        let id = app.create_event(10).await;
        for path in ["confirm", "release"] {
            let path = format!("/events/{id}/seats/{path}");
            for bad in [
                json!("123"),
                json!(""),
                json!(42),
                json!("{00000000-0000-0000-0000-000000000000}"),
            ] {
                let body = json!({"userId": "alice", "holdGroupId": bad});
                let answer = app
                    .send("POST", &path, crate::helpers::As::Nobody, Some(body))
                    .await;
                assert_eq!(answer.status, 400, "{bad}: {:?}", answer.body);
            }
            assert_rejected(&app, &path, json!({"userId": "alice"}), "VALIDATION_ERROR").await;
        }
    }
}

on_both_stores! {
    async fn a_one_megabyte_body_is_refused_and_the_server_keeps_answering() {
        let app = spawn_app().await;
        let id = app.create_event(10).await;
        let huge = format!(
            "{{\"userId\": \"alice\", \"seatCodes\": [\"{}\"]}}",
            "S".repeat(1 << 20)
        );
        let answer = app
            .send_raw("POST", &format!("/events/{id}/seats/reserve"), huge)
            .await;
        answer.assert_error(413, "PAYLOAD_TOO_LARGE");
        assert_eq!(app.counts(id).await, (0, 0, 10, 10));
        app.hold(id, "alice", &["S1"]).await;
    }
}

on_both_stores! {
    async fn a_malformed_path_id_is_reported_before_a_bad_body() {
        let app = spawn_app().await;
        for path in [
            "/events/abc/seats/reserve",
            "/events/0/seats/confirm",
            "/events/-1/seats/release",
            "/holds/nope/extend",
            "/bookings/nope/cancel",
        ] {
            app.send_raw("POST", path, "{bad")
                .await
                .assert_error(400, "INVALID_ID");
        }
    }
}
