//! A service started alone refuses to run without a token signing key: exit code 78
//! (EX_CONFIG) and a message that names `KENDUREN_AUTH_KEY`. Runs the real binary; the
//! database and NATS URLs point at closed ports, so nothing else could have stopped it.
//! (`kenduren dev`, which prints and uses the development key instead, is run by
//! walk_through.rs.)

use std::process::{Command, Output};

/// Exit code for configuration a service cannot start with (sysexits' EX_CONFIG).
const EXIT_CONFIG: i32 = 78;

#[allow(dead_code)]
mod common;

fn closed_port() -> u16 {
    // Bound and released at once: nothing listens there afterwards.
    common::free_port()
}

/// Runs `kenduren <service>` with `KENDUREN_AUTH_KEY` set to `key` (unset for `None`).
fn run(service: &str, key: Option<&str>) -> Output {
    let mut command = Command::new(common::binary());
    command
        .arg(service)
        .env(
            "KENDUREN_DATABASE_URL",
            format!("postgres://postgres@127.0.0.1:{}/none", closed_port()),
        )
        .env("KENDUREN_NATS_URL", format!("nats://127.0.0.1:{}", closed_port()))
        .env("KENDUREN_LISTEN_ADDR", format!("127.0.0.1:{}", closed_port()))
        .env("KENDUREN_METRICS_ADDR", "off")
        .env_remove("KENDUREN_AUTH_KEY");
    if let Some(key) = key {
        command.env("KENDUREN_AUTH_KEY", key);
    }
    command.output().expect("kenduren runs")
}

#[test]
fn answering_and_intake_refuse_to_start_without_a_signing_key() {
    for service in ["answering", "intake"] {
        let out = run(service, None);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(EXIT_CONFIG),
            "kenduren {service}: {stderr}"
        );
        assert!(
            stderr.contains("KENDUREN_AUTH_KEY is not set")
                && stderr.contains("refuse to start without a signing key"),
            "kenduren {service}: {stderr}"
        );
    }
}

#[test]
fn an_empty_or_short_signing_key_is_refused_too() {
    for key in ["   ", "c2hvcnQ="] {
        let out = run("answering", Some(key));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(EXIT_CONFIG), "key {key:?}: {stderr}");
        assert!(stderr.contains("KENDUREN_AUTH_KEY"), "key {key:?}: {stderr}");
    }
}
