//! `kenduren bench`: the whole pipeline under load, measured against the machine's own
//! floors in the same run.
//!
//! [`run`] takes running services ([`Targets`]) and measures, in order: the floors
//! (Postgres single-row commits, JetStream publish-with-ack, empty tonic calls), then
//! `SubmitQuestion` in a closed and an open loop, then questions end to end — routed,
//! in the OPD's inbox, answered and visible in reporting — with a simulated OPD, and the
//! memory and CPU of the processes it is told to watch. Starting and stopping the
//! services is the caller's job (the `kenduren` command, or a test).

pub mod data_report;
pub mod drive;
pub mod events;
pub mod floors;
mod loaded;
pub mod pipeline;
pub mod queries;
pub mod rebuild;
pub mod report;
pub mod resources;
pub mod scratch;
pub mod stats;
pub mod tokens;
pub mod tracker;

use serde::{Deserialize, Serialize};
use sqlx::{Connection, Executor, PgConnection};
use tonic::transport::Channel;

pub use report::Report;

use crate::{report::Report as Empty, resources::Machine};

/// What went wrong before any figure could be measured.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// Postgres refused a set-up step.
    #[error("postgres: {0}")]
    Postgres(String),
    /// NATS refused a set-up step.
    #[error("nats: {0}")]
    Nats(String),
    /// A service could not be reached.
    #[error("cannot reach {url}: {reason}")]
    Connect {
        /// The service URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// A bad setting.
    #[error("{0}")]
    Config(String),
}

/// The running deployment to measure.
#[derive(Debug, Clone)]
pub struct Targets {
    /// Intake's gRPC URL (also used for the tonic floor).
    pub intake_url: String,
    /// Answering's gRPC URL.
    pub answering_url: String,
    /// Reporting's gRPC URL.
    pub reporting_url: String,
    /// The deployment's database: the Postgres floor writes into a schema it creates here
    /// and drops afterwards.
    pub database_url: String,
    /// The deployment's NATS server: the JetStream floor uses a stream of its own.
    pub nats_url: String,
    /// The deployment's subject prefix (to see questions routed).
    pub subject_prefix: String,
    /// The deployment's token signing key (base64), to act as desk, OPDs and analyst.
    pub auth_key: String,
}

/// A process whose memory and CPU the report carries.
#[derive(Debug, Clone)]
pub struct Probe {
    /// What it is, e.g. `intake`.
    pub name: String,
    /// Its pid; `None` for this process.
    pub pid: Option<u32>,
}

/// How hard and how long to push.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Requests in flight in every closed loop, floors included.
    pub concurrency: usize,
    /// Seconds each phase offers load.
    pub phase_seconds: f64,
    /// Bytes of each question's text, floor rows and floor messages.
    pub payload_bytes: usize,
    /// Open-loop `SubmitQuestion` rate; `None`: half the closed-loop throughput.
    pub submit_rate: Option<f64>,
    /// Open-loop end-to-end rate; `None`: half the sustained end-to-end rate, so the
    /// latency is measured below saturation. Issue 8's inbox target is judged met only
    /// at 0.125 × the Postgres floor or more.
    pub e2e_rate: Option<f64>,
    /// Seconds to wait after an end-to-end phase for its questions to finish.
    pub settle_seconds: f64,
    /// Questions the simulated OPD works on at once.
    pub opd_workers: usize,
    /// Print a progress line per phase on stderr.
    pub progress: bool,
    /// Run the floors and the pipeline phases (they need the running services).
    pub pipeline: bool,
    /// Events to generate and rebuild reporting from; 0 skips the rebuild phase.
    pub rebuild_events: u64,
    /// Questions to fill reporting's read model with for the query phase; 0 skips it.
    pub query_questions: u64,
    /// Calls per query in the query phase.
    pub query_iterations: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            concurrency: 16,
            phase_seconds: 10.0,
            payload_bytes: 256,
            submit_rate: None,
            e2e_rate: None,
            settle_seconds: 30.0,
            opd_workers: 64,
            progress: true,
            pipeline: true,
            rebuild_events: 1_000_000,
            query_questions: 1_000_000,
            query_iterations: 200,
        }
    }
}

/// A plain channel to `url`.
pub async fn connect(url: &str) -> Result<Channel, BenchError> {
    let fail = |e: &dyn std::fmt::Display| BenchError::Connect {
        url: url.into(),
        reason: e.to_string(),
    };
    Channel::from_shared(url.to_owned())
        .map_err(|e| fail(&e))?
        .connect()
        .await
        .map_err(|e| fail(&e))
}

fn say(settings: &Settings, line: &str) {
    if settings.progress {
        eprintln!("bench: {line}");
    }
}

/// Measures what `settings` asks for: the floors and the pipeline against `targets`
/// (`mode` names how the services run, `probes` the processes whose memory and CPU to
/// report), then the rebuild and the queries on scratch deployments of their own on the
/// same Postgres and NATS servers.
pub async fn run(
    targets: &Targets,
    settings: &Settings,
    mode: &str,
    probes: &[Probe],
) -> Result<Report, BenchError> {
    let mut machine = Machine::local();
    machine.postgres_version = postgres_version(&targets.database_url).await?;
    let mut report = if settings.pipeline {
        loaded::measure(targets, settings, mode, probes, machine).await?
    } else {
        let nats = async_nats::connect(&targets.nats_url)
            .await
            .map_err(|e| BenchError::Nats(e.to_string()))?;
        machine.nats_version = nats.server_info().version;
        Empty::without_pipeline(machine, settings.clone(), mode)
    };
    if settings.rebuild_events > 0 {
        say(
            settings,
            &format!(
                "rebuild: {} events into a scratch stream",
                settings.rebuild_events
            ),
        );
        report.rebuild = Some(
            rebuild::measure(
                &targets.database_url,
                &targets.nats_url,
                settings.rebuild_events,
                settings.progress,
            )
            .await?,
        );
    }
    if settings.query_questions > 0 {
        say(
            settings,
            &format!("queries over {} questions", settings.query_questions),
        );
        report.queries = Some(
            queries::measure(
                &targets.database_url,
                &targets.nats_url,
                settings.query_questions,
                settings.query_iterations.max(1),
                settings.progress,
            )
            .await?,
        );
    }
    report.judge();
    Ok(report)
}

async fn postgres_version(url: &str) -> Result<String, BenchError> {
    let mut conn = PgConnection::connect(url)
        .await
        .map_err(|e| BenchError::Postgres(e.to_string()))?;
    let version: String = sqlx::query_scalar("SELECT version()")
        .fetch_one(&mut conn)
        .await
        .map_err(|e| BenchError::Postgres(e.to_string()))?;
    let _ = conn.close().await;
    // "PostgreSQL 17.5 (Debian …) on x86_64 …, compiled by …": the first part is enough.
    Ok(version.split(" on ").next().unwrap_or(&version).to_owned())
}

/// `url` with its database replaced by `database` (query string kept).
pub fn with_database(url: &str, database: &str) -> Result<String, BenchError> {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base
        .find("://")
        .map(|i| i + 3)
        .ok_or_else(|| BenchError::Config(format!("not a postgres URL: {url}")))?;
    let host_and_path = &base[scheme_end..];
    let host = host_and_path.split('/').next().unwrap_or(host_and_path);
    let mut out = format!("{}{host}/{database}", &base[..scheme_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    Ok(out)
}

/// Creates database `name` on the server of `url` (connecting to its `postgres` database).
pub async fn create_database(url: &str, name: &str) -> Result<String, BenchError> {
    let mut admin = PgConnection::connect(&with_database(url, "postgres")?)
        .await
        .map_err(|e| BenchError::Postgres(e.to_string()))?;
    admin
        .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await
        .map_err(|e| BenchError::Postgres(format!("create database {name}: {e}")))?;
    let _ = admin.close().await;
    with_database(url, name)
}

/// Drops database `name` on the server of `url`, closing its connections.
pub async fn drop_database(url: &str, name: &str) -> Result<(), BenchError> {
    let mut admin = PgConnection::connect(&with_database(url, "postgres")?)
        .await
        .map_err(|e| BenchError::Postgres(e.to_string()))?;
    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .await
        .map_err(|e| BenchError::Postgres(format!("drop database {name}: {e}")))?;
    let _ = admin.close().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_url_keeps_its_server_and_options() {
        assert_eq!(
            with_database("postgres://u:p@db:5432/test?sslmode=disable", "kb_1")
                .ok()
                .as_deref(),
            Some("postgres://u:p@db:5432/kb_1?sslmode=disable")
        );
        assert_eq!(
            with_database("postgres://db", "x").ok().as_deref(),
            Some("postgres://db/x")
        );
        assert!(with_database("not a url", "x").is_err());
    }
}
