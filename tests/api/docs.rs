//! The OpenAPI document and its page: everything served is documented,
//! everything documented is served, and the page works offline.

use std::collections::BTreeSet;

use booking_api::error::CODES;
use booking_api::routes::ENDPOINTS;
use serde_json::Value;

use crate::helpers::{spawn_app, As};

#[test]
fn every_served_route_is_documented_and_back() {
    let served: BTreeSet<(String, String)> = ENDPOINTS
        .iter()
        .map(|e| (e.method.to_string(), e.path.to_owned()))
        .collect();
    let documented: BTreeSet<(String, String)> = booking_api::openapi::documented()
        .into_iter()
        .map(|(method, path)| (method.to_string(), path))
        .collect();
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty(),
        "served but not in the OpenAPI document (add a #[utoipa::path] and list it in openapi.rs): {undocumented:?}"
    );
    assert!(
        unserved.is_empty(),
        "documented but not served (add it to routes::ENDPOINTS): {unserved:?}"
    );
}

/// A concrete path for a documented template.
fn concrete(template: &str) -> String {
    template
        .replace("{eventId}", "1")
        .replace("{holdGroupId}", "00000000-0000-4000-8000-000000000000")
        .replace("{bookingGroupId}", "00000000-0000-4000-8000-000000000000")
}

on_both_stores! {
    async fn every_documented_operation_is_answered_by_its_handler() {
        let app = spawn_app().await;
        let doc = app.send("GET", "/openapi.json", As::Nobody, None).await;
        assert_eq!(doc.status, 200);
        let paths = doc.body["paths"].as_object().unwrap();
        assert!(!paths.is_empty());
        for (template, item) in paths {
            for method in item.as_object().unwrap().keys() {
                let path = concrete(template);
                let method = method.to_uppercase();
                let response = app
                    .client
                    .request(method.parse().unwrap(), format!("{}{path}", app.address))
                    .header("X-User-Id", "alice")
                    .send()
                    .await
                    .unwrap();
                let status = response.status().as_u16();
                let body = response.text().await.unwrap();
                let code = serde_json::from_str::<Value>(&body)
                    .ok()
                    .and_then(|v| v["code"].as_str().map(str::to_owned));
                // The router's own answers for what it does not serve.
                assert!(
                    !matches!(code.as_deref(), Some("NOT_FOUND" | "METHOD_NOT_ALLOWED")),
                    "{method} {path} is documented but not served: {status} {body}"
                );
            }
        }
    }
}

fn resolve<'a>(doc: &'a Value, reference: &str) -> &'a Value {
    let pointer = reference.trim_start_matches('#');
    doc.pointer(pointer)
        .unwrap_or_else(|| panic!("dangling $ref {reference}"))
}

fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.push(r.clone());
            }
            map.values().for_each(|v| refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_document_is_openapi_3_1_with_both_security_schemes_and_every_error_code() {
    let app = spawn_app().await;
    let doc = app
        .send("GET", "/openapi.json", As::Nobody, None)
        .await
        .body;
    assert_eq!(doc["openapi"], "3.1.0");
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearerAuth"]["type"], "http");
    assert_eq!(schemes["bearerAuth"]["scheme"], "bearer");
    assert_eq!(schemes["bearerAuth"]["bearerFormat"], "JWT");
    assert_eq!(schemes["userIdHeader"]["type"], "apiKey");
    assert_eq!(schemes["userIdHeader"]["in"], "header");
    assert_eq!(schemes["userIdHeader"]["name"], "X-User-Id");

    let error = &doc["components"]["schemas"]["Error"];
    let codes: Vec<&str> = error["properties"]["code"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let expected: Vec<&str> = CODES.iter().map(|(code, _)| *code).collect();
    assert_eq!(codes, expected);
    for code in [
        "RATE_LIMITED",
        "IDEMPOTENCY_KEY_IN_USE",
        "IDEMPOTENCY_KEY_REUSED",
        "INVALID_IDEMPOTENCY_KEY",
    ] {
        assert!(codes.contains(&code), "{code}");
    }
    assert!(
        error["example"].is_object(),
        "the error shape has an example"
    );

    let mut ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let id = operation["operationId"].as_str().unwrap().to_owned();
            assert!(ids.insert(id.clone()), "operationId {id} is not unique");
            let parameters = operation["parameters"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let takes_key = parameters
                .iter()
                .any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header");
            assert_eq!(
                takes_key,
                method == "post",
                "{method} {path}: Idempotency-Key"
            );
            let responses = operation["responses"].as_object().unwrap();
            if method == "post" {
                for status in ["409", "413", "422"] {
                    assert!(
                        responses.contains_key(status),
                        "{method} {path}: no {status}"
                    );
                }
            }
            if !path.starts_with("/health") && path != "/metrics" && path != "/openapi.json" {
                let limited = &responses["429"];
                assert!(
                    limited["headers"]["Retry-After"].is_object(),
                    "{method} {path}: 429 Retry-After"
                );
                assert!(
                    responses["503"]["headers"]["Retry-After"].is_object(),
                    "{method} {path}: 503"
                );
            }
        }
    }
    // Examples on the request bodies, and every reference resolves.
    let create =
        &doc["paths"]["/events"]["post"]["requestBody"]["content"]["application/json"]["schema"];
    let schema = resolve(&doc, create["$ref"].as_str().unwrap());
    assert_eq!(schema["example"]["rows"][0]["label"], "A");
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(all.len() > 20);
    for reference in &all {
        resolve(&doc, reference);
    }
}

#[tokio::test]
async fn the_docs_page_renders_the_document_with_no_internet_access() {
    let app = spawn_app().await;
    // `/docs` leads to `/docs/` (reqwest follows the redirect).
    let (status, headers, page) = app.get_text("/docs").await;
    assert_eq!(status, 200);
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(page.contains("swagger-ui"), "{page}");
    // Every asset comes from the binary, none from a CDN.
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "{page}"
    );
    for asset in ["/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css"] {
        let (status, _, body) = app.get_text(asset).await;
        assert_eq!(status, 200, "{asset}");
        assert!(body.len() > 10_000, "{asset} is served from the binary");
    }
    let (status, _, init) = app.get_text("/docs/swagger-initializer.js").await;
    assert_eq!(status, 200);
    assert!(init.contains("/openapi.json"), "{init}");
}
