//! The idempotency layer around every POST that carries `Idempotency-Key`.
//! Other requests pass through untouched.

use std::sync::Arc;

use actix_web::body::{self, BoxBody, EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::web::{self, Bytes, BytesMut};
use actix_web::{HttpMessage, HttpResponse};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use super::{Claim, IdempotencyKey, IdempotencyStore, Stored, LEASE, OUTCOMES, RETENTION};
use crate::auth;
use crate::error::{self, ApiError};
use crate::metrics::http::Replayed;
use crate::routes::{Endpoint, Idempotency as Kind};
use crate::side_call;

const KEY: HeaderName = HeaderName::from_static("idempotency-key");
const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// The store and the body limit, shared by the workers.
pub struct Idempotency {
    store: Arc<dyn IdempotencyStore>,
    max_body_bytes: usize,
}

impl std::fmt::Debug for Idempotency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Idempotency").finish_non_exhaustive()
    }
}

impl Idempotency {
    pub fn new(store: Arc<dyn IdempotencyStore>, max_body_bytes: usize) -> Self {
        Self {
            store,
            max_body_bytes,
        }
    }
}

type Answer<B> = Result<ServiceResponse<EitherBody<B, BoxBody>>, actix_web::Error>;

/// Runs `next` once, or answers from the key's record (`layers`).
pub async fn around<B: MessageBody + 'static>(
    req: ServiceRequest,
    endpoint: Option<&'static Endpoint>,
    next: impl AsyncFnOnce(ServiceRequest) -> Result<ServiceResponse<B>, actix_web::Error>,
) -> Answer<B> {
    let kind = endpoint.map_or(Kind::None, |e| e.idempotency);
    let keyed_as = match req.headers().get(KEY) {
        Some(raw) if req.method() == Method::POST && kind != Kind::None => {
            Some((raw.clone(), kind))
        }
        _ => None,
    };
    match keyed_as {
        // Boxed: every request's future would otherwise carry the keyed
        // path's state (the store's calls), allocated and copied whole.
        Some((raw, kind)) => Box::pin(keyed(req, raw, kind, next)).await,
        None => Ok(next(req).await?.map_into_left_body()),
    }
}

async fn keyed<B: MessageBody + 'static>(
    mut req: ServiceRequest,
    raw: HeaderValue,
    kind: Kind,
    next: impl AsyncFnOnce(ServiceRequest) -> Result<ServiceResponse<B>, actix_web::Error>,
) -> Answer<B> {
    let Some(key) = parse_key(raw.as_bytes()) else {
        return Ok(refuse(req, ApiError::invalid_idempotency_key()));
    };
    let layer = req
        .app_data::<web::Data<Idempotency>>()
        .cloned()
        .expect("the idempotency layer is registered as app data");
    let body = match read_body(&mut req, layer.max_body_bytes).await {
        Ok(body) => body,
        Err(error) => return Ok(refuse(req, error)),
    };
    let Some(scope) = auth::idempotency_scope(req.request(), body_user(&body).as_deref()) else {
        // No valid caller: the handler refuses it before any work.
        req.set_payload(payload(body));
        return Ok(next(req).await?.map_into_left_body());
    };
    let fingerprint = fingerprint(&req, &body);
    let token = uuid::Uuid::new_v4().to_string();
    // A route that keeps its key in the domain runs without the store
    // (below), so its calls to the store are side calls, on a budget.
    let survivable = kind == Kind::Domain;
    let claim = side_call::within_if(
        survivable,
        layer.store.begin(&scope, &key, &fingerprint, &token, LEASE),
    )
    .await;
    let outcome = |name: &'static str| metrics::counter!(OUTCOMES, "outcome" => name).increment(1);
    match claim {
        Ok(Claim::Started) => {}
        Ok(Claim::Mismatch) => {
            outcome("reused");
            return Ok(refuse(req, ApiError::idempotency_key_reused()));
        }
        Ok(Claim::InUse) => {
            outcome("in_use");
            return Ok(refuse(req, ApiError::idempotency_key_in_use()));
        }
        Ok(Claim::Done(stored)) => {
            outcome("replayed");
            return Ok(req.into_response(replay(&stored)).map_into_right_body());
        }
        // The domain keeps this route's keys with its effect: it can run
        // without the store and still never do the work twice.
        Err(error) if kind == Kind::Domain => {
            tracing::warn!(error = %error, "idempotency store unavailable; the domain dedups this request");
            return pass_with_key(req, next, body, scope, key, fingerprint).await;
        }
        Err(error) => return Ok(refuse(req, ApiError::from(error))),
    }
    let res = pass_with_key(req, next, body, scope.clone(), key.clone(), fingerprint).await?;
    let store = &layer.store;
    let status = res.status();
    if status.is_server_error() {
        // Not kept: the client's retry runs again.
        // Failing is harmless: the key frees when its lease ends.
        if let Err(error) = side_call::within(store.abandon(&scope, &key, &token)).await {
            tracing::warn!(error = %error, "could not release an idempotency key; it frees when its lease ends");
        }
        outcome("not_stored");
        return Ok(res);
    }
    let (req, res) = res.into_parts();
    let (res, body) = res.into_parts();
    let body = match body::to_bytes(body).await {
        Ok(bytes) => bytes,
        Err(_) => {
            let _ = side_call::within(store.abandon(&scope, &key, &token)).await;
            return Err(actix_web::error::ErrorInternalServerError("response body"));
        }
    };
    let stored = Stored {
        status: status.as_u16(),
        content_type: header_text(res.headers(), header::CONTENT_TYPE),
        location: header_text(res.headers(), header::LOCATION),
        body: body.to_vec(),
    };
    let finished = side_call::within_if(
        survivable,
        store.finish(&scope, &key, &token, &stored, RETENTION),
    );
    match finished.await {
        Ok(true) => outcome("stored"),
        Ok(false) | Err(_) => {
            // The work is done and answered; only its replay is lost, so a
            // retry after the lease could run it again. Said in the docs.
            tracing::warn!("an idempotent response could not be kept for replays");
            outcome("not_stored");
        }
    }
    let res = res.set_body(BoxBody::new(body));
    Ok(ServiceResponse::new(req, res).map_into_right_body())
}

async fn pass_with_key<B: MessageBody + 'static>(
    mut req: ServiceRequest,
    next: impl AsyncFnOnce(ServiceRequest) -> Result<ServiceResponse<B>, actix_web::Error>,
    body: Bytes,
    scope: String,
    key: String,
    fingerprint: String,
) -> Answer<B> {
    req.set_payload(payload(body));
    req.extensions_mut().insert(IdempotencyKey {
        scope,
        key,
        fingerprint,
    });
    Ok(next(req).await?.map_into_left_body())
}

/// 1 to 255 printable ASCII characters; the draft's quoted form
/// (`"abc"`) is taken without its quotes.
fn parse_key(raw: &[u8]) -> Option<String> {
    let raw = match raw {
        [b'"', inner @ .., b'"'] => inner,
        other => other,
    };
    let ok = (1..=255).contains(&raw.len()) && raw.iter().all(|b| (0x20..=0x7e).contains(b));
    ok.then(|| String::from_utf8_lossy(raw).into_owned())
}

/// The body, whole, within the same limit the handlers' extractors apply.
async fn read_body(req: &mut ServiceRequest, limit: usize) -> Result<Bytes, ApiError> {
    let mut stream = req.take_payload();
    let mut body = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| {
            ApiError::bad_request("INVALID_BODY", "the request body could not be read")
        })?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::payload_too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

fn payload(body: Bytes) -> Payload {
    Payload::from(body)
}

/// The body's `userId`, which names the caller in trust mode.
fn body_user(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Named {
        #[serde(rename = "userId")]
        user_id: Option<String>,
    }
    serde_json::from_slice::<Named>(body).ok()?.user_id
}

/// Hex SHA-256 of the method, the path with its query, and the body.
fn fingerprint(req: &ServiceRequest, body: &[u8]) -> String {
    let mut hash = Sha256::new();
    hash.update(req.method().as_str());
    hash.update(b" ");
    hash.update(req.uri().path_and_query().map_or("", |p| p.as_str()));
    hash.update(b"\n");
    hash.update(body);
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn header_text(headers: &header::HeaderMap, name: HeaderName) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

fn replay(stored: &Stored) -> HttpResponse {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut response = HttpResponse::build(status);
    response.insert_header((REPLAYED, HeaderValue::from_static("true")));
    for (name, value) in [
        (header::CONTENT_TYPE, &stored.content_type),
        (header::LOCATION, &stored.location),
    ] {
        if let Ok(value) = HeaderValue::from_str(value) {
            if !value.is_empty() {
                response.insert_header((name, value));
            }
        }
    }
    let mut response = response.body(stored.body.clone());
    response.extensions_mut().insert(Replayed);
    response
}

fn refuse<B>(req: ServiceRequest, error: ApiError) -> ServiceResponse<EitherBody<B, BoxBody>> {
    error::refusal(req, error).map_into_right_body()
}
