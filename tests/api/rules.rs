//! The six rules of API.md part A, as a client sees them.

use std::time::Duration;

use crate::helpers::{spawn_app, spawn_app_with, As};

on_both_stores! {
    async fn rule_1_a_hold_is_all_or_nothing() {
        let app = spawn_app().await;
        let id = app.create_event(10).await;
        app.hold(id, "alice", &["S2"]).await;
        app.reserve(id, "bob", &["S1", "S2", "S3"])
            .await
            .assert_error(409, "SEATS_UNAVAILABLE");
        assert_eq!(app.counts(id).await, (0, 1, 9, 10));
        app.hold(id, "bob", &["S1", "S3"]).await;
    }
}

on_both_stores! {
    async fn rule_2_a_seat_is_held_or_booked_by_one_only() {
        let app = spawn_app().await;
        let id = app.create_event(10).await;
        app.book(id, "alice", &["S1"]).await;
        app.hold(id, "bob", &["S2"]).await;
        app.reserve(id, "carol", &["S1"])
            .await
            .assert_error(409, "SEATS_UNAVAILABLE");
        app.reserve(id, "carol", &["S2"])
            .await
            .assert_error(409, "SEATS_UNAVAILABLE");
        assert_eq!(app.counts(id).await, (1, 1, 8, 10));
    }
}

on_both_stores! {
    async fn rule_3_an_expired_hold_gives_its_seats_back_at_once() {
        let app = spawn_app_with(|s| s.holds.ttl_seconds = 1).await;
        let id = app.create_event(10).await;
        let hold = app.hold(id, "alice", &["S1", "S2"]).await;
        assert_eq!(app.counts(id).await, (0, 2, 8, 10));
        tokio::time::sleep(Duration::from_millis(1300)).await;
        assert_eq!(app.counts(id).await, (0, 0, 10, 10));
        app.confirm(id, "alice", &hold)
            .await
            .assert_error(410, "HOLD_EXPIRED");
        app.release(id, "alice", &hold)
            .await
            .assert_error(404, "HOLD_NOT_FOUND");
        app.hold(id, "bob", &["S1", "S2"]).await;
        assert_eq!(app.counts(id).await, (0, 2, 8, 10));
    }
}

on_both_stores! {
    async fn rule_3_counts_add_up_through_a_whole_flow() {
        let app = spawn_app().await;
        let id = app.create_event(20).await;
        let booking = app.book(id, "alice", &["S1", "S2", "S3"]).await;
        let hold = app.hold(id, "bob", &["S4", "S5"]).await;
        assert_eq!(app.counts(id).await, (3, 2, 15, 20));
        app.release(id, "bob", &hold).await;
        app.cancel(&booking, As::Header("alice")).await;
        assert_eq!(app.counts(id).await, (0, 0, 20, 20));
    }
}

on_both_stores! {
    async fn rule_4_a_booked_seat_is_never_held_until_its_booking_is_cancelled() {
        let app = spawn_app().await;
        let id = app.create_event(5).await;
        let booking = app.book(id, "alice", &["S5"]).await;
        app.reserve(id, "bob", &["S5"])
            .await
            .assert_error(409, "SEATS_UNAVAILABLE");
        app.cancel(&booking, As::Header("alice")).await;
        app.hold(id, "bob", &["S5"]).await;
    }
}

on_both_stores! {
    async fn rule_5_a_retried_confirm_returns_the_same_booking_and_no_second_row() {
        let app = spawn_app().await;
        let id = app.create_event(10).await;
        let hold = app.hold(id, "alice", &["S1", "S2"]).await;
        let first = app.confirm(id, "alice", &hold).await;
        let second = app.confirm(id, "alice", &hold).await;
        assert_eq!(first.status, 200);
        assert_eq!(second.status, 200);
        assert_eq!(first.body, second.body);
        assert_eq!(app.counts(id).await, (2, 0, 8, 10));
        let rows = app.booking(&hold, As::Header("alice")).await;
        assert_eq!(rows.body.as_array().unwrap().len(), 2);
        // The retry is the owner's only.
        app.confirm(id, "mallory", &hold)
            .await
            .assert_error(403, "NOT_HOLD_OWNER");
    }
}

on_both_stores! {
    async fn rule_5_concurrent_confirms_of_one_hold_book_it_once() {
        let app = spawn_app().await;
        let id = app.create_event(10).await;
        let hold = app.hold(id, "alice", &["S1", "S2"]).await;
        let answers =
            futures_util::future::join_all((0..8).map(|_| app.confirm(id, "alice", &hold))).await;
        for answer in &answers {
            assert_eq!(answer.status, 200, "{:?}", answer.body);
            assert_eq!(answer.str("bookingGroupId"), hold);
        }
        assert_eq!(app.counts(id).await, (2, 0, 8, 10));
    }
}
