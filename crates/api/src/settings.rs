//! Typed settings, layered: `config/default.toml`, then
//! `config/<APP_ENV>.toml`, then `BOOKING__<SECTION>__<KEY>` environment
//! variables, then the original API's `PORT`, `PG_URL` and `REDIS_URL`.
//! Unknown keys and bad values stop start-up with a message naming them.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use booking_domain::{LedgerConfig, Limits};
use booking_postgres::PostgresOptions;

use crate::live::LiveConfig;
use config::{Config, Environment, File, FileFormat};
use serde::Deserialize;

/// The copies compiled into the binary, used when no `config/` directory is
/// found next to where it runs, so a lone binary still starts.
const EMBEDDED: [(&str, &str); 4] = [
    ("default", include_str!("../../../config/default.toml")),
    (
        "development",
        include_str!("../../../config/development.toml"),
    ),
    ("test", include_str!("../../../config/test.toml")),
    (
        "production",
        include_str!("../../../config/production.toml"),
    ),
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Which adapters hold the data.
    pub storage: Storage,
    pub server: ServerSettings,
    pub holds: HoldSettings,
    pub limits: LimitSettings,
    pub auth: AuthSettings,
    pub postgres: PostgresSettings,
    pub redis: RedisSettings,
    pub ledger: LedgerSettings,
    pub live: LiveSettings,
    pub log: LogSettings,
    pub rate_limits: RateLimitSettings,
    /// The environment these settings were loaded for (`APP_ENV`).
    #[serde(skip)]
    pub environment: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Storage {
    /// Both ports in process; nothing survives a restart.
    Memory,
    /// Postgres for events and bookings, Redis for holds.
    PostgresRedis,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub host: String,
    /// 0 picks a free port (tests use it).
    pub port: u16,
    /// Worker threads; 0 means one per CPU core.
    pub workers: usize,
    /// The largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// How long in-flight requests may finish after SIGTERM/SIGINT.
    pub shutdown_timeout_seconds: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoldSettings {
    /// How long a hold lasts before its seats go back.
    pub ttl_seconds: u64,
    /// How long a confirm may stay unfinished before it is presumed dead
    /// (crashed process, store failure) and settled from Postgres. Must be
    /// well above the longest a Postgres call can take.
    pub pending_grace_seconds: u64,
    /// The longest a hold may last from its creation, extensions included.
    pub max_total_seconds: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitSettings {
    pub max_seats_per_event: u32,
    pub max_seats_per_hold: u32,
    pub max_held_seats_per_user: u32,
    /// The most bookings one page of `GET /users/me/bookings` holds.
    pub max_page_size: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMode {
    /// The caller is whoever the request names. Development only.
    Trust,
    /// The caller is the `sub` of an HS256 bearer token.
    Jwt,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    pub mode: AuthMode,
    /// The HS256 key of `jwt` mode.
    pub jwt_secret: Secret,
    /// When set, a token's `aud` must contain it; when empty, `aud` is not
    /// checked (most identity providers send one).
    pub jwt_audience: String,
    /// When set, a token's `iss` must equal it.
    pub jwt_issuer: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresSettings {
    /// A connection URL; it may carry a password, so it is never logged.
    pub url: Secret,
    pub pool_size: usize,
    /// How long a call waits for a free pooled connection.
    pub pool_wait_ms: u64,
    /// How long opening a connection may take.
    pub connect_timeout_ms: u64,
    /// The server cancels a statement running longer than this; the client
    /// gives up on the server a second later.
    pub statement_timeout_ms: u64,
    /// The server cancels a statement waiting this long for a lock.
    pub lock_timeout_ms: u64,
    /// A streaming replica for reads that may lag a little (a user's
    /// bookings, event details); empty reads everything from `url`.
    pub read_url: Secret,
}

/// Which Redis topology holds the holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RedisMode {
    /// One server at `redis.url` (or a proxy in front of one).
    Single,
    /// A Redis Cluster reached from the seed nodes in `redis.urls`.
    Cluster,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisSettings {
    /// `single` (`url`) or `cluster` (`urls`).
    pub mode: RedisMode,
    /// The one server, in `single` mode. It may carry a password.
    pub url: Secret,
    /// Seed nodes of the cluster, in `cluster` mode: any live one is
    /// enough to learn the rest, list several so that start-up does not
    /// hang on one. `BOOKING__REDIS__URLS` takes them comma-separated.
    pub urls: Vec<Secret>,
    /// Prefixes every key, keeping deployments (and tests) apart.
    pub key_prefix: String,
    /// Connections to the one server per worker thread (`single` mode; a
    /// cluster keeps one multiplexed connection per node).
    pub pool_size: usize,
    /// An event's mirror expires once idle this long, and loads again from
    /// Postgres on its next use.
    pub mirror_idle_seconds: u64,
}

/// How the seat ledger keeps the hold store's mirror of booked seats.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerSettings {
    /// How long a request waits for a load of its event's mirror (by this
    /// or another instance) before answering 503.
    pub load_wait_ms: u64,
    /// How long one load may hold an event's load lock.
    pub load_lease_seconds: u64,
    /// Booked seats written to Redis per call while loading.
    pub load_chunk: usize,
    /// How long after an event's date its mirror may be kept.
    pub keep_after_event_days: u64,
    /// How often the ledger settles stale confirms and retries unbooks.
    pub maintenance_interval_ms: u64,
}

/// Live seat maps (`GET /events/:id/stream`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveSettings {
    /// How often each watched event's changes are read from the store.
    pub poll_ms: u64,
    /// A quiet stream sends a comment line this often.
    pub heartbeat_seconds: u64,
    /// The most open streams one instance serves; more get 503.
    pub max_connections: usize,
    /// How many changes a client may fall behind before it is dropped.
    pub client_buffer: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub format: LogFormat,
    /// A tracing filter such as `info` or `booking_api=debug,warn`.
    pub level: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSettings {
    /// Off in development, tests and the benchmark; on in production.
    pub enabled: bool,
    /// Addresses or CIDR ranges of the proxies in front of the api. Only
    /// a request whose socket peer is one of them has its client address
    /// taken from `X-Forwarded-For`; any other request's is its peer's.
    pub trusted_proxies: Vec<String>,
    /// `POST /events/{eventId}/seats/reserve`.
    pub reserve: ClassLimits,
    /// Every other write.
    pub write: ClassLimits,
    /// Reads (health, metrics and docs are never limited).
    pub read: ClassLimits,
}

/// One class's limits: per caller (when the request names one) and per
/// client address, both applied.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassLimits {
    pub per_caller: Rate,
    pub per_ip: Rate,
}

/// `requests` per `period_seconds` on average, and up to `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    pub requests: u32,
    pub period_seconds: u64,
    pub burst: u32,
}

impl Rate {
    /// The time one request uses up: the period over the requests.
    pub fn interval(&self) -> Duration {
        Duration::from_secs(self.period_seconds) / self.requests.max(1)
    }
}

/// A value that must never reach a log: `Debug` prints `***`.
#[derive(Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("unknown APP_ENV {0:?}: use development, test or production")]
    UnknownEnvironment(String),
    #[error("invalid configuration: {0}")]
    Invalid(#[from] config::ConfigError),
    #[error("invalid configuration: {0}")]
    Rule(String),
}

impl Settings {
    /// Loads the settings for `APP_ENV` (default `development`) from the
    /// process environment.
    pub fn load() -> Result<Self, SettingsError> {
        let vars: HashMap<String, String> = std::env::vars().collect();
        let environment = vars
            .get("APP_ENV")
            .cloned()
            .unwrap_or_else(|| "development".into());
        let dir = vars
            .get("BOOKING_CONFIG_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| "config".into());
        Self::load_from(&dir, &environment, vars)
    }

    /// Loads the settings of `environment` from `dir` (or the embedded copies
    /// when `dir` has no `default.toml`) and the given variables.
    pub fn load_from(
        dir: &Path,
        environment: &str,
        vars: HashMap<String, String>,
    ) -> Result<Self, SettingsError> {
        let embedded = |name: &str| {
            EMBEDDED
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, text)| *text)
        };
        let env_layer = embedded(environment)
            .ok_or_else(|| SettingsError::UnknownEnvironment(environment.to_owned()))?;
        let mut builder = Config::builder();
        if dir.join("default.toml").is_file() {
            builder = builder
                .add_source(File::from(dir.join("default.toml")))
                .add_source(File::from(dir.join(format!("{environment}.toml"))).required(false));
        } else {
            builder = builder
                .add_source(File::from_str(EMBEDDED[0].1, FileFormat::Toml))
                .add_source(File::from_str(env_layer, FileFormat::Toml));
        }
        let original = |name: &str| vars.get(name).filter(|v| !v.is_empty()).cloned();
        let mut settings: Settings = builder
            .add_source(
                Environment::with_prefix("BOOKING")
                    .prefix_separator("__")
                    .separator("__")
                    .try_parsing(true)
                    .list_separator(",")
                    .with_list_parse_key("redis.urls")
                    .with_list_parse_key("rate_limits.trusted_proxies")
                    .source(Some(vars.clone().into_iter().collect())),
            )
            .set_override_option("server.port", original("PORT"))?
            .set_override_option("postgres.url", original("PG_URL"))?
            .set_override_option("redis.url", original("REDIS_URL"))?
            .build()?
            .try_deserialize()?;
        settings.environment = environment.to_owned();
        settings.check()?;
        Ok(settings)
    }

    /// The settings of the `test` environment, from the embedded files only:
    /// what the test suite starts from before its own changes.
    pub fn for_tests() -> Self {
        Self::load_from(Path::new("/nonexistent"), "test", HashMap::new())
            .expect("the embedded test settings are valid")
    }

    fn check(&self) -> Result<(), SettingsError> {
        let rule = |ok: bool, message: &str| {
            if ok {
                Ok(())
            } else {
                Err(SettingsError::Rule(message.into()))
            }
        };
        rule(
            self.holds.ttl_seconds >= 1,
            "holds.ttl_seconds must be at least 1",
        )?;
        rule(
            self.limits.max_seats_per_event >= 1,
            "limits.max_seats_per_event must be at least 1",
        )?;
        rule(
            self.limits.max_seats_per_hold >= 1,
            "limits.max_seats_per_hold must be at least 1",
        )?;
        rule(
            self.limits.max_held_seats_per_user >= 1,
            "limits.max_held_seats_per_user must be at least 1",
        )?;
        rule(
            self.server.max_body_bytes >= 1024,
            "server.max_body_bytes must be at least 1024",
        )?;
        rule(
            self.postgres.pool_size >= 1,
            "postgres.pool_size must be at least 1",
        )?;
        rule(
            self.redis.pool_size >= 1,
            "redis.pool_size must be at least 1",
        )?;
        rule(
            self.redis.mode != RedisMode::Cluster
                || self.redis.urls.iter().any(|url| !url.is_empty()),
            "redis.mode = \"cluster\" needs at least one seed node in redis.urls \
             (BOOKING__REDIS__URLS=redis://host1:6379,redis://host2:6379)",
        )?;
        rule(
            !self.redis.key_prefix.is_empty() && !self.redis.key_prefix.contains(['{', '}']),
            "redis.key_prefix must be non-empty and contain no braces",
        )?;
        rule(
            (10..=5_000).contains(&self.live.poll_ms)
                && self.live.heartbeat_seconds >= 1
                && self.live.client_buffer >= 1,
            "live.poll_ms must be 10 to 5000 (changes reach clients within a second), \
             live.heartbeat_seconds and live.client_buffer at least 1",
        )?;
        rule(
            self.holds.max_total_seconds >= self.holds.ttl_seconds,
            "holds.max_total_seconds must be at least holds.ttl_seconds",
        )?;
        rule(
            self.limits.max_page_size >= 1,
            "limits.max_page_size must be at least 1",
        )?;
        rule(
            crate::telemetry::valid_level(&self.log.level),
            "log.level must be a tracing filter, such as `info` or `info,booking_domain=warn`",
        )?;
        rule(
            self.ledger.load_chunk >= 1 && self.ledger.maintenance_interval_ms >= 10,
            "ledger.load_chunk must be at least 1 and ledger.maintenance_interval_ms at least 10",
        )?;
        rule(
            self.postgres.statement_timeout_ms >= 10
                && self.postgres.lock_timeout_ms >= 10
                && self.postgres.pool_wait_ms >= 10
                && self.postgres.connect_timeout_ms >= 10,
            "postgres timeouts must be at least 10 ms",
        )?;
        // A confirm presumed dead must really be dead: its Postgres call can
        // wait for a connection, then run until the client gives up on it.
        // Settling it sooner would fence out a confirm still under way.
        let longest_call = self.postgres().checkout_timeout() + self.postgres().client_timeout();
        rule(
            Duration::from_secs(self.holds.pending_grace_seconds) >= 2 * longest_call,
            &format!(
                "holds.pending_grace_seconds must be at least twice the longest Postgres call \
                 ({} ms: postgres.pool_wait_ms + connect_timeout_ms + statement_timeout_ms + 1 s)",
                longest_call.as_millis()
            ),
        )?;
        rule(
            self.redis.mirror_idle_seconds >= self.holds.max_total_seconds,
            "redis.mirror_idle_seconds must be at least holds.max_total_seconds",
        )?;
        rule(
            self.auth.mode != AuthMode::Jwt || self.auth.jwt_secret.expose().len() >= 16,
            "auth.jwt_secret must be at least 16 characters in jwt mode (set BOOKING__AUTH__JWT_SECRET)",
        )?;
        for (class, limits) in [
            ("reserve", &self.rate_limits.reserve),
            ("write", &self.rate_limits.write),
            ("read", &self.rate_limits.read),
        ] {
            for rate in [limits.per_caller, limits.per_ip] {
                if rate.requests == 0 || rate.period_seconds == 0 || rate.burst == 0 {
                    return Err(SettingsError::Rule(format!(
                        "rate_limits.{class}: requests, period_seconds and burst must be at least 1"
                    )));
                }
            }
        }
        for proxy in &self.rate_limits.trusted_proxies {
            if crate::rate_limit::IpRange::parse(proxy).is_none() {
                return Err(SettingsError::Rule(format!(
                    "rate_limits.trusted_proxies: {proxy:?} is not an IP address or CIDR range"
                )));
            }
        }
        if self.environment == "production" {
            rule(
                self.auth.mode == AuthMode::Jwt,
                "production refuses auth.mode = \"trust\"; use \"jwt\"",
            )?;
        }
        Ok(())
    }

    pub fn limits(&self) -> Limits {
        Limits {
            max_seats_per_event: self.limits.max_seats_per_event,
            max_seats_per_hold: self.limits.max_seats_per_hold,
            max_held_seats_per_user: self.limits.max_held_seats_per_user,
            hold_ttl: Duration::from_secs(self.holds.ttl_seconds),
            hold_max_total: Duration::from_secs(self.holds.max_total_seconds),
            max_page_size: self.limits.max_page_size,
        }
    }

    /// The Postgres adapter's options.
    pub fn postgres(&self) -> PostgresOptions {
        let ms = Duration::from_millis;
        let read_url = self.postgres.read_url.expose();
        PostgresOptions {
            pool_size: self.postgres.pool_size,
            pool_wait_timeout: ms(self.postgres.pool_wait_ms),
            connect_timeout: ms(self.postgres.connect_timeout_ms),
            statement_timeout: ms(self.postgres.statement_timeout_ms),
            lock_timeout: ms(self.postgres.lock_timeout_ms),
            read_url: (!read_url.is_empty()).then(|| read_url.to_owned()),
            ..PostgresOptions::default()
        }
    }

    pub fn live(&self) -> LiveConfig {
        let poll = Duration::from_millis(self.live.poll_ms);
        LiveConfig {
            poll,
            // Long enough that a busy poller never lets recording lapse.
            watch_ttl: (poll * 20).max(Duration::from_secs(10)),
            heartbeat: Duration::from_secs(self.live.heartbeat_seconds),
            max_connections: self.live.max_connections,
            client_buffer: self.live.client_buffer,
        }
    }

    pub fn ledger(&self) -> LedgerConfig {
        LedgerConfig {
            pending_grace: Duration::from_secs(self.holds.pending_grace_seconds),
            load_wait: Duration::from_millis(self.ledger.load_wait_ms),
            load_lease: Duration::from_secs(self.ledger.load_lease_seconds),
            load_chunk: self.ledger.load_chunk,
            keep_after_event: Duration::from_secs(self.ledger.keep_after_event_days * 24 * 3600),
            unbook_retry_after: Duration::from_secs(2),
            hold_lifetime: Duration::from_secs(self.holds.max_total_seconds),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(environment: &str, vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let vars = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
        Settings::load_from(&dir, environment, vars)
    }

    #[test]
    fn defaults_serve_on_4000_in_memory_with_trust_and_five_minute_holds() {
        let s = load("development", &[]).unwrap();
        assert_eq!(s.server.port, 4000);
        assert_eq!(s.storage, Storage::Memory);
        assert_eq!(s.auth.mode, AuthMode::Trust);
        assert_eq!(s.holds.ttl_seconds, 300);
        assert_eq!(s.limits.max_seats_per_hold, 10);
    }

    #[test]
    fn environment_variables_override_files() {
        let s = load(
            "development",
            &[
                ("BOOKING__SERVER__PORT", "8080"),
                ("BOOKING__STORAGE", "postgres_redis"),
                ("BOOKING__HOLDS__TTL_SECONDS", "2"),
                ("BOOKING__AUTH__MODE", "jwt"),
                ("BOOKING__AUTH__JWT_SECRET", "a-secret-of-enough-length"),
                ("BOOKING__LIMITS__MAX_SEATS_PER_HOLD", "4"),
                ("BOOKING__REDIS__KEY_PREFIX", "staging"),
            ],
        )
        .unwrap();
        assert_eq!(s.server.port, 8080);
        assert_eq!(s.storage, Storage::PostgresRedis);
        assert_eq!(s.holds.ttl_seconds, 2);
        assert_eq!(s.auth.mode, AuthMode::Jwt);
        assert_eq!(s.auth.jwt_secret.expose(), "a-secret-of-enough-length");
        assert_eq!(s.limits.max_seats_per_hold, 4);
        assert_eq!(s.redis.key_prefix, "staging");
    }

    #[test]
    fn the_original_apis_variables_are_honoured() {
        let s = load(
            "development",
            &[
                ("PORT", "5000"),
                ("PG_URL", "postgres://u@db/x"),
                ("REDIS_URL", "redis://cache"),
            ],
        )
        .unwrap();
        assert_eq!(s.server.port, 5000);
        assert_eq!(s.postgres.url.expose(), "postgres://u@db/x");
        assert_eq!(s.redis.url.expose(), "redis://cache");
    }

    #[test]
    fn cluster_mode_takes_its_seed_nodes_from_a_comma_separated_list() {
        let s = load(
            "development",
            &[
                ("BOOKING__REDIS__MODE", "cluster"),
                (
                    "BOOKING__REDIS__URLS",
                    "redis://10.0.0.1:6379,redis://10.0.0.2:6379",
                ),
            ],
        )
        .unwrap();
        assert_eq!(s.redis.mode, RedisMode::Cluster);
        let urls: Vec<&str> = s.redis.urls.iter().map(Secret::expose).collect();
        assert_eq!(urls, ["redis://10.0.0.1:6379", "redis://10.0.0.2:6379"]);
        assert_eq!(
            load("development", &[]).unwrap().redis.mode,
            RedisMode::Single
        );
        let err = load("development", &[("BOOKING__REDIS__MODE", "cluster")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("redis.urls"), "{err}");
        let err = load("development", &[("BOOKING__REDIS__MODE", "sentinel")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("sentinel") || err.contains("mode"), "{err}");
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        let err = load("development", &[("BOOKING__SERVER__PROT", "1")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("prot"), "{err}");
        let err = load("development", &[("BOOKING__SERVER__PORT", "abc")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("port"), "{err}");
        let err = load("development", &[("BOOKING__STORAGE", "mysql")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("mysql") || err.contains("storage"), "{err}");
        let err = load("development", &[("BOOKING__HOLDS__TTL_SECONDS", "0")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("ttl_seconds"), "{err}");
        for level in ["x=y=z", "booking_api=bogus"] {
            let err = load("development", &[("BOOKING__LOG__LEVEL", level)])
                .unwrap_err()
                .to_string();
            assert!(err.contains("log.level"), "{level}: {err}");
        }
        for level in [
            "warn",
            "info,booking_domain=warn",
            "booking_api[request]=debug",
        ] {
            assert!(
                load("development", &[("BOOKING__LOG__LEVEL", level)]).is_ok(),
                "{level}"
            );
        }
        assert!(load("staging", &[])
            .unwrap_err()
            .to_string()
            .contains("staging"));
    }

    #[test]
    fn production_refuses_trust_mode_and_a_missing_secret() {
        let err = load("production", &[]).unwrap_err().to_string();
        assert!(err.contains("jwt_secret"), "{err}");
        let err = load(
            "production",
            &[
                ("BOOKING__AUTH__MODE", "trust"),
                ("BOOKING__AUTH__JWT_SECRET", "0123456789abcdef"),
            ],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("trust"), "{err}");
        let s = load(
            "production",
            &[("BOOKING__AUTH__JWT_SECRET", "0123456789abcdef")],
        )
        .unwrap();
        assert_eq!(s.storage, Storage::PostgresRedis);
        assert_eq!(s.log.format, LogFormat::Json);
        assert!(s.rate_limits.enabled);
    }

    #[test]
    fn rate_limits_are_off_but_in_production_and_configurable() {
        for environment in ["development", "test"] {
            assert!(!load(environment, &[]).unwrap().rate_limits.enabled);
        }
        let s = load(
            "development",
            &[
                ("BOOKING__RATE_LIMITS__ENABLED", "true"),
                ("BOOKING__RATE_LIMITS__RESERVE__PER_CALLER__REQUESTS", "3"),
                ("BOOKING__RATE_LIMITS__TRUSTED_PROXIES", "10.0.0.0/8,::1"),
            ],
        )
        .unwrap();
        assert!(s.rate_limits.enabled);
        assert_eq!(s.rate_limits.reserve.per_caller.requests, 3);
        assert_eq!(s.rate_limits.trusted_proxies, ["10.0.0.0/8", "::1"]);
        let err = load(
            "development",
            &[("BOOKING__RATE_LIMITS__READ__PER_IP__BURST", "0")],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("rate_limits.read"), "{err}");
        let err = load(
            "development",
            &[("BOOKING__RATE_LIMITS__TRUSTED_PROXIES", "a-proxy")],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("a-proxy"), "{err}");
    }

    #[test]
    fn secrets_are_not_printed() {
        let s = load("development", &[("PG_URL", "postgres://u:hunter2@db/x")]).unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
