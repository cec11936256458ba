//! Admin subcommands for routing: `kenduren opd list` and `kenduren rules list`.

use anyhow::Result;
use clap::{Args, Subcommand};
use kenduren_proto::routing::v1::{
    routing_service_client::RoutingServiceClient, ListOpdsRequest, ListRulesRequest,
};

use super::connect;

/// Where routing is and who calls it.
#[derive(Debug, Clone, Args)]
pub struct RoutingTarget {
    /// Routing's URL.
    #[arg(long, env = "KENDUREN_ROUTING_URL", default_value = "http://127.0.0.1:50052")]
    pub routing_url: String,
    /// Bearer token (any role may read the directory and rules); see `kenduren token`.
    #[arg(long, env = "KENDUREN_TOKEN", hide_env_values = true, default_value = "")]
    pub token: String,
}

/// Routing's subcommands.
#[derive(Debug, Subcommand)]
pub enum RoutingCommand {
    /// The OPD directory.
    #[command(subcommand)]
    Opd(OpdCommand),
    /// The routing rules.
    #[command(subcommand)]
    Rules(RulesCommand),
}

/// `kenduren opd …`.
#[derive(Debug, Subcommand)]
pub enum OpdCommand {
    /// List the OPD directory (RoutingService.ListOpds).
    List(RoutingTarget),
}

/// `kenduren rules …`.
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// List the routing rules in the order they are tried (RoutingService.ListRules).
    List(RoutingTarget),
}

/// Runs a routing subcommand.
pub async fn run(command: RoutingCommand) -> Result<()> {
    match command {
        RoutingCommand::Opd(OpdCommand::List(t)) => {
            let mut client = RoutingServiceClient::new(connect(&t.routing_url, &t.token).await?);
            for opd in client.list_opds(ListOpdsRequest {}).await?.into_inner().opds {
                let active = if opd.active { "" } else { " (inactive)" };
                println!("{:<16} {}{active}", opd.code, opd.name);
            }
        }
        RoutingCommand::Rules(RulesCommand::List(t)) => {
            let mut client = RoutingServiceClient::new(connect(&t.routing_url, &t.token).await?);
            for r in client.list_rules(ListRulesRequest {}).await?.into_inner().rules {
                let mut narrow = Vec::new();
                if !r.keywords.is_empty() {
                    narrow.push(format!("keywords {}", r.keywords.join("|")));
                }
                if !r.kecamatan.is_empty() {
                    narrow.push(format!("kecamatan {}", r.kecamatan.join("|")));
                }
                println!(
                    "{:>4}  {:<24} {:<22} → {} {}",
                    r.priority,
                    r.rule_id,
                    r.category,
                    r.opd_code,
                    narrow.join(", ")
                );
            }
        }
    }
    Ok(())
}
