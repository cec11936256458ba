//! OPD subcommands: `kenduren inbox` and `kenduren answer`.

use anyhow::Result;
use clap::{Args, Subcommand};
use kenduren_proto::answering::v1::{
    answering_service_client::AnsweringServiceClient, AnswerQuestionRequest, ListInboxRequest,
};

use super::{connect, status_name, when};

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

/// Answering's subcommands.
#[derive(Debug, Subcommand)]
pub enum AnsweringCommand {
    /// List an OPD's inbox, earliest due first (AnsweringService.ListInbox).
    Inbox(InboxArgs),
    /// Answer a question for your OPD (AnsweringService.AnswerQuestion).
    Answer(AnswerArgs),
}

/// Runs an answering subcommand.
pub async fn run(command: AnsweringCommand) -> Result<()> {
    match command {
        AnsweringCommand::Inbox(args) => inbox(args).await,
        AnsweringCommand::Answer(args) => answer(args).await,
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
    /// Items per page.
    #[arg(long, default_value_t = 20)]
    pub page_size: i32,
    /// Continue after this token (printed at the end of the previous page).
    #[arg(long, default_value = "")]
    pub page_token: String,
}

/// Runs `kenduren inbox`.
pub async fn inbox(args: InboxArgs) -> Result<()> {
    let mut client =
        AnsweringServiceClient::new(connect(&args.target.answering_url, &args.target.token).await?);
    let page = client
        .list_inbox(ListInboxRequest {
            opd_code: args.opd,
            statuses: vec![],
            page_size: args.page_size,
            page_token: args.page_token,
        })
        .await?
        .into_inner();
    if page.items.is_empty() {
        println!("(inbox empty)");
    }
    for item in page.items {
        println!(
            "{}  {}  {:<12} due {}  v{}  {}",
            item.question_id,
            item.ticket,
            status_name(item.status),
            when(item.due_at),
            item.version,
            item.text
        );
    }
    if !page.next_page_token.is_empty() {
        println!("next page: --page-token {}", page.next_page_token);
    }
    Ok(())
}

/// Options of `kenduren answer`.
#[derive(Debug, Args)]
pub struct AnswerArgs {
    #[command(flatten)]
    pub target: AnsweringTarget,
    /// The question id (from `kenduren inbox`).
    pub question_id: String,
    /// The answering OPD (default: the OPD of the token; another OPD is refused).
    #[arg(long, default_value = "")]
    pub opd: String,
    /// The answer text.
    #[arg(long)]
    pub text: String,
    /// Who answers.
    #[arg(long)]
    pub responder: String,
    /// The responder's position.
    #[arg(long, default_value = "")]
    pub position: String,
    /// Refuse if someone changed the question since this version.
    #[arg(long)]
    pub expected_version: Option<i64>,
}

/// Runs `kenduren answer`.
pub async fn answer(args: AnswerArgs) -> Result<()> {
    let mut client =
        AnsweringServiceClient::new(connect(&args.target.answering_url, &args.target.token).await?);
    let r = client
        .answer_question(AnswerQuestionRequest {
            question_id: args.question_id,
            opd_code: args.opd,
            answer: args.text,
            responder_name: args.responder,
            responder_position: args.position,
            attachments: vec![],
            expected_version: args.expected_version,
        })
        .await?
        .into_inner();
    println!("answered (version {})", r.version);
    Ok(())
}
