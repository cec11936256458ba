//! OPD subcommands: `kenduren inbox`, `question`, `ack`, `answer`, `followup`,
//! `resolve`, `reject`, `templates list|upsert` and `watch`.

use anyhow::{bail, Result};
use clap::{Args, Subcommand};
use kenduren_proto::{
    answering::v1::{
        answering_service_client::AnsweringServiceClient, AcknowledgeQuestionRequest, AnswerQuestionRequest,
        ListInboxRequest, PlanFollowUpRequest, RejectAssignmentRequest, ResolveQuestionRequest,
    },
    events::v1::QuestionStatus,
};

mod question;
mod templates;

pub use question::{question, QuestionArgs};
pub use templates::{templates, TemplatesCommand};

use super::{connect, status_name, watch, when, Authed};

/// Where answering is and who calls it.
#[derive(Debug, Clone, Args)]
pub struct AnsweringTarget {
    /// Answering's URL.
    #[arg(
        long,
        env = "KENDUREN_ANSWERING_URL",
        default_value = "http://127.0.0.1:50053"
    )]
    pub answering_url: String,
    /// Bearer token with role opd:<CODE> (or admin to list any inbox); see `kenduren token`.
    #[arg(long, env = "KENDUREN_TOKEN", hide_env_values = true, default_value = "")]
    pub token: String,
}

impl AnsweringTarget {
    pub(crate) async fn client(&self) -> Result<AnsweringServiceClient<Authed>> {
        Ok(AnsweringServiceClient::new(
            connect(&self.answering_url, &self.token).await?,
        ))
    }
}

/// Answering's subcommands.
#[derive(Debug, Subcommand)]
pub enum AnsweringCommand {
    /// List an OPD's inbox, earliest due first (AnsweringService.ListInbox).
    Inbox(InboxArgs),
    /// Show one question in full, with the citizen's contact when allowed (GetQuestion).
    Question(QuestionArgs),
    /// Mark a question as seen by your OPD (AcknowledgeQuestion).
    Ack(AckArgs),
    /// Answer a question for your OPD (AnsweringService.AnswerQuestion).
    Answer(AnswerArgs),
    /// Plan a follow-up (tindak lanjut) on an answered question (PlanFollowUp).
    Followup(FollowupArgs),
    /// Close an answered question (ResolveQuestion).
    Resolve(ResolveArgs),
    /// Say a question is not your OPD's, with a reason (RejectAssignment).
    Reject(RejectArgs),
    /// Your OPD's answer templates (ListTemplates, UpsertTemplate).
    #[command(subcommand)]
    Templates(TemplatesCommand),
    /// Print your OPD's events from NATS as they arrive (a durable consumer; see its --help).
    Watch(watch::WatchArgs),
}

/// Runs an answering subcommand.
pub async fn run(command: AnsweringCommand) -> Result<()> {
    match command {
        AnsweringCommand::Inbox(args) => inbox(args).await,
        AnsweringCommand::Question(args) => question(args).await,
        AnsweringCommand::Ack(args) => ack(args).await,
        AnsweringCommand::Answer(args) => answer(args).await,
        AnsweringCommand::Followup(args) => followup(args).await,
        AnsweringCommand::Resolve(args) => resolve(args).await,
        AnsweringCommand::Reject(args) => reject(args).await,
        AnsweringCommand::Templates(c) => templates(c).await,
        AnsweringCommand::Watch(args) => watch::run(args).await,
    }
}

/// Options of `kenduren inbox`.
#[derive(Debug, Args)]
pub struct InboxArgs {
    #[command(flatten)]
    pub target: AnsweringTarget,
    /// The OPD, e.g. DISPENDUKCAPIL (default: the OPD of an opd:<CODE> token).
    #[arg(long, default_value = "")]
    pub opd: String,
    /// Only these statuses (repeatable), e.g. --status routed --status acknowledged.
    #[arg(long = "status")]
    pub statuses: Vec<String>,
    /// Only questions past their due date.
    #[arg(long)]
    pub overdue: bool,
    /// Items per page.
    #[arg(long, default_value_t = 20)]
    pub page_size: i32,
    /// Continue after this token (printed at the end of the previous page).
    #[arg(long, default_value = "")]
    pub page_token: String,
}

fn parse_status(name: &str) -> Result<i32> {
    let full = format!("QUESTION_STATUS_{}", name.trim().to_uppercase().replace('-', "_"));
    match QuestionStatus::from_str_name(&full) {
        Some(s) if s != QuestionStatus::Unspecified => Ok(s as i32),
        _ => bail!("unknown status {name:?}: use routed, acknowledged, answered, follow_up, resolved, …"),
    }
}

/// Runs `kenduren inbox`.
pub async fn inbox(args: InboxArgs) -> Result<()> {
    let statuses = args
        .statuses
        .iter()
        .map(|s| parse_status(s))
        .collect::<Result<_>>()?;
    let page = args
        .target
        .client()
        .await?
        .list_inbox(ListInboxRequest {
            opd_code: args.opd,
            statuses,
            page_size: args.page_size,
            page_token: args.page_token,
            overdue_only: args.overdue,
        })
        .await?
        .into_inner();
    if page.items.is_empty() {
        println!("(inbox empty)");
    }
    for item in page.items {
        println!(
            "{}  {}  {:<12} due {}{}  v{}  {}",
            item.question_id,
            item.ticket,
            status_name(item.status),
            when(item.due_at),
            if item.overdue { " OVERDUE" } else { "" },
            item.version,
            item.text
        );
    }
    if !page.next_page_token.is_empty() {
        println!("next page: --page-token {}", page.next_page_token);
    }
    Ok(())
}

/// Options shared by the writes: which question, and the version you saw.
#[derive(Debug, Args)]
pub struct WriteTarget {
    #[command(flatten)]
    pub target: AnsweringTarget,
    /// The question id (from `kenduren inbox`).
    pub question_id: String,
    /// Refuse if someone changed the question since this version.
    #[arg(long)]
    pub expected_version: Option<i64>,
}

/// Options of `kenduren ack`.
#[derive(Debug, Args)]
pub struct AckArgs {
    #[command(flatten)]
    pub on: WriteTarget,
    /// Who saw it.
    #[arg(long, default_value = "")]
    pub staff: String,
}

/// Runs `kenduren ack`.
pub async fn ack(args: AckArgs) -> Result<()> {
    let r = args
        .on
        .target
        .client()
        .await?
        .acknowledge_question(AcknowledgeQuestionRequest {
            question_id: args.on.question_id,
            opd_code: String::new(),
            staff_name: args.staff,
            expected_version: args.on.expected_version,
        })
        .await?
        .into_inner();
    println!("acknowledged (version {})", r.version);
    Ok(())
}

/// Options of `kenduren answer`.
#[derive(Debug, Args)]
pub struct AnswerArgs {
    #[command(flatten)]
    pub on: WriteTarget,
    /// The answer text.
    #[arg(long)]
    pub text: String,
    /// Who answers.
    #[arg(long)]
    pub responder: String,
    /// The responder's position.
    #[arg(long, default_value = "")]
    pub position: String,
    /// A reference to an attached document (repeatable).
    #[arg(long = "attachment")]
    pub attachments: Vec<String>,
}

/// Runs `kenduren answer`.
pub async fn answer(args: AnswerArgs) -> Result<()> {
    let r = args
        .on
        .target
        .client()
        .await?
        .answer_question(AnswerQuestionRequest {
            question_id: args.on.question_id,
            opd_code: String::new(),
            answer: args.text,
            responder_name: args.responder,
            responder_position: args.position,
            attachments: args.attachments,
            expected_version: args.on.expected_version,
        })
        .await?
        .into_inner();
    println!("answered (version {})", r.version);
    Ok(())
}

/// Options of `kenduren followup`.
#[derive(Debug, Args)]
pub struct FollowupArgs {
    #[command(flatten)]
    pub on: WriteTarget,
    /// What will be done.
    #[arg(long)]
    pub plan: String,
    /// By when: a date (YYYY-MM-DD, end of that day WIB), an RFC 3339 time, or a number
    /// of days from now (e.g. 30d, end of that day WIB).
    #[arg(long)]
    pub by: String,
}

fn parse_deadline(text: &str) -> Result<prost_types::Timestamp> {
    parse_deadline_from(text, chrono::Utc::now())
}

/// [`parse_deadline`] as of `now` (days are counted on Pasuruan's calendar).
fn parse_deadline_from(text: &str, now: chrono::DateTime<chrono::Utc>) -> Result<prost_types::Timestamp> {
    let at = if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        t.with_timezone(&chrono::Utc)
    } else {
        let in_days = text.strip_suffix('d').and_then(|n| n.parse::<u32>().ok());
        let day = match in_days {
            Some(n) => now
                .with_timezone(&kenduren_domain::calendar::wib())
                .date_naive()
                .checked_add_days(chrono::Days::new(n.into()))
                .ok_or_else(|| anyhow::anyhow!("--by {text:?}: too far ahead"))?,
            None => chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
                anyhow::anyhow!("--by {text:?}: use YYYY-MM-DD, an RFC 3339 time or a number of days (30d)")
            })?,
        };
        let end = day
            .and_hms_opt(23, 59, 0)
            .ok_or_else(|| anyhow::anyhow!("--by {text:?}: not a valid day"))?;
        end.and_local_timezone(kenduren_domain::calendar::wib())
            .single()
            .ok_or_else(|| anyhow::anyhow!("--by {text:?}: ambiguous time"))?
            .with_timezone(&chrono::Utc)
    };
    Ok(kenduren_runtime::timestamp(at))
}

/// Runs `kenduren followup`.
pub async fn followup(args: FollowupArgs) -> Result<()> {
    let planned_by = parse_deadline(&args.by)?;
    let r = args
        .on
        .target
        .client()
        .await?
        .plan_follow_up(PlanFollowUpRequest {
            question_id: args.on.question_id,
            opd_code: String::new(),
            plan: args.plan,
            planned_by: Some(planned_by),
            expected_version: args.on.expected_version,
        })
        .await?
        .into_inner();
    println!("follow-up planned (version {})", r.version);
    Ok(())
}

/// Options of `kenduren resolve`.
#[derive(Debug, Args)]
pub struct ResolveArgs {
    #[command(flatten)]
    pub on: WriteTarget,
    /// How it ended.
    #[arg(long, default_value = "")]
    pub note: String,
}

/// Runs `kenduren resolve`.
pub async fn resolve(args: ResolveArgs) -> Result<()> {
    let r = args
        .on
        .target
        .client()
        .await?
        .resolve_question(ResolveQuestionRequest {
            question_id: args.on.question_id,
            opd_code: String::new(),
            note: args.note,
            expected_version: args.on.expected_version,
        })
        .await?
        .into_inner();
    println!("resolved (version {})", r.version);
    Ok(())
}

/// Options of `kenduren reject`.
#[derive(Debug, Args)]
pub struct RejectArgs {
    #[command(flatten)]
    pub on: WriteTarget,
    /// Why it is not your OPD's question.
    #[arg(long)]
    pub reason: String,
}

/// Runs `kenduren reject`.
pub async fn reject(args: RejectArgs) -> Result<()> {
    let r = args
        .on
        .target
        .client()
        .await?
        .reject_assignment(RejectAssignmentRequest {
            question_id: args.on.question_id,
            opd_code: String::new(),
            reason: args.reason,
            expected_version: args.on.expected_version,
        })
        .await?
        .into_inner();
    println!("rejected (version {}); routing assigns it elsewhere", r.version);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_deadlines_parse_as_typed() {
        assert_eq!(
            parse_status("follow-up").ok(),
            Some(QuestionStatus::FollowUp as i32)
        );
        assert!(parse_status("unspecified").is_err());
        assert!(parse_deadline("2026-03-01").is_ok());
        assert!(parse_deadline("tomorrow").is_err());
    }

    #[test]
    fn a_deadline_in_days_is_the_end_of_that_day_in_pasuruan() {
        // 20:00 UTC on 1 March is already 2 March in WIB (UTC+7).
        let now = chrono::DateTime::parse_from_rfc3339("2026-03-01T20:00:00Z")
            .expect("time")
            .with_timezone(&chrono::Utc);
        let by = parse_deadline_from("30d", now).expect("30 days");
        let expected = chrono::DateTime::parse_from_rfc3339("2026-04-01T23:59:00+07:00").expect("time");
        assert_eq!(by.seconds, expected.timestamp());
        assert!(parse_deadline_from("d", now).is_err());
        assert!(parse_deadline_from("-3d", now).is_err());
    }
}
