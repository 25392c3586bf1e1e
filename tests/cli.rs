//! The `incidentd` binary's commands, run as a user would.

use std::process::Command;

use incidentd::auth::{KeySource, Verifier};

fn incidentd(data_dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_incidentd"))
        .args(args)
        .env("INCIDENTD_DATA_DIR", data_dir)
        .env_remove("DATABASE_URL")
        .env_remove("INCIDENTD_AUTH_HS256_SECRET")
        .output()
        .expect("incidentd runs")
}

/// Runs `incidentd token` and returns the token and the development key it used.
fn mint(data_dir: &std::path::Path, args: &[&str]) -> (String, Vec<u8>) {
    let output = incidentd(data_dir, args);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let token = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    let key = hex::decode(std::fs::read_to_string(data_dir.join("dev-hs256.key")).unwrap().trim()).unwrap();
    (token, key)
}

#[test]
fn migrate_creates_the_embedded_database() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("fresh");
    let output = incidentd(&data, &["migrate"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(data.join("incidents.db").exists());
}

#[test]
fn token_signs_with_the_development_key() {
    let dir = tempfile::tempdir().unwrap();
    let tenant = "e94c0747-9b32-57d6-914b-f6a392c51936";
    let subject = "6ceec7f3-10ee-5077-b5d3-39d77cabbdfc";
    let args = [
        "token",
        "--tenant-id",
        tenant,
        "--subject",
        subject,
        "--scope",
        "INCIDENT INCIDENT_ADMIN",
        "--name",
        "Ann",
    ];
    let (token, key) = mint(dir.path(), &args);
    let principal = Verifier::new(KeySource::Hs256Secret(&key), None, None)
        .unwrap()
        .verify(&token)
        .unwrap();
    assert_eq!(principal.tenant_id.to_string(), tenant);
    assert_eq!(principal.subject.to_string(), subject);
    assert_eq!(principal.name.as_deref(), Some("Ann"));
    assert_eq!(principal.scopes.len(), 2);
}

#[test]
fn token_refuses_a_malformed_tenant() {
    let dir = tempfile::tempdir().unwrap();
    let output = incidentd(
        dir.path(),
        &["token", "--tenant-id", "acme", "--subject", "x", "--scope", "INCIDENT"],
    );
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--tenant-id"));
}

#[test]
fn token_refuses_an_unknown_scope() {
    let dir = tempfile::tempdir().unwrap();
    let subject = "6ceec7f3-10ee-5077-b5d3-39d77cabbdfc";
    let args = [
        "token",
        "--tenant-id",
        subject,
        "--subject",
        subject,
        "--scope",
        "INCIDENT,INCIDENT_ADMIN",
    ];
    let output = incidentd(dir.path(), &args);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown scope"));
}

#[test]
fn token_carries_the_configured_issuer_and_audience() {
    let dir = tempfile::tempdir().unwrap();
    let subject = "6ceec7f3-10ee-5077-b5d3-39d77cabbdfc";
    let args = [
        "token",
        "--tenant-id",
        subject,
        "--subject",
        subject,
        "--scope",
        "INCIDENT",
        "--auth-issuer",
        "https://issuer.example",
        "--auth-audience",
        "incidentd",
    ];
    let (token, key) = mint(dir.path(), &args);
    let verifier = Verifier::new(
        KeySource::Hs256Secret(&key),
        Some("https://issuer.example"),
        Some("incidentd"),
    )
    .unwrap();
    assert!(verifier.verify(&token).is_ok());
}

#[test]
fn serve_refuses_limits_it_cannot_keep() {
    let dir = tempfile::tempdir().unwrap();
    for (flag, value) in [
        ("--max-concurrent-calls", "0"),
        ("--max-concurrent-calls", "many"),
        ("--request-timeout", "soon"),
        ("--shutdown-grace", "ten"),
        ("--max-watches", "0"),
        ("--watch-buffer", "12"),
        ("--watch-buffer", "2GiB"),
        ("--watch-buffer", "lots"),
        ("--watch-stall-timeout", "0s"),
        ("--watch-bookmark-interval", "2h"),
        ("--event-retention", "a week"),
        ("--nats-url", "http://[::1"),
        ("--nats-subject-prefix", "incidents.>"),
        ("--nats-subject-prefix", "a..b"),
        ("--nats-stream", "events.all"),
        ("--metrics-listen", "localhost"),
    ] {
        let output = incidentd(dir.path(), &["serve", flag, value]);
        assert_eq!(output.status.code(), Some(2), "{flag} {value}: clap's usage error");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(&format!("invalid value '{value}' for '{flag}")),
            "{stderr}"
        );
    }
}

#[test]
fn serve_takes_tls_files_only_in_pairs_and_names_the_flag_of_a_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    for (args, missing) in [
        (&["--tls-cert", "server.pem"][..], "--tls-key <PEM_FILE>"),
        (&["--tls-key", "server.key"][..], "--tls-cert <PEM_FILE>"),
        (&["--tls-client-ca", "clients.pem"][..], "--tls-cert <PEM_FILE>"),
    ] {
        let output = incidentd(dir.path(), &[&["serve"][..], args].concat());
        assert_eq!(output.status.code(), Some(2), "{args:?}: clap's usage error");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("the following required arguments were not provided") && stderr.contains(missing),
            "{stderr}"
        );
    }
    // A file that is not there: an error at start, naming the flag.
    let output = incidentd(
        dir.path(),
        &["serve", "--tls-cert", "missing.pem", "--tls-key", "missing.key"],
    );
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--tls-cert missing.pem: cannot be read"), "{stderr}");
}
