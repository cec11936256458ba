//! Citizen-desk subcommands: `kenduren submit`, `track`, `withdraw`, `rate`, and
//! `kenduren session schedule|list|get|checkin`.

use anyhow::Result;
use clap::{Args, Subcommand, ValueEnum};
use kenduren_proto::{
    events::v1::{Channel, Location, QuestionKind},
    intake::v1::{
        intake_service_client::IntakeServiceClient, Citizen, RateAnswerRequest, SubmitQuestionRequest,
        TrackQuestionRequest, WithdrawQuestionRequest,
    },
};

use super::{connect, status_name, when};

mod erase;
mod session;

pub use session::SessionCommand;

/// Where intake is and who calls it.
#[derive(Debug, Clone, Args)]
pub struct IntakeTarget {
    /// Intake's URL.
    #[arg(long, env = "KENDUREN_INTAKE_URL", default_value = "http://127.0.0.1:50051")]
    pub intake_url: String,
    /// Bearer token (see `kenduren token`): desk or admin; `session schedule` needs admin,
    /// `session checkin` also takes the OPD's own opd:<CODE>, `session list/get` any role.
    #[arg(long, env = "KENDUREN_TOKEN", hide_env_values = true, default_value = "")]
    pub token: String,
}

/// Intake's subcommands.
#[derive(Debug, Subcommand)]
pub enum IntakeCommand {
    /// Submit a citizen's question (IntakeService.SubmitQuestion).
    Submit(SubmitArgs),
    /// Track a ticket with its PIN (IntakeService.TrackQuestion).
    Track(TrackArgs),
    /// Withdraw a question that is not answered yet (IntakeService.WithdrawQuestion).
    Withdraw(WithdrawArgs),
    /// Rate an answer 1-5; 1-2 within 10 working days reopens it (IntakeService.RateAnswer).
    Rate(RateArgs),
    /// Kenduren Mas sessions and OPD attendance.
    #[command(subcommand)]
    Session(SessionCommand),
    /// Destroy a citizen's identity for good; the question stays (admin; EraseCitizen).
    Erase(erase::EraseArgs),
}

/// Runs an intake subcommand.
pub async fn run(command: IntakeCommand) -> Result<()> {
    match command {
        IntakeCommand::Submit(args) => submit(args).await,
        IntakeCommand::Track(args) => track(args).await,
        IntakeCommand::Withdraw(args) => withdraw(args).await,
        IntakeCommand::Rate(args) => rate(args).await,
        IntakeCommand::Session(command) => session::run(command).await,
        IntakeCommand::Erase(args) => erase::erase(args).await,
    }
}

/// `kind` values on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum KindArg {
    /// A question.
    Question,
    /// A complaint.
    Complaint,
    /// An idea or suggestion (urun rembug).
    Aspiration,
    /// A request for a service.
    ServiceRequest,
}

/// `channel` values on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ChannelArg {
    /// At a Kenduren Mas session's desk.
    OnSite,
    /// The web form.
    Web,
    /// WhatsApp.
    Whatsapp,
    /// SMS.
    Sms,
    /// Phone.
    Phone,
    /// An Open311 client.
    Open311,
}

/// Options of `kenduren submit`.
#[derive(Debug, Args)]
pub struct SubmitArgs {
    #[command(flatten)]
    pub target: IntakeTarget,
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
    /// What the citizen brought.
    #[arg(long, value_enum, default_value = "question")]
    pub kind: KindArg,
    /// Where the submission was taken (on-site needs --session).
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
    /// Citizen's e-mail address (stays in intake).
    #[arg(long, default_value = "")]
    pub email: String,
    /// Hide the citizen's identity from OPDs (LAPOR!'s anonim).
    #[arg(long)]
    pub anonymous: bool,
    /// Keep the question out of every listing but the assigned OPD's and the citizen's
    /// own tracking (LAPOR!'s rahasia).
    #[arg(long)]
    pub confidential: bool,
    /// Where the matter is: latitude in degrees (south is negative), with --longitude.
    #[arg(long, requires = "longitude", allow_hyphen_values = true)]
    pub latitude: Option<f64>,
    /// Where the matter is: longitude in degrees east, with --latitude.
    #[arg(long, requires = "latitude", allow_hyphen_values = true)]
    pub longitude: Option<f64>,
    /// Idempotency key (default: a fresh UUID); reuse it to retry safely.
    #[arg(long)]
    pub request_id: Option<String>,
}

/// Runs `kenduren submit`.
pub async fn submit(args: SubmitArgs) -> Result<()> {
    let mut client = IntakeServiceClient::new(connect(&args.target.intake_url, &args.target.token).await?);
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
                latitude: args.latitude,
                longitude: args.longitude,
            }),
            citizen: Some(Citizen {
                name: args.name,
                phone: args.phone,
                email: args.email,
                anonymous: args.anonymous,
                confidential: args.confidential,
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
    #[command(flatten)]
    pub target: IntakeTarget,
    /// The ticket, e.g. KM-2026-000001.
    pub ticket: String,
    /// The tracking PIN given at submission.
    pub pin: String,
}

/// Runs `kenduren track`.
pub async fn track(args: TrackArgs) -> Result<()> {
    let mut client = IntakeServiceClient::new(connect(&args.target.intake_url, &args.target.token).await?);
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
    if !t.follow_up_plan.is_empty() {
        println!("plan     {}", t.follow_up_plan);
    }
    if t.rating > 0 {
        println!("rating   {}/5", t.rating);
    }
    for entry in t.timeline {
        println!("  {}  {:<22} {}", when(entry.at), entry.event_type, entry.summary);
    }
    Ok(())
}

/// Options of `kenduren withdraw`.
#[derive(Debug, Args)]
pub struct WithdrawArgs {
    #[command(flatten)]
    pub target: IntakeTarget,
    /// The ticket, e.g. KM-2026-000001.
    pub ticket: String,
    /// The tracking PIN given at submission.
    pub pin: String,
    /// Why the citizen withdraws (optional).
    #[arg(long, default_value = "")]
    pub reason: String,
}

/// Runs `kenduren withdraw`.
pub async fn withdraw(args: WithdrawArgs) -> Result<()> {
    let mut client = IntakeServiceClient::new(connect(&args.target.intake_url, &args.target.token).await?);
    let done = client
        .withdraw_question(WithdrawQuestionRequest {
            ticket: args.ticket,
            tracking_pin: args.pin,
            reason: args.reason,
        })
        .await?
        .into_inner();
    println!("question_id  {}", done.question_id);
    println!("status       {}", status_name(done.status));
    Ok(())
}

/// Options of `kenduren rate`.
#[derive(Debug, Args)]
pub struct RateArgs {
    #[command(flatten)]
    pub target: IntakeTarget,
    /// The ticket, e.g. KM-2026-000001.
    pub ticket: String,
    /// The tracking PIN given at submission.
    pub pin: String,
    /// 1 (very poor) to 5 (very good).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=5))]
    pub rating: u32,
    /// What the citizen says about the answer (optional).
    #[arg(long, default_value = "")]
    pub comment: String,
}

/// Runs `kenduren rate`.
pub async fn rate(args: RateArgs) -> Result<()> {
    let mut client = IntakeServiceClient::new(connect(&args.target.intake_url, &args.target.token).await?);
    let rated = client
        .rate_answer(RateAnswerRequest {
            ticket: args.ticket,
            tracking_pin: args.pin,
            rating: args.rating,
            comment: args.comment,
        })
        .await?
        .into_inner();
    println!("question_id  {}", rated.question_id);
    println!("status       {}", status_name(rated.status));
    println!("reopened     {}", if rated.reopened { "yes" } else { "no" });
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Submit {
        #[command(flatten)]
        args: SubmitArgs,
    }

    fn parse(extra: &[&str]) -> Result<SubmitArgs, clap::Error> {
        let base = [
            "submit",
            "--text",
            "KTP hilang",
            "--category",
            "kependudukan",
            "--kecamatan",
            "Bangil",
        ];
        Submit::try_parse_from(base.iter().chain(extra)).map(|s| s.args)
    }

    #[test]
    fn submit_takes_email_confidential_and_a_position() {
        let args = parse(&[
            "--email",
            "siti@example.org",
            "--confidential",
            "--latitude",
            "-7.6",
            "--longitude",
            "112.8",
        ])
        .expect("parses");
        assert_eq!(args.email, "siti@example.org");
        assert!(args.confidential);
        assert_eq!((args.latitude, args.longitude), (Some(-7.6), Some(112.8)));
    }

    #[test]
    fn submit_refuses_half_a_position() {
        let err = parse(&["--latitude", "-7.6"]).expect_err("no longitude");
        assert_eq!(err.kind(), clap::error::ErrorKind::MissingRequiredArgument);
    }
}
