//! Builds the application from settings; production and tests start it the
//! same way.

use std::net::TcpListener;

use anyhow::Context;
use std::time::Duration;

use actix_web::dev::Server;
pub use actix_web::dev::ServerHandle;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};

use booking_domain::BookingService;

use crate::auth::Authenticator;
use crate::idempotency::Idempotency;
use crate::live::SeatFeeds;
use crate::rate_limit::RateLimits;
use crate::settings::{AuthMode, Settings};
use crate::{routes, storage};

pub struct Application {
    port: u16,
    server: Server,
    maintenance: Maintenance,
    feeds: std::sync::Arc<SeatFeeds>,
}

/// The ledger's background work (settling stale confirms, retrying
/// unbooks), run for as long as the server runs.
struct Maintenance {
    service: web::Data<BookingService>,
    every: Duration,
}

impl Maintenance {
    async fn run(self) {
        let mut ticks = tokio::time::interval(self.every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            // Bounded, so a hung store cannot pile rounds up.
            match tokio::time::timeout(self.every * 10, self.service.maintain()).await {
                Ok(report) if report.failures > 0 => {
                    tracing::warn!(?report, "ledger maintenance had failures")
                }
                Ok(_) => {}
                Err(_) => tracing::warn!("ledger maintenance timed out"),
            }
        }
    }
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl Application {
    /// Connects the stores, binds the listener (port 0 picks a free one)
    /// and prepares the server; nothing is served until it is awaited.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        if settings.auth.mode == AuthMode::Trust {
            tracing::warn!(
                "auth.mode is \"trust\": callers name themselves; never expose this to real users"
            );
        }
        let stores = storage::connect(&settings).await?;
        let service = web::Data::new(stores.service);
        let maintenance = Maintenance {
            service: service.clone(),
            every: Duration::from_millis(settings.ledger.maintenance_interval_ms),
        };
        let scrape = web::Data::new(stores.scrape);
        let limits_on = settings.rate_limits.enabled;
        let rate_limits =
            web::Data::new(RateLimits::new(stores.rate_limiter, &settings.rate_limits));
        let idempotency = web::Data::new(Idempotency::new(
            stores.idempotency,
            settings.server.max_body_bytes,
        ));
        let auth = web::Data::new(Authenticator::new(&settings.auth));
        let feeds = web::Data::new(SeatFeeds::new(service.clone(), settings.live()));
        let live_feeds = feeds.get_ref().clone();
        // Built now, so the first request to /openapi.json does not pay.
        crate::openapi::document_json();
        let (host, port) = (settings.server.host.as_str(), settings.server.port);
        let listener = TcpListener::bind((host, port))
            .with_context(|| format!("cannot listen on {host}:{port}"))?;
        let port = listener.local_addr()?.port();
        let body_limit = web::PayloadConfig::new(settings.server.max_body_bytes);
        let mut server = HttpServer::new(move || {
            App::new()
                .wrap(from_fn(crate::layers::middleware))
                .app_data(service.clone())
                .app_data(auth.clone())
                .app_data(feeds.clone())
                .app_data(body_limit.clone())
                .app_data(scrape.clone())
                .app_data(rate_limits.clone())
                .app_data(idempotency.clone())
                .configure(routes::configure)
        })
        .shutdown_timeout(settings.server.shutdown_timeout_seconds)
        .client_request_timeout(Duration::from_secs(10));
        if settings.server.workers > 0 {
            server = server.workers(settings.server.workers);
        }
        let server = server.listen(listener)?.run();
        tracing::info!(
            port,
            storage = ?settings.storage,
            auth = ?settings.auth.mode,
            rate_limits = limits_on,
            "listening"
        );
        Ok(Self {
            port,
            server,
            maintenance,
            feeds: live_feeds,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle that stops the server gracefully, as SIGTERM does.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGTERM or SIGINT (or `handle().stop(true)`), then
    /// stops accepting and lets requests in flight finish. On a signal the
    /// live streams end too: actix stops on the same signal, and would
    /// otherwise wait for streams that never end by themselves.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let feeds = self.feeds;
        let end_streams = async move {
            stop_signal().await;
            feeds.close();
            std::future::pending::<()>().await
        };
        tokio::select! {
            stopped = self.server => stopped,
            () = self.maintenance.run() => Ok(()),
            () = end_streams => Ok(()),
        }
    }
}

/// The first SIGTERM or SIGINT. If a handler cannot be installed, never:
/// the streams then end at the shutdown timeout, as before.
async fn stop_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => std::future::pending().await,
    }
}
