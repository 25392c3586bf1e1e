//! TLS on the service's one port (rustls, ALPN `h2` and `http/1.1`), with
//! client certificates required when a client CA is given (mutual TLS).
//!
//! The certificate, key and client CA are read at start, where any fault is
//! an error naming its flag, and again on SIGHUP or when the files change
//! (looked at every few seconds, which also sees a mounted secret's symlink
//! swap). A new configuration applies to the connections accepted after it;
//! those open keep theirs. A reload that fails keeps the one in use.
//!
//! tonic's own `ServerTlsConfig` takes its identity once, so the handshake is
//! made here, on the connections `conn::incoming` accepts.

use std::{
    path::PathBuf,
    sync::{Arc, RwLock},
    time::Duration,
};

use anyhow::{Context, anyhow, bail};
use rustls::{
    RootCertStore, ServerConfig,
    crypto::CryptoProvider,
    pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject},
    server::WebPkiClientVerifier,
    sign::{CertifiedKey, SingleCertAndKey},
};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

/// How often the files are looked at for a change.
const POLL_INTERVAL: Duration = Duration::from_secs(5);

/// The files TLS is configured from (`--tls-cert`, `--tls-key`, `--tls-client-ca`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The server's certificate chain, leaf first (PEM).
    pub cert: PathBuf,
    /// Its private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// When set, clients must present a certificate signed by one of these CAs.
    pub client_ca: Option<PathBuf>,
}

/// The TLS configuration in use, swapped whole on reload.
pub struct Tls {
    files: TlsFiles,
    current: RwLock<Loaded>,
}

struct Loaded {
    config: Arc<ServerConfig>,
    /// What the files held when it was made, to tell a change.
    read: Read,
}

#[derive(PartialEq, Eq)]
struct Read {
    cert: Vec<u8>,
    key: Vec<u8>,
    client_ca: Option<Vec<u8>>,
}

impl Tls {
    /// Reads and checks the files: an error names the flag at fault.
    pub fn load(files: TlsFiles) -> anyhow::Result<Arc<Self>> {
        let read = read(&files)?;
        let config = server_config(&files, &read)?;
        Ok(Arc::new(Self {
            files,
            current: RwLock::new(Loaded { config, read }),
        }))
    }

    /// An acceptor with the configuration in use now.
    pub fn acceptor(&self) -> TlsAcceptor {
        let current = self.current.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        TlsAcceptor::from(current.config.clone())
    }

    /// Whether clients must present a certificate.
    pub fn requires_client_certificates(&self) -> bool {
        self.files.client_ca.is_some()
    }

    /// Reads the files again and, if they changed, puts a configuration made
    /// from them in use. Returns whether it did.
    pub fn reload(&self) -> anyhow::Result<bool> {
        let read = read(&self.files)?;
        if self.current.read().unwrap_or_else(|p| p.into_inner()).read == read {
            return Ok(false);
        }
        let config = server_config(&self.files, &read)?;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Loaded { config, read };
        Ok(true)
    }

    /// Reloads on SIGHUP and when the files change, until `stopping`.
    pub async fn watch(self: Arc<Self>, mut stopping: watch::Receiver<bool>) {
        let mut hangups = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
            Ok(hangups) => Some(hangups),
            Err(error) => {
                tracing::warn!(%error, "TLS: SIGHUP cannot be caught; the files are still looked at");
                None
            }
        };
        let mut poll = tokio::time::interval(POLL_INTERVAL);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let why = tokio::select! {
                _ = stopping.wait_for(|stop| *stop) => return,
                Some(()) = async { hangups.as_mut()?.recv().await } => "SIGHUP",
                _ = poll.tick() => "a change of the files",
            };
            match self.reload() {
                Ok(true) => tracing::info!(after = why, "TLS: certificate reloaded; new connections use it"),
                Ok(false) if why == "SIGHUP" => tracing::info!("TLS: SIGHUP, the files are unchanged"),
                Ok(false) => {}
                Err(error) => {
                    tracing::error!(
                        error = format!("{error:#}"),
                        "TLS: reload failed; the certificate in use stays"
                    )
                }
            }
        }
    }
}

fn read(files: &TlsFiles) -> anyhow::Result<Read> {
    let file = |flag: &str, path: &PathBuf| {
        std::fs::read(path).with_context(|| format!("{flag} {}: cannot be read", path.display()))
    };
    Ok(Read {
        cert: file("--tls-cert", &files.cert)?,
        key: file("--tls-key", &files.key)?,
        client_ca: files
            .client_ca
            .as_ref()
            .map(|path| file("--tls-client-ca", path))
            .transpose()?,
    })
}

fn server_config(files: &TlsFiles, read: &Read) -> anyhow::Result<Arc<ServerConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cert_flag = format!("--tls-cert {}", files.cert.display());
    let key_flag = format!("--tls-key {}", files.key.display());
    let chain = certificates(&cert_flag, &read.cert)?;
    check_validity(&cert_flag, &chain[0])?;
    let key = PrivateKeyDer::from_pem_slice(&read.key).map_err(|e| anyhow!("{key_flag}: no private key: {e}"))?;
    let key = CertifiedKey::from_der(chain, key, &provider).map_err(|error| match error {
        rustls::Error::InconsistentKeys(_) => {
            anyhow!("{key_flag}: the key does not match the certificate of {cert_flag}")
        }
        other => anyhow!("{key_flag}: the key cannot be used: {other}"),
    })?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .context("TLS: the protocol versions")?;
    let builder = match (&files.client_ca, &read.client_ca) {
        (Some(path), Some(pem)) => {
            let flag = format!("--tls-client-ca {}", path.display());
            builder.with_client_cert_verifier(client_verifier(&flag, pem, provider)?)
        }
        _ => builder.with_no_client_auth(),
    };
    let mut config = builder.with_cert_resolver(Arc::new(SingleCertAndKey::from(key)));
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The certificates of a PEM file, at least one.
fn certificates(flag: &str, pem: &[u8]) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let chain = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow!("{flag}: not a PEM certificate: {e}"))?;
    if chain.is_empty() {
        bail!("{flag}: holds no certificate");
    }
    Ok(chain)
}

/// Refuses a certificate that has expired or is not yet valid: clients would
/// refuse it at every handshake.
fn check_validity(flag: &str, certificate: &CertificateDer<'_>) -> anyhow::Result<()> {
    let (_, parsed) = x509_parser::parse_x509_certificate(certificate)
        .map_err(|e| anyhow!("{flag}: not an X.509 certificate: {e}"))?;
    let validity = parsed.validity();
    let now = x509_parser::time::ASN1Time::now();
    if validity.not_after < now {
        bail!("{flag}: the certificate expired on {}", validity.not_after);
    }
    if validity.not_before > now {
        bail!("{flag}: the certificate is not valid before {}", validity.not_before);
    }
    Ok(())
}

fn client_verifier(
    flag: &str,
    pem: &[u8],
    provider: Arc<CryptoProvider>,
) -> anyhow::Result<Arc<dyn rustls::server::danger::ClientCertVerifier>> {
    let mut roots = RootCertStore::empty();
    for certificate in certificates(flag, pem)? {
        roots
            .add(certificate)
            .map_err(|e| anyhow!("{flag}: not a CA certificate: {e}"))?;
    }
    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(|e| anyhow!("{flag}: {e}"))
}

/// The subject of a client's certificate (`CN=billing,O=Example`), for the
/// logs of its calls.
pub fn subject(certificate: &CertificateDer<'_>) -> Option<String> {
    let (_, parsed) = x509_parser::parse_x509_certificate(certificate).ok()?;
    Some(parsed.subject().to_string())
}
