//! What runs around every request, outermost first: its id and log line
//! (`request_id`), its metrics, its rate limits, its idempotency key. The
//! endpoint the request is for is looked up once, for the three that ask.
//!
//! One actix middleware calls them in turn, each handed the rest as a
//! closure, so a request's layers are one future. Four middlewares of
//! their own cost two boxed futures each and a dynamic call per layer per
//! request (docs/PERFORMANCE.md, "sixth session").

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

use crate::{idempotency, metrics, rate_limit, request_id, routes};

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    request_id::around(req, async |req| {
        let matched = routes::matched(&req);
        metrics::http::around(req, matched, async |req| {
            rate_limit::around(req, matched.endpoint, async |req| {
                idempotency::around(req, matched.endpoint, async |req| next.call(req).await).await
            })
            .await
        })
        .await
    })
    .await
}
