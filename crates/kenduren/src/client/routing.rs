//! Admin subcommands for routing: the directory (`opd`), the rules (`rules`),
//! `route explain`, the triage queue (`triage`), `reassign`, `holidays` and `sla`.

mod lines;
mod policy;

use anyhow::Result;
use clap::{Args, Subcommand};
use kenduren_proto::routing::v1::{
    routing_service_client::RoutingServiceClient, DeleteRuleRequest, ExplainRouteRequest, ListOpdsRequest,
    ListRulesRequest, ListTriageRequest, Opd, ReassignQuestionRequest, RouteManuallyRequest, Rule,
    UpsertOpdRequest, UpsertRuleRequest,
};

use policy::kind;
pub use policy::{HolidaysCommand, SlaCommand};

use super::{connect, when, Authed};

/// Where routing is and who calls it.
#[derive(Debug, Clone, Args)]
pub struct RoutingTarget {
    /// Routing's URL.
    #[arg(long, env = "KENDUREN_ROUTING_URL", default_value = "http://127.0.0.1:50052")]
    pub routing_url: String,
    /// Bearer token (any role reads; writes and triage need admin); see `kenduren token`.
    #[arg(long, env = "KENDUREN_TOKEN", hide_env_values = true, default_value = "")]
    pub token: String,
}

impl RoutingTarget {
    async fn client(&self) -> Result<RoutingServiceClient<Authed>> {
        Ok(RoutingServiceClient::new(
            connect(&self.routing_url, &self.token).await?,
        ))
    }
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
    /// Ask routing about a question without submitting it.
    #[command(subcommand)]
    Route(RouteCommand),
    /// Questions no rule matched.
    #[command(subcommand)]
    Triage(TriageCommand),
    /// Move an open question to another OPD (admin; RoutingService.ReassignQuestion).
    Reassign(ReassignArgs),
    /// Holidays and collective leave days (not working days).
    #[command(subcommand)]
    Holidays(HolidaysCommand),
    /// The SLA policy.
    #[command(subcommand)]
    Sla(SlaCommand),
}

/// `kenduren opd …`.
#[derive(Debug, Subcommand)]
pub enum OpdCommand {
    /// List the OPD directory (RoutingService.ListOpds).
    List(RoutingTarget),
    /// Create or change an OPD (admin; RoutingService.UpsertOpd).
    Upsert {
        #[command(flatten)]
        target: RoutingTarget,
        /// Code, e.g. DINKES.
        code: String,
        /// Full name.
        #[arg(long)]
        name: String,
        /// Where to reach it.
        #[arg(long, default_value = "")]
        contact: String,
        /// Stop routing questions to it.
        #[arg(long)]
        inactive: bool,
    },
}

/// `kenduren rules …`.
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// List the routing rules in the order they are tried (RoutingService.ListRules).
    List(RoutingTarget),
    /// Create or change a rule (admin; RoutingService.UpsertRule).
    Upsert {
        #[command(flatten)]
        target: RoutingTarget,
        /// Rule id, e.g. kesehatan-bangil.
        rule_id: String,
        /// The category the rule covers (data/categories.json), e.g. kesehatan.
        #[arg(long)]
        category: String,
        /// The OPD that answers (directory code).
        #[arg(long)]
        opd: String,
        /// Higher wins.
        #[arg(long, default_value_t = 10)]
        priority: i32,
        /// Only these kinds (QUESTION, COMPLAINT, ASPIRATION, SERVICE_REQUEST); repeatable.
        #[arg(long = "kind")]
        kinds: Vec<String>,
        /// Only these kecamatan; repeatable.
        #[arg(long)]
        kecamatan: Vec<String>,
        /// Only when the text mentions one of these; repeatable.
        #[arg(long = "keyword")]
        keywords: Vec<String>,
    },
    /// Delete a rule (admin; RoutingService.DeleteRule).
    Delete {
        #[command(flatten)]
        target: RoutingTarget,
        /// The rule to delete.
        rule_id: String,
    },
}

/// `kenduren route …`.
#[derive(Debug, Subcommand)]
pub enum RouteCommand {
    /// Which rule would route such a question, and why (RoutingService.ExplainRoute).
    Explain {
        #[command(flatten)]
        target: RoutingTarget,
        /// The question's category code.
        #[arg(long)]
        category: String,
        /// QUESTION, COMPLAINT, ASPIRATION or SERVICE_REQUEST.
        #[arg(long, default_value = "QUESTION")]
        kind: String,
        /// Where the question comes from.
        #[arg(long, default_value = "")]
        kecamatan: String,
        /// What the citizen wrote (keyword rules look at it).
        #[arg(long, default_value = "")]
        text: String,
        /// Leave this OPD out, as after it rejected the question; repeatable.
        #[arg(long = "exclude")]
        excluded: Vec<String>,
    },
}

/// `kenduren triage …`.
#[derive(Debug, Subcommand)]
pub enum TriageCommand {
    /// The triage queue, oldest first (admin; RoutingService.ListTriage).
    List(RoutingTarget),
    /// Route a question in triage to an OPD (admin; RoutingService.RouteManually).
    Route {
        #[command(flatten)]
        target: RoutingTarget,
        /// The question in triage (from `kenduren triage list`).
        question_id: String,
        /// The OPD to route it to (directory code).
        #[arg(long)]
        opd: String,
        /// Why this OPD (kept in the event, shown to the OPD).
        #[arg(long)]
        reason: String,
    },
}

/// `kenduren reassign`.
#[derive(Debug, Args)]
pub struct ReassignArgs {
    #[command(flatten)]
    target: RoutingTarget,
    /// The open question to move.
    question_id: String,
    /// The new OPD.
    #[arg(long)]
    opd: String,
    /// Why it moves (kept in the event).
    #[arg(long)]
    reason: String,
}

/// Runs a routing subcommand.
pub async fn run(command: RoutingCommand) -> Result<()> {
    match command {
        RoutingCommand::Opd(OpdCommand::List(t)) => {
            for opd in t
                .client()
                .await?
                .list_opds(ListOpdsRequest {})
                .await?
                .into_inner()
                .opds
            {
                let active = if opd.active { "" } else { " (inactive)" };
                println!("{:<16} {}{active}", opd.code, opd.name);
            }
        }
        RoutingCommand::Opd(OpdCommand::Upsert {
            target,
            code,
            name,
            contact,
            inactive,
        }) => {
            let opd = Opd {
                code,
                name,
                contact,
                active: !inactive,
            };
            let r = target
                .client()
                .await?
                .upsert_opd(UpsertOpdRequest { opd: Some(opd) })
                .await?
                .into_inner();
            let code = r.opd.map(|o| o.code).unwrap_or_default();
            println!("{code} {}", if r.created { "created" } else { "updated" });
        }
        RoutingCommand::Rules(RulesCommand::List(t)) => {
            for r in t
                .client()
                .await?
                .list_rules(ListRulesRequest {})
                .await?
                .into_inner()
                .rules
            {
                println!("{}", lines::rule(&r));
            }
        }
        RoutingCommand::Rules(RulesCommand::Upsert {
            target,
            rule_id,
            category,
            opd,
            priority,
            kinds,
            kecamatan,
            keywords,
        }) => {
            let kinds = kinds.iter().map(|k| kind(k)).collect::<Result<Vec<_>>>()?;
            let rule = Rule {
                rule_id,
                category,
                opd_code: opd,
                priority,
                kinds,
                kecamatan,
                keywords,
            };
            let r = target
                .client()
                .await?
                .upsert_rule(UpsertRuleRequest { rule: Some(rule) })
                .await?
                .into_inner();
            let id = r.rule.map(|r| r.rule_id).unwrap_or_default();
            println!("{id} {}", if r.created { "created" } else { "updated" });
        }
        RoutingCommand::Rules(RulesCommand::Delete { target, rule_id }) => {
            target
                .client()
                .await?
                .delete_rule(DeleteRuleRequest {
                    rule_id: rule_id.clone(),
                })
                .await?;
            println!("{rule_id} deleted");
        }
        RoutingCommand::Route(RouteCommand::Explain {
            target,
            category,
            kind: k,
            kecamatan,
            text,
            excluded,
        }) => {
            let request = ExplainRouteRequest {
                kind: kind(&k)?,
                category,
                kecamatan,
                text,
                excluded_opd_codes: excluded,
            };
            let r = target.client().await?.explain_route(request).await?.into_inner();
            if r.triage {
                println!("triage: {}", r.reason);
            } else {
                println!("{} by {}: {}", r.opd_code, r.rule_id, r.reason);
            }
        }
        RoutingCommand::Triage(TriageCommand::List(t)) => {
            let mut client = t.client().await?;
            let mut page_token = String::new();
            loop {
                let page = client
                    .list_triage(ListTriageRequest {
                        page_size: 100,
                        page_token,
                    })
                    .await?
                    .into_inner();
                for i in page.items {
                    println!("{}", lines::triage(&i));
                }
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
        }
        RoutingCommand::Triage(TriageCommand::Route {
            target,
            question_id,
            opd,
            reason,
        }) => {
            let request = RouteManuallyRequest {
                question_id,
                opd_code: opd,
                reason,
            };
            let r = target.client().await?.route_manually(request).await?.into_inner();
            if let Some(e) = r.routed {
                println!("routed to {}, due {}", e.opd_code, when(e.due_at));
            }
        }
        RoutingCommand::Reassign(ReassignArgs {
            target,
            question_id,
            opd,
            reason,
        }) => {
            let request = ReassignQuestionRequest {
                question_id,
                opd_code: opd,
                reason,
            };
            let r = target
                .client()
                .await?
                .reassign_question(request)
                .await?
                .into_inner();
            if let Some(e) = r.reassigned {
                println!("{} → {}, due {}", e.from_opd_code, e.to_opd_code, when(e.due_at));
            }
        }
        RoutingCommand::Holidays(c) => policy::run_holidays(c).await?,
        RoutingCommand::Sla(c) => policy::run_sla(c).await?,
    }
    Ok(())
}
