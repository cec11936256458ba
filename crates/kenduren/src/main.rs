//! The `kenduren` command: parse flags, start telemetry, run what was asked.

mod cli;
mod client;

use std::{net::SocketAddr, process::ExitCode, sync::Arc};

use anyhow::{Context, Result};
use clap::Parser;
use cli::{BackboneArgs, Cli, Command, DevArgs, ServiceArgs};
use kenduren::{reference, RunningSystem, ServiceAddrs};
use kenduren_runtime::{Backbone, BackboneSettings, CancellationToken};
use kenduren_telemetry::{LogFormat, LogSettings};

fn settings(args: &BackboneArgs) -> BackboneSettings {
    BackboneSettings {
        database_url: args.database_url.clone(),
        nats_url: args.nats_url.clone(),
        stream: args.stream.clone(),
        subject_prefix: args.subject_prefix.clone(),
        stream_replicas: args.stream_replicas,
        pool_size: args.pool_size,
    }
}

/// Cancels `token` on SIGTERM or Ctrl-C; a second signal exits at once.
fn cancel_on_signal(token: CancellationToken) {
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("signal received: shutting down gracefully (again to exit at once)");
        token.cancel();
        wait_for_signal().await;
        tracing::warn!("second signal: exiting now");
        std::process::exit(130);
    });
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

async fn dev(args: DevArgs) -> Result<()> {
    let reference = reference::load(args.backbone.reference_dir.as_deref())?;
    let addrs = ServiceAddrs {
        intake: args.intake_addr,
        routing: args.routing_addr,
        answering: args.answering_addr,
        reporting: args.reporting_addr,
    };
    let system = RunningSystem::start(settings(&args.backbone), addrs, reference)
        .await
        .context("starting the services")?;
    cancel_on_signal(system.shutdown_token());
    let a = system.addrs;
    println!(
        "Kenduren is running (stream {}, subjects {}.v1.>):",
        args.backbone.stream, args.backbone.subject_prefix
    );
    println!("  intake     http://{}", a.intake);
    println!("  routing    http://{}", a.routing);
    println!("  answering  http://{}", a.answering);
    println!("  reporting  http://{}", a.reporting);
    println!("Try, in another terminal:");
    println!("  kenduren submit --category kependudukan --kecamatan Bangil --text 'Bagaimana mengurus KTP yang hilang?'");
    println!("Ctrl-C stops everything gracefully.");
    system.wait().await?;
    Ok(())
}

async fn single(name: &'static str, args: ServiceArgs, default_port: u16) -> Result<()> {
    let backbone = Backbone::connect(settings(&args.backbone))
        .await
        .context("connecting to NATS")?;
    let addr = args
        .listen
        .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], default_port)));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("{name} cannot listen on {addr}"))?;
    let shutdown = CancellationToken::new();
    cancel_on_signal(shutdown.clone());
    let result = match name {
        "intake" => {
            let reference = Arc::new(reference::load(args.backbone.reference_dir.as_deref())?);
            kenduren_intake::run(&backbone, reference, listener, shutdown).await
        }
        "routing" => {
            let reference = Arc::new(reference::load(args.backbone.reference_dir.as_deref())?);
            kenduren_routing::run(&backbone, reference, listener, shutdown).await
        }
        "answering" => kenduren_answering::run(&backbone, listener, shutdown).await,
        _ => kenduren_reporting::run(&backbone, listener, shutdown).await,
    };
    backbone.nats.drain().await.ok();
    result.with_context(|| format!("{name} stopped with an error"))
}

async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Dev(args) => dev(args).await,
        Command::Intake(args) => single("intake", args, 50051).await,
        Command::Routing(args) => single("routing", args, 50052).await,
        Command::Answering(args) => single("answering", args, 50053).await,
        Command::Reporting(args) => single("reporting", args, 50054).await,
        Command::Submit(args) => client::submit(args).await,
        Command::Track(args) => client::track(args).await,
        Command::Inbox(args) => client::inbox(args).await,
        Command::Answer(args) => client::answer(args).await,
        Command::Timeline(args) => client::timeline(args).await,
        Command::Scorecards(args) => client::scorecards(args).await,
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
            | Command::Intake(_)
            | Command::Routing(_)
            | Command::Answering(_)
            | Command::Reporting(_)
    );
    let service_name = match &cli.command {
        Command::Intake(_) => "kenduren-intake",
        Command::Routing(_) => "kenduren-routing",
        Command::Answering(_) => "kenduren-answering",
        Command::Reporting(_) => "kenduren-reporting",
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
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
