//! TLS and mutual TLS on the service's one port, with certificates made in
//! the test (rcgen): a client with a certificate of the CA is served over
//! gRPC and REST; one without a certificate, with a certificate of another
//! CA, or speaking plaintext is refused at the handshake; a rotated
//! certificate is used by new connections while open ones go on; and bad
//! files stop the server at start with an error naming the flag.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Stdio,
    sync::Arc,
    time::Duration,
};

use incidentd::tls::TlsFiles;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, pem::PemObject};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use tokio_rustls::{TlsConnector, client::TlsStream};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

use crate::{
    helpers::{SECRET, TestDb, config_for, shared_secret, spawn_reached},
    process::free_address,
};

/// A CA of the test's, and the PEM files of what it signed.
struct Pki {
    dir: tempfile::TempDir,
    ca: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate and its key, in PEM.
struct Leaf {
    cert: String,
    key: String,
}

impl Pki {
    fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Self {
            dir: tempfile::tempdir().unwrap(),
            ca,
        }
    }

    fn ca_pem(&self) -> String {
        self.ca.pem()
    }

    /// The server's certificate, for `localhost` and 127.0.0.1.
    fn server(&self, common_name: &str) -> Leaf {
        self.leaf(
            common_name,
            &["localhost", "127.0.0.1"],
            ExtendedKeyUsagePurpose::ServerAuth,
            |_| {},
        )
    }

    /// A client's certificate with the subject `CN=<common_name>,O=Billing`.
    fn client(&self, common_name: &str) -> Leaf {
        self.leaf(common_name, &[], ExtendedKeyUsagePurpose::ClientAuth, |params| {
            params.distinguished_name.push(DnType::OrganizationName, "Billing");
        })
    }

    fn leaf(
        &self,
        common_name: &str,
        names: &[&str],
        usage: ExtendedKeyUsagePurpose,
        change: impl FnOnce(&mut CertificateParams),
    ) -> Leaf {
        let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params.distinguished_name.push(DnType::CommonName, common_name);
        params.extended_key_usages = vec![usage];
        change(&mut params);
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.ca).unwrap();
        Leaf {
            cert: cert.pem(),
            key: key.serialize_pem(),
        }
    }

    /// Writes `contents` to the file `name` of the test's directory.
    fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    /// The server's files: `leaf`, and this CA for client certificates.
    fn files(&self, leaf: &Leaf, mutual: bool) -> TlsFiles {
        TlsFiles {
            cert: self.write("server.pem", &leaf.cert),
            key: self.write("server.key", &leaf.key),
            client_ca: mutual.then(|| self.write("clients-ca.pem", &self.ca_pem())),
        }
    }
}

/// A server over TLS from `files`, its gRPC clients connected with `client`.
async fn spawn_tls(files: TlsFiles, client: ClientTlsConfig) -> crate::helpers::TestApp {
    let db = TestDb::new().await;
    let mut config = config_for(&db, shared_secret());
    config.tls = Some(files);
    spawn_reached(db, config, move |address| {
        Channel::from_shared(format!("https://{address}"))
            .unwrap()
            .tls_config(client)
            .unwrap()
    })
    .await
}

fn tonic_client(ca: &Pki, identity: Option<&Leaf>) -> ClientTlsConfig {
    let config = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca.ca_pem()))
        .domain_name("localhost");
    match identity {
        Some(leaf) => config.identity(Identity::from_pem(&leaf.cert, &leaf.key)),
        None => config,
    }
}

/// A rustls client that trusts `ca`, shows `identity` if given and offers `alpn`.
fn connector(ca: &Pki, identity: Option<&Leaf>, alpn: &[&[u8]]) -> TlsConnector {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for certificate in CertificateDer::pem_slice_iter(ca.ca_pem().as_bytes()) {
        roots.add(certificate.unwrap()).unwrap();
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let mut config = match identity {
        Some(leaf) => {
            let chain = CertificateDer::pem_slice_iter(leaf.cert.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            let key = PrivateKeyDer::from_pem_slice(leaf.key.as_bytes()).unwrap();
            builder.with_client_auth_cert(chain, key).unwrap()
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = alpn.iter().map(|protocol| protocol.to_vec()).collect();
    TlsConnector::from(Arc::new(config))
}

async fn handshake(address: SocketAddr, connector: &TlsConnector) -> std::io::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(address).await?;
    let name = ServerName::try_from("localhost").unwrap();
    connector.connect(name, tcp).await
}

/// `GET path` over HTTP/1.1 on `stream`, kept alive: the answer's head and body.
async fn http1_get(stream: &mut TlsStream<TcpStream>, path: &str, token: Option<&str>) -> std::io::Result<String> {
    let authorization = token
        .map(|t| format!("authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let request = format!("GET {path} HTTP/1.1\r\nhost: localhost\r\n{authorization}\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    let mut buffer = [0u8; 16 * 1024];
    // Read until the head and the body its content-length announces are in.
    loop {
        let read = stream.read(&mut buffer).await?;
        if read == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        answer.extend_from_slice(&buffer[..read]);
        let text = String::from_utf8_lossy(&answer).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|line| {
                    line.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(str::trim)
                        .map(str::to_owned)
                })
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or(0);
            if body.len() >= length {
                return Ok(text);
            }
        }
    }
}

/// The server's certificate on a new connection.
async fn presented(address: SocketAddr, connector: &TlsConnector) -> CertificateDer<'static> {
    let stream = handshake(address, connector).await.expect("a handshake");
    stream.get_ref().1.peer_certificates().expect("the server's chain")[0].clone()
}

fn der(pem: &str) -> CertificateDer<'static> {
    CertificateDer::from_pem_slice(pem.as_bytes()).unwrap()
}

#[tokio::test]
async fn mutual_tls_serves_grpc_to_a_client_with_a_certificate_of_the_ca() {
    let pki = Pki::new("clients CA");
    let client = pki.client("billing-service");
    let mut app = spawn_tls(
        pki.files(&pki.server("incidentd"), true),
        tonic_client(&pki, Some(&client)),
    )
    .await;

    let seed = app.seed().await;
    let created = app
        .create(seed.minimal("Laptop lost on a train"))
        .await
        .expect("created over mTLS");
    let read = app.get(&created.id).await.expect("read over mTLS");
    assert_eq!(read.name, "Laptop lost on a train");
    assert_eq!(
        app.health().await,
        tonic_health::pb::health_check_response::ServingStatus::Serving
    );

    // ALPN: h2 for gRPC, http/1.1 for REST, each as offered.
    for protocol in [&b"h2"[..], b"http/1.1"] {
        let stream = handshake(app.address, &connector(&pki, Some(&client), &[protocol]))
            .await
            .expect("a handshake");
        assert_eq!(stream.get_ref().1.alpn_protocol(), Some(protocol));
    }
}

#[tokio::test]
async fn rest_is_served_over_tls() {
    let pki = Pki::new("clients CA");
    let client = pki.client("billing-service");
    let mut app = spawn_tls(
        pki.files(&pki.server("incidentd"), true),
        tonic_client(&pki, Some(&client)),
    )
    .await;
    let seed = app.seed().await;
    let created = app.create(seed.minimal("Misdirected email")).await.unwrap();

    let mut stream = handshake(app.address, &connector(&pki, Some(&client), &[b"http/1.1"]))
        .await
        .unwrap();
    let token = app.token("INCIDENT_READ");
    let answer = http1_get(
        &mut stream,
        &format!("/api/incident/v1/incidents/{}", created.id),
        Some(&token),
    )
    .await
    .expect("an answer over TLS");
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.contains("\"name\":\"Misdirected email\""), "{answer}");
    let unauthenticated = http1_get(&mut stream, &format!("/api/incident/v1/incidents/{}", created.id), None)
        .await
        .unwrap();
    assert!(unauthenticated.starts_with("HTTP/1.1 401 "), "{unauthenticated}");
}

#[tokio::test]
async fn a_client_without_a_certificate_is_refused_at_the_handshake() {
    let pki = Pki::new("clients CA");
    let client = pki.client("billing-service");
    let app = spawn_tls(
        pki.files(&pki.server("incidentd"), true),
        tonic_client(&pki, Some(&client)),
    )
    .await;

    // TLS 1.3: the client finishes its side, and the server's alert comes
    // with the first read.
    let refused = async {
        let mut stream = handshake(app.address, &connector(&pki, None, &[b"http/1.1"])).await?;
        http1_get(&mut stream, "/healthz", None).await
    };
    let error = refused.await.expect_err("no certificate, no answer");
    assert!(
        error.to_string().contains("CertificateRequired"),
        "the server asks for a certificate: {error}"
    );

    // And through tonic: the call fails on the connection (tonic's UNKNOWN
    // "transport error"), with the alert as its source.
    let channel = Channel::from_shared(format!("https://{}", app.address))
        .unwrap()
        .tls_config(tonic_client(&pki, None))
        .unwrap();
    let call = async {
        let channel = channel
            .connect()
            .await
            .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
        tonic_health::pb::health_client::HealthClient::new(channel)
            .check(tonic_health::pb::HealthCheckRequest::default())
            .await
    };
    let status = call.await.expect_err("refused");
    assert_eq!(status.code(), tonic::Code::Unknown, "{status:?}");
    assert!(format!("{status:?}").contains("CertificateRequired"), "{status:?}");
}

#[tokio::test]
async fn a_certificate_of_another_ca_is_refused_at_the_handshake() {
    let pki = Pki::new("clients CA");
    let stranger = Pki::new("another CA");
    let client = pki.client("billing-service");
    let app = spawn_tls(
        pki.files(&pki.server("incidentd"), true),
        tonic_client(&pki, Some(&client)),
    )
    .await;

    let impostor = stranger.client("billing-service");
    let refused = async {
        let mut stream = handshake(app.address, &connector(&pki, Some(&impostor), &[b"http/1.1"])).await?;
        http1_get(&mut stream, "/healthz", None).await
    };
    let error = refused.await.expect_err("another CA's certificate, no answer");
    assert!(
        error.to_string().contains("UnknownCA"),
        "the server names the fault: {error}"
    );

    // The server still serves those it trusts.
    let mut stream = handshake(app.address, &connector(&pki, Some(&client), &[b"http/1.1"]))
        .await
        .unwrap();
    let answer = http1_get(&mut stream, "/healthz", None).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
}

#[tokio::test]
async fn a_plaintext_client_on_the_tls_port_is_refused() {
    let pki = Pki::new("clients CA");
    let app = spawn_tls(pki.files(&pki.server("incidentd"), false), tonic_client(&pki, None)).await;

    // HTTP/1.1 in clear: the server answers with a TLS alert record (content
    // type 21) or closes, never with HTTP.
    let mut tcp = TcpStream::connect(app.address).await.unwrap();
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nhost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut answer))
        .await
        .expect("the server closes the connection");
    assert!(
        answer.is_empty() || answer[0] == 21,
        "a TLS alert or nothing: {:?}",
        String::from_utf8_lossy(&answer)
    );
    assert!(!String::from_utf8_lossy(&answer).contains("HTTP/"));

    // gRPC in clear (the h2 preface): the call fails on the connection,
    // which the server closed (tonic's UNKNOWN "transport error").
    let plaintext = crate::helpers::plaintext(app.address);
    let call = async {
        let channel = plaintext
            .connect()
            .await
            .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
        tonic_health::pb::health_client::HealthClient::new(channel)
            .check(tonic_health::pb::HealthCheckRequest::default())
            .await
    };
    let status = call.await.expect_err("refused");
    assert_eq!(status.code(), tonic::Code::Unknown, "{status:?}");
    assert_eq!(status.message(), "transport error");

    // Without --tls-client-ca, a client with no certificate is served.
    let mut stream = handshake(app.address, &connector(&pki, None, &[b"http/1.1"]))
        .await
        .unwrap();
    let answer = http1_get(&mut stream, "/healthz", None).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
}

#[tokio::test]
async fn a_rotated_certificate_serves_new_connections_while_open_ones_go_on() {
    let pki = Pki::new("clients CA");
    let client = pki.client("billing-service");
    let first = pki.server("incidentd-2026");
    let files = pki.files(&first, true);
    let app = spawn_tls(files.clone(), tonic_client(&pki, Some(&client))).await;
    let connector = connector(&pki, Some(&client), &[b"http/1.1"]);
    assert_eq!(presented(app.address, &connector).await, der(&first.cert));

    let mut open = handshake(app.address, &connector).await.unwrap();
    let answer = http1_get(&mut open, "/healthz", None).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");

    // The key first, then the certificate, as a careless rotation might: the
    // moment in between (a key that does not match) is refused and the old
    // pair stays in use.
    let second = pki.server("incidentd-2027");
    std::fs::write(&files.key, &second.key).unwrap();
    std::fs::write(&files.cert, &second.cert).unwrap();
    let mut rotated = false;
    for _ in 0..150 {
        if presented(app.address, &connector).await == der(&second.cert) {
            rotated = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(rotated, "new connections get the new certificate within 15 s");

    // The connection opened before goes on with the old one.
    let answer = http1_get(&mut open, "/healthz", None)
        .await
        .expect("the open connection still serves");
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert_eq!(open.get_ref().1.peer_certificates().unwrap()[0], der(&first.cert));
}

/// Over mutual TLS, the subject of the client's certificate is logged with
/// each of its calls; SIGHUP reloads the certificate.
#[tokio::test]
async fn a_running_server_logs_the_client_subject_and_reloads_on_sighup() {
    let pki = Pki::new("clients CA");
    let first = pki.server("incidentd-2026");
    let client = pki.client("billing-service");
    let files = pki.files(&first, true);
    let db = TestDb::new().await;
    let address = free_address();
    let log = pki.dir.path().join("server.log");
    let mut server = tokio::process::Command::new(env!("CARGO_BIN_EXE_incidentd"))
        .arg("serve")
        .args(["--listen", &address.to_string(), "--database-url", db.url()])
        .arg("--data-dir")
        .arg(db.dir())
        .arg("--tls-cert")
        .arg(&files.cert)
        .arg("--tls-key")
        .arg(&files.key)
        .arg("--tls-client-ca")
        .arg(files.client_ca.as_ref().unwrap())
        .env("INCIDENTD_AUTH_HS256_SECRET", std::str::from_utf8(SECRET).unwrap())
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let connector = connector(&pki, Some(&client), &[b"http/1.1"]);
    let mut serving = false;
    for _ in 0..600 {
        assert!(
            server.try_wait().unwrap().is_none(),
            "the server exited: {}",
            read(&log)
        );
        if let Ok(mut stream) = handshake(address, &connector).await
            && http1_get(&mut stream, "/readyz", None).await.is_ok()
        {
            serving = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(serving, "the server serves over TLS: {}", read(&log));
    assert_eq!(presented(address, &connector).await, der(&first.cert));

    let mut stream = handshake(address, &connector).await.unwrap();
    let path = format!("/api/incident/v1/incidents/{}", uuid::Uuid::now_v7());
    let answer = http1_get(&mut stream, &path, None).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 401 "), "{answer}");
    let subject = r#"client="CN=billing-service, O=Billing""#;
    wait_for_line(&log, subject).await;
    let line = read(&log).lines().find(|l| l.contains(subject)).unwrap().to_owned();
    assert!(line.contains("incidentd::access: answered"), "{line}");
    assert!(line.contains("status=401"), "{line}");

    hang_up(&server);
    wait_for_line(&log, "TLS: SIGHUP, the files are unchanged").await;

    let second = pki.server("incidentd-2027");
    std::fs::write(&files.cert, &second.cert).unwrap();
    std::fs::write(&files.key, &second.key).unwrap();
    hang_up(&server);
    wait_for_line(&log, "TLS: certificate reloaded").await;
    assert_eq!(presented(address, &connector).await, der(&second.cert));
    server.kill().await.unwrap();
}

fn hang_up(server: &tokio::process::Child) {
    let pid = server.id().expect("running").to_string();
    let sent = std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap();
    assert!(sent.success());
}

fn read(log: &Path) -> String {
    std::fs::read_to_string(log).unwrap_or_default()
}

async fn wait_for_line(log: &Path, line: &str) {
    for _ in 0..100 {
        if read(log).contains(line) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no {line:?} in the server's log: {}", read(log));
}

/// Each fault of the files stops the server at start, named by its flag.
#[tokio::test]
async fn bad_files_stop_the_server_at_start_with_an_error_naming_the_flag() {
    let pki = Pki::new("clients CA");
    let good = pki.server("incidentd");
    let other = pki.server("incidentd-other");
    let cert = pki.write("good.pem", &good.cert);
    let key = pki.write("good.key", &good.key);
    let expired = {
        let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &pki.ca).unwrap();
        (
            pki.write("expired.pem", &cert.pem()),
            pki.write("expired.key", &key.serialize_pem()),
        )
    };
    let missing = pki.dir.path().join("missing.pem");
    let mismatched = pki.write("other.key", &other.key);
    let not_pem = pki.write("not.pem", "not a certificate");
    let files = |cert: &PathBuf, key: &PathBuf, client_ca: Option<&PathBuf>| TlsFiles {
        cert: cert.clone(),
        key: key.clone(),
        client_ca: client_ca.cloned(),
    };
    let d = |path: &PathBuf| path.display().to_string();
    let cases = [
        (
            files(&missing, &key, None),
            format!("--tls-cert {}: cannot be read", d(&missing)),
        ),
        (
            files(&cert, &missing, None),
            format!("--tls-key {}: cannot be read", d(&missing)),
        ),
        (
            files(&not_pem, &key, None),
            format!("--tls-cert {}: holds no certificate", d(&not_pem)),
        ),
        (
            files(&cert, &not_pem, None),
            format!("--tls-key {}: no private key", d(&not_pem)),
        ),
        (
            files(&cert, &mismatched, None),
            format!(
                "--tls-key {}: the key does not match the certificate of --tls-cert {}",
                d(&mismatched),
                d(&cert)
            ),
        ),
        (
            files(&expired.0, &expired.1, None),
            format!("--tls-cert {}: the certificate expired on", d(&expired.0)),
        ),
        (
            files(&cert, &key, Some(&not_pem)),
            format!("--tls-client-ca {}: holds no certificate", d(&not_pem)),
        ),
        (
            files(&cert, &key, Some(&missing)),
            format!("--tls-client-ca {}: cannot be read", d(&missing)),
        ),
    ];
    for (files, expected) in cases {
        let db = TestDb::new().await;
        let mut config = config_for(&db, shared_secret());
        config.tls = Some(files);
        let error = match incidentd::build(&config).await {
            Ok(_) => panic!("{expected}: the server started"),
            Err(error) => format!("{error:#}"),
        };
        assert!(error.starts_with(&expected), "{error} (expected: {expected})");
    }
    // The pair itself is good.
    let db = TestDb::new().await;
    let mut config = config_for(&db, shared_secret());
    config.tls = Some(files(&cert, &key, None));
    assert!(incidentd::build(&config).await.is_ok());
}
