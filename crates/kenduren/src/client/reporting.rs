//! Analyst subcommands: `kenduren timeline`, `kenduren scorecards`, and `kenduren report
//! export|unanswered|session|trends|rebuild`.

use anyhow::{bail, Result};
use chrono::{NaiveDate, TimeZone, Utc};
use clap::{Args, Subcommand};
use kenduren_proto::reporting::v1::{
    reporting_service_client::ReportingServiceClient, GetOpdScorecardsRequest, GetQuestionTimelineRequest,
    GetSessionReportRequest, GetTrendsRequest, ListUnansweredRequest, TrendDimension, TrendGranularity,
};

use super::{connect, when};

mod export;
mod rebuild;

pub use export::{export, ExportArgs};
pub use rebuild::{rebuild, RebuildArgs};

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

impl ReportingTarget {
    async fn client(&self) -> Result<ReportingServiceClient<super::Authed>> {
        Ok(ReportingServiceClient::new(
            connect(&self.reporting_url, &self.token).await?,
        ))
    }
}

/// Reporting's subcommands.
// Parsed once at start-up: the size of the larger variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum ReportingCommand {
    /// Show every event of a question, in order (ReportingService.GetQuestionTimeline).
    Timeline(TimelineArgs),
    /// Show per-OPD figures (ReportingService.GetOpdScorecards).
    Scorecards(ScorecardArgs),
    /// Reports for analysts: export, unanswered questions, sessions, trends, and rebuilding.
    Report(ReportArgs),
}

/// Runs a reporting subcommand.
pub async fn run(command: ReportingCommand) -> Result<()> {
    match command {
        ReportingCommand::Timeline(args) => timeline(args).await,
        ReportingCommand::Scorecards(args) => scorecards(args).await,
        ReportingCommand::Report(args) => match args.command {
            ReportCommand::Export(a) => export(a).await,
            ReportCommand::Unanswered(a) => unanswered(a).await,
            ReportCommand::Session(a) => session(a).await,
            ReportCommand::Trends(a) => trends(a).await,
            ReportCommand::Rebuild(a) => rebuild(a).await,
        },
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
    let t = args
        .target
        .client()
        .await?
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

/// A period given as WIB dates: `--from` inclusive, `--to` exclusive.
#[derive(Debug, Clone, Args)]
pub struct PeriodArgs {
    /// First day (YYYY-MM-DD, WIB), inclusive.
    #[arg(long)]
    pub from: Option<NaiveDate>,
    /// Last day (YYYY-MM-DD, WIB), exclusive.
    #[arg(long)]
    pub to: Option<NaiveDate>,
}

fn wib_midnight(day: Option<NaiveDate>) -> Option<prost_types::Timestamp> {
    let local = day?.and_hms_opt(0, 0, 0)?;
    let at = kenduren_domain::calendar::wib()
        .from_local_datetime(&local)
        .single()?;
    Some(kenduren_runtime::timestamp(at.with_timezone(&Utc)))
}

/// Options of `kenduren scorecards`.
#[derive(Debug, Args)]
pub struct ScorecardArgs {
    #[command(flatten)]
    pub target: ReportingTarget,
    #[command(flatten)]
    pub period: PeriodArgs,
}

/// Runs `kenduren scorecards`.
pub async fn scorecards(args: ScorecardArgs) -> Result<()> {
    let r = args
        .target
        .client()
        .await?
        .get_opd_scorecards(GetOpdScorecardsRequest {
            from: wib_midnight(args.period.from),
            to: wib_midnight(args.period.to),
        })
        .await?
        .into_inner();
    println!(
        "{:<16} {:>8} {:>8} {:>10} {:>6} {:>8} {:>7} {:>7} {:>6} {:>6} {:>8} {:>9} {:>4}",
        "OPD",
        "assigned",
        "answered",
        "within due",
        "open",
        "overdue",
        "on spot",
        "med h",
        "p90 h",
        "rating",
        "reopened",
        "sessions",
        "late"
    );
    for s in r.scorecards {
        println!(
            "{:<16} {:>8} {:>8} {:>5} {:>3.0}% {:>6} {:>8} {:>3}/{:<3} {:>7.1} {:>6.1} {:>6.2} {:>8} {:>4}/{:<4} {:>4}",
            s.opd_code,
            s.assigned,
            s.answered,
            s.answered_within_due,
            s.answered_within_due_percent,
            s.open,
            s.overdue,
            s.answered_on_the_spot,
            s.on_site,
            s.median_working_hours_to_answer,
            s.p90_working_hours_to_answer,
            s.average_rating,
            s.reopened,
            s.sessions_attended,
            s.sessions_expected,
            s.sessions_late
        );
        for e in s.escalated {
            println!("{:<16} escalated to level {}: {}", "", e.level, e.questions);
        }
    }
    Ok(())
}

/// Options of `kenduren report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(subcommand)]
    pub command: ReportCommand,
}

/// `kenduren report …`.
// Parsed once at start-up: the size of the larger variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Write one row per question to a file (ReportingService.ExportQuestions).
    Export(ExportArgs),
    /// List open questions, overdue first (ReportingService.ListUnanswered).
    Unanswered(UnansweredArgs),
    /// Show one session's figures (ReportingService.GetSessionReport).
    Session(SessionArgs),
    /// Weekly or monthly series (ReportingService.GetTrends).
    Trends(TrendArgs),
    /// Drop and rebuild the read models from the stream, then swap them in (no service call).
    Rebuild(RebuildArgs),
}

/// Options of `kenduren report unanswered`.
#[derive(Debug, Args)]
pub struct UnansweredArgs {
    #[command(flatten)]
    pub target: ReportingTarget,
    /// Only this OPD (directory code).
    #[arg(long, default_value = "")]
    pub opd: String,
    /// Only this kecamatan.
    #[arg(long, default_value = "")]
    pub kecamatan: String,
    /// Only this category code.
    #[arg(long, default_value = "")]
    pub category: String,
    /// Only questions escalated to at least this level.
    #[arg(long, default_value_t = 0)]
    pub min_level: u32,
}

/// Runs `kenduren report unanswered` (every page).
pub async fn unanswered(args: UnansweredArgs) -> Result<()> {
    let mut client = args.target.client().await?;
    let mut page_token = String::new();
    loop {
        let r = client
            .list_unanswered(ListUnansweredRequest {
                opd_code: args.opd.clone(),
                kecamatan: args.kecamatan.clone(),
                category: args.category.clone(),
                min_escalation_level: args.min_level,
                page_size: 200,
                page_token,
            })
            .await?
            .into_inner();
        for q in &r.questions {
            println!(
                "{:<15} {:<16} {:<12} {:<8} due {}  level {}  {}",
                q.ticket,
                if q.opd_code.is_empty() { "-" } else { &q.opd_code },
                q.status,
                if q.overdue { "OVERDUE" } else { "" },
                when(q.due_at),
                q.escalation_level,
                q.kecamatan
            );
        }
        if r.next_page_token.is_empty() {
            println!(
                "{} open questions, plus {} confidential (not listed)",
                r.total, r.confidential_count
            );
            return Ok(());
        }
        page_token = r.next_page_token;
    }
}

/// Options of `kenduren report session`.
#[derive(Debug, Args)]
pub struct SessionArgs {
    #[command(flatten)]
    pub target: ReportingTarget,
    /// The session id (from `kenduren session list`).
    pub session_id: String,
}

/// Runs `kenduren report session`.
pub async fn session(args: SessionArgs) -> Result<()> {
    let r = args
        .target
        .client()
        .await?
        .get_session_report(GetSessionReportRequest {
            session_id: args.session_id,
        })
        .await?
        .into_inner();
    println!(
        "session      {} ({}, {}) {}",
        r.session_id,
        r.desa,
        r.kecamatan,
        r.dates.join(", ")
    );
    println!(
        "submissions  {} ({:.0}% aspirations)",
        r.submissions, r.aspiration_percent
    );
    for k in r.by_kind.iter().chain(&r.by_category) {
        println!("  {:<24} {}", k.label, k.count);
    }
    println!("on the spot  {}", r.answered_on_the_spot);
    println!("unanswered   {}", r.still_unanswered);
    println!("expected     {}", r.opds_expected.join(" "));
    println!("checked in   {}", r.opds_checked_in.join(" "));
    println!("  on time    {}", r.opds_present.join(" "));
    println!("  late       {}", r.opds_late.join(" "));
    println!("absent       {}", r.opds_absent.join(" "));
    if !r.opds_awaited.is_empty() {
        println!(
            "awaited      {} (the session is not over yet)",
            r.opds_awaited.join(" ")
        );
    }
    Ok(())
}

/// Options of `kenduren report trends`.
#[derive(Debug, Args)]
pub struct TrendArgs {
    #[command(flatten)]
    pub target: ReportingTarget,
    #[command(flatten)]
    pub period: PeriodArgs,
    /// week or month.
    #[arg(long, default_value = "month")]
    pub every: String,
    /// opd, kecamatan or category.
    #[arg(long, default_value = "opd")]
    pub by: String,
}

/// Runs `kenduren report trends`.
pub async fn trends(args: TrendArgs) -> Result<()> {
    let granularity = match args.every.as_str() {
        "week" => TrendGranularity::Week,
        "month" => TrendGranularity::Month,
        other => bail!("--every must be week or month, not {other:?}"),
    };
    let dimension = match args.by.as_str() {
        "opd" => TrendDimension::Opd,
        "kecamatan" => TrendDimension::Kecamatan,
        "category" => TrendDimension::Category,
        other => bail!("--by must be opd, kecamatan or category, not {other:?}"),
    };
    let r = args
        .target
        .client()
        .await?
        .get_trends(GetTrendsRequest {
            granularity: granularity as i32,
            dimension: dimension as i32,
            from: wib_midnight(args.period.from),
            to: wib_midnight(args.period.to),
        })
        .await?
        .into_inner();
    for s in r.series {
        for p in s.points {
            println!(
                "{:<20} {}  submitted {:>5}  answered {:>5}  within due {:>5}",
                s.key, p.period_start, p.submitted, p.answered, p.answered_within_due
            );
        }
    }
    Ok(())
}
