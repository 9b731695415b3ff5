//! One handler per file, grouped by resource. Each extracts, calls the
//! service, and shapes the answer; statuses of failures live in `error`.
//!
//! [`ENDPOINTS`] is the one list of what the api serves: routing, rate-limit
//! classes, idempotency, metric names and the OpenAPI test all read it. A
//! new endpoint is one line here plus its `#[utoipa::path]` listed in
//! `openapi.rs`; the test `every_served_route_is_documented_and_back`
//! fails until both are there.

pub(crate) mod bookings;
pub(crate) mod events;
pub(crate) mod health;
pub(crate) mod holds;
pub(crate) mod meta;
pub(crate) mod users;

use actix_web::dev::ServiceRequest;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpResponse, HttpResponseBuilder, ResponseError};
use chrono::{DateTime, SecondsFormat, Utc};

use crate::error::ApiError;
use crate::iso_time::IsoTime;

/// Which rate limit a request counts against (`rate_limits.<class>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// `POST .../seats/reserve`: the scarce resource, limited hardest.
    Reserve,
    /// Every other write.
    Write,
    /// Reads.
    Read,
    /// Probes, metrics and documentation: never limited, so an overloaded
    /// instance can still be observed and taken out of rotation.
    Exempt,
}

impl Class {
    /// Every class a rate limit applies to.
    pub const LIMITED: [Class; 3] = [Class::Reserve, Class::Write, Class::Read];

    pub fn as_str(self) -> &'static str {
        match self {
            Class::Reserve => "reserve",
            Class::Write => "write",
            Class::Read => "read",
            Class::Exempt => "exempt",
        }
    }

    /// The class of a request that matched no endpoint: walking unknown
    /// paths is limited like any other request.
    pub fn of_unmatched(method: &Method) -> Self {
        if method == Method::GET || method == Method::HEAD {
            Class::Read
        } else {
            Class::Write
        }
    }
}

/// Where an endpoint's `Idempotency-Key` records live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// Not a POST: the header is ignored.
    None,
    /// In the idempotency store (Redis, or in process on the memory
    /// store). Losing the store's data lets a retry run again.
    Store,
    /// Also recorded by the domain with the operation's own effect, in
    /// the source of truth: the handler takes `Option<IdempotencyKey>` and
    /// the domain answers a repeated key with the first result. The store
    /// still serves replays; when it is down, the request runs anyway,
    /// since the domain cannot do the work twice. (See docs/ARCHITECTURE.md.)
    Domain,
}

/// One method on one path.
#[derive(Debug)]
pub struct Endpoint {
    pub method: Method,
    /// The actix pattern, written as the OpenAPI path (`/events/{eventId}`).
    pub path: &'static str,
    pub class: Class,
    pub idempotency: Idempotency,
    /// For outcome metrics (`booking_operations_total{operation}`).
    pub operation: Option<&'static str>,
    /// A GET that also answers HEAD (the same status and headers, no
    /// body), as HTTP expects of it.
    head: bool,
    /// The handler, on a route that guards the method.
    route: fn(actix_web::Route) -> actix_web::Route,
}

const fn get(
    path: &'static str,
    class: Class,
    route: fn(actix_web::Route) -> actix_web::Route,
) -> Endpoint {
    Endpoint {
        method: Method::GET,
        path,
        class,
        idempotency: Idempotency::None,
        operation: None,
        head: true,
        route,
    }
}

/// A GET whose body never ends: it answers no HEAD, which would hold its
/// connection forever.
const fn stream(path: &'static str, route: fn(actix_web::Route) -> actix_web::Route) -> Endpoint {
    let mut endpoint = get(path, Class::Read, route);
    endpoint.head = false;
    endpoint
}

const fn post(
    path: &'static str,
    class: Class,
    operation: Option<&'static str>,
    route: fn(actix_web::Route) -> actix_web::Route,
) -> Endpoint {
    Endpoint {
        method: Method::POST,
        path,
        class,
        idempotency: Idempotency::Store,
        operation,
        head: false,
        route,
    }
}

/// Everything the api serves but `/docs` (Swagger UI's pages and assets,
/// which render the document rather than belong to it).
pub static ENDPOINTS: [Endpoint; 18] = [
    // A replayed create must never make a second event: the key is kept
    // with the event, in Postgres.
    Endpoint {
        method: Method::POST,
        path: "/events",
        class: Class::Write,
        idempotency: Idempotency::Domain,
        operation: None,
        head: false,
        route: |route| route.to(events::create::handle),
    },
    get("/events/{eventId}", Class::Read, |route| {
        route.to(events::details::handle)
    }),
    get("/events/{eventId}/seats", Class::Read, |route| {
        route.to(events::seats::handle)
    }),
    stream("/events/{eventId}/stream", |route| {
        route.to(events::stream::handle)
    }),
    get("/events/{eventId}/map", Class::Read, |route| {
        route.to(events::map::handle)
    }),
    post(
        "/events/{eventId}/seats/reserve",
        Class::Reserve,
        Some("hold"),
        |route| route.to(events::reserve::handle),
    ),
    post(
        "/events/{eventId}/seats/confirm",
        Class::Write,
        Some("confirm"),
        |route| route.to(events::confirm::handle),
    ),
    post(
        "/events/{eventId}/seats/release",
        Class::Write,
        Some("release"),
        |route| route.to(events::release::handle),
    ),
    post(
        "/bookings/{bookingGroupId}/cancel",
        Class::Write,
        Some("cancel"),
        |route| route.to(bookings::cancel::handle),
    ),
    get("/bookings/{bookingGroupId}", Class::Read, |route| {
        route.to(bookings::view::handle)
    }),
    get("/holds/{holdGroupId}", Class::Read, |route| {
        route.to(holds::view::handle)
    }),
    post(
        "/holds/{holdGroupId}/extend",
        Class::Write,
        Some("extend"),
        |route| route.to(holds::extend::handle),
    ),
    get("/users/me/bookings", Class::Read, |route| {
        route.to(users::bookings::handle)
    }),
    get("/test-pg", Class::Read, |route| route.to(health::test_pg)),
    get("/health/live", Class::Exempt, |route| {
        route.to(health::live)
    }),
    get("/health/ready", Class::Exempt, |route| {
        route.to(health::ready)
    }),
    get("/metrics", Class::Exempt, |route| route.to(meta::metrics)),
    get("/openapi.json", Class::Exempt, |route| {
        route.to(meta::openapi)
    }),
];

/// What a request's path and method match in [`ENDPOINTS`], found in one
/// pass per request by `layers` and handed to the layers that ask. They
/// run before actix routes the request, and asking actix
/// (`match_pattern`) would run its regex router once more per request: on
/// a request that does nothing else, that was 9 % of the api's CPU.
#[derive(Debug, Clone, Copy)]
pub struct Matched {
    /// The endpoint the request is for, from its path and method.
    pub endpoint: Option<&'static Endpoint>,
    /// The served template the path fits, whatever the method.
    pub template: Option<&'static str>,
}

pub fn matched(req: &ServiceRequest) -> Matched {
    let path = routed_path(req);
    let mut matched = Matched {
        endpoint: None,
        template: None,
    };
    for endpoint in ENDPOINTS.iter().filter(|e| fits(e.path, path)) {
        matched.template.get_or_insert(endpoint.path);
        // A HEAD is its GET for limits and metrics: a probe that sends
        // HEAD to /health/live is as exempt as one that sends GET.
        let head = endpoint.head && req.method() == Method::HEAD;
        if endpoint.method == req.method() || head {
            matched.endpoint = Some(endpoint);
            break;
        }
    }
    matched
}

/// The path as actix's router sees it (unreserved characters decoded).
fn routed_path(req: &ServiceRequest) -> &str {
    req.match_info().as_str()
}

/// Whether `path` fits the template `pattern`, as actix matches one: a
/// `{name}` takes any non-empty segment, the rest must be equal. Byte by
/// byte: every request is tried against most of the list (all of it for
/// an unknown path), and splitting both into segments was 8 % of the
/// api's CPU on such a request.
fn fits(pattern: &str, path: &str) -> bool {
    let (mut pattern, mut path) = (pattern.as_bytes(), path.as_bytes());
    loop {
        match pattern.first() {
            None => return path.is_empty(),
            Some(b'{') => {
                let name = pattern
                    .iter()
                    .position(|&b| b == b'}')
                    .map_or(pattern.len(), |end| end + 1);
                let segment = path.iter().position(|&b| b == b'/').unwrap_or(path.len());
                if segment == 0 {
                    return false;
                }
                pattern = &pattern[name..];
                path = &path[segment..];
            }
            Some(want) => {
                if path.first() != Some(want) {
                    return false;
                }
                pattern = &pattern[1..];
                path = &path[1..];
            }
        }
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    // actix tries each templated pattern with a regex of its own, and
    // tries every service in turn until one matches. So the paths are a
    // tree of scopes, each entered by a static prefix first:
    // `/events`, then `/{eventId}` under it, then the static resources of
    // that event. A request runs the one regex of its own `{name}` segment
    // (a reserve, the sixth path under `/events/{eventId}`, once ran six:
    // docs/PERFORMANCE.md, "fifth session"), and a path the api does not
    // serve runs none (it ran four, a tenth of a 404's instructions:
    // "eighth session").
    let mut stems: Branches<Branches<Vec<Leaf>>> = Vec::new();
    let mut fixed: Vec<Leaf> = Vec::new();
    for endpoint in &ENDPOINTS {
        let path = endpoint.path;
        match split_named(path) {
            Some((stem, name, rest)) => {
                push_new(branch(branch(&mut stems, stem), name), (rest, path))
            }
            None => push_new(&mut fixed, (path, path)),
        }
    }
    for (stem, names) in stems {
        let mut scope = web::scope(stem);
        // `POST /events`: the stem's own path, a resource of its scope.
        if let Some(at) = fixed.iter().position(|&(path, _)| path == stem) {
            scope = scope.service(served(("", fixed.remove(at).1)));
        }
        for (name, leaves) in names {
            let named = leaves
                .into_iter()
                .fold(web::scope(name), |named, leaf| named.service(served(leaf)));
            scope = scope.service(named);
        }
        cfg.service(scope);
    }
    for leaf in fixed {
        cfg.service(served(leaf));
    }
    cfg.service(meta::swagger_ui())
        .default_service(web::to(not_found));
}

/// A resource of the tree: its path within its scope, and the endpoints'
/// whole path.
type Leaf = (&'static str, &'static str);

/// Entries by a key, in the order first seen.
type Branches<T> = Vec<(&'static str, T)>;

/// The entry of `key` in `list`, added if new.
fn branch<'a, T: Default>(list: &'a mut Branches<T>, key: &'static str) -> &'a mut T {
    let at = match list.iter().position(|(k, _)| *k == key) {
        Some(at) => at,
        None => {
            list.push((key, T::default()));
            list.len() - 1
        }
    };
    &mut list[at].1
}

fn push_new<T: PartialEq>(list: &mut Vec<T>, item: T) {
    if !list.contains(&item) {
        list.push(item);
    }
}

/// `/events/{eventId}/seats` as its static stem, its first `{name}`
/// segment and the rest: `("/events", "/{eventId}", "/seats")`; `None` if
/// it names nothing.
fn split_named(path: &str) -> Option<(&str, &str, &str)> {
    let open = path.find("/{")?;
    let close = open + path[open..].find('}')? + 1;
    Some((&path[..open], &path[open..close], &path[close..]))
}

/// The resource at `at` within its scope for the endpoints of the whole
/// path `path`, with every method the list has on it.
fn served((at, path): Leaf) -> actix_web::Resource {
    let on_path = |e: &&Endpoint| e.path == path;
    let allowed: Vec<&str> = ENDPOINTS
        .iter()
        .filter(on_path)
        .flat_map(|e| [Some(e.method.as_str()), e.head.then_some("HEAD")])
        .flatten()
        .collect();
    let mut resource = resource(at, &allowed);
    for same in ENDPOINTS.iter().filter(on_path) {
        resource = resource.route((same.route)(web::route().method(same.method.clone())));
        if same.head {
            resource = resource.route((same.route)(web::head()));
        }
    }
    resource
}

/// A resource outside [`ENDPOINTS`] (the docs pages) answering GET and
/// HEAD with `handler`, as the GETs of the list do.
pub(crate) fn get_and_head<F, Args>(path: &str, handler: F) -> actix_web::Resource
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    resource(path, &["GET", "HEAD"])
        .route(web::get().to(handler.clone()))
        .route(web::head().to(handler))
}

/// A resource whose other methods get a JSON 405, like every other error,
/// naming the `allowed` ones in `Allow` as HTTP asks.
fn resource(path: &str, allowed: &[&str]) -> actix_web::Resource {
    let allow = HeaderValue::from_str(&allowed.join(", ")).expect("method names are tokens");
    web::resource(path).default_service(web::to(move || {
        let allow = allow.clone();
        async move {
            let mut error = ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "METHOD_NOT_ALLOWED",
                "method not allowed",
            )
            .error_response();
            error.headers_mut().insert(header::ALLOW, allow);
            error
        }
    }))
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found("NOT_FOUND", "no such endpoint"))
}

/// Timestamps as the original API wrote them (JavaScript's `toISOString`).
pub(crate) fn timestamp(at: DateTime<Utc>) -> Timestamp {
    match IsoTime::millis(at) {
        Some(text) => Timestamp::Text(text),
        None => Timestamp::Far(at.to_rfc3339_opts(SecondsFormat::Millis, true)),
    }
}

/// A body's timestamp: serialized as the string it is, from the stack
/// (a string of its own per timestamp is an allocation, two per GET of
/// an event).
#[derive(Debug, Clone)]
pub(crate) enum Timestamp {
    Text(IsoTime),
    /// A year past 9999 (or before 0), which `IsoTime` does not write.
    Far(String),
}

impl Timestamp {
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Timestamp::Text(text) => text.as_str(),
            Timestamp::Far(text) => text,
        }
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

pub(crate) fn created(location: String, body: impl serde::Serialize) -> HttpResponse {
    let mut builder = HttpResponse::Created();
    builder.insert_header((header::LOCATION, location));
    json(builder, body)
}

/// `value` as the JSON body of `builder`'s response. Every JSON answer is
/// made here or, serialized once and kept, by [`json_serialized`] (clippy
/// refuses actix's `json` elsewhere): actix's own writes
/// its `Content-Type` from a `Mime`, parsed and copied into a new header
/// value on every response (about 250 instructions a response,
/// callgrind; docs/PERFORMANCE.md, "seventh session").
#[allow(clippy::disallowed_methods)]
pub(crate) fn json(mut builder: HttpResponseBuilder, value: impl serde::Serialize) -> HttpResponse {
    builder
        .insert_header((header::CONTENT_TYPE, APPLICATION_JSON))
        .json(value)
}

/// A body already serialized as JSON (by [`json`]'s serializer, once) as
/// the body of `builder`'s response.
pub(crate) fn json_serialized(mut builder: HttpResponseBuilder, body: web::Bytes) -> HttpResponse {
    builder
        .insert_header((header::CONTENT_TYPE, APPLICATION_JSON))
        .body(body)
}

const APPLICATION_JSON: HeaderValue = HeaderValue::from_static("application/json");

#[cfg(test)]
mod tests {
    use super::fits;

    #[test]
    fn a_path_fits_a_template_segment_by_segment() {
        assert!(fits("/events/{eventId}", "/events/42"));
        assert!(fits(
            "/events/{eventId}/seats/reserve",
            "/events/abc/seats/reserve"
        ));
        assert!(fits("/health/live", "/health/live"));
        // What actix's router refuses too: an empty parameter, a trailing
        // slash, a segment more or less, another literal.
        assert!(!fits("/events/{eventId}", "/events/"));
        assert!(!fits("/events/{eventId}", "/events/42/"));
        assert!(!fits("/events/{eventId}", "/events"));
        assert!(!fits("/events/{eventId}", "/events/42/seats"));
        assert!(!fits("/events/{eventId}/seats", "/events/42/stream"));
        assert!(!fits("/health/live", "/health/ready"));
        assert!(!fits("/events/{eventId}/seats", "/events//seats"));
        assert!(!fits("/events", "/events/42"));
        assert!(!fits("/health/live", "/health/liv"));
    }

    #[test]
    fn every_served_path_fits_its_own_template_and_no_other() {
        for endpoint in &super::ENDPOINTS {
            let path = endpoint
                .path
                .replace("{eventId}", "7")
                .replace("{bookingGroupId}", "0193a1b2-0000-7000-8000-000000000001");
            let path = path.replace("{holdGroupId}", "0193a1b2-0000-7000-8000-000000000001");
            let fitting: Vec<&str> = super::ENDPOINTS
                .iter()
                .filter(|e| fits(e.path, &path))
                .map(|e| e.path)
                .collect();
            assert!(
                fitting.iter().all(|p| *p == endpoint.path),
                "{path} fits {fitting:?}"
            );
            assert!(!fitting.is_empty(), "{path} fits nothing");
        }
    }
}
