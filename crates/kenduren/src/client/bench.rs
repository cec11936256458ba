//! `kenduren bench`: starts an isolated stack (a fresh database on the configured
//! server, its own stream and subject prefix) — in this process, or with `--processes`
//! as four `kenduren <service>` processes — or measures running services
//! (`--external`); runs `kenduren_bench::run`; prints the table, writes the JSON, and
//! removes whatever it created.

mod processes;

use std::{path::PathBuf, time::Duration};

use anyhow::{Context, Result};
use clap::Args;
use kenduren::{reference, RunningSystem, ServiceAddrs};
use kenduren_bench::{Probe, Report, Settings, Targets};
use kenduren_runtime::BackboneSettings;

/// Options of `kenduren bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Requests in flight in every closed loop, the floors included.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Seconds each phase offers load (there are seven phases, plus settling).
    #[arg(long, default_value_t = 10.0)]
    pub phase_seconds: f64,
    /// Bytes of each question's text, and of each floor row and floor message.
    #[arg(long, default_value_t = 256)]
    pub payload_bytes: usize,
    /// Open-loop SubmitQuestion rate per second (default: half the closed-loop rate).
    #[arg(long)]
    pub submit_rate: Option<f64>,
    /// Open-loop end-to-end rate per second (default: half the sustained end-to-end rate;
    /// issue 8's inbox target counts only at 0.125 x the Postgres floor or more).
    #[arg(long)]
    pub e2e_rate: Option<f64>,
    /// Seconds to wait after an end-to-end phase for its questions to finish.
    #[arg(long, default_value_t = 30.0)]
    pub settle_seconds: f64,
    /// Questions the simulated OPD works on at once.
    #[arg(long, default_value_t = 64)]
    pub opd_workers: usize,
    /// Also write every figure and the machine's description as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Run the four services as separate `kenduren <service>` processes (so memory and
    /// CPU are per service) instead of inside this process.
    #[arg(long, conflicts_with = "external")]
    pub processes: bool,
    /// Measure services that are already running (the --*-url flags, --subject-prefix,
    /// KENDUREN_AUTH_KEY) instead of starting an isolated stack.
    #[arg(long)]
    pub external: bool,
    /// PostgreSQL: the isolated stack creates (and drops) a database on this server; with
    /// --external, the deployment's database (the floor uses a schema it drops after).
    #[arg(
        long,
        env = "KENDUREN_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/test"
    )]
    pub database_url: String,
    /// NATS URL (JetStream enabled).
    #[arg(long, env = "KENDUREN_NATS_URL", default_value = "nats://127.0.0.1:4222")]
    pub nats_url: String,
    /// Postgres connections per service in the isolated stack.
    #[arg(long, env = "KENDUREN_POOL_SIZE", default_value_t = 8)]
    pub pool_size: u32,
    /// With --external: intake's URL.
    #[arg(long, env = "KENDUREN_INTAKE_URL", default_value = "http://127.0.0.1:50051")]
    pub intake_url: String,
    /// With --external: answering's URL.
    #[arg(
        long,
        env = "KENDUREN_ANSWERING_URL",
        default_value = "http://127.0.0.1:50053"
    )]
    pub answering_url: String,
    /// With --external: reporting's URL.
    #[arg(
        long,
        env = "KENDUREN_REPORTING_URL",
        default_value = "http://127.0.0.1:50054"
    )]
    pub reporting_url: String,
    /// With --external: the deployment's subject prefix.
    #[arg(long, env = "KENDUREN_SUBJECT_PREFIX", default_value = "kenduren")]
    pub subject_prefix: String,
    /// With --external: the deployment's token signing key (base64).
    #[arg(long, env = "KENDUREN_AUTH_KEY", hide_env_values = true)]
    pub auth_key: Option<String>,
    /// No progress lines on stderr.
    #[arg(long)]
    pub quiet: bool,
    /// Events to generate on a scratch stream and rebuild reporting from (0 skips). The
    /// default keeps a whole run under five minutes; the figure is for 1000000
    /// (about eight minutes at the rate BENCHMARKS.md records).
    #[arg(long, default_value_t = 100_000)]
    pub rebuild_events: u64,
    /// Questions to fill a scratch reporting read model with for the query phase (0 skips).
    #[arg(long, default_value_t = 1_000_000)]
    pub query_questions: u64,
    /// Calls of each query in the query phase.
    #[arg(long, default_value_t = 50)]
    pub query_iterations: u64,
    /// Run only these phases: `pipeline` (floors and the pipeline; needs the services),
    /// `rebuild`, `queries`. Without it, all of them.
    #[arg(long, value_delimiter = ',', value_parser = ["pipeline", "rebuild", "queries"])]
    pub only: Vec<String>,
}

impl BenchArgs {
    fn settings(&self) -> Settings {
        let wants = |phase: &str| self.only.is_empty() || self.only.iter().any(|p| p == phase);
        Settings {
            concurrency: self.concurrency,
            phase_seconds: self.phase_seconds,
            payload_bytes: self.payload_bytes,
            submit_rate: self.submit_rate,
            e2e_rate: self.e2e_rate,
            settle_seconds: self.settle_seconds,
            opd_workers: self.opd_workers,
            progress: !self.quiet,
            pipeline: wants("pipeline"),
            rebuild_events: if wants("rebuild") { self.rebuild_events } else { 0 },
            query_questions: if wants("queries") { self.query_questions } else { 0 },
            query_iterations: self.query_iterations,
        }
    }
}

/// An isolated deployment's names and key, made fresh for one run.
pub(crate) struct Isolated {
    /// The database created on the configured server.
    pub database: String,
    /// The backbone settings every service gets.
    pub settings: BackboneSettings,
}

impl Isolated {
    async fn create(args: &BenchArgs) -> Result<Self> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let database = format!("kbench_{id}");
        let database_url = kenduren_bench::create_database(&args.database_url, &database)
            .await
            .context("creating the benchmark database")?;
        let settings = BackboneSettings {
            database_url,
            nats_url: args.nats_url.clone(),
            stream: format!("KBENCH_{id}"),
            subject_prefix: format!("kbench{}", &id[..12]),
            stream_replicas: 1,
            pool_size: args.pool_size,
            auth_key: kenduren_auth::TokenKey::generate_base64(),
            drain_delay: Duration::ZERO,
            ..BackboneSettings::default()
        };
        Ok(Self { database, settings })
    }

    fn targets(&self, addrs: ServiceAddrs) -> Targets {
        Targets {
            intake_url: format!("http://{}", addrs.intake),
            answering_url: format!("http://{}", addrs.answering),
            reporting_url: format!("http://{}", addrs.reporting),
            database_url: self.settings.database_url.clone(),
            nats_url: self.settings.nats_url.clone(),
            subject_prefix: self.settings.subject_prefix.clone(),
            auth_key: self.settings.auth_key.clone(),
        }
    }

    /// Deletes the stream and drops the database.
    async fn remove(&self, admin_url: &str) -> Result<()> {
        if let Ok(client) = async_nats::connect(&self.settings.nats_url).await {
            let _ = async_nats::jetstream::new(client)
                .delete_stream(&self.settings.stream)
                .await;
        }
        kenduren_bench::drop_database(admin_url, &self.database)
            .await
            .context("dropping the benchmark database")
    }
}

/// Runs `kenduren bench`.
pub async fn run(args: BenchArgs) -> Result<()> {
    let settings = args.settings();
    let report = if !settings.pipeline {
        // The rebuild and query phases make scratch deployments of their own on these
        // servers; no services need to run.
        let targets = Targets {
            intake_url: String::new(),
            answering_url: String::new(),
            reporting_url: String::new(),
            database_url: args.database_url.clone(),
            nats_url: args.nats_url.clone(),
            subject_prefix: String::new(),
            auth_key: String::new(),
        };
        kenduren_bench::run(&targets, &settings, "data phases only", &[]).await?
    } else if args.external {
        let targets = Targets {
            intake_url: args.intake_url.clone(),
            answering_url: args.answering_url.clone(),
            reporting_url: args.reporting_url.clone(),
            database_url: args.database_url.clone(),
            nats_url: args.nats_url.clone(),
            subject_prefix: args.subject_prefix.clone(),
            auth_key: args.auth_key.clone().context(
                "--external needs the deployment's KENDUREN_AUTH_KEY to act as desk, OPD and analyst",
            )?,
        };
        let me = [Probe {
            name: "bench load generator".into(),
            pid: None,
        }];
        kenduren_bench::run(&targets, &settings, "external", &me).await?
    } else if args.processes {
        let stack = Isolated::create(&args).await?;
        let outcome = processes::measure(&stack, &settings).await;
        let removed = stack.remove(&args.database_url).await;
        let report = outcome?;
        removed?;
        report
    } else {
        let stack = Isolated::create(&args).await?;
        let outcome = in_process(&stack, &settings).await;
        let removed = stack.remove(&args.database_url).await;
        let report = outcome?;
        removed?;
        report
    };
    print!("{}", report.table());
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, json).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("bench: wrote {}", path.display());
    }
    Ok(())
}

/// All four services in this process, which is also the load generator: the memory and
/// CPU figures are of all of them together.
async fn in_process(stack: &Isolated, settings: &Settings) -> Result<Report> {
    let reference = reference::load(None)?;
    let system = RunningSystem::start(stack.settings.clone(), ServiceAddrs::ephemeral(), reference)
        .await
        .context("starting the isolated stack")?;
    let probe = [Probe {
        name: "in-process: all four services + load generator".into(),
        pid: None,
    }];
    let outcome = kenduren_bench::run(&stack.targets(system.addrs), settings, "in-process", &probe).await;
    system.stop().await.context("stopping the isolated stack")?;
    Ok(outcome?)
}
