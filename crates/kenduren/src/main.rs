//! The `kenduren` command: parse flags, start telemetry, run what was asked.

mod cli;
mod client;

use std::{net::SocketAddr, process::ExitCode, sync::Arc, time::Duration};

use anyhow::{Context, Result};
use clap::Parser;
use cli::{BackboneArgs, Cli, Command, DevArgs, ServiceArgs};
use kenduren::{reference, RunningSystem, ServiceAddrs, DEV_AUTH_KEY};
use kenduren_runtime::{Backbone, BackboneSettings, CancellationToken};
use kenduren_telemetry::{LogFormat, LogSettings};

/// Exit code for configuration a service cannot start with.
const EXIT_CONFIG: u8 = 78;

/// A configuration error: names the variable, exits with [`EXIT_CONFIG`].
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct ConfigError(String);

fn settings(args: &BackboneArgs, auth_key: String) -> BackboneSettings {
    BackboneSettings {
        auth_key,
        pii_key: args.pii_key.clone().unwrap_or_default(),
        tls: kenduren_runtime::TlsSettings {
            server_cert: args.tls.tls_cert.clone(),
            server_key: args.tls.tls_key.clone(),
            client_ca: args.tls.tls_client_ca.clone(),
            ca: args.tls.tls_ca.clone(),
            client_cert: args.tls.tls_client_cert.clone(),
            client_key: args.tls.tls_client_key.clone(),
            nats_ca: args.tls.nats_tls_ca.clone(),
            nats_cert: args.tls.nats_tls_cert.clone(),
            nats_key: args.tls.nats_tls_key.clone(),
        },
        drain_delay: Duration::from_secs(args.drain_delay),
        database_url: args.database_url.clone(),
        nats_url: args.nats_url.clone(),
        stream: args.stream.clone(),
        subject_prefix: args.subject_prefix.clone(),
        stream_replicas: args.stream_replicas,
        pool_size: args.pool_size,
        clock: kenduren_runtime::Clock::shifted(chrono::TimeDelta::seconds(args.clock_shift_seconds)),
        reference_dir: args.reference_dir.clone(),
    }
}

/// Cancels `token` on SIGTERM or Ctrl-C; a second signal, or draining for longer than
/// `grace`, exits at once.
fn cancel_on_signal(token: CancellationToken, grace: Duration) {
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!(
            grace_seconds = grace.as_secs(),
            "signal received: draining (again to exit at once)"
        );
        token.cancel();
        tokio::select! {
            _ = wait_for_signal() => {
                tracing::warn!("second signal: exiting now");
                std::process::exit(130);
            }
            _ = tokio::time::sleep(grace) => {
                tracing::error!(grace_seconds = grace.as_secs(), "did not drain within the grace period: exiting");
                std::process::exit(1);
            }
        }
    });
}

/// Exits 0 when the addressed service reports SERVING, 1 otherwise.
async fn health(args: cli::HealthArgs) -> Result<()> {
    use tonic_health::pb::{
        health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest,
    };
    let timeout = Duration::from_secs(args.timeout);
    let check = async {
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", args.addr))?
            .connect_timeout(timeout)
            .connect()
            .await?;
        let reply = HealthClient::new(channel)
            .check(HealthCheckRequest {
                service: args.service.clone(),
            })
            .await?
            .into_inner();
        anyhow::Ok(reply.status)
    };
    let status = tokio::time::timeout(timeout, check)
        .await
        .map_err(|_| anyhow::anyhow!("{} did not answer within {:?}", args.addr, timeout))??;
    let name = ServingStatus::try_from(status)
        .map(|s| s.as_str_name())
        .unwrap_or("UNKNOWN");
    println!("{name}");
    anyhow::ensure!(status == ServingStatus::Serving as i32, "{} is {name}", args.addr);
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Starts the `/metrics` endpoint unless it is `off`.
fn serve_metrics(configured: Option<&str>, default: &str) -> Result<()> {
    let addr = configured
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .unwrap_or(default);
    if addr.eq_ignore_ascii_case("off") {
        return Ok(());
    }
    let addr: SocketAddr = addr
        .parse()
        .map_err(|e| ConfigError(format!("KENDUREN_METRICS_ADDR {addr:?}: {e}")))?;
    kenduren_runtime::metrics::install_exporter(addr).map_err(|e| ConfigError(e.to_string()))?;
    Ok(())
}

/// The configured key if set and valid; empty counts as unset.
fn checked_key(key: Option<&str>) -> Result<Option<String>, ConfigError> {
    match key.map(str::trim).filter(|k| !k.is_empty()) {
        None => Ok(None),
        Some(k) => kenduren_auth::TokenKey::from_base64(k)
            .map(|_| Some(k.to_owned()))
            .map_err(|e| ConfigError(format!("KENDUREN_AUTH_KEY: {e}"))),
    }
}

async fn dev(args: DevArgs) -> Result<()> {
    let reference = reference::load(args.backbone.reference_dir.as_deref())?;
    let auth_key = args
        .backbone
        .auth_key
        .clone()
        .unwrap_or_else(|| DEV_AUTH_KEY.to_owned());
    let dev_key = auth_key == DEV_AUTH_KEY;
    serve_metrics(args.backbone.metrics_addr.as_deref(), "127.0.0.1:9090")?;
    let addrs = ServiceAddrs {
        intake: args.intake_addr,
        routing: args.routing_addr,
        answering: args.answering_addr,
        reporting: args.reporting_addr,
    };
    let system = RunningSystem::start(settings(&args.backbone, auth_key), addrs, reference)
        .await
        .context("starting the services")?;
    cancel_on_signal(
        system.shutdown_token(),
        Duration::from_secs(args.backbone.shutdown_grace),
    );
    let a = system.addrs;
    println!(
        "Kenduren is running (stream {}, subjects {}.v1.>):",
        args.backbone.stream, args.backbone.subject_prefix
    );
    println!("  intake     http://{}", a.intake);
    println!("  routing    http://{}", a.routing);
    println!("  answering  http://{}", a.answering);
    println!("  reporting  http://{}", a.reporting);
    if dev_key {
        println!("Tokens are signed with the public development key (KENDUREN_AUTH_KEY={DEV_AUTH_KEY}).");
        println!("Try, in another terminal:");
        println!(
            "  kenduren submit --token \"$(kenduren token --dev --role desk)\" --category kependudukan \\"
        );
        println!("      --kecamatan Bangil --text 'Bagaimana mengurus KTP yang hilang?'");
    } else {
        println!("Mint tokens with `kenduren token --role desk|opd:<CODE>|admin|analyst` and the same KENDUREN_AUTH_KEY.");
    }
    println!("Ctrl-C stops everything gracefully.");
    system.wait().await?;
    Ok(())
}

async fn single(name: &'static str, args: ServiceArgs, default_port: u16) -> Result<()> {
    let auth_key = checked_key(args.backbone.auth_key.as_deref())?.ok_or_else(|| {
        ConfigError(
            "KENDUREN_AUTH_KEY is not set: services refuse to start without a signing key \
             (generate one with `head -c 32 /dev/urandom | base64`; only `kenduren dev` has a default)"
                .into(),
        )
    })?;
    serve_metrics(args.backbone.metrics_addr.as_deref(), "0.0.0.0:9090")?;
    let backbone = Backbone::connect(settings(&args.backbone, auth_key))
        .await
        .context("starting the service")?;
    let addr = args
        .listen
        .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], default_port)));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("{name} cannot listen on {addr}"))?;
    let shutdown = CancellationToken::new();
    cancel_on_signal(
        shutdown.clone(),
        Duration::from_secs(args.backbone.shutdown_grace),
    );
    let result = match name {
        "intake" => {
            let reference = Arc::new(reference::load(args.backbone.reference_dir.as_deref())?);
            kenduren_intake::run(&backbone, reference, listener, shutdown).await
        }
        "routing" => {
            let reference = Arc::new(reference::load(args.backbone.reference_dir.as_deref())?);
            kenduren_routing::run(&backbone, reference, listener, shutdown).await
        }
        "answering" => {
            let contacts = kenduren::system::intake_contacts(
                &backbone.settings.auth_key,
                &args.intake_url,
                &backbone.settings.tls,
            )?;
            kenduren_answering::run_with_contacts(&backbone, listener, shutdown, contacts).await
        }
        _ => kenduren_reporting::run(&backbone, listener, shutdown).await,
    };
    backbone.close_nats().await;
    result.with_context(|| format!("{name} stopped with an error"))
}

fn token(args: cli::TokenArgs) -> Result<()> {
    let key_text = match (args.dev, args.auth_key) {
        (true, _) => DEV_AUTH_KEY.to_owned(),
        (false, Some(key)) => key,
        (false, None) => {
            return Err(
                ConfigError("KENDUREN_AUTH_KEY is not set (or pass --dev for `kenduren dev`)".into()).into(),
            )
        }
    };
    let key = kenduren_auth::TokenKey::from_base64(&key_text)
        .map_err(|e| ConfigError(format!("KENDUREN_AUTH_KEY: {e}")))?;
    let ttl = std::time::Duration::from_secs(args.hours.saturating_mul(3600));
    println!("{}", key.mint(&args.subject, &args.role, ttl)?);
    Ok(())
}

async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Dev(args) => dev(args).await,
        Command::IntakeService(args) => single("intake", args, 50051).await,
        Command::RoutingService(args) => single("routing", args, 50052).await,
        Command::AnsweringService(args) => single("answering", args, 50053).await,
        Command::ReportingService(cli::ReportingServiceArgs {
            action: Some(cli::ReportingAction::Rebuild(a)),
            ..
        }) => client::reporting::rebuild(a).await,
        Command::ReportingService(args) => single("reporting", args.service, 50054).await,
        Command::Token(args) => token(args),
        Command::Health(args) => health(args).await,
        Command::Bench(args) => client::bench::run(args).await,
        Command::Simulate(args) => client::simulate::run(args).await,
        Command::Republish(args) => client::republish::run(args).await,
        Command::Intake(c) => client::intake::run(c).await,
        Command::Answering(c) => client::answering::run(c).await,
        Command::Reporting(c) => client::reporting::run(c).await,
        Command::Routing(c) => client::routing::run(c).await,
    }
}

/// Prints an error the way a person at the desk can act on: the gRPC code name and
/// the server's message, or the cause chain.
fn report(e: &anyhow::Error) {
    if let Some(status) = e.downcast_ref::<tonic::Status>() {
        eprintln!("error: {:?}: {}", status.code(), status.message());
    } else {
        eprintln!("error: {e:#}");
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let format: LogFormat = match cli.log_format.parse() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("KENDUREN_LOG_FORMAT / --log-format: {e}");
            return ExitCode::from(2);
        }
    };
    let is_server = matches!(
        cli.command,
        Command::Dev(_)
            | Command::IntakeService(_)
            | Command::RoutingService(_)
            | Command::AnsweringService(_)
            | Command::ReportingService(_)
    );
    let service_name = match &cli.command {
        Command::IntakeService(_) => "kenduren-intake",
        Command::RoutingService(_) => "kenduren-routing",
        Command::AnsweringService(_) => "kenduren-answering",
        Command::ReportingService(_) => "kenduren-reporting",
        _ => "kenduren",
    };
    let log = if is_server {
        LogSettings::new(format)
    } else {
        LogSettings::new(format).with_filter("warn")
    };
    let _telemetry = match kenduren_telemetry::init(service_name, &log) {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("telemetry: {e}");
            return ExitCode::from(2);
        }
    };
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.downcast_ref::<ConfigError>().is_some() => {
            report(&e);
            ExitCode::from(EXIT_CONFIG)
        }
        Err(e) => {
            report(&e);
            ExitCode::FAILURE
        }
    }
}
