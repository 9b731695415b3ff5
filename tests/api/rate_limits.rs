//! Rate limits: per caller and per address, by class, 429 with
//! `Retry-After` and the IETF draft's fields, shared by instances.

use booking_api::settings::{Rate, Settings};

use crate::helpers::{spawn_app, spawn_app_with, As, Stores, TestApp, STORES};

/// `burst` requests, then one a minute: the test never waits for one.
fn tight(burst: u32) -> Rate {
    Rate {
        requests: 1,
        period_seconds: 60,
        burst,
    }
}

fn loose() -> Rate {
    Rate {
        requests: 1000,
        period_seconds: 1,
        burst: 1000,
    }
}

async fn limited(change: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_with(|s| {
        s.rate_limits.enabled = true;
        for class in [
            &mut s.rate_limits.reserve,
            &mut s.rate_limits.write,
            &mut s.rate_limits.read,
        ] {
            class.per_caller = loose();
            class.per_ip = loose();
        }
        change(s);
    })
    .await
}

on_both_stores! {
    async fn over_the_limit_is_429_with_retry_after_and_the_draft_fields() {
        let app = limited(|s| s.rate_limits.read.per_ip = tight(3)).await;
        for remaining in [2, 1, 0] {
            let answer = app.event(1).await;
            answer.assert_error(404, "EVENT_NOT_FOUND");
            let state = answer.headers["ratelimit"].to_str().unwrap();
            assert!(state.contains(&format!("\"read-ip\";r={remaining};")), "{state}");
            let policy = answer.headers["ratelimit-policy"].to_str().unwrap();
            assert!(policy.contains("\"read-ip\";q=3;w=180"), "{policy}");
        }
        let refused = app.event(1).await;
        refused.assert_error(429, "RATE_LIMITED");
        let wait: u64 = refused.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((55..=60).contains(&wait), "Retry-After {wait}");
        assert!(refused.headers["ratelimit"].to_str().unwrap().contains("r=0"));
        // Unknown paths are reads too, so walking ids or paths is limited.
        app.send("GET", "/events/2", As::Nobody, None).await.assert_error(429, "RATE_LIMITED");
        app.send("GET", "/nowhere", As::Nobody, None).await.assert_error(429, "RATE_LIMITED");
        // Probes, metrics and the document are never limited; writes are
        // another class.
        for path in ["/health/live", "/health/ready", "/metrics", "/openapi.json"] {
            let (status, headers, _) = app.get_text(path).await;
            assert_eq!(status, 200, "{path}");
            assert!(!headers.contains_key("ratelimit"), "{path}");
            // A probe that sends HEAD is a probe too.
            let head = app.client.head(format!("{}{path}", app.address)).send().await.unwrap();
            assert_eq!(head.status(), 200, "HEAD {path}");
            assert!(!head.headers().contains_key("ratelimit"), "HEAD {path}");
        }
        // A HEAD of a read is a read.
        let head = app.client.head(format!("{}/events/1", app.address)).send().await.unwrap();
        assert_eq!(head.status(), 429);
        assert_eq!(app.create_event_as(As::Nobody, 5).await.status, 201);
        let (_, _, metrics) = app.get_text("/metrics").await;
        assert!(
            metrics.contains("booking_rate_limited_total{class=\"read\",by=\"ip\"}"),
            "{metrics}"
        );
    }
}

on_both_stores! {
    async fn each_caller_has_a_limit_of_its_own() {
        let app = limited(|s| s.rate_limits.reserve.per_caller = tight(2)).await;
        let event = app.create_event(20).await;
        let reserve = |user: &'static str, seat: &'static str| {
            let app = &app;
            async move {
                app.send(
                    "POST",
                    &format!("/events/{event}/seats/reserve"),
                    As::Header(user),
                    Some(serde_json::json!({ "seatCodes": [seat] })),
                )
                .await
            }
        };
        assert_eq!(reserve("alice", "S1").await.status, 201);
        assert_eq!(reserve("alice", "S2").await.status, 201);
        let refused = reserve("alice", "S3").await;
        refused.assert_error(429, "RATE_LIMITED");
        assert!(refused.headers["ratelimit-policy"].to_str().unwrap().contains("\"reserve-caller\";q=2"));
        // The refusal did no work: S3 is free for bob, who has his own limit.
        assert_eq!(reserve("bob", "S3").await.status, 201);
        assert_eq!(app.counts(event).await.1, 3);
        // Other classes are not affected.
        assert_eq!(app.event(event).await.status, 200);
        // The refused hold is counted by its code.
        let (_, _, metrics) = app.get_text("/metrics").await;
        let refused = "booking_operations_total{operation=\"hold\",result=\"RATE_LIMITED\"}";
        assert!(metrics.contains(refused), "{metrics}");
    }
}

async fn get(app: &TestApp, client: &str) -> u16 {
    app.send_with(
        "GET",
        "/events/1",
        As::Nobody,
        &[("X-Forwarded-For", client)],
        None,
    )
    .await
    .status
    .as_u16()
}

on_both_stores! {
    async fn x_forwarded_for_is_believed_only_from_a_trusted_proxy() {
        // Not trusted: the header is ignored, everyone is 127.0.0.1.
        let app = limited(|s| s.rate_limits.read.per_ip = tight(2)).await;
        assert_eq!(get(&app, "203.0.113.1").await, 404);
        assert_eq!(get(&app, "203.0.113.2").await, 404);
        assert_eq!(get(&app, "203.0.113.3").await, 429);

        // Trusted: each forwarded client has its own limit, and a spoofed
        // hop before it is not believed.
        let app = limited(|s| {
            s.rate_limits.read.per_ip = tight(2);
            s.rate_limits.trusted_proxies = vec!["127.0.0.0/8".into()];
        })
        .await;
        assert_eq!(get(&app, "203.0.113.1").await, 404);
        assert_eq!(get(&app, "198.51.100.9, 203.0.113.1").await, 404);
        assert_eq!(get(&app, "203.0.113.1").await, 429);
        assert_eq!(get(&app, "203.0.113.2").await, 404);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_one_limit() {
    STORES
        .scope(Stores::PostgresRedis, async {
            let first = limited(|s| s.rate_limits.read.per_ip = tight(4)).await;
            let (url, prefix) = (
                first.settings.postgres.url.clone(),
                first.settings.redis.key_prefix.clone(),
            );
            let second = limited(|s| {
                s.rate_limits.read.per_ip = tight(4);
                s.postgres.url = url;
                s.redis.key_prefix = prefix;
            })
            .await;
            for app in [&first, &second, &first, &second] {
                app.event(1).await.assert_error(404, "EVENT_NOT_FOUND");
            }
            // Four spent across both: each instance now refuses.
            first.event(1).await.assert_error(429, "RATE_LIMITED");
            second.event(1).await.assert_error(429, "RATE_LIMITED");
        })
        .await;
}

#[tokio::test]
async fn rate_limits_are_off_unless_enabled() {
    let app = spawn_app().await;
    assert!(!app.settings.rate_limits.enabled);
    for _ in 0..50 {
        let answer = app.event(1).await;
        assert_eq!(answer.status, 404);
        assert!(!answer.headers.contains_key("ratelimit"));
    }
}
