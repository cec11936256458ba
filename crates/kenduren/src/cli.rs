//! Command-line definitions: every setting has an environment variable and a flag.

use std::{net::SocketAddr, path::PathBuf};

use clap::{Args, Parser, Subcommand};

/// Kenduren: every citizen question from a Kenduren Mas session tracked until an OPD answers it.
#[derive(Debug, Parser)]
#[command(name = "kenduren", version, propagate_version = true)]
pub struct Cli {
    /// Log format: pretty, compact or json.
    #[arg(long, env = "KENDUREN_LOG_FORMAT", default_value = "compact", global = true)]
    pub log_format: String,
    #[command(subcommand)]
    pub command: Command,
}

/// Everything `kenduren` can do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run all four services in one process (development): migrations, stream, seed data.
    Dev(DevArgs),
    /// Run the intake service alone.
    Intake(ServiceArgs),
    /// Run the routing service alone.
    Routing(ServiceArgs),
    /// Run the answering service alone.
    Answering(ServiceArgs),
    /// Run the reporting service alone.
    Reporting(ServiceArgs),
    /// Submit a citizen's question (calls IntakeService.SubmitQuestion).
    Submit(crate::client::SubmitArgs),
    /// Track a ticket with its PIN (calls IntakeService.TrackQuestion).
    Track(crate::client::TrackArgs),
    /// List an OPD's inbox (calls AnsweringService.ListInbox).
    Inbox(crate::client::InboxArgs),
    /// Answer a question for an OPD (calls AnsweringService.AnswerQuestion).
    Answer(crate::client::AnswerArgs),
    /// Show every event of a question (calls ReportingService.GetQuestionTimeline).
    Timeline(crate::client::TimelineArgs),
    /// Show OPD scorecards (calls ReportingService.GetOpdScorecards).
    Scorecards(crate::client::ScorecardArgs),
}

/// Where the event backbone is.
#[derive(Debug, Clone, Args)]
pub struct BackboneArgs {
    /// PostgreSQL URL; each service uses its own schema in this database.
    #[arg(
        long,
        env = "KENDUREN_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/test"
    )]
    pub database_url: String,
    /// NATS URL (JetStream must be enabled).
    #[arg(long, env = "KENDUREN_NATS_URL", default_value = "nats://127.0.0.1:4222")]
    pub nats_url: String,
    /// JetStream stream name.
    #[arg(long, env = "KENDUREN_STREAM", default_value = "KENDUREN")]
    pub stream: String,
    /// First token of every subject, so deployments can share one NATS server.
    #[arg(long, env = "KENDUREN_SUBJECT_PREFIX", default_value = "kenduren")]
    pub subject_prefix: String,
    /// Stream replicas (1 in development, 3 in production).
    #[arg(long, env = "KENDUREN_STREAM_REPLICAS", default_value_t = 1)]
    pub stream_replicas: usize,
    /// Postgres connections per service.
    #[arg(long, env = "KENDUREN_POOL_SIZE", default_value_t = 8)]
    pub pool_size: u32,
    /// Directory with replacement reference data (opds.json, categories.json, rules.json, gazetteer.json).
    #[arg(long, env = "KENDUREN_REFERENCE_DIR")]
    pub reference_dir: Option<PathBuf>,
}

/// Options of `kenduren dev`.
#[derive(Debug, Args)]
pub struct DevArgs {
    #[command(flatten)]
    pub backbone: BackboneArgs,
    /// Intake's listen address.
    #[arg(long, env = "KENDUREN_INTAKE_ADDR", default_value = "127.0.0.1:50051")]
    pub intake_addr: SocketAddr,
    /// Routing's listen address.
    #[arg(long, env = "KENDUREN_ROUTING_ADDR", default_value = "127.0.0.1:50052")]
    pub routing_addr: SocketAddr,
    /// Answering's listen address.
    #[arg(long, env = "KENDUREN_ANSWERING_ADDR", default_value = "127.0.0.1:50053")]
    pub answering_addr: SocketAddr,
    /// Reporting's listen address.
    #[arg(long, env = "KENDUREN_REPORTING_ADDR", default_value = "127.0.0.1:50054")]
    pub reporting_addr: SocketAddr,
}

/// Options of a single service.
#[derive(Debug, Args)]
pub struct ServiceArgs {
    #[command(flatten)]
    pub backbone: BackboneArgs,
    /// Listen address (default: the service's development port on all interfaces).
    #[arg(long, env = "KENDUREN_LISTEN_ADDR")]
    pub listen: Option<SocketAddr>,
}
