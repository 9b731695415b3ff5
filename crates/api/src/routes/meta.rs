//! The api's own description: the OpenAPI document, the page that renders
//! it, and the Prometheus metrics.

use std::sync::{Arc, LazyLock};

use actix_web::http::header::{self, ContentType};
use actix_web::{web, HttpResponse};

use crate::error::ApiError;
use crate::metrics::Scrape;

/// The OpenAPI 3.1 document of every endpoint.
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openapiDocument",
    tag = "operations",
    responses((status = 200, description = "This document.", content_type = "application/json", body = Object))
)]
pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(crate::openapi::document_json())
}

/// Prometheus text exposition: requests, operations, stores, process.
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "operations",
    responses((
        status = 200,
        description = "Metrics in the Prometheus text format 0.0.4 (see docs/API.md for the names).",
        content_type = "text/plain; version=0.0.4",
        body = String,
    ))
)]
pub async fn metrics(scrape: web::Data<Scrape>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        ))
        .body(scrape.render())
}

/// Swagger UI at `/docs/`, its assets compiled into the binary (no
/// internet access needed), reading `/openapi.json`; `/docs` leads there.
pub fn swagger_ui() -> impl actix_web::dev::HttpServiceFactory {
    // A scope, so that only paths under `/docs` run the regex of `{file}`
    // (see `routes::configure`).
    web::scope("/docs")
        .service(super::get_and_head("", || async {
            HttpResponse::PermanentRedirect()
                .insert_header((header::LOCATION, "/docs/"))
                .finish()
        }))
        .service(super::get_and_head("/{file:.*}", docs_file))
}

/// One of Swagger UI's files; a name it does not have is a 404 like any
/// other, with a JSON body.
async fn docs_file(file: web::Path<String>) -> Result<HttpResponse, ApiError> {
    static CONFIG: LazyLock<Arc<utoipa_swagger_ui::Config<'static>>> =
        LazyLock::new(|| Arc::new(utoipa_swagger_ui::Config::from("/openapi.json")));
    match utoipa_swagger_ui::serve(&file, CONFIG.clone()) {
        Ok(Some(found)) => Ok(HttpResponse::Ok()
            .content_type(found.content_type)
            .body(found.bytes.into_owned())),
        Ok(None) => Err(ApiError::not_found("NOT_FOUND", "no such endpoint")),
        Err(error) => Err(ApiError::internal(error.to_string())),
    }
}
