//! The rate-limit layer: finds the request's class, caller and address,
//! counts it (one limiter call), and refuses it with 429 when a limit is
//! spent. Passes every request through unless `rate_limits.enabled`.

use std::fmt::Write as _;
use std::time::Instant;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::web;

use super::{Bucket, RateLimits, Verdict, BY_CALLER, BY_IP, REFUSED};
use crate::auth;
use crate::error::{self, retry_after_seconds, ApiError};
use crate::routes::{Class, Endpoint};
use crate::settings::Rate;
use crate::side_call;

const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");

/// Counts the request and runs `next`, or refuses it (`layers`).
pub async fn around<B: MessageBody>(
    req: ServiceRequest,
    endpoint: Option<&'static Endpoint>,
    next: impl AsyncFnOnce(ServiceRequest) -> Result<ServiceResponse<B>, actix_web::Error>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let limits = match req.app_data::<web::Data<RateLimits>>() {
        Some(limits) if limits.settings.enabled => limits.clone(),
        _ => return Ok(next(req).await?.map_into_left_body()),
    };
    let class = endpoint.map_or_else(|| Class::of_unmatched(req.method()), |e| e.class);
    let Some(class_limits) = limits.limits(class) else {
        return Ok(next(req).await?.map_into_left_body());
    };
    let caller = auth::rate_limit_scope(req.request()).map(|user| format!("c:{user}"));
    let ip = limits
        .proxies
        .client_ip(&req)
        .map_or_else(|| "ip:unknown".to_owned(), |ip| format!("ip:{ip}"));
    let mut buckets = Vec::with_capacity(2);
    let mut kinds = Vec::with_capacity(2);
    if let Some(caller) = &caller {
        buckets.push(Bucket {
            scope: caller,
            class: class.as_str(),
            rate: class_limits.per_caller,
        });
        kinds.push(BY_CALLER);
    }
    buckets.push(Bucket {
        scope: &ip,
        class: class.as_str(),
        rate: class_limits.per_ip,
    });
    kinds.push(BY_IP);
    let verdicts = match side_call::within(limits.limiter.check(&buckets)).await {
        Ok(verdicts) => verdicts,
        Err(error) => {
            // Fail open: refusing everyone because the counter is down
            // would turn a Redis outage into a full one; the requests that
            // need Redis get their 503 anyway.
            if let Some(unchecked) = limits.outage.failed(Instant::now()) {
                tracing::warn!(
                    error = %error,
                    unchecked,
                    "rate limits not checked: the limiter is unavailable"
                );
            }
            return Ok(next(req).await?.map_into_left_body());
        }
    };
    let (policy, state) = headers(class, &kinds, &buckets, &verdicts);
    let refused: Vec<usize> = (0..verdicts.len())
        .filter(|&i| !verdicts[i].allowed)
        .collect();
    if !refused.is_empty() {
        let wait = refused
            .iter()
            .map(|&i| verdicts[i].retry_after)
            .max()
            .unwrap_or_default();
        for &i in &refused {
            metrics::counter!(REFUSED, "class" => class.as_str(), "by" => kinds[i]).increment(1);
        }
        let mut refused = error::refusal(req, ApiError::rate_limited(wait));
        insert(refused.headers_mut(), policy, state);
        return Ok(refused.map_into_right_body());
    }
    let mut res = next(req).await?;
    insert(res.headers_mut(), policy, state);
    Ok(res.map_into_left_body())
}

fn insert(headers: &mut HeaderMap, policy: String, state: String) {
    if let Ok(value) = HeaderValue::from_str(&policy) {
        headers.insert(RATELIMIT_POLICY, value);
    }
    if let Ok(value) = HeaderValue::from_str(&state) {
        headers.insert(RATELIMIT, value);
    }
}

/// `RateLimit-Policy` and `RateLimit` (draft-ietf-httpapi-ratelimit-headers):
/// one item per limit applied, named `<class>-<caller|ip>`; `q` is the
/// burst, `w` the seconds to earn it back, `r` what is left now, `t` the
/// seconds until all of it is back.
fn headers(
    class: Class,
    kinds: &[&str],
    buckets: &[Bucket<'_>],
    verdicts: &[Verdict],
) -> (String, String) {
    let (mut policy, mut state) = (String::new(), String::new());
    for (i, (bucket, verdict)) in buckets.iter().zip(verdicts).enumerate() {
        let sep = if i == 0 { "" } else { ", " };
        let name = format!("{}-{}", class.as_str(), kinds[i]);
        let _ = write!(
            policy,
            "{sep}\"{name}\";q={};w={}",
            bucket.rate.burst,
            window_seconds(bucket.rate)
        );
        let _ = write!(
            state,
            "{sep}\"{name}\";r={};t={}",
            verdict.remaining,
            retry_after_seconds(verdict.reset_after)
        );
    }
    (policy, state)
}

/// The seconds it takes to earn a whole burst back.
fn window_seconds(rate: Rate) -> u64 {
    retry_after_seconds(rate.interval() * rate.burst)
}
