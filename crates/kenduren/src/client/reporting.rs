//! Analyst subcommands: `kenduren timeline` and `kenduren scorecards`.

use anyhow::Result;
use clap::{Args, Subcommand};
use kenduren_proto::reporting::v1::{
    reporting_service_client::ReportingServiceClient, GetOpdScorecardsRequest, GetQuestionTimelineRequest,
};

use super::{connect, when};

/// Where reporting is and who calls it.
#[derive(Debug, Clone, Args)]
pub struct ReportingTarget {
    /// Reporting's URL.
    #[arg(
        long,
        env = "KENDUREN_REPORTING_URL",
        default_value = "http://127.0.0.1:50054"
    )]
    pub reporting_url: String,
    /// Bearer token with role analyst or admin; see `kenduren token`.
    #[arg(long, env = "KENDUREN_TOKEN", hide_env_values = true, default_value = "")]
    pub token: String,
}

/// Reporting's subcommands.
#[derive(Debug, Subcommand)]
pub enum ReportingCommand {
    /// Show every event of a question, in order (ReportingService.GetQuestionTimeline).
    Timeline(TimelineArgs),
    /// Show per-OPD figures (ReportingService.GetOpdScorecards).
    Scorecards(ScorecardArgs),
}

/// Runs a reporting subcommand.
pub async fn run(command: ReportingCommand) -> Result<()> {
    match command {
        ReportingCommand::Timeline(args) => timeline(args).await,
        ReportingCommand::Scorecards(args) => scorecards(args).await,
    }
}

/// Options of `kenduren timeline`.
#[derive(Debug, Args)]
pub struct TimelineArgs {
    #[command(flatten)]
    pub target: ReportingTarget,
    /// The question id.
    pub question_id: String,
}

/// Runs `kenduren timeline`.
pub async fn timeline(args: TimelineArgs) -> Result<()> {
    let mut client =
        ReportingServiceClient::new(connect(&args.target.reporting_url, &args.target.token).await?);
    let t = client
        .get_question_timeline(GetQuestionTimelineRequest {
            question_id: args.question_id,
        })
        .await?
        .into_inner();
    for e in t.events {
        let short = e.event_type.rsplit('.').next().unwrap_or_default().to_owned();
        println!(
            "{}  {:<22} {:<16} {}",
            when(e.occurred_at),
            short,
            e.actor,
            e.summary
        );
    }
    Ok(())
}

/// Options of `kenduren scorecards`.
#[derive(Debug, Args)]
pub struct ScorecardArgs {
    #[command(flatten)]
    pub target: ReportingTarget,
}

/// Runs `kenduren scorecards`.
pub async fn scorecards(args: ScorecardArgs) -> Result<()> {
    let mut client =
        ReportingServiceClient::new(connect(&args.target.reporting_url, &args.target.token).await?);
    let r = client
        .get_opd_scorecards(GetOpdScorecardsRequest { from: None, to: None })
        .await?
        .into_inner();
    println!(
        "{:<16} {:>8} {:>8} {:>10} {:>6} {:>8}",
        "OPD", "assigned", "answered", "within due", "open", "overdue"
    );
    for s in r.scorecards {
        println!(
            "{:<16} {:>8} {:>8} {:>10} {:>6} {:>8}",
            s.opd_code, s.assigned, s.answered, s.answered_within_due, s.open, s.overdue
        );
    }
    Ok(())
}
