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
        // HTTP asks a 405 to say what the path takes.
        for (method, path, allow) in [
            ("DELETE", "/events/1", "GET, HEAD"),
            ("GET", "/events/1/seats/reserve", "POST"),
            ("GET", "/holds/x/extend", "POST"),
            ("POST", "/bookings/x", "GET, HEAD"),
            // The `/events` scope's own resource.
            ("GET", "/events", "POST"),
        ] {
            let wrong = app.send(method, path, As::Nobody, None).await;
            wrong.assert_error(405, "METHOD_NOT_ALLOWED");
            assert_eq!(wrong.headers["allow"], allow, "{method} {path}");
        }
        // Paths under a served stem or template are told apart as any
        // others (routes::configure serves them from a tree of scopes).
        for path in [
            "/events/1/",
            "/events/1/nope",
            "/holds/x/",
            "/bookings/x/cancel/more",
            "/events/",
            "/eventsx",
            "/bookings",
            "/holds",
            "/docsx",
        ] {
            app.send("GET", path, As::Nobody, None)
                .await
                .assert_error(404, "NOT_FOUND");
        }
        let wrong = app.client.head(format!("{}/events/1/stream", app.address)).send().await.unwrap();
        assert_eq!(wrong.status(), 405);
        assert_eq!(wrong.headers()["allow"], "GET");
        let wrong = app.send("POST", "/docs/", As::Nobody, None).await;
        wrong.assert_error(405, "METHOD_NOT_ALLOWED");
        assert_eq!(wrong.headers["allow"], "GET, HEAD");
        // Swagger UI's files are served like the rest: an unknown one is a
        // JSON 404.
        app.send("GET", "/docs/nope.js", As::Nobody, None)
            .await
            .assert_error(404, "NOT_FOUND");
    }
}

on_both_stores! {
    async fn a_head_is_answered_as_its_get_without_the_body() {
        let app = spawn_app().await;
        let event = app.create_event(3).await;
        for path in [
            "/health/live".to_owned(),
            "/health/ready".to_owned(),
            format!("/events/{event}"),
            format!("/events/{event}/seats"),
            "/openapi.json".to_owned(),
            "/docs/".to_owned(),
        ] {
            let url = format!("{}{path}", app.address);
            let get = app.client.get(&url).send().await.unwrap();
            let head = app.client.head(&url).send().await.unwrap();
            assert_eq!(head.status(), get.status(), "{path}");
            assert_eq!(head.headers()["content-type"], get.headers()["content-type"], "{path}");
            assert!(head.headers().contains_key("x-request-id"), "{path}");
            assert!(head.text().await.unwrap().is_empty(), "{path}");
            assert!(!get.text().await.unwrap().is_empty(), "{path}");
        }
        let url = format!("{}/events/999999", app.address);
        let head = app.client.head(&url).send().await.unwrap();
        assert_eq!(head.status(), 404);
        // The connection is still good for the next request.
        assert_eq!(app.event(event).await.status, 200);
    }
}
