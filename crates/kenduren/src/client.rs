//! Client subcommands: call the services' gRPC APIs so a person can walk a question
//! through by hand. Output is plain text, one fact per line.

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use kenduren_proto::{
    answering::v1::{
        answering_service_client::AnsweringServiceClient, AnswerQuestionRequest, ListInboxRequest,
    },
    events::v1::{Channel, Location, QuestionKind, QuestionStatus},
    intake::v1::{
        intake_service_client::IntakeServiceClient, Citizen, SubmitQuestionRequest, TrackQuestionRequest,
    },
    reporting::v1::{
        reporting_service_client::ReportingServiceClient, GetOpdScorecardsRequest, GetQuestionTimelineRequest,
    },
};
use tonic::transport::Channel as GrpcChannel;

async fn connect(url: &str) -> Result<GrpcChannel> {
    GrpcChannel::from_shared(url.to_owned())
        .with_context(|| format!("invalid URL {url}"))?
        .connect()
        .await
        .with_context(|| format!("cannot reach {url}; is `kenduren dev` running?"))
}

fn when(ts: Option<prost_types::Timestamp>) -> String {
    ts.and_then(|t| kenduren_runtime::to_datetime(&t))
        .map(|d| {
            d.with_timezone(&kenduren_domain::calendar::wib())
                .format("%Y-%m-%d %H:%M WIB")
                .to_string()
        })
        .unwrap_or_else(|| "-".into())
}

fn status_name(v: i32) -> String {
    QuestionStatus::try_from(v)
        .map(|s| s.as_str_name().trim_start_matches("QUESTION_STATUS_").to_owned())
        .unwrap_or_else(|_| v.to_string())
}

/// `kind` values on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum KindArg {
    Question,
    Complaint,
    Aspiration,
    ServiceRequest,
}

/// `channel` values on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ChannelArg {
    OnSite,
    Web,
    Whatsapp,
    Sms,
    Phone,
    Open311,
}

/// Options of `kenduren submit`.
#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// Intake's URL.
    #[arg(long, env = "KENDUREN_INTAKE_URL", default_value = "http://127.0.0.1:50051")]
    pub intake_url: String,
    /// What the citizen asks, complains about or proposes.
    #[arg(long)]
    pub text: String,
    /// Category code from the catalogue (data/categories.json), e.g. kependudukan.
    #[arg(long)]
    pub category: String,
    /// Kecamatan, e.g. Bangil.
    #[arg(long)]
    pub kecamatan: String,
    /// Desa or kelurahan.
    #[arg(long, default_value = "")]
    pub desa: String,
    #[arg(long, value_enum, default_value = "question")]
    pub kind: KindArg,
    #[arg(long, value_enum, default_value = "web")]
    pub channel: ChannelArg,
    /// The session, for on-site submissions.
    #[arg(long, default_value = "")]
    pub session: String,
    /// Citizen's name (stays in intake).
    #[arg(long, default_value = "")]
    pub name: String,
    /// Citizen's phone (stays in intake).
    #[arg(long, default_value = "")]
    pub phone: String,
    /// Hide the citizen's identity from OPDs.
    #[arg(long)]
    pub anonymous: bool,
    /// Idempotency key (default: a fresh UUID); reuse it to retry safely.
    #[arg(long)]
    pub request_id: Option<String>,
}

/// Runs `kenduren submit`.
pub async fn submit(args: SubmitArgs) -> Result<()> {
    let mut client = IntakeServiceClient::new(connect(&args.intake_url).await?);
    let kind = match args.kind {
        KindArg::Question => QuestionKind::Question,
        KindArg::Complaint => QuestionKind::Complaint,
        KindArg::Aspiration => QuestionKind::Aspiration,
        KindArg::ServiceRequest => QuestionKind::ServiceRequest,
    };
    let channel = match args.channel {
        ChannelArg::OnSite => Channel::OnSite,
        ChannelArg::Web => Channel::Web,
        ChannelArg::Whatsapp => Channel::Whatsapp,
        ChannelArg::Sms => Channel::Sms,
        ChannelArg::Phone => Channel::Phone,
        ChannelArg::Open311 => Channel::Open311,
    };
    let response = client
        .submit_question(SubmitQuestionRequest {
            request_id: args
                .request_id
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            kind: kind as i32,
            category: args.category,
            text: args.text,
            channel: channel as i32,
            session_id: args.session,
            location: Some(Location {
                kecamatan: args.kecamatan,
                desa: args.desa,
                latitude: None,
                longitude: None,
            }),
            citizen: Some(Citizen {
                name: args.name,
                phone: args.phone,
                email: String::new(),
                anonymous: args.anonymous,
                confidential: false,
            }),
        })
        .await?
        .into_inner();
    println!("question_id  {}", response.question_id);
    println!("ticket       {}", response.ticket);
    println!("tracking_pin {}", response.tracking_pin);
    Ok(())
}

/// Options of `kenduren track`.
#[derive(Debug, Args)]
pub struct TrackArgs {
    /// Intake's URL.
    #[arg(long, env = "KENDUREN_INTAKE_URL", default_value = "http://127.0.0.1:50051")]
    pub intake_url: String,
    /// The ticket, e.g. KM-2026-000001.
    pub ticket: String,
    /// The tracking PIN given at submission.
    pub pin: String,
}

/// Runs `kenduren track`.
pub async fn track(args: TrackArgs) -> Result<()> {
    let mut client = IntakeServiceClient::new(connect(&args.intake_url).await?);
    let t = client
        .track_question(TrackQuestionRequest {
            ticket: args.ticket,
            tracking_pin: args.pin,
        })
        .await?
        .into_inner();
    println!("ticket   {}", t.ticket);
    println!("status   {}", status_name(t.status));
    println!(
        "opd      {}",
        if t.opd_code.is_empty() { "-" } else { &t.opd_code }
    );
    println!("due      {}", when(t.due_at));
    if !t.answer.is_empty() {
        println!("answer   {}", t.answer);
    }
    for entry in t.timeline {
        println!("  {}  {:<22} {}", when(entry.at), entry.event_type, entry.summary);
    }
    Ok(())
}

/// Options of `kenduren inbox`.
#[derive(Debug, Args)]
pub struct InboxArgs {
    /// Answering's URL.
    #[arg(
        long,
        env = "KENDUREN_ANSWERING_URL",
        default_value = "http://127.0.0.1:50053"
    )]
    pub answering_url: String,
    /// The OPD, e.g. DISPENDUKCAPIL.
    #[arg(long)]
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
    let mut client = AnsweringServiceClient::new(connect(&args.answering_url).await?);
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
    /// Answering's URL.
    #[arg(
        long,
        env = "KENDUREN_ANSWERING_URL",
        default_value = "http://127.0.0.1:50053"
    )]
    pub answering_url: String,
    /// The question id (from `kenduren inbox`).
    pub question_id: String,
    /// The answering OPD.
    #[arg(long)]
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
    let mut client = AnsweringServiceClient::new(connect(&args.answering_url).await?);
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

/// Options of `kenduren timeline`.
#[derive(Debug, Args)]
pub struct TimelineArgs {
    /// Reporting's URL.
    #[arg(
        long,
        env = "KENDUREN_REPORTING_URL",
        default_value = "http://127.0.0.1:50054"
    )]
    pub reporting_url: String,
    /// The question id.
    pub question_id: String,
}

/// Runs `kenduren timeline`.
pub async fn timeline(args: TimelineArgs) -> Result<()> {
    let mut client = ReportingServiceClient::new(connect(&args.reporting_url).await?);
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
    /// Reporting's URL.
    #[arg(
        long,
        env = "KENDUREN_REPORTING_URL",
        default_value = "http://127.0.0.1:50054"
    )]
    pub reporting_url: String,
}

/// Runs `kenduren scorecards`.
pub async fn scorecards(args: ScorecardArgs) -> Result<()> {
    let mut client = ReportingServiceClient::new(connect(&args.reporting_url).await?);
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
