use crate::helpers::{spawn_app, As};

#[tokio::test]
async fn test_pg_names_the_in_memory_store_without_connection_details() {
    let app = spawn_app().await;
    let answer = app.send("GET", "/test-pg", As::Nobody, None).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["connected"], true);
    assert!(
        answer.str("version").contains("in-memory"),
        "{:?}",
        answer.body
    );
    assert!(chrono::DateTime::parse_from_rfc3339(&answer.str("currentTime")).is_ok());
    let text = answer.body.to_string();
    assert!(!text.contains("postgres://") && !text.contains("redis://"));
}

on_both_stores! {
    async fn health_endpoints_answer() {
        let app = spawn_app().await;
        assert_eq!(
            app.send("GET", "/health/live", As::Nobody, None)
                .await
                .status,
            200
        );
        let ready = app.send("GET", "/health/ready", As::Nobody, None).await;
        assert_eq!(ready.status, 200);
        assert_eq!(ready.body["status"], "ready");
    }
}

on_both_stores! {
    async fn every_response_carries_a_request_id() {
        let app = spawn_app().await;
        let answer = app.event(1).await;
        let id = answer.headers["x-request-id"].to_str().unwrap();
        assert!(uuid::Uuid::parse_str(id).is_ok());
        let echoed = app
            .client
            .get(format!("{}/nope", app.address))
            .header("X-Request-Id", "client-chosen-42")
            .send()
            .await
            .unwrap();
        assert_eq!(echoed.status(), 404);
        assert_eq!(echoed.headers()["x-request-id"], "client-chosen-42");
    }
}

on_both_stores! {
    async fn unknown_paths_and_methods_get_json_errors() {
        let app = spawn_app().await;
        app.send("GET", "/nowhere", As::Nobody, None)
            .await
            .assert_error(404, "NOT_FOUND");
        app.send("DELETE", "/events/1", As::Nobody, None)
            .await
            .assert_error(405, "METHOD_NOT_ALLOWED");
    }
}
