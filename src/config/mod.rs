//! Configuration: what the server starts from (`Config`), with the embedded
//! defaults and secrets kept out of `Debug` output, and the flags and
//! environment it is read from (`flags`).

mod flags;

use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
};

use anyhow::Context;

pub use self::flags::{AuthArgs, Common, Redacted, Serve};
use crate::{
    Limits, RateLimit,
    auth::{KeySource, Signer, Verifier},
    service::WatchSettings,
    store::Store,
};

/// The development signing key's file inside the data directory.
const DEV_KEY_FILE: &str = "dev-hs256.key";

#[derive(Debug, Clone)]
pub struct Config {
    /// `None`: the SQLite file `incidents.db` in `data_dir`.
    pub database_url: Option<String>,
    pub data_dir: PathBuf,
    pub auth: AuthConfig,
    /// Calls each tenant may make; `None`: no limit.
    pub rate_limit: Option<RateLimit>,
    /// How many calls the server takes on at once, and for how long each.
    pub limits: Limits,
    /// How change events are watched and kept.
    pub events: EventsConfig,
    /// Where `/metrics` is served besides the service's own port.
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// TLS on the service's port; `None`: plaintext.
    pub tls: Option<crate::tls::TlsFiles>,
}

/// How change events are watched, kept and published.
#[derive(Debug, Clone)]
pub struct EventsConfig {
    pub watch: WatchSettings,
    /// How long events are kept (and, when published, at least until then).
    pub retention: std::time::Duration,
    /// Where events are published; `None`: they are not.
    pub nats: Option<crate::publisher::NatsConfig>,
}

impl Default for EventsConfig {
    fn default() -> Self {
        Self {
            watch: WatchSettings::default(),
            retention: crate::service::DEFAULT_EVENT_RETENTION,
            nats: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct AuthConfig {
    pub key: AuthKey,
    pub issuer: Option<String>,
    pub audience: Option<String>,
}

#[derive(Clone)]
pub enum AuthKey {
    Hs256Secret(Vec<u8>),
    PublicKeyPem(PathBuf),
    /// A random HS256 key kept in the data directory, made on first start.
    Development,
}

impl std::fmt::Debug for AuthKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuthKey::Hs256Secret(_) => f.write_str("Hs256Secret([redacted])"),
            AuthKey::PublicKeyPem(path) => write!(f, "PublicKeyPem({})", path.display()),
            AuthKey::Development => f.write_str("Development"),
        }
    }
}

impl Config {
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("incidents.db").display()))
    }

    /// Connects to the configured database, creating the data directory first
    /// when the database is the embedded default.
    pub async fn connect(&self) -> anyhow::Result<Store> {
        if self.database_url.is_none() {
            fs::create_dir_all(&self.data_dir).with_context(|| format!("creating {}", self.data_dir.display()))?;
        }
        Store::connect(&self.database_url())
            .await
            .context("connecting to the database")
    }

    /// The development key, created (mode 0600) on first use.
    pub fn development_key(&self) -> anyhow::Result<Vec<u8>> {
        let path = self.data_dir.join(DEV_KEY_FILE);
        if let Ok(hex) = fs::read_to_string(&path) {
            let key = hex::decode(hex.trim()).with_context(|| format!("{} is not a hex key", path.display()))?;
            anyhow::ensure!(key.len() >= 32, "{} holds a key shorter than 32 bytes", path.display());
            return Ok(key);
        }
        fs::create_dir_all(&self.data_dir).with_context(|| format!("creating {}", self.data_dir.display()))?;
        let key: [u8; 32] = rand::random();
        write_private(&path, &hex::encode(key))?;
        tracing::info!(path = %path.display(), "created a development signing key");
        Ok(key.to_vec())
    }

    /// The verifier for incoming tokens.
    pub fn verifier(&self) -> anyhow::Result<Verifier> {
        let auth = &self.auth;
        match &auth.key {
            AuthKey::Hs256Secret(secret) => Verifier::new(
                KeySource::Hs256Secret(secret),
                auth.issuer.as_deref(),
                auth.audience.as_deref(),
            ),
            AuthKey::PublicKeyPem(path) => Verifier::new(
                KeySource::PublicKeyPem(path),
                auth.issuer.as_deref(),
                auth.audience.as_deref(),
            ),
            AuthKey::Development => {
                let key = self.development_key()?;
                Verifier::new(
                    KeySource::Hs256Secret(&key),
                    auth.issuer.as_deref(),
                    auth.audience.as_deref(),
                )
            }
        }
    }

    /// A signer for `incidentd token`: the shared secret or the development key.
    /// With a public key configured, the private key must be given instead.
    pub fn signer(&self, private_key: Option<&Path>) -> anyhow::Result<Signer> {
        let signer = match (private_key, &self.auth.key) {
            (Some(path), _) => {
                let pem = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
                Signer::from_private_pem(&pem)?
            }
            (None, AuthKey::Hs256Secret(secret)) => Signer::hs256(secret),
            (None, AuthKey::Development) => Signer::hs256(&self.development_key()?),
            (None, AuthKey::PublicKeyPem(_)) => {
                anyhow::bail!("a public key verifies tokens but cannot sign them: pass --private-key")
            }
        };
        Ok(signer.for_server(self.auth.issuer.clone(), self.auth.audience.clone()))
    }
}

fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(contents.as_bytes())?;
    Ok(())
}
