//! Many buyers at once: no seat is ever confirmed twice and the counts
//! always add up.

use std::collections::HashSet;

use crate::helpers::{spawn_app, As, TestApp};

/// 64 buyers each try 3 seats out of 40, overlapping heavily, and confirm
/// whatever they get.
pub async fn sixty_four_buyers_race(app: &TestApp) {
    let id = app.create_event(40).await;
    let buyers = (0..64u32).map(|buyer| async move {
        let user = format!("buyer-{buyer}");
        let mut wanted: Vec<String> = (0..3)
            .map(|k| format!("S{}", (buyer * 7 + k * 13) % 40 + 1))
            .collect();
        wanted.dedup();
        let codes: Vec<&str> = wanted.iter().map(String::as_str).collect();
        let answer = app.reserve(id, &user, &codes).await;
        match answer.status.as_u16() {
            201 => {
                let hold = answer.str("holdGroupId");
                let confirmed = app.confirm(id, &user, &hold).await;
                assert_eq!(confirmed.status, 200, "{:?}", confirmed.body);
                Some((user, hold))
            }
            409 => None,
            other => panic!("unexpected {other}: {:?}", answer.body),
        }
    });
    let bookings: Vec<_> = futures_util::future::join_all(buyers)
        .await
        .into_iter()
        .flatten()
        .collect();
    assert!(!bookings.is_empty());

    let mut seats = Vec::new();
    for (user, booking) in &bookings {
        let rows = app.booking(booking, As::Header(user)).await;
        for row in rows.body.as_array().unwrap() {
            assert_eq!(row["status"], "CONFIRMED");
            seats.push(row["seat_code"].as_str().unwrap().to_owned());
        }
    }
    let distinct: HashSet<_> = seats.iter().collect();
    assert_eq!(
        distinct.len(),
        seats.len(),
        "a seat was confirmed twice: {seats:?}"
    );
    let (confirmed, held, available, total) = app.counts(id).await;
    assert_eq!(confirmed as usize, seats.len());
    assert_eq!(held, 0);
    assert_eq!(confirmed + available, total);
}

on_both_stores! {
    async fn sixty_four_concurrent_buyers_never_book_a_seat_twice() {
        let app = spawn_app().await;
        sixty_four_buyers_race(&app).await;
    }
}

// Reserves arriving together (on Redis, sent in one script call) are each
// answered as if alone: the hold limit refuses exactly those past it with
// 429, and a seat someone else got with 409 naming it.
on_both_stores! {
    async fn reserves_arriving_together_are_each_answered_by_the_contract() {
        let app = crate::helpers::spawn_app_with(|s| s.limits.max_held_seats_per_user = 10).await;
        let id = app.create_event(100).await;

        let seats: Vec<String> = (1..=30).map(|n| format!("S{n}")).collect();
        let app = &app;
        let alices = seats
            .iter()
            .map(|seat| async move { app.reserve(id, "alice", &[seat]).await });
        let answers = futures_util::future::join_all(alices).await;
        let held = answers.iter().filter(|a| a.status == 201).count();
        for limited in answers.iter().filter(|a| a.status != 201) {
            limited.assert_error(429, "HOLD_LIMIT");
            assert_eq!(limited.headers["retry-after"], "10");
        }
        assert_eq!(held, 10);

        // Forty buyers for five seats, eight on each.
        let buyers = (0..40u32).map(|buyer| async move {
            let seat = format!("S{}", 91 + buyer % 5);
            let answer = app.reserve(id, &format!("buyer-{buyer}"), &[&seat]).await;
            (seat, answer)
        });
        let answers = futures_util::future::join_all(buyers).await;
        let mut got = HashSet::new();
        for (seat, answer) in &answers {
            if answer.status == 201 {
                assert!(got.insert(seat.clone()), "{seat} held twice");
            } else {
                answer.assert_error(409, "SEATS_UNAVAILABLE");
                assert_eq!(answer.body["seats"], serde_json::json!([seat]));
            }
        }
        assert_eq!(got.len(), 5);
        let (confirmed, held, available, total) = app.counts(id).await;
        assert_eq!((confirmed, held, available, total), (0, 15, 85, 100));
    }
}
