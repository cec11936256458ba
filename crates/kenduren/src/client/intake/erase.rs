//! `kenduren erase`: an admin destroys a citizen's identity (UU 27/2022) on every ticket
//! of that citizen, named by one of them.

use anyhow::Result;
use clap::Args;
use kenduren_proto::intake::v1::{intake_service_client::IntakeServiceClient, EraseCitizenRequest};

use super::IntakeTarget;
use crate::client::{connect, when};

/// Options of `kenduren erase`.
#[derive(Debug, Args)]
pub struct EraseArgs {
    #[command(flatten)]
    pub target: IntakeTarget,
    /// A ticket of the citizen whose name, phone and e-mail are destroyed for good, on
    /// this ticket and every other one with the same phone (or, without a phone, e-mail).
    #[arg(long)]
    pub ticket: String,
    /// Why (kept in the audit event), e.g. the citizen's request number.
    #[arg(long, default_value = "")]
    pub reason: String,
}

/// Runs `kenduren erase` (admin token).
pub async fn erase(args: EraseArgs) -> Result<()> {
    let mut client = IntakeServiceClient::new(connect(&args.target.intake_url, &args.target.token).await?);
    let r = client
        .erase_citizen(EraseCitizenRequest {
            ticket: args.ticket,
            reason: args.reason,
        })
        .await?
        .into_inner();
    if r.erased {
        println!(
            "identity of the citizen of question {} erased at {}, on each of their tickets",
            r.question_id,
            when(r.erased_at)
        );
    } else {
        println!(
            "question {} holds no identity (none given, or erased before)",
            r.question_id
        );
    }
    Ok(())
}
