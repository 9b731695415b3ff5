//! Rows, the seat map, best available, hold extension and a buyer's own
//! bookings, over HTTP.

use std::collections::HashSet;

use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with, spawn_jwt_app, token, As, TestApp};

async fn create_rows(app: &TestApp, rows: Value) -> i64 {
    let body = json!({
        "name": "Theatre night",
        "date": "2030-06-01T19:30:00Z",
        "location": "Main hall",
        "rows": rows,
    });
    let answer = app.send("POST", "/events", As::Nobody, Some(body)).await;
    assert_eq!(answer.status, 201, "{:?}", answer.body);
    answer.body["eventId"].as_i64().unwrap()
}

async fn seat_map(app: &TestApp, event: i64, query: &str) -> Vec<(String, String, String)> {
    let answer = app
        .send(
            "GET",
            &format!("/events/{event}/seats{query}"),
            As::Nobody,
            None,
        )
        .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    answer
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|seat| {
            let s = |f: &str| seat[f].as_str().unwrap().to_owned();
            (s("seatCode"), s("row"), s("status"))
        })
        .collect()
}

async fn best(app: &TestApp, event: i64, user: &str, quantity: i64) -> crate::helpers::Answer {
    app.send(
        "POST",
        &format!("/events/{event}/seats/reserve"),
        As::Nobody,
        Some(json!({ "userId": user, "quantity": quantity })),
    )
    .await
}

fn codes(answer: &crate::helpers::Answer) -> Vec<String> {
    answer.body["seatCodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect()
}

on_both_stores! {
    async fn events_with_rows_name_their_seats_by_row() {
        let app = spawn_app().await;
        let event = create_rows(&app, json!([{"label": "A", "seats": 3}, {"label": "B", "seats": 2}])).await;
        assert_eq!(app.counts(event).await, (0, 0, 5, 5));
        let hold = app.hold(event, "alice", &["B2", "A1"]).await;
        let answer = app.confirm(event, "alice", &hold).await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        let rows = app.booking(&hold, As::Header("alice")).await;
        let seats: Vec<&str> = rows.body.as_array().unwrap().iter().map(|r| r["seat_code"].as_str().unwrap()).collect();
        assert_eq!(seats, ["A1", "B2"]);
        app.reserve(event, "bob", &["S1"]).await.assert_error(404, "UNKNOWN_SEAT");
        app.reserve(event, "bob", &["A4", "C1"]).await.assert_error(404, "UNKNOWN_SEAT");
        app.reserve(event, "bob", &["B2"]).await.assert_error(409, "SEATS_UNAVAILABLE");
        assert_eq!(app.counts(event).await, (2, 0, 3, 5));
    }
}

on_both_stores! {
    async fn row_layouts_are_validated() {
        let app = spawn_app_with(|s| s.limits.max_seats_per_event = 100).await;
        let create = |body: Value| {
            let app = &app;
            async move { app.send("POST", "/events", As::Nobody, Some(body)).await }
        };
        let base = |extra: Value| {
            let mut body = json!({"name": "n", "date": "2030-06-01T19:30:00Z", "location": "l"});
            for (k, v) in extra.as_object().unwrap() {
                body[k] = v.clone();
            }
            body
        };
        for bad in [
            json!({}),
            json!({"totalSeats": 5, "rows": [{"label": "A", "seats": 5}]}),
            json!({"rows": []}),
            json!({"rows": [{"label": "", "seats": 5}]}),
            json!({"rows": [{"label": "ABCDEFGHI", "seats": 5}]}),
            json!({"rows": [{"label": "A-1", "seats": 5}]}),
            json!({"rows": [{"label": "A", "seats": 0}]}),
            json!({"rows": [{"label": "A", "seats": -1}]}),
            json!({"rows": [{"label": "A", "seats": 3}, {"label": "A", "seats": 3}]}),
            json!({"rows": [{"label": "1", "seats": 20}, {"label": "11", "seats": 3}]}),
            json!({"rows": [{"label": "A", "seats": 60}, {"label": "B", "seats": 41}]}),
            json!({"rows": [{"label": "A", "seats": 4294967296i64}]}),
            json!({"rows": "A"}),
            json!({"rows": [{"label": 1, "seats": 5}]}),
        ] {
            let answer = create(base(bad.clone())).await;
            assert_eq!(answer.status, 400, "{bad}: {:?}", answer.body);
            assert_eq!(answer.body["code"], "VALIDATION_ERROR", "{bad}");
        }
        let ok = create(base(json!({"rows": [{"label": "A", "seats": 60}, {"label": "B", "seats": 40}]}))).await;
        assert_eq!(ok.status, 201, "{:?}", ok.body);
    }
}

on_both_stores! {
    async fn the_seat_map_lists_every_seat_in_venue_order_with_its_state() {
        let app = spawn_app().await;
        let event = create_rows(&app, json!([{"label": "A", "seats": 2}, {"label": "B", "seats": 3}])).await;
        app.book(event, "alice", &["A2"]).await;
        app.hold(event, "bob", &["B1", "B3"]).await;
        let map = seat_map(&app, event, "").await;
        let expected = [
            ("A1", "A", "available"),
            ("A2", "A", "booked"),
            ("B1", "B", "held"),
            ("B2", "B", "available"),
            ("B3", "B", "held"),
        ];
        let expected: Vec<(String, String, String)> = expected
            .iter()
            .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
            .collect();
        assert_eq!(map, expected);
        let held = seat_map(&app, event, "?status=held").await;
        assert_eq!(held.iter().map(|s| s.0.as_str()).collect::<Vec<_>>(), ["B1", "B3"]);
        let available = seat_map(&app, event, "?status=available").await;
        assert_eq!(available.len(), 2);
        assert_eq!(seat_map(&app, event, "?status=booked").await.len(), 1);
        let bad = app.send("GET", &format!("/events/{event}/seats?status=sold"), As::Nobody, None).await;
        bad.assert_error(400, "VALIDATION_ERROR");
        app.send("GET", "/events/999/seats", As::Nobody, None).await.assert_error(404, "EVENT_NOT_FOUND");
        app.send("GET", "/events/x/seats", As::Nobody, None).await.assert_error(400, "INVALID_ID");
    }
}

on_both_stores! {
    async fn an_expired_hold_shows_as_available_on_the_map_at_once() {
        let app = spawn_app_with(|s| s.holds.ttl_seconds = 1).await;
        let event = app.create_event(3).await;
        app.hold(event, "alice", &["S2"]).await;
        assert_eq!(seat_map(&app, event, "?status=held").await.len(), 1);
        tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
        assert_eq!(seat_map(&app, event, "?status=available").await.len(), 3);
    }
}

on_both_stores! {
    async fn best_available_holds_adjacent_seats_in_the_lowest_row_first() {
        let app = spawn_app().await;
        let event = create_rows(&app, json!([
            {"label": "A", "seats": 4}, {"label": "B", "seats": 4}, {"label": "C", "seats": 4}
        ])).await;
        app.hold(event, "someone", &["A2", "B3"]).await;
        let first = best(&app, event, "alice", 3).await;
        assert_eq!(first.status, 201, "{:?}", first.body);
        assert_eq!(codes(&first), ["C1", "C2", "C3"]);
        assert!(first.headers.contains_key("location"));
        let second = best(&app, event, "bob", 2).await;
        assert_eq!(codes(&second), ["A3", "A4"]);
        // No row has 3 together now: the first three available.
        let third = best(&app, event, "carol", 3).await;
        assert_eq!(codes(&third), ["A1", "B1", "B2"]);
        best(&app, event, "dave", 3).await.assert_error(409, "SEATS_UNAVAILABLE");
        let held = seat_map(&app, event, "?status=held").await.len();
        assert_eq!(held, 10);
        let confirm = app.confirm(event, "alice", &first.str("holdGroupId")).await;
        assert_eq!(confirm.status, 200);
    }
}

on_both_stores! {
    async fn best_available_checks_its_quantity_and_the_limits() {
        let app = spawn_app_with(|s| {
            s.limits.max_seats_per_hold = 4;
            s.limits.max_held_seats_per_user = 5;
        })
        .await;
        let event = app.create_event(20).await;
        for bad in [json!(0), json!(-2), json!(1.5), json!("2"), json!(null)] {
            let answer = app.send(
                "POST",
                &format!("/events/{event}/seats/reserve"),
                As::Nobody,
                Some(json!({"userId": "alice", "quantity": bad})),
            ).await;
            assert_eq!(answer.status, 400, "{bad}: {:?}", answer.body);
        }
        best(&app, event, "alice", 5).await.assert_error(400, "TOO_MANY_SEATS");
        let both = app.send(
            "POST",
            &format!("/events/{event}/seats/reserve"),
            As::Nobody,
            Some(json!({"userId": "alice", "quantity": 2, "seatCodes": ["S1"]})),
        ).await;
        both.assert_error(400, "VALIDATION_ERROR");
        assert_eq!(best(&app, event, "alice", 4).await.status, 201);
        best(&app, event, "alice", 2).await.assert_error(429, "HOLD_LIMIT");
        best(&app, 999, "alice", 2).await.assert_error(404, "EVENT_NOT_FOUND");
    }
}

on_both_stores! {
    async fn sixty_four_buyers_of_four_never_get_a_seat_twice() {
        let app = spawn_app().await;
        // Row labels that end in a digit would make names collide (rows 1
        // and 11 of 40 seats both name "111"): letters.
        let rows: Vec<Value> = (0..25u8).map(|i| json!({"label": ((b'A' + i) as char).to_string(), "seats": 40})).collect();
        let event = create_rows(&app, Value::Array(rows)).await;
        // Fewer seats than asked for, so some must get 409.
        let small = app.create_event(100).await;
        for event in [event, small] {
            let buyers = (0..64).map(|i| {
                let app = &app;
                async move { best(app, event, &format!("buyer-{i}"), 4).await }
            });
            let answers = futures_util::future::join_all(buyers).await;
            let mut seats = Vec::new();
            let mut held = 0;
            for answer in &answers {
                match answer.status.as_u16() {
                    201 => {
                        held += 1;
                        seats.extend(codes(answer));
                    }
                    409 => assert_eq!(answer.body["code"], "SEATS_UNAVAILABLE"),
                    other => panic!("unexpected {other}: {:?}", answer.body),
                }
            }
            let distinct: HashSet<&String> = seats.iter().collect();
            assert_eq!(distinct.len(), seats.len(), "a seat was given twice");
            let total = app.counts(event).await.3 as usize;
            assert_eq!(held, (total / 4).min(64));
            assert_eq!(app.counts(event).await.1 as usize, seats.len());
        }
    }
}

on_both_stores! {
    async fn extending_a_hold_moves_its_expiry_up_to_the_maximum() {
        let app = spawn_app_with(|s| {
            s.holds.ttl_seconds = 300;
            s.holds.max_total_seconds = 700;
        })
        .await;
        let event = app.create_event(10).await;
        let answer = app.reserve(event, "alice", &["S1"]).await;
        let hold = answer.str("holdGroupId");
        let first_expiry = chrono::DateTime::parse_from_rfc3339(&answer.str("expiresAt")).unwrap();
        let extend = |user: &'static str| {
            let app = &app;
            let path = format!("/holds/{hold}/extend");
            async move { app.send("POST", &path, As::Header(user), None).await }
        };
        let once = extend("alice").await;
        assert_eq!(once.status, 200, "{:?}", once.body);
        let created = chrono::DateTime::parse_from_rfc3339(&once.str("createdAt")).unwrap();
        let later = chrono::DateTime::parse_from_rfc3339(&once.str("expiresAt")).unwrap();
        assert_eq!((later - first_expiry).num_seconds(), 300);
        assert_eq!(once.body["seatCodes"], json!(["S1"]));
        let twice = extend("alice").await;
        let capped = chrono::DateTime::parse_from_rfc3339(&twice.str("expiresAt")).unwrap();
        assert_eq!((capped - created).num_seconds(), 700);
        extend("alice").await.assert_error(409, "EXTENSION_LIMIT");
        extend("bob").await.assert_error(403, "NOT_HOLD_OWNER");
        let view = app.send("GET", &format!("/holds/{hold}"), As::Header("alice"), None).await;
        assert_eq!(view.str("expiresAt"), twice.str("expiresAt"));
        app.send("POST", "/holds/not-a-uuid/extend", As::Header("alice"), None).await.assert_error(400, "INVALID_ID");
        let unknown = uuid::Uuid::new_v4();
        app.send("POST", &format!("/holds/{unknown}/extend"), As::Header("alice"), None).await.assert_error(410, "HOLD_EXPIRED");
        app.send("POST", &format!("/holds/{hold}/extend"), As::Nobody, None).await.assert_error(401, "UNAUTHORIZED");
    }
}

on_both_stores! {
    async fn an_expired_hold_cannot_be_extended_and_a_confirming_one_need_not_be() {
        let app = spawn_app_with(|s| s.holds.ttl_seconds = 1).await;
        let event = app.create_event(10).await;
        let hold = app.hold(event, "alice", &["S1"]).await;
        tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
        let answer = app.send("POST", &format!("/holds/{hold}/extend"), As::Header("alice"), None).await;
        answer.assert_error(410, "HOLD_EXPIRED");
        // An extended hold keeps its seats past its first expiry.
        let hold = app.hold(event, "alice", &["S2"]).await;
        let answer = app.send("POST", &format!("/holds/{hold}/extend"), As::Header("alice"), None).await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
        app.reserve(event, "bob", &["S2"]).await.assert_error(409, "SEATS_UNAVAILABLE");
        let confirm = app.confirm(event, "alice", &hold).await;
        assert_eq!(confirm.status, 200, "{:?}", confirm.body);
    }
}

on_both_stores! {
    async fn my_bookings_come_newest_first_a_page_at_a_time() {
        let app = spawn_app().await;
        let (a, b) = (app.create_event(10).await, app.create_event(10).await);
        let mut made = Vec::new();
        for (i, event) in [a, b, a, b, a].into_iter().enumerate() {
            made.push(app.book(event, "alice", &[&format!("S{}", i + 1)]).await);
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        app.book(a, "bob", &["S9"]).await;
        assert_eq!(app.cancel(&made[1], As::Header("alice")).await.status, 200);

        let mut listed = Vec::new();
        let mut pages = 0;
        let mut path = "/users/me/bookings?limit=2".to_owned();
        for _ in 0..5 {
            pages += 1;
            let page = app.send("GET", &path, As::Header("alice"), None).await;
            assert_eq!(page.status, 200, "{:?}", page.body);
            let items = page.body["bookings"].as_array().unwrap().clone();
            assert!(items.len() <= 2);
            listed.extend(items);
            match page.body["nextCursor"].as_str() {
                Some(cursor) => path = format!("/users/me/bookings?limit=2&cursor={cursor}"),
                None => break,
            }
        }
        assert_eq!(pages, 3, "five bookings, two a page");
        let ids: Vec<&str> = listed.iter().map(|b| b["bookingGroupId"].as_str().unwrap()).collect();
        let newest_first: Vec<&str> = made.iter().rev().map(String::as_str).collect();
        assert_eq!(ids, newest_first);
        let newest = &listed[0];
        assert_eq!(newest["eventId"], a);
        assert_eq!(newest["eventName"], "Test concert");
        assert_eq!(newest["seatCodes"], json!(["S5"]));
        assert_eq!(newest["status"], "CONFIRMED");
        assert!(newest["createdAt"].as_str().unwrap().ends_with('Z'));
        assert_eq!(listed[3]["status"], "CANCELLED");

        let all = app.send("GET", "/users/me/bookings", As::Header("alice"), None).await;
        assert_eq!(all.body["bookings"].as_array().unwrap().len(), 5);
        assert!(all.body["nextCursor"].is_null());
        // A full page is the last when nothing follows it.
        let exact = app.send("GET", "/users/me/bookings?limit=5", As::Header("alice"), None).await;
        assert_eq!(exact.body["bookings"].as_array().unwrap().len(), 5);
        assert!(exact.body["nextCursor"].is_null(), "{:?}", exact.body);
        app.send("GET", "/users/me/bookings", As::Nobody, None).await.assert_error(401, "UNAUTHORIZED");
        for bad in ["?limit=0", "?limit=101", "?limit=x", "?cursor=nope", "?cursor=31", "?other=1"] {
            let answer = app.send("GET", &format!("/users/me/bookings{bad}"), As::Header("alice"), None).await;
            assert_eq!(answer.status, 400, "{bad}: {:?}", answer.body);
        }
    }
}

on_both_stores! {
    async fn my_bookings_in_jwt_mode_are_the_tokens_subjects() {
        let app = spawn_jwt_app().await;
        let admin = token("admin", true);
        let event = app.create_event_as(As::Bearer(&admin), 5).await.body["eventId"].as_i64().unwrap();
        let alice = token("alice", false);
        let hold = app.send(
            "POST",
            &format!("/events/{event}/seats/reserve"),
            As::Bearer(&alice),
            Some(json!({"quantity": 2})),
        ).await;
        assert_eq!(hold.status, 201, "{:?}", hold.body);
        let confirm = app.send(
            "POST",
            &format!("/events/{event}/seats/confirm"),
            As::Bearer(&alice),
            Some(json!({"holdGroupId": hold.str("holdGroupId")})),
        ).await;
        assert_eq!(confirm.status, 200);
        let mine = app.send("GET", "/users/me/bookings", As::Bearer(&alice), None).await;
        assert_eq!(mine.body["bookings"].as_array().unwrap().len(), 1);
        let bobs = app.send("GET", "/users/me/bookings", As::Bearer(&token("bob", false)), None).await;
        assert_eq!(bobs.body["bookings"].as_array().unwrap().len(), 0);
        app.send("GET", "/users/me/bookings", As::Nobody, None).await.assert_error(401, "UNAUTHORIZED");
    }
}

on_both_stores! {
    async fn the_compact_seat_map_is_a_letter_per_seat() {
        let app = spawn_app().await;
        let event = create_rows(&app, json!([{"label": "A", "seats": 2}, {"label": "B", "seats": 3}])).await;
        app.book(event, "alice", &["A2"]).await;
        app.hold(event, "bob", &["B3"]).await;
        let answer = app.send("GET", &format!("/events/{event}/seats?format=compact"), As::Nobody, None).await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        assert_eq!(answer.body["states"], "abaah");
        assert_eq!(answer.body["rows"], json!([{"label": "A", "seats": 2}, {"label": "B", "seats": 3}]));
        let list = app.send("GET", &format!("/events/{event}/seats?format=list"), As::Nobody, None).await;
        assert_eq!(list.body.as_array().unwrap().len(), 5);
        for bad in ["?format=compact&status=held", "?format=xml"] {
            let answer = app.send("GET", &format!("/events/{event}/seats{bad}"), As::Nobody, None).await;
            answer.assert_error(400, "VALIDATION_ERROR");
        }
    }
}
