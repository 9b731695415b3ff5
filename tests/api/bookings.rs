use serde_json::json;

use crate::helpers::{spawn_app, As};

on_both_stores! {
    async fn a_booking_is_shown_one_row_per_seat() {
        let app = spawn_app().await;
        let id = app.create_event(10).await;
        let booking = app.book(id, "alice", &["S2", "S1"]).await;
        let answer = app.booking(&booking, As::Header("alice")).await;
        assert_eq!(answer.status, 200);
        assert_eq!(
            answer.body,
            json!([
                {"booking_group_id": booking, "status": "CONFIRMED", "user_id": "alice",
                 "name": "Test concert", "event_date": "2030-06-01T19:30:00.000Z", "seat_code": "S1"},
                {"booking_group_id": booking, "status": "CONFIRMED", "user_id": "alice",
                 "name": "Test concert", "event_date": "2030-06-01T19:30:00.000Z", "seat_code": "S2"},
            ])
        );
    }
}

on_both_stores! {
    async fn cancel_frees_the_seats_once() {
        let app = spawn_app().await;
        let id = app.create_event(10).await;
        let booking = app.book(id, "alice", &["S1", "S2"]).await;
        assert_eq!(app.counts(id).await, (2, 0, 8, 10));
        let answer = app.cancel(&booking, As::Header("alice")).await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.body, json!({ "cancelled": true }));
        assert_eq!(app.counts(id).await, (0, 0, 10, 10));
        app.cancel(&booking, As::Header("alice"))
            .await
            .assert_error(409, "ALREADY_CANCELLED");
        let view = app.booking(&booking, As::Header("alice")).await;
        assert_eq!(view.body[0]["status"], "CANCELLED");
        // The seats can be booked again.
        app.book(id, "bob", &["S1", "S2"]).await;
        assert_eq!(app.counts(id).await, (2, 0, 8, 10));
    }
}

on_both_stores! {
    async fn cancel_takes_the_caller_from_the_body_too() {
        let app = spawn_app().await;
        let id = app.create_event(10).await;
        let booking = app.book(id, "alice", &["S1"]).await;
        let answer = app
            .send(
                "POST",
                &format!("/bookings/{booking}/cancel"),
                As::Nobody,
                Some(json!({"userId": "alice"})),
            )
            .await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
    }
}

on_both_stores! {
    async fn unknown_and_malformed_bookings() {
        let app = spawn_app().await;
        let unknown = uuid::Uuid::new_v4().to_string();
        app.booking(&unknown, As::Header("alice"))
            .await
            .assert_error(404, "BOOKING_NOT_FOUND");
        app.cancel(&unknown, As::Header("alice"))
            .await
            .assert_error(404, "BOOKING_NOT_FOUND");
        app.booking("123", As::Header("alice"))
            .await
            .assert_error(400, "INVALID_ID");
        app.cancel("nope", As::Header("alice"))
            .await
            .assert_error(400, "INVALID_ID");
    }
}

on_both_stores! {
    async fn a_confirm_retried_after_its_booking_was_cancelled_is_410() {
        let app = spawn_app().await;
        let event = app.create_event(5).await;
        let booking = app.book(event, "alice", &["S1"]).await;
        assert_eq!(app.cancel(&booking, As::Header("alice")).await.status, 200);
        app.confirm(event, "alice", &booking)
            .await
            .assert_error(410, "HOLD_EXPIRED");
        // Nothing was booked again: the seat is still on sale.
        assert_eq!(app.reserve(event, "bob", &["S1"]).await.status, 201);
    }
}
