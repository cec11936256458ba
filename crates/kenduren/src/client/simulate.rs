//! `kenduren simulate`: a seeded season of Kenduren Mas through the real gRPC APIs, then
//! the simulator's expected figures against reporting's, per OPD and per session.
//! Exits non-zero when any figure differs.

use std::{sync::Arc, time::Duration};

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Utc};
use clap::Args;
use kenduren::{reference, RunningSystem, ServiceAddrs, DEV_AUTH_KEY};
use kenduren_auth::TokenKey;
use kenduren_runtime::{BackboneSettings, Clock};
use kenduren_simulator::{Endpoints, SimulationConfig, SimulationReport};
use sqlx::{Connection, Executor, PgConnection};
use tonic::transport::Channel;

/// Options of `kenduren simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Seed of every choice the simulator makes; the same seed plays the same season.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Kenduren Mas sessions to schedule.
    #[arg(long, default_value_t = 3)]
    pub sessions: usize,
    /// Citizens, each with one submission.
    #[arg(long, default_value_t = 40)]
    pub citizens: usize,
    /// Start an isolated system of its own (fresh database, stream and subject prefix on
    /// the PostgreSQL and NATS below), run the season there, and remove it afterwards.
    #[arg(long)]
    pub standalone: bool,
    /// Intake's URL (ignored with --standalone).
    #[arg(long, env = "KENDUREN_INTAKE_URL", default_value = "http://127.0.0.1:50051")]
    pub intake_url: String,
    /// Routing's URL (ignored with --standalone).
    #[arg(long, env = "KENDUREN_ROUTING_URL", default_value = "http://127.0.0.1:50052")]
    pub routing_url: String,
    /// Answering's URL (ignored with --standalone).
    #[arg(
        long,
        env = "KENDUREN_ANSWERING_URL",
        default_value = "http://127.0.0.1:50053"
    )]
    pub answering_url: String,
    /// Reporting's URL (ignored with --standalone).
    #[arg(
        long,
        env = "KENDUREN_REPORTING_URL",
        default_value = "http://127.0.0.1:50054"
    )]
    pub reporting_url: String,
    /// The deployment's token signing key (base64): the simulator mints a token for
    /// every role it plays.
    #[arg(long, env = "KENDUREN_AUTH_KEY", hide_env_values = true)]
    pub auth_key: Option<String>,
    /// Sign with the development key of `kenduren dev`.
    #[arg(long)]
    pub dev: bool,
    /// PostgreSQL server for --standalone (a fresh database is created on it and dropped).
    #[arg(
        long,
        env = "KENDUREN_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/test"
    )]
    pub database_url: String,
    /// NATS for --standalone (a fresh stream is created on it and deleted).
    #[arg(long, env = "KENDUREN_NATS_URL", default_value = "nats://127.0.0.1:4222")]
    pub nats_url: String,
    /// Directory with replacement reference data (the catalogue and gazetteer submissions use).
    #[arg(long, env = "KENDUREN_REFERENCE_DIR")]
    pub reference_dir: Option<std::path::PathBuf>,
    /// With --standalone: the instant (RFC 3339) the services' clock shows when the season
    /// starts, e.g. 2026-12-01T09:00:00+07:00 for a season in office hours, where answers
    /// take working time. Default: now.
    #[arg(long, value_parser = parse_instant)]
    pub start_at: Option<DateTime<Utc>>,
    /// Without --standalone: the running services' KENDUREN_CLOCK_SHIFT_SECONDS, so the
    /// simulator reads the same clock.
    #[arg(
        long,
        env = "KENDUREN_CLOCK_SHIFT_SECONDS",
        default_value_t = 0,
        allow_negative_numbers = true
    )]
    pub clock_shift_seconds: i64,
}

fn parse_instant(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{e} (expected RFC 3339, e.g. 2026-12-01T09:00:00+07:00)"))
}

/// Runs `kenduren simulate`.
pub async fn run(args: SimulateArgs) -> Result<()> {
    let reference = reference::load(args.reference_dir.as_deref())?;
    let clock = match (args.standalone, args.start_at) {
        (true, Some(start)) => Clock::shifted(Clock::shift_to(start)),
        (true, None) => Clock::system(),
        (false, Some(_)) => bail!("--start-at needs --standalone: running services keep their own clock"),
        (false, None) => Clock::shifted(chrono::TimeDelta::seconds(args.clock_shift_seconds)),
    };
    let config = SimulationConfig {
        seed: args.seed,
        sessions: args.sessions,
        citizens: args.citizens,
        catalogue: reference.catalogue.clone(),
        clock,
    };
    let progress = |line: &str| eprintln!("simulate: {line}");
    let report = if args.standalone {
        let (system, settings) = standalone(&args, reference, clock).await?;
        let key = TokenKey::from_base64(&settings.auth_key)?;
        let a = system.addrs;
        let endpoints = endpoints(
            [a.intake, a.routing, a.answering, a.reporting].map(|a| format!("http://{a}")),
            key,
        )
        .await?;
        let outcome = kenduren_simulator::simulate_with_progress(config, endpoints, &progress).await;
        teardown(system, &settings).await?;
        outcome?
    } else {
        let key_text = match (args.dev, &args.auth_key) {
            (true, _) => DEV_AUTH_KEY.to_owned(),
            (false, Some(k)) => k.clone(),
            (false, None) => bail!("set KENDUREN_AUTH_KEY / --auth-key, or pass --dev or --standalone"),
        };
        let key = TokenKey::from_base64(&key_text).context("KENDUREN_AUTH_KEY")?;
        let urls = [
            args.intake_url.clone(),
            args.routing_url.clone(),
            args.answering_url.clone(),
            args.reporting_url.clone(),
        ];
        eprintln!(
            "simulate: figures of other activity since the first session's first day (two days ago) count too; --standalone avoids that"
        );
        kenduren_simulator::simulate_with_progress(config, endpoints(urls, key).await?, &progress).await?
    };
    print_report(&report);
    if !report.matches() {
        bail!(
            "{} figure(s) differ and {} divergence(s) from the model",
            report.mismatches.len(),
            report.divergences.len()
        );
    }
    Ok(())
}

async fn endpoints(urls: [String; 4], key: TokenKey) -> Result<Endpoints> {
    let connect = |url: String| async move {
        Channel::from_shared(url.clone())
            .with_context(|| format!("invalid URL {url}"))?
            .connect()
            .await
            .with_context(|| format!("cannot reach {url}"))
    };
    let [i, r, a, p] = urls;
    Ok(Endpoints {
        intake: connect(i).await?,
        routing: connect(r).await?,
        answering: connect(a).await?,
        reporting: connect(p).await?,
        key: Arc::new(key),
    })
}

/// A fresh database, stream and prefix, and the four services on free ports.
async fn standalone(
    args: &SimulateArgs,
    reference: kenduren_domain::ReferenceData,
    clock: Clock,
) -> Result<(RunningSystem, BackboneSettings)> {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let database = format!("kenduren_sim_{}", &id[..16]);
    let mut admin = PgConnection::connect(&args.database_url)
        .await
        .with_context(|| format!("cannot reach PostgreSQL at {}", args.database_url))?;
    admin
        .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {database}")))
        .await
        .context("creating the season's database")?;
    let base = args
        .database_url
        .rsplit_once('/')
        .map_or(args.database_url.as_str(), |(b, _)| b);
    let settings = BackboneSettings {
        database_url: format!("{base}/{database}"),
        nats_url: args.nats_url.clone(),
        stream: format!("KENDUREN_SIM_{}", &id[..16]),
        subject_prefix: format!("sim{}", &id[..12]),
        stream_replicas: 1,
        pool_size: 4,
        auth_key: TokenKey::generate_base64(),
        drain_delay: Duration::ZERO,
        clock,
        ..BackboneSettings::default()
    };
    eprintln!("simulate: starting an isolated system (database {database})");
    let system = RunningSystem::start(settings.clone(), ServiceAddrs::ephemeral(), reference).await?;
    Ok((system, settings))
}

/// Stops the services, deletes the stream and drops the database.
async fn teardown(system: RunningSystem, settings: &BackboneSettings) -> Result<()> {
    let js = system.backbone.jetstream.clone();
    system.stop().await?;
    let _ = js.delete_stream(&settings.stream).await;
    let (server, database) = settings
        .database_url
        .rsplit_once('/')
        .context("database URL without a database")?;
    let mut admin = PgConnection::connect(&format!("{server}/postgres")).await?;
    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {database} WITH (FORCE)"
        )))
        .await?;
    Ok(())
}

/// One row per OPD and per session: each figure as expected, or `expected≠reported`.
fn print_report(r: &SimulationReport) {
    let s = &r.stats;
    println!(
        "seed {}: {} submissions ({} on site), {} answered, {} withdrawn, {} rejections, {} routed by hand, \
         {} rated ({} reopened), {} escalations, {} check-ins",
        r.seed,
        s.submissions,
        s.on_site,
        s.answered,
        s.withdrawn,
        s.rejections,
        s.routed_manually,
        s.rated,
        s.reopened,
        s.escalations,
        s.check_ins
    );
    println!();
    println!("OPD scorecards (expected, or expected≠reported)");
    let empty = kenduren_simulator::OpdFigures::default();
    let names: Vec<&str> = empty.fields().iter().map(|(n, _)| *n).collect();
    println!("{:<14} {:<10} {}", "opd", "profile", names.join(" | "));
    let codes: std::collections::BTreeSet<&String> =
        r.expected.opds.keys().chain(r.reported.opds.keys()).collect();
    for code in codes {
        let e = r.expected.opds.get(code).unwrap_or(&empty).fields();
        let p = r.reported.opds.get(code).unwrap_or(&empty).fields();
        let profile = r.profiles.get(code).map_or("-", |p| p.name());
        println!("{code:<14} {profile:<10} {}", cells(&e, &p));
    }
    println!();
    println!("Session reports (expected, or expected≠reported)");
    let none = kenduren_simulator::SessionFigures::default();
    let ids: std::collections::BTreeSet<&String> = r
        .expected
        .sessions
        .keys()
        .chain(r.reported.sessions.keys())
        .collect();
    for id in ids {
        let e = r.expected.sessions.get(id).unwrap_or(&none).fields();
        let p = r.reported.sessions.get(id).unwrap_or(&none).fields();
        println!("session {id}");
        for ((name, ev), (_, rv)) in e.iter().zip(&p) {
            let cell = if ev == rv {
                ev.clone()
            } else {
                format!("{ev} ≠ {rv}")
            };
            println!("  {name:<16} {cell}");
        }
    }
    println!();
    for d in &r.divergences {
        println!("divergence: {d}");
    }
    if r.matches() {
        println!("every figure matches");
    } else {
        println!("{} figure(s) differ", r.mismatches.len());
    }
}

fn cells(e: &[(&str, String)], p: &[(&str, String)]) -> String {
    e.iter()
        .zip(p)
        .map(|((_, ev), (_, rv))| {
            if ev == rv {
                ev.clone()
            } else {
                format!("{ev}≠{rv}")
            }
        })
        .collect::<Vec<_>>()
        .join(" | ")
}
