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
// Parsed once at start-up: the size of the larger variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run all four services in one process (development): migrations, stream, seed data.
    Dev(DevArgs),
    /// Run the intake service alone (for containers).
    #[command(name = "intake")]
    IntakeService(ServiceArgs),
    /// Run the routing service alone (for containers).
    #[command(name = "routing")]
    RoutingService(ServiceArgs),
    /// Run the answering service alone (for containers).
    #[command(name = "answering")]
    AnsweringService(ServiceArgs),
    /// Run the reporting service alone (for containers), or `kenduren reporting rebuild`.
    #[command(name = "reporting")]
    ReportingService(ReportingServiceArgs),
    /// Check a service's gRPC health (exit 0 only when SERVING): for container health checks.
    Health(HealthArgs),
    /// Mint a bearer token for a role with the configured key (KENDUREN_AUTH_KEY, or --dev).
    Token(TokenArgs),
    /// Benchmark the whole pipeline against this machine's floors (use a release build).
    Bench(crate::client::bench::BenchArgs),
    /// Play a seeded season of Kenduren Mas through the gRPC APIs and compare the
    /// simulator's expected figures with reporting's (exit 1 when any differs).
    Simulate(crate::client::simulate::SimulateArgs),
    /// Rebuild the event stream from the services' stores (after the broker lost data):
    /// delete and recreate the stream, then mark every stored event for publishing again.
    Republish(crate::client::republish::RepublishArgs),
    #[command(flatten)]
    Intake(crate::client::intake::IntakeCommand),
    #[command(flatten)]
    Answering(crate::client::answering::AnsweringCommand),
    #[command(flatten)]
    Reporting(crate::client::reporting::ReportingCommand),
    #[command(flatten)]
    Routing(crate::client::routing::RoutingCommand),
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
    /// Where to serve Prometheus `/metrics`; `off` disables it (default: 127.0.0.1:9090 in
    /// `kenduren dev`, 0.0.0.0:9090 for a single service).
    #[arg(long, env = "KENDUREN_METRICS_ADDR")]
    pub metrics_addr: Option<String>,
    /// Seconds a service may take to drain after SIGTERM before it gives up and exits 1.
    #[arg(long, env = "KENDUREN_SHUTDOWN_GRACE", default_value_t = 20)]
    pub shutdown_grace: u64,
    /// Seconds a stopping service keeps serving after reporting NOT_SERVING (lets load
    /// balancers and probes see it leave first).
    #[arg(long, env = "KENDUREN_DRAIN_DELAY", default_value_t = 0)]
    pub drain_delay: u64,
    /// Postgres connections per service.
    #[arg(long, env = "KENDUREN_POOL_SIZE", default_value_t = 8)]
    pub pool_size: u32,
    /// Seconds (signed) added to the services' clock, for simulations and demonstrations
    /// that must happen on a working morning whenever they run. Leave it 0 in production.
    #[arg(
        long,
        env = "KENDUREN_CLOCK_SHIFT_SECONDS",
        default_value_t = 0,
        allow_negative_numbers = true
    )]
    pub clock_shift_seconds: i64,
    /// Token signing key: base64 of at least 32 random bytes. Required except in `kenduren dev`,
    /// which uses the published development key when it is unset.
    #[arg(long, env = "KENDUREN_AUTH_KEY", hide_env_values = true)]
    pub auth_key: Option<String>,
    /// Key sealing citizens' contacts at rest (intake): base64 of 32 random bytes. Unset, one
    /// is derived from KENDUREN_AUTH_KEY; losing it makes every stored contact unreadable.
    #[arg(long, env = "KENDUREN_PII_KEY", hide_env_values = true)]
    pub pii_key: Option<String>,
    #[command(flatten)]
    pub tls: TlsArgs,
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
    /// Intake's URL, where answering asks for citizens' contacts.
    #[arg(long, env = "KENDUREN_INTAKE_URL", default_value = "http://127.0.0.1:50051")]
    pub intake_url: String,
}

/// Options of `kenduren token`.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// Role: desk, opd:<CODE> (e.g. opd:DISPENDUKCAPIL), admin or analyst.
    #[arg(long)]
    pub role: kenduren_auth::Role,
    /// Who the token is for (written into the token as its subject).
    #[arg(long, default_value = "cli")]
    pub subject: String,
    /// Lifetime in hours.
    #[arg(long, default_value_t = 12)]
    pub hours: u64,
    /// Signing key (base64); as configured for the services.
    #[arg(long, env = "KENDUREN_AUTH_KEY", hide_env_values = true)]
    pub auth_key: Option<String>,
    /// Sign with the development key that `kenduren dev` uses when KENDUREN_AUTH_KEY is unset.
    #[arg(long)]
    pub dev: bool,
}

/// Options of `kenduren health`.
#[derive(Debug, Args)]
pub struct HealthArgs {
    /// The service's gRPC address, e.g. 127.0.0.1:50051.
    #[arg(long, default_value = "127.0.0.1:50051")]
    pub addr: String,
    /// Service name to check; empty checks the server as a whole.
    #[arg(long, default_value = "")]
    pub service: String,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 3)]
    pub timeout: u64,
}

/// Options of `kenduren reporting`: run the service, or `rebuild` its read models.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ReportingServiceArgs {
    #[command(flatten)]
    pub service: ServiceArgs,
    #[command(subcommand)]
    pub action: Option<ReportingAction>,
}

/// What `kenduren reporting` can do besides serving.
#[derive(Debug, clap::Subcommand)]
pub enum ReportingAction {
    /// Drop and rebuild the read models by replaying the stream, then swap them in
    /// (the same as `kenduren report rebuild`).
    Rebuild(crate::client::reporting::RebuildArgs),
}

/// TLS for gRPC (server, optionally mutual) and for NATS: PEM file paths.
#[derive(Debug, Clone, Args)]
pub struct TlsArgs {
    /// Serve gRPC over TLS with this certificate chain (with --tls-key).
    #[arg(long, env = "KENDUREN_TLS_CERT")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// The private key of --tls-cert.
    #[arg(long, env = "KENDUREN_TLS_KEY")]
    pub tls_key: Option<std::path::PathBuf>,
    /// Require client certificates signed by this CA (mutual TLS).
    #[arg(long, env = "KENDUREN_TLS_CLIENT_CA")]
    pub tls_client_ca: Option<std::path::PathBuf>,
    /// CA to trust when a service calls another over TLS (answering → intake).
    #[arg(long, env = "KENDUREN_TLS_CA")]
    pub tls_ca: Option<std::path::PathBuf>,
    /// This process's client certificate for mutual TLS to other services.
    #[arg(long, env = "KENDUREN_TLS_CLIENT_CERT")]
    pub tls_client_cert: Option<std::path::PathBuf>,
    /// The private key of --tls-client-cert.
    #[arg(long, env = "KENDUREN_TLS_CLIENT_KEY")]
    pub tls_client_key: Option<std::path::PathBuf>,
    /// Connect to NATS over TLS, trusting this CA.
    #[arg(long, env = "KENDUREN_NATS_TLS_CA")]
    pub nats_tls_ca: Option<std::path::PathBuf>,
    /// Client certificate for NATS, when the server verifies clients.
    #[arg(long, env = "KENDUREN_NATS_TLS_CERT")]
    pub nats_tls_cert: Option<std::path::PathBuf>,
    /// The private key of --nats-tls-cert.
    #[arg(long, env = "KENDUREN_NATS_TLS_KEY")]
    pub nats_tls_key: Option<std::path::PathBuf>,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    /// clap's own consistency checks on the whole tree: no duplicate flags or short
    /// options, defaults that parse, flattened and global arguments that fit together.
    #[test]
    fn the_command_tree_is_consistent() {
        Cli::command().debug_assert();
    }
}
