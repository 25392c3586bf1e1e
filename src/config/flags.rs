//! The flags and environment variables of every command (clap): one struct per
//! concern, with the embedded defaults, and secrets kept out of `Debug` output.

use std::{
    fmt,
    net::SocketAddr,
    num::{NonZeroU32, NonZeroUsize},
    path::PathBuf,
};

use clap::Args;

use crate::{admission, conn};

/// Where the data lives and how callers are authenticated; shared by every command.
#[derive(Debug, Clone, Args)]
pub struct Common {
    /// Directory for the embedded database and the development signing key.
    #[arg(long, env = "INCIDENTD_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// `sqlite://PATH` or `postgres://USER@HOST/DB`. Default: a SQLite file
    /// `incidents.db` in the data directory, created on first start.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<Redacted>,
    /// How log lines are written to stderr: `text` for people, `json` (one
    /// object per line) for log pipelines.
    #[arg(long, env = "INCIDENTD_LOG_FORMAT", value_enum, default_value_t)]
    pub log_format: crate::telemetry::LogFormat,
    #[command(flatten)]
    pub auth: AuthArgs,
}

#[derive(Debug, Clone, Args)]
pub struct AuthArgs {
    /// Verify HS256 tokens with this shared secret (at least 32 bytes).
    #[arg(
        long,
        env = "INCIDENTD_AUTH_HS256_SECRET",
        hide_env_values = true,
        conflicts_with = "auth_public_key"
    )]
    pub auth_hs256_secret: Option<Redacted>,
    /// Verify RS256 or ES256 tokens with this PEM public key file.
    #[arg(long, env = "INCIDENTD_AUTH_PUBLIC_KEY", value_name = "PEM_FILE")]
    pub auth_public_key: Option<PathBuf>,
    /// Require this `iss` claim.
    #[arg(long, env = "INCIDENTD_AUTH_ISSUER")]
    pub auth_issuer: Option<String>,
    /// Require this `aud` claim.
    #[arg(long, env = "INCIDENTD_AUTH_AUDIENCE")]
    pub auth_audience: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct Serve {
    /// Address of the gRPC server and the REST gateway.
    #[arg(long, env = "INCIDENTD_LISTEN", default_value = "127.0.0.1:50051")]
    pub listen: SocketAddr,
    /// Calls per second each tenant may make, gRPC and REST together; calls over
    /// it get RESOURCE_EXHAUSTED (REST: 429) with the time to wait. Default: no limit.
    #[arg(long, env = "INCIDENTD_RATE_LIMIT", value_name = "CALLS_PER_SECOND")]
    pub rate_limit: Option<NonZeroU32>,
    /// Calls a tenant may make at once before the rate applies. Default: one
    /// second's worth.
    #[arg(
        long,
        env = "INCIDENTD_RATE_LIMIT_BURST",
        value_name = "CALLS",
        requires = "rate_limit"
    )]
    pub rate_limit_burst: Option<NonZeroU32>,
    /// Calls served at once, gRPC and REST together (health probes aside); more
    /// are refused at once with UNAVAILABLE (REST: 503), not queued.
    #[arg(
        long,
        env = "INCIDENTD_MAX_CONCURRENT_CALLS",
        value_name = "CALLS",
        default_value_t = admission::DEFAULT_MAX_CONCURRENT_CALLS
    )]
    pub max_concurrent_calls: NonZeroUsize,
    /// The percentage of those calls one tenant may make at once (at least
    /// one call); more are refused at once with RESOURCE_EXHAUSTED (REST: 429).
    #[arg(
        long,
        env = "INCIDENTD_TENANT_SHARE",
        value_name = "PERCENT",
        default_value_t = admission::DEFAULT_TENANT_SHARE_PERCENT,
        value_parser = clap::value_parser!(u8).range(1..=100)
    )]
    pub tenant_share: u8,
    /// The longest a request's body may take to arrive; a later one ends the
    /// call with DEADLINE_EXCEEDED (REST: 408), its slot freed.
    #[arg(long, env = "INCIDENTD_BODY_TIMEOUT", value_name = "DURATION", default_value_t = admission::DEFAULT_BODY_TIMEOUT.into())]
    pub body_timeout: humantime::Duration,
    /// Connections open at once; more are closed as they are accepted.
    #[arg(
        long,
        env = "INCIDENTD_MAX_CONNECTIONS",
        value_name = "CONNECTIONS",
        default_value_t = conn::DEFAULT_MAX_CONNECTIONS
    )]
    pub max_connections: NonZeroUsize,
    /// How long a connection may carry no call (or send nothing at all) before
    /// it is closed.
    #[arg(long, env = "INCIDENTD_IDLE_TIMEOUT", value_name = "DURATION", default_value_t = conn::DEFAULT_IDLE_TIMEOUT.into())]
    pub idle_timeout: humantime::Duration,
    /// How long a peer may go without taking what it is sent (a write that
    /// makes no progress, a flow-control window left shut) before its
    /// connection is closed.
    #[arg(long, env = "INCIDENTD_WRITE_TIMEOUT", value_name = "DURATION", default_value_t = conn::DEFAULT_WRITE_TIMEOUT.into())]
    pub write_timeout: humantime::Duration,
    /// The longest a call may run before it is stopped with DEADLINE_EXCEEDED
    /// (REST: 504). A gRPC caller's shorter grpc-timeout applies as well.
    #[arg(long, env = "INCIDENTD_REQUEST_TIMEOUT", value_name = "DURATION", default_value_t = admission::DEFAULT_REQUEST_TIMEOUT.into())]
    pub request_timeout: humantime::Duration,
    /// How long calls in flight at SIGTERM or Ctrl-C may go on finishing; new
    /// connections are refused from the start, and the database is closed at the end.
    #[arg(long, env = "INCIDENTD_SHUTDOWN_GRACE", value_name = "DURATION", default_value_t = admission::DEFAULT_SHUTDOWN_GRACE.into())]
    pub shutdown_grace: humantime::Duration,
    /// Watches (WatchIncidents streams) open at once, counted apart from
    /// calls; a tenant may hold its --tenant-share of them. More are refused
    /// with UNAVAILABLE (a tenant's: RESOURCE_EXHAUSTED).
    #[arg(
        long,
        env = "INCIDENTD_MAX_WATCHES",
        value_name = "WATCHES",
        default_value_t = admission::DEFAULT_MAX_WATCHES
    )]
    pub max_watches: NonZeroUsize,
    /// Bytes of events a watch holds for its reader (`512KiB`, `4MiB`); an
    /// event larger than this is held alone.
    #[arg(
        long,
        env = "INCIDENTD_WATCH_BUFFER",
        value_name = "SIZE",
        default_value_t = bytesize::ByteSize::b(crate::service::DEFAULT_WATCH_BUFFER_BYTES as u64),
        value_parser = watch_buffer
    )]
    pub watch_buffer: bytesize::ByteSize,
    /// How long a watch's reader may leave its buffer full before the watch
    /// ends with RESOURCE_EXHAUSTED (WATCH_TOO_SLOW), to resume from its cursor.
    #[arg(long, env = "INCIDENTD_WATCH_STALL_TIMEOUT", value_name = "DURATION", default_value_t = crate::service::DEFAULT_STALL_TIMEOUT.into(), value_parser = watch_interval)]
    pub watch_stall_timeout: humantime::Duration,
    /// How long a watch with nothing to send waits before it sends a bookmark.
    #[arg(long, env = "INCIDENTD_WATCH_BOOKMARK_INTERVAL", value_name = "DURATION", default_value_t = crate::service::DEFAULT_BOOKMARK_INTERVAL.into(), value_parser = watch_interval)]
    pub watch_bookmark_interval: humantime::Duration,
    /// How long change events are kept for watches to replay (and, when they
    /// are published, at least until they are).
    #[arg(long, env = "INCIDENTD_EVENT_RETENTION", value_name = "DURATION", default_value_t = crate::service::DEFAULT_EVENT_RETENTION.into())]
    pub event_retention: humantime::Duration,
    /// Serve `GET /metrics` (Prometheus) on this address too, besides the
    /// service's own port.
    #[arg(long, env = "INCIDENTD_METRICS_LISTEN", value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
    /// Serve gRPC and REST over TLS with this certificate chain (PEM, leaf
    /// first); re-read on SIGHUP or when the file changes.
    #[arg(long, env = "INCIDENTD_TLS_CERT", value_name = "PEM_FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, env = "INCIDENTD_TLS_KEY", value_name = "PEM_FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Require client certificates signed by a CA of this file (PEM): mutual TLS.
    #[arg(
        long,
        env = "INCIDENTD_TLS_CLIENT_CA",
        value_name = "PEM_FILE",
        requires = "tls_cert"
    )]
    pub tls_client_ca: Option<PathBuf>,
    /// Publish every change event to NATS JetStream at this URL
    /// (`nats://HOST:PORT`), as a CloudEvent; off when not set.
    #[arg(long, env = "INCIDENTD_NATS_URL", value_name = "URL", hide_env_values = true, value_parser = nats_url)]
    pub nats_url: Option<Redacted>,
    /// The first token of the subjects events are published on:
    /// `PREFIX.{tenantId}.incident.{type}`.
    #[arg(long, env = "INCIDENTD_NATS_SUBJECT_PREFIX", value_name = "PREFIX", default_value = crate::publisher::DEFAULT_SUBJECT_PREFIX, value_parser = subject_prefix)]
    pub nats_subject_prefix: String,
    /// The JetStream stream that takes the events, created if missing.
    #[arg(long, env = "INCIDENTD_NATS_STREAM", value_name = "NAME", default_value = crate::publisher::DEFAULT_STREAM, value_parser = stream_name)]
    pub nats_stream: String,
    #[command(flatten)]
    pub common: Common,
}

impl Serve {
    /// The configuration the server starts from.
    pub fn to_config(&self) -> crate::Config {
        crate::Config {
            rate_limit: self.rate_limit.map(|per_second| crate::RateLimit {
                per_second,
                burst: self.rate_limit_burst.unwrap_or(per_second),
            }),
            limits: crate::Limits {
                max_concurrent_calls: self.max_concurrent_calls.get(),
                max_watches: self.max_watches.get(),
                tenant_share_percent: self.tenant_share,
                request_timeout: self.request_timeout.into(),
                body_timeout: self.body_timeout.into(),
                shutdown_grace: self.shutdown_grace.into(),
                connections: crate::ConnectionLimits {
                    max_connections: self.max_connections.get(),
                    idle_timeout: self.idle_timeout.into(),
                    write_timeout: self.write_timeout.into(),
                },
            },
            events: crate::EventsConfig {
                watch: crate::service::WatchSettings {
                    buffer_bytes: usize::try_from(self.watch_buffer.as_u64()).unwrap_or(usize::MAX),
                    bookmark_interval: self.watch_bookmark_interval.into(),
                    stall_timeout: self.watch_stall_timeout.into(),
                },
                retention: self.event_retention.into(),
                nats: self.nats_url.as_ref().map(|url| crate::publisher::NatsConfig {
                    url: url.clone(),
                    subject_prefix: self.nats_subject_prefix.clone(),
                    stream: self.nats_stream.clone(),
                }),
            },
            metrics_listen: self.metrics_listen,
            tls: self
                .tls_cert
                .as_ref()
                .zip(self.tls_key.as_ref())
                .map(|(cert, key)| crate::tls::TlsFiles {
                    cert: cert.clone(),
                    key: key.clone(),
                    client_ca: self.tls_client_ca.clone(),
                }),
            ..self.common.to_config()
        }
    }
}

/// A watch buffer: at least 1 KiB, at most 1 GiB.
fn watch_buffer(value: &str) -> Result<bytesize::ByteSize, String> {
    let size: bytesize::ByteSize = value.parse()?;
    if !(1024..=1024 * 1024 * 1024).contains(&size.as_u64()) {
        return Err("must be from 1KiB to 1GiB".into());
    }
    Ok(size)
}

/// A watch's bookmark interval or stall timeout: from 100 ms to an hour.
fn watch_interval(value: &str) -> Result<humantime::Duration, String> {
    let duration: humantime::Duration = value.parse().map_err(|e| format!("{e}"))?;
    let range = std::time::Duration::from_millis(100)..=std::time::Duration::from_secs(3600);
    if !range.contains(duration.as_ref()) {
        return Err("must be from 100ms to 1h".into());
    }
    Ok(duration)
}

/// A NATS server address (`nats://HOST:PORT`, `tls://…`, credentials allowed).
fn nats_url(value: &str) -> Result<Redacted, String> {
    value
        .parse::<async_nats::ServerAddr>()
        .map_err(|e| format!("not a NATS server address: {e}"))?;
    Ok(Redacted(value.to_owned()))
}

/// A NATS subject prefix: one or more tokens of letters, digits, `-` and `_`,
/// separated by dots.
fn subject_prefix(value: &str) -> Result<String, String> {
    let token = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if value.split('.').all(token) {
        Ok(value.to_owned())
    } else {
        Err("must be tokens of letters, digits, '-' and '_', separated by dots (no wildcards)".into())
    }
}

/// A JetStream stream name: letters, digits, `-` and `_`, at most 32.
fn stream_name(value: &str) -> Result<String, String> {
    let valid = (1..=32).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if valid {
        Ok(value.to_owned())
    } else {
        Err("must be 1 to 32 letters, digits, '-' and '_'".into())
    }
}

/// A string that never shows in logs or `Debug` output (secrets, database URLs
/// with passwords).
#[derive(Clone)]
pub struct Redacted(pub String);

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl std::str::FromStr for Redacted {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

impl Common {
    /// The configuration the library starts from (no rate limit: that is the
    /// server's, see `Serve::to_config`).
    pub fn to_config(&self) -> crate::Config {
        let key = match (&self.auth.auth_hs256_secret, &self.auth.auth_public_key) {
            (Some(secret), _) => crate::AuthKey::Hs256Secret(secret.0.clone().into_bytes()),
            (None, Some(path)) => crate::AuthKey::PublicKeyPem(path.clone()),
            (None, None) => crate::AuthKey::Development,
        };
        crate::Config {
            database_url: self.database_url.as_ref().map(|u| u.0.clone()),
            data_dir: self.data_dir.clone(),
            auth: crate::AuthConfig {
                key,
                issuer: self.auth.auth_issuer.clone(),
                audience: self.auth.auth_audience.clone(),
            },
            rate_limit: None,
            limits: crate::Limits::default(),
            events: crate::EventsConfig::default(),
            metrics_listen: None,
            tls: None,
        }
    }
}
