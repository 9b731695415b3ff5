//! Who is calling: the bearer token's `sub` in `jwt` mode, or whoever the
//! request names in `trust` mode (development only).

use std::future::{ready, Ready};

use actix_web::http::header::HeaderValue;
use actix_web::{dev::Payload, web, FromRequest, HttpMessage, HttpRequest};
use booking_domain::{Caller, UserId};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use crate::error::ApiError;
use crate::settings::{AuthMode, AuthSettings};

/// Checks tokens; built once from the settings and shared by all workers.
pub struct Authenticator {
    mode: AuthMode,
    key: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    role: Option<String>,
}

impl Authenticator {
    pub fn new(settings: &AuthSettings) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        // A claim we were told to check must be there, not only right
        // when present.
        let mut required = vec!["exp", "sub"];
        if !settings.jwt_audience.is_empty() {
            required.push("aud");
        }
        if !settings.jwt_issuer.is_empty() {
            required.push("iss");
        }
        validation.set_required_spec_claims(&required);
        // A little room for clock skew between issuer and us, no more: an
        // expired token must stop working promptly.
        validation.leeway = 5;
        validation.validate_nbf = true;
        // Most identity providers put an `aud` in every token; it is only
        // a reason to refuse one when we were told which audience we are.
        if settings.jwt_audience.is_empty() {
            validation.validate_aud = false;
        } else {
            validation.set_audience(&[settings.jwt_audience.as_str()]);
        }
        if !settings.jwt_issuer.is_empty() {
            validation.set_issuer(&[settings.jwt_issuer.as_str()]);
        }
        Self {
            mode: settings.mode,
            key: DecodingKey::from_secret(settings.jwt_secret.expose().as_bytes()),
            validation,
        }
    }

    pub fn mode(&self) -> AuthMode {
        self.mode
    }

    fn identify(&self, req: &HttpRequest) -> Result<Identity, ApiError> {
        match self.mode {
            AuthMode::Trust => Ok(Identity::Trusted {
                header_user: single(req, "x-user-id")
                    .map_err(|()| {
                        ApiError::bad_request(
                            "VALIDATION_ERROR",
                            "send one X-User-Id header, not several",
                        )
                    })?
                    .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
            }),
            AuthMode::Jwt => {
                let header = single(req, "authorization").map_err(|()| {
                    ApiError::unauthorized("send one Authorization header, not several")
                })?;
                let Some(header) = header else {
                    return Ok(Identity::Anonymous);
                };
                let token = header
                    .to_str()
                    .ok()
                    // Auth schemes are case-insensitive (RFC 9110, 11.1).
                    .and_then(|h| h.split_once(' '))
                    .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                    .map(|(_, token)| token)
                    .ok_or_else(|| {
                        ApiError::unauthorized("expected an Authorization: Bearer token")
                    })?;
                let claims =
                    jsonwebtoken::decode::<Claims>(token.trim(), &self.key, &self.validation)
                        .map_err(|_| ApiError::unauthorized("the token is invalid or expired"))?
                        .claims;
                let user = UserId::parse(&claims.sub).map_err(|_| {
                    ApiError::unauthorized("the token's sub is not a valid user id")
                })?;
                Ok(Identity::Verified(Caller {
                    user,
                    admin: claims.role.as_deref() == Some("admin"),
                }))
            }
        }
    }
}

/// The one value of a header that names the caller. Several are refused:
/// which one counts would depend on who reads them (a proxy that adds its
/// own after the client's, a server that takes the first).
fn single<'a>(req: &'a HttpRequest, name: &str) -> Result<Option<&'a HeaderValue>, ()> {
    let mut values = req.headers().get_all(name);
    let first = values.next();
    match values.next() {
        Some(_) => Err(()),
        None => Ok(first),
    }
}

/// What the request says about its caller, before the body is read.
#[derive(Debug, Clone)]
pub enum Identity {
    /// `jwt` mode, valid token.
    Verified(Caller),
    /// `jwt` mode, no token.
    Anonymous,
    /// `trust` mode: the body's `userId` wins over this header.
    Trusted { header_user: Option<String> },
}

impl Identity {
    /// The caller of an operation that needs one. `body_user` is the body's
    /// `userId`, if it has one.
    pub fn caller(&self, body_user: Option<&str>) -> Result<Caller, ApiError> {
        let body_user = body_user
            .map(UserId::parse)
            .transpose()
            .map_err(ApiError::validation)?;
        match self {
            Identity::Verified(caller) => match body_user {
                Some(user) if user != caller.user => Err(ApiError::forbidden(
                    "userId does not match the authenticated user",
                )),
                _ => Ok(caller.clone()),
            },
            Identity::Anonymous => Err(ApiError::unauthorized("authentication required")),
            Identity::Trusted { header_user } => {
                let user = match (body_user, header_user) {
                    (Some(user), _) => user,
                    (None, Some(raw)) => UserId::parse(raw).map_err(ApiError::validation)?,
                    (None, None) => {
                        return Err(ApiError::unauthorized(
                            "name the caller with a userId in the body or an X-User-Id header",
                        ))
                    }
                };
                Ok(Caller::user(user))
            }
        }
    }

    /// Creating events is for admins; in `trust` mode anyone may, naming
    /// no caller if they like. A caller a create names is checked as any
    /// other: a bad one is refused before anything is made, so that a
    /// retry with an `Idempotency-Key` (which needs a valid caller) never
    /// makes a second event.
    pub fn may_create_events(&self, body_user: Option<&str>) -> Result<(), ApiError> {
        match self {
            Identity::Trusted { header_user: None } if body_user.is_none() => Ok(()),
            Identity::Trusted { .. } => self.caller(body_user).map(drop),
            Identity::Verified(_) | Identity::Anonymous => {
                if self.caller(body_user)?.admin {
                    Ok(())
                } else {
                    Err(ApiError::forbidden("only admins may create events"))
                }
            }
        }
    }
}

/// The request's identity, worked out once: the rate limit and
/// idempotency layers and the handler's extractor share it, so a token is
/// verified once per request.
pub fn identity(req: &HttpRequest) -> Result<Identity, ApiError> {
    if let Some(identity) = req.extensions().get::<Identity>() {
        return Ok(identity.clone());
    }
    let auth = req
        .app_data::<web::Data<Authenticator>>()
        .expect("the Authenticator is registered as app data");
    let identity = auth.identify(req)?;
    req.extensions_mut().insert(identity.clone());
    Ok(identity)
}

/// Who a request counts as for rate limits, from its headers alone: the
/// verified user in jwt mode, `X-User-Id` in trust mode (a caller named
/// only in the body is limited by address alone). `None`: no caller.
pub fn rate_limit_scope(req: &HttpRequest) -> Option<String> {
    match identity(req).ok()? {
        Identity::Verified(caller) => Some(caller.user.to_string()),
        Identity::Anonymous => None,
        Identity::Trusted { header_user } => header_user.and_then(|raw| valid_user(&raw)),
    }
}

/// Whose idempotency records a request uses: the verified user in jwt
/// mode; in trust mode the caller the handler will see (the body's
/// `userId`, else `X-User-Id`), or, for a create that names none, the
/// empty scope, which no user id can be. `None` when the request has no
/// valid caller: it fails before doing any work, so there is nothing to
/// protect.
pub fn idempotency_scope(req: &HttpRequest, body_user: Option<&str>) -> Option<String> {
    match identity(req).ok()? {
        Identity::Verified(caller) => Some(caller.user.to_string()),
        Identity::Anonymous => None,
        Identity::Trusted { header_user } => match (body_user, header_user) {
            (Some(user), _) => valid_user(user),
            (None, Some(raw)) => valid_user(&raw),
            (None, None) => Some(String::new()),
        },
    }
}

fn valid_user(raw: &str) -> Option<String> {
    UserId::parse(raw).ok().map(|user| user.to_string())
}

impl FromRequest for Identity {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(identity(req))
    }
}
