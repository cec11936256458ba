//! `kenduren watch --opd CODE`: an OPD's own events, printed as they arrive.
//!
//! This is the example an OPD's developers copy: the five steps every OPD subscriber
//! takes with the shipped NATS configuration are documented, and implemented, in
//! [`kenduren::watch`]; this module adds the flags and the pull-print-ack loop.

use anyhow::{Context, Result};
use async_nats::jetstream::{self, AckKind};
use clap::Args;
use futures::StreamExt;
use kenduren::watch;
use kenduren_bus::Subjects;
use kenduren_domain::OpdCode;

/// Options of `kenduren watch`.
#[derive(Debug, Clone, Args)]
pub struct WatchArgs {
    /// The OPD whose events to watch, e.g. DISPENDUKCAPIL.
    #[arg(long)]
    pub opd: String,
    /// NATS URL.
    #[arg(long, env = "KENDUREN_NATS_URL", default_value = "nats://127.0.0.1:4222")]
    pub nats_url: String,
    /// JetStream stream name.
    #[arg(long, env = "KENDUREN_STREAM", default_value = "KENDUREN")]
    pub stream: String,
    /// First token of every subject.
    #[arg(long, env = "KENDUREN_SUBJECT_PREFIX", default_value = "kenduren")]
    pub subject_prefix: String,
    /// NATS user (the shipped configuration has `opd-<CODE>`); none for an open server.
    #[arg(long, env = "NATS_USER")]
    pub nats_user: Option<String>,
    /// The NATS user's password.
    #[arg(long, env = "NATS_PASSWORD", hide_env_values = true)]
    pub nats_password: Option<String>,
    /// Stop after this many events (0: until Ctrl-C).
    #[arg(long, default_value_t = 0)]
    pub count: u64,
}

/// Step 1 ([`kenduren::watch`] has the steps): connects as the OPD, with its own inbox prefix.
pub async fn connect(args: &WatchArgs, opd: &OpdCode) -> Result<async_nats::Client> {
    let mut options = watch::connect_options(opd);
    if let Some(user) = &args.nats_user {
        options = options.user_and_password(user.clone(), args.nats_password.clone().unwrap_or_default());
    }
    options
        .connect(&args.nats_url)
        .await
        .with_context(|| format!("cannot connect to NATS at {}", args.nats_url))
}

/// Runs `kenduren watch`.
pub async fn run(args: WatchArgs) -> Result<()> {
    let opd = OpdCode::parse(&args.opd).context("--opd")?;
    let subjects = Subjects::new(args.subject_prefix.as_str()).context("--subject-prefix")?;
    let client = connect(&args, &opd).await?;
    let js = jetstream::new(client);
    let consumer = watch::consumer(&js, &args.stream, &subjects, &opd).await?;
    eprintln!(
        "watching {} on stream {} as consumer {} (Ctrl-C to stop)",
        subjects.opd(opd.as_str()),
        args.stream,
        watch::consumer_name(&opd)
    );
    let mut messages = consumer.messages().await.context("cannot pull messages")?;
    let mut seen = 0u64;
    loop {
        let next = tokio::select! {
            next = messages.next() => next,
            _ = tokio::signal::ctrl_c() => break,
        };
        let Some(message) = next else { break };
        let message = message.context("pulling a message")?;
        println!("{}", watch::describe(&message));
        // Step 5: ack after handling; a failed ack means the event comes again.
        message
            .ack_with(AckKind::Ack)
            .await
            .map_err(|e| anyhow::anyhow!("ack failed: {e}"))?;
        seen += 1;
        if args.count > 0 && seen >= args.count {
            break;
        }
    }
    Ok(())
}
