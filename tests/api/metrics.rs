//! `GET /metrics`: the Prometheus text, its names and types, labels that
//! stay bounded whatever clients send, and the outcomes of operations.
//! The recorder is one per process, so other tests' series appear too:
//! assertions look for series, never for exact counts.

use std::collections::HashMap;

use crate::helpers::{spawn_app, As, Stores, TestApp, STORES};

/// `# TYPE` lines: metric name → kind.
fn types(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.split_once(' '))
        .map(|(name, kind)| (name.to_owned(), kind.to_owned()))
        .collect()
}

/// The value of the first sample whose line starts with `series`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|line| line.starts_with(series))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

async fn scrape(app: &TestApp) -> String {
    let (status, headers, text) = app.get_text("/metrics").await;
    assert_eq!(status, 200);
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    text
}

on_both_stores! {
    async fn metrics_name_every_part_with_its_type() {
        let app = spawn_app().await;
        let event = app.create_event(10).await;
        let hold = app.hold(event, "alice", &["S1"]).await;
        app.reserve(event, "bob", &["S1"]).await.assert_error(409, "SEATS_UNAVAILABLE");
        let booking = app.book(event, "alice", &["S2"]).await;
        app.release(event, "alice", &hold).await;
        app.cancel(&booking, As::Header("alice")).await;
        let text = scrape(&app).await;
        let kinds = types(&text);
        for (name, kind) in [
            ("http_requests_total", "counter"),
            ("http_request_duration_seconds", "histogram"),
            ("booking_operations_total", "counter"),
            ("booking_store_call_duration_seconds", "histogram"),
            ("booking_ledger_reloads_total", "counter"),
            // Here before anything is refused or mended (the black-box
            // audit looked for them and found nothing).
            ("booking_ledger_faults_total", "counter"),
            ("booking_rate_limited_total", "counter"),
            ("process_cpu_seconds_total", "counter"),
            ("process_resident_memory_bytes", "gauge"),
            ("process_virtual_memory_bytes", "gauge"),
            ("process_open_fds", "gauge"),
            ("process_max_fds", "gauge"),
            ("process_start_time_seconds", "gauge"),
        ] {
            assert_eq!(kinds.get(name).map(String::as_str), Some(kind), "{name} in:\n{text}");
        }
        for series in [
            "booking_operations_total{operation=\"hold\",result=\"ok\"}",
            "booking_operations_total{operation=\"hold\",result=\"SEATS_UNAVAILABLE\"}",
            "booking_operations_total{operation=\"confirm\",result=\"ok\"}",
            "booking_operations_total{operation=\"release\",result=\"ok\"}",
            "booking_operations_total{operation=\"cancel\",result=\"ok\"}",
            "http_requests_total{method=\"POST\",route=\"/events/{eventId}/seats/reserve\",status=\"2xx\"}",
            "http_requests_total{method=\"POST\",route=\"/events/{eventId}/seats/reserve\",status=\"4xx\"}",
            "http_request_duration_seconds_bucket{method=\"POST\",route=\"/events\",status=\"2xx\",le=\"+Inf\"}",
        ] {
            assert!(sample(&text, series).is_some_and(|n| n >= 1.0), "{series} in:\n{text}");
        }
        for series in [
            "booking_ledger_faults_total{fault=\"stale_pending\"}",
            "booking_ledger_faults_total{fault=\"abort_failed\"}",
            "booking_rate_limited_total{class=\"reserve\",by=\"caller\"}",
            "booking_rate_limited_total{class=\"read\",by=\"ip\"}",
        ] {
            assert!(sample(&text, series).is_some(), "{series} in:\n{text}");
        }
        let rss = sample(&text, "process_resident_memory_bytes ").unwrap();
        assert!(rss > 1e6, "{rss}");
        let started = sample(&text, "process_start_time_seconds ").unwrap();
        let now = chrono::Utc::now().timestamp() as f64;
        assert!(started <= now + 1.0 && started > now - 3600.0, "{started} vs {now}");

        let store = if STORES.with(|s| *s) == Stores::Memory { "memory" } else { "redis" };
        let reserve = format!("booking_store_call_duration_seconds_count{{store=\"{store}\",call=\"reserve\",outcome=\"ok\"}}");
        assert!(sample(&text, &reserve).is_some(), "{reserve}");
        if store == "redis" {
            let confirm = "booking_store_call_duration_seconds_count{store=\"postgres\",call=\"confirm\",outcome=\"ok\"}";
            assert!(sample(&text, confirm).is_some(), "{confirm}");
            assert_eq!(kinds.get("booking_pool_connections").map(String::as_str), Some("gauge"));
            for pool in ["postgres", "redis_holds", "redis_idempotency"] {
                let max = format!("booking_pool_max_connections{{pool=\"{pool}\"}}");
                assert!(sample(&text, &max).is_some_and(|n| n >= 1.0), "{max}");
                let idle = format!("booking_pool_connections{{pool=\"{pool}\",state=\"idle\"}}");
                assert!(sample(&text, &idle).is_some(), "{idle}");
            }
        }
    }
}

// Series handles are kept per worker thread after their first use (see
// metrics::kept): they must go on counting, not only appear. Counts only
// grow, so this holds whatever other tests record meanwhile.
on_both_stores! {
    async fn series_keep_counting_after_their_first_request() {
        let app = spawn_app().await;
        let event = app.create_event(10).await;
        let requests = "http_requests_total{method=\"GET\",route=\"/events/{eventId}\",status=\"2xx\"}";
        let store = if STORES.with(|s| *s) == Stores::Memory { "memory" } else { "redis" };
        let counts = format!("booking_store_call_duration_seconds_count{{store=\"{store}\",call=\"counts\",outcome=\"ok\"}}");
        app.counts(event).await;
        let before = scrape(&app).await;
        for _ in 0..5 {
            app.counts(event).await;
        }
        let after = scrape(&app).await;
        for series in [requests, counts.as_str()] {
            let (was, is) = (sample(&before, series).unwrap(), sample(&after, series).unwrap());
            assert!(is >= was + 5.0, "{series}: {was} then {is}");
        }
    }
}

on_both_stores! {
    async fn labels_are_route_templates_whatever_the_path() {
        let app = spawn_app().await;
        app.event(987_654_321).await.assert_error(404, "EVENT_NOT_FOUND");
        let junk = format!("/x-{}", uuid::Uuid::new_v4().simple());
        app.send("GET", &junk, As::Nobody, None).await.assert_error(404, "NOT_FOUND");
        app.send("BREW", "/events/1", As::Nobody, None).await.assert_error(405, "METHOD_NOT_ALLOWED");
        let text = scrape(&app).await;
        assert!(!text.contains("987654321") && !text.contains(&junk[3..]), "raw paths leaked");
        assert!(!text.contains("BREW"), "raw methods leaked");
        for series in [
            "http_requests_total{method=\"GET\",route=\"/events/{eventId}\",status=\"4xx\"}",
            "http_requests_total{method=\"GET\",route=\"unmatched\",status=\"4xx\"}",
            "http_requests_total{method=\"other\",route=\"/events/{eventId}\",status=\"4xx\"}",
        ] {
            assert!(sample(&text, series).is_some(), "{series} in:\n{text}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ledger_counts_a_lost_mirror_and_its_reload() {
    let app = STORES
        .scope(
            Stores::PostgresRedis,
            crate::helpers::spawn_app_with(|_| {}),
        )
        .await;
    let event = app.create_event(10).await;
    app.book(event, "alice", &["S1"]).await;
    // Lose the event's Redis data, as a flush would.
    let client = redis::Client::open(app.settings.redis.url.expose()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let pattern = format!("{}:{{e:{event}}}:*", app.settings.redis.key_prefix);
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(&pattern)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(!keys.is_empty());
    let _: () = redis::cmd("DEL")
        .arg(&keys)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(app.counts(event).await.0, 1, "reloaded from Postgres");
    let text = scrape(&app).await;
    assert!(
        sample(
            &text,
            "booking_ledger_faults_total{fault=\"mirror_missing\"}"
        )
        .is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert!(
        sample(&text, "booking_ledger_reloads_total{outcome=\"loaded\"}").is_some_and(|n| n >= 2.0),
        "{text}"
    );
}

#[tokio::test]
async fn scraping_twice_counts_up() {
    let app = spawn_app().await;
    let before = sample(
        &scrape(&app).await,
        "http_requests_total{method=\"GET\",route=\"/metrics\",status=\"2xx\"}",
    )
    .unwrap_or(0.0);
    let after = sample(
        &scrape(&app).await,
        "http_requests_total{method=\"GET\",route=\"/metrics\",status=\"2xx\"}",
    )
    .unwrap();
    assert!(after >= before + 1.0, "{before} -> {after}");
}
