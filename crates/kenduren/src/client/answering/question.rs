//! `kenduren question <id>`: one question in full, as its OPD sees it.

use std::time::Duration;

use anyhow::{bail, Result};
use clap::Args;
use kenduren_proto::answering::v1::{ContactStatus, GetQuestionRequest, GetQuestionResponse};
use tonic::Code;

use super::{status_name, when, AnsweringTarget};

/// Options of `kenduren question`.
#[derive(Debug, Args)]
pub struct QuestionArgs {
    #[command(flatten)]
    pub target: AnsweringTarget,
    /// The question id.
    pub question_id: String,
    /// Wait up to this many seconds for the question to reach your inbox (routing
    /// assigns a new question a moment after it is submitted).
    #[arg(long, default_value_t = 0)]
    pub wait: u64,
}

/// Runs `kenduren question`.
pub async fn question(args: QuestionArgs) -> Result<()> {
    let mut client = args.target.client().await?;
    let request = GetQuestionRequest {
        question_id: args.question_id,
        opd_code: String::new(),
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(args.wait);
    // NOT_FOUND also means "not routed to you yet": ask again until the deadline.
    let r: GetQuestionResponse = loop {
        match client.get_question(request.clone()).await {
            Ok(r) => break r.into_inner(),
            Err(s) if s.code() == Code::NotFound && tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(250)).await
            }
            Err(s) => return Err(s.into()),
        }
    };
    let Some(q) = r.question else {
        bail!("the service returned no question")
    };
    println!("question   {}  {}", q.question_id, q.ticket);
    println!("status     {}  (version {})", status_name(q.status), q.version);
    println!("opd        {}", q.opd_code);
    println!("category   {}  kecamatan {}", q.category, q.kecamatan);
    println!(
        "due        {}{}",
        when(q.due_at),
        if q.overdue { "  OVERDUE" } else { "" }
    );
    println!("text       {}", q.text);
    if !q.answer.is_empty() {
        println!("answer     {}", q.answer);
    }
    if !q.follow_up_plan.is_empty() {
        println!("follow-up  {} (by {})", q.follow_up_plan, when(q.follow_up_by));
    }
    match (ContactStatus::try_from(q.contact_status), q.contact) {
        (Ok(ContactStatus::Available), Some(c)) => {
            println!("contact    {}  {}  {}", c.name, c.phone, c.email)
        }
        (Ok(s), _) => println!(
            "contact    ({})",
            s.as_str_name()
                .trim_start_matches("CONTACT_STATUS_")
                .to_lowercase()
        ),
        (Err(_), _) => println!("contact    (unknown)"),
    }
    for h in q.history {
        println!(
            "  {}  {}  {}",
            when(h.at),
            h.event_type.trim_start_matches("kenduren.events.v1."),
            h.summary
        );
    }
    Ok(())
}
