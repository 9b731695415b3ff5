//! The OpenAPI 3.1 document, generated from the handlers' annotations and
//! completed here by the rules every endpoint shares, each written once:
//! POSTs take `Idempotency-Key`; limited endpoints may answer 429
//! `RATE_LIMITED`; endpoints that reach a store may answer 503; the error
//! body's `code` is one of `error::CODES`. What applies to an endpoint is
//! read from `routes::ENDPOINTS`, the list of what is served.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use actix_web::http::Method;
use utoipa::openapi::path::{Operation, Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    header::HeaderBuilder, ContentBuilder, ObjectBuilder, OpenApi as Document, Ref, RefOr,
    Required, ResponseBuilder, Schema, Type,
};
use utoipa::{Modify, OpenApi};

use crate::error::CODES;
use crate::routes::{self, Class, Idempotency, ENDPOINTS};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "booking-api",
        description = "Seat booking for events with numbered seats: hold seats for a few minutes, \
            confirm a hold into a booking exactly once, release, cancel. The contract in prose, \
            with identity, limits, rate limits and idempotency: docs/API.md in the repository. \
            Every GET here but the live stream also answers HEAD (its status and headers, no \
            body); a method a path does not take gets 405 with `Allow`. This document, \
            rendered: /docs.",
        license(name = "MIT"),
    ),
    paths(
        routes::events::create::handle,
        routes::events::details::handle,
        routes::events::reserve::handle,
        routes::events::confirm::handle,
        routes::events::release::handle,
        routes::bookings::cancel::handle,
        routes::bookings::view::handle,
        routes::holds::view::handle,
        routes::holds::extend::handle,
        routes::events::seats::handle,
        routes::events::stream::handle,
        routes::events::map::handle,
        routes::users::bookings::handle,
        routes::health::test_pg,
        routes::health::live,
        routes::health::ready,
        routes::meta::metrics,
        routes::meta::openapi,
    ),
    components(schemas(crate::error::Body)),
    modifiers(&Shared),
    tags(
        (name = "events", description = "Events and their seat counts."),
        (name = "holds", description = "Holding seats, confirming and releasing holds."),
        (name = "bookings", description = "Bookings: view and cancel."),
        (name = "operations", description = "Health, metrics and this document."),
    )
)]
struct ApiDoc;

/// The document as served, built once.
pub fn document() -> &'static Document {
    static DOCUMENT: OnceLock<Document> = OnceLock::new();
    DOCUMENT.get_or_init(ApiDoc::openapi)
}

/// The document's JSON text, built once.
pub fn document_json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        let mut json = serde_json::to_value(document()).expect("the OpenAPI document serializes");
        add_links(&mut json);
        json.to_string()
    })
}

/// Every (method, path) the document describes, for the test that
/// compares them with what is served.
pub fn documented() -> Vec<(Method, String)> {
    let mut out = Vec::new();
    for (path, item) in &document().paths.paths {
        for (method, operation) in methods(item) {
            if operation.is_some() {
                out.push((method, path.clone()));
            }
        }
    }
    out
}

fn methods(item: &utoipa::openapi::PathItem) -> [(Method, &Option<Operation>); 5] {
    [
        (Method::GET, &item.get),
        (Method::POST, &item.post),
        (Method::PUT, &item.put),
        (Method::PATCH, &item.patch),
        (Method::DELETE, &item.delete),
    ]
}

struct Shared;

impl Modify for Shared {
    fn modify(&self, doc: &mut Document) {
        security_schemes(doc);
        error_codes(doc);
        for endpoint in &ENDPOINTS {
            let Some(item) = doc.paths.paths.get_mut(endpoint.path) else {
                continue;
            };
            let operation = match endpoint.method {
                Method::GET => item.get.as_mut(),
                Method::POST => item.post.as_mut(),
                _ => None,
            };
            if let Some(operation) = operation {
                complete(operation, endpoint);
            }
        }
    }
}

fn security_schemes(doc: &mut Document) {
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearerAuth",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .description(Some(
                    "auth.mode = jwt: an HS256 token with `sub` (the user id) and `exp`; \
                     `role: \"admin\"` marks an administrator.",
                ))
                .build(),
        ),
    );
    components.add_security_scheme(
        "userIdHeader",
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "X-User-Id",
            "auth.mode = trust (development only): the caller names itself; a body `userId` wins.",
        ))),
    );
}

/// The error body's `code`, enumerated.
fn error_codes(doc: &mut Document) {
    let Some(components) = doc.components.as_mut() else {
        return;
    };
    let Some(RefOr::T(Schema::Object(error))) = components.schemas.get_mut("Error") else {
        return;
    };
    let description = CODES
        .iter()
        .map(|(code, meaning)| format!("- `{code}`: {meaning}"))
        .collect::<Vec<_>>()
        .join("\n");
    error.properties.insert(
        "code".into(),
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(CODES.iter().map(|(code, _)| *code)))
            .description(Some(format!(
                "What went wrong, for programs:\n{description}"
            )))
            .into(),
    );
}

/// How a client (and schemathesis' stateful tests) goes from one answer
/// to the next call: a new event to its details and its reserves, a hold
/// to its confirm, release and view (and to the same seats asked for
/// again, which are taken: the 409 a second buyer sees), a booking to its
/// view and cancel.
/// Written into the JSON: utoipa 5 serializes a link's `operationId` as
/// `operation_id`.
fn add_links(doc: &mut serde_json::Value) {
    use serde_json::json;

    let link = |operation: &str, parameters: serde_json::Value, body: Option<serde_json::Value>| {
        let mut link = json!({"operationId": operation, "parameters": parameters});
        if let Some(body) = body {
            link["requestBody"] = body;
        }
        link
    };
    // The caller of the next step is the caller of this one.
    let hold_body = json!({
        "userId": "$request.body#/userId",
        "holdGroupId": "$response.body#/holdGroupId",
    });
    let event = json!({"eventId": "$response.body#/eventId"});
    let same_event = json!({"eventId": "$request.path.eventId"});
    let booking = json!({"bookingGroupId": "$response.body#/bookingGroupId"});
    let table = [
        (
            "/events",
            "201",
            json!({
                "GetEvent": link("getEvent", event.clone(), None),
                "ReserveSeats": link("reserveSeats", event, None),
            }),
        ),
        (
            "/events/{eventId}/seats/reserve",
            "201",
            json!({
                "ConfirmHold": link("confirmHold", same_event.clone(), Some(hold_body.clone())),
                "ReleaseHold": link("releaseHold", same_event.clone(), Some(hold_body)),
                "GetHold": link("getHold", json!({"holdGroupId": "$response.body#/holdGroupId"}), None),
                "ReserveSameSeats": link(
                    "reserveSeats",
                    same_event,
                    Some(json!({
                        "userId": "$request.body#/userId",
                        "seatCodes": "$response.body#/seatCodes",
                    })),
                ),
            }),
        ),
        (
            "/events/{eventId}/seats/confirm",
            "200",
            json!({
                "GetBooking": link("getBooking", booking.clone(), None),
                "CancelBooking": link("cancelBooking", booking, Some(json!({"userId": "$request.body#/userId"}))),
            }),
        ),
    ];
    for (path, status, links) in table {
        let pointer = format!("/paths/{}/post/responses/{status}", path.replace('/', "~1"));
        if let Some(response) = doc.pointer_mut(&pointer) {
            response["links"] = links;
        }
    }
}

/// Adds what `endpoint`'s class and method imply to its operation.
fn complete(operation: &mut Operation, endpoint: &routes::Endpoint) {
    if endpoint.path == "/bookings/{bookingGroupId}/cancel" {
        // The original API took no body here: it stays optional.
        if let Some(body) = operation.request_body.as_mut() {
            body.required = Some(Required::False);
        }
    }
    if endpoint.idempotency != Idempotency::None {
        operation
            .parameters
            .get_or_insert_with(Vec::new)
            .push(idempotency_key());
        error(operation, 400, "`INVALID_IDEMPOTENCY_KEY`.", &[]);
        error(
            operation,
            409,
            "`IDEMPOTENCY_KEY_IN_USE`: a request with this key is still running.",
            &[],
        );
        error(
            operation,
            413,
            "`PAYLOAD_TOO_LARGE`: over `server.max_body_bytes`.",
            &[],
        );
        error(
            operation,
            422,
            "`IDEMPOTENCY_KEY_REUSED`: the key was used with another request.",
            &[],
        );
    }
    if endpoint.class != Class::Exempt {
        error(
            operation,
            429,
            "`RATE_LIMITED`: over a rate limit of this caller or address (when `rate_limits.enabled`).",
            &[
                ("Retry-After", "Seconds to wait."),
                ("RateLimit", "The limits' state (IETF draft): `\"<policy>\";r=<remaining>;t=<seconds>`."),
                ("RateLimit-Policy", "The limits (IETF draft): `\"<policy>\";q=<quota>;w=<window seconds>`."),
            ],
        );
        error(
            operation,
            503,
            "`SERVICE_UNAVAILABLE`: a store is down.",
            &[("Retry-After", "Seconds to wait.")],
        );
    }
}

fn idempotency_key() -> Parameter {
    ParameterBuilder::new()
        .name("Idempotency-Key")
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "1 to 255 printable ASCII characters (quotes around it are removed). The same key \
             from the same caller with the same body within 24 h replays the first response \
             (with `Idempotent-Replayed: true`) without doing the work again. Make a new one \
             (a random UUID, say) for each operation, and send it again only on a retry of \
             that operation.",
        ))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(255))
                .pattern(Some("^[\\x20-\\x7E]+$")),
        ))
        .build()
}

/// Adds an error response, or extends the description of the one the
/// handler documents for the same status.
fn error(operation: &mut Operation, status: u16, description: &str, headers: &[(&str, &str)]) {
    let responses: &mut BTreeMap<String, RefOr<utoipa::openapi::Response>> =
        &mut operation.responses.responses;
    let key = status.to_string();
    if let Some(RefOr::T(existing)) = responses.get_mut(&key) {
        let code = description.split('`').nth(1).unwrap_or(description);
        if !existing.description.contains(code) {
            existing.description = format!("{} Or {description}", existing.description);
        }
        for (name, text) in headers {
            existing.headers.insert((*name).into(), header(text));
        }
        return;
    }
    let mut response = ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("Error")))
            .build(),
    );
    for (name, text) in headers {
        response = response.header(*name, header(text));
    }
    responses.insert(key, RefOr::T(response.build()));
}

fn header(description: &str) -> utoipa::openapi::header::Header {
    HeaderBuilder::new()
        .schema(ObjectBuilder::new().schema_type(Type::String))
        .description(Some(description))
        .build()
}
