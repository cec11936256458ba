//! `kenduren holidays list|set` and `kenduren sla get|set`: the calendar and the SLA
//! policy behind every due date.

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use kenduren_domain::parse_holidays;
use kenduren_proto::{
    events::v1::{Channel, Holiday, QuestionKind, SlaTarget},
    routing::v1::{
        GetSlaPolicyRequest, ListHolidaysRequest, SetHolidaysRequest, SlaPolicy, UpdateSlaPolicyRequest,
    },
};

use super::RoutingTarget;

/// `kenduren holidays …`.
#[derive(Debug, Subcommand)]
pub enum HolidaysCommand {
    /// List holidays (RoutingService.ListHolidays).
    List {
        #[command(flatten)]
        target: RoutingTarget,
        /// Only this year.
        #[arg(long, default_value_t = 0)]
        year: i32,
    },
    /// Replace one year's holidays (admin; RoutingService.SetHolidays).
    Set {
        #[command(flatten)]
        target: RoutingTarget,
        /// The year whose list is replaced.
        #[arg(long)]
        year: i32,
        /// A file in the format of data/holidays.json; only the year's dates are taken.
        #[arg(long)]
        file: Option<std::path::PathBuf>,
        /// A day as YYYY-MM-DD=name; repeatable.
        #[arg(long = "day")]
        days: Vec<String>,
    },
}

/// `kenduren sla …`.
#[derive(Debug, Subcommand)]
pub enum SlaCommand {
    /// Show the SLA policy (RoutingService.GetSlaPolicy).
    Get(RoutingTarget),
    /// Replace the SLA policy (admin; RoutingService.UpdateSlaPolicy).
    Set {
        #[command(flatten)]
        target: RoutingTarget,
        /// Working days to answer.
        #[arg(long, default_value_t = 5)]
        answer_days: u32,
        /// Calendar days to resolve.
        #[arg(long, default_value_t = 60)]
        resolution_days: u32,
        #[arg(long, default_value_t = 3)]
        level2_days: u32,
        /// KIND:CHANNEL=ANSWER_DAYS/RESOLUTION_DAYS, `*` for any, e.g. COMPLAINT:WHATSAPP=3/30; repeatable.
        #[arg(long = "target")]
        targets: Vec<String>,
    },
}

pub(super) fn kind(name: &str) -> Result<i32> {
    if name == "*" {
        return Ok(0);
    }
    QuestionKind::from_str_name(&format!("QUESTION_KIND_{}", name.to_uppercase()))
        .map(|k| k as i32)
        .with_context(|| format!("unknown kind {name}"))
}

fn channel(name: &str) -> Result<i32> {
    if name == "*" {
        return Ok(0);
    }
    Channel::from_str_name(&format!("CHANNEL_{}", name.to_uppercase()))
        .map(|c| c as i32)
        .with_context(|| format!("unknown channel {name}"))
}

fn sla_target(text: &str) -> Result<SlaTarget> {
    let parse = || -> Option<(&str, &str, u32, u32)> {
        let (who, days) = text.split_once('=')?;
        let (k, c) = who.split_once(':')?;
        let (a, r) = days.split_once('/')?;
        Some((k, c, a.parse().ok()?, r.parse().ok()?))
    };
    let Some((k, c, a, r)) = parse() else {
        bail!("--target {text}: expected KIND:CHANNEL=ANSWER_DAYS/RESOLUTION_DAYS");
    };
    Ok(SlaTarget {
        kind: kind(k)?,
        channel: channel(c)?,
        answer_working_days: a,
        resolution_days: r,
    })
}

/// A kind as the flags take it (`COMPLAINT`), or its number if this build does not know it.
pub(super) fn kind_label(v: i32) -> String {
    let k = QuestionKind::try_from(v).ok().filter(|_| v != 0);
    name_of(v, "QUESTION_KIND_", k.map(|k| k.as_str_name()))
}

fn name_of(v: i32, prefix: &str, name: Option<&str>) -> String {
    name.map_or_else(
        || if v == 0 { "*".into() } else { v.to_string() },
        |n| n.trim_start_matches(prefix).to_owned(),
    )
}

fn print_policy(p: &SlaPolicy) {
    println!("answer within      {} working days", p.answer_working_days);
    println!("resolve within     {} days", p.resolution_days);
    println!(
        "level 2 after      {} more working days",
        p.level2_after_working_days
    );
    for t in &p.targets {
        let c = Channel::try_from(t.channel).ok().filter(|_| t.channel != 0);
        println!(
            "  {}:{}  answer {} working days, resolve {} days",
            kind_label(t.kind),
            name_of(t.channel, "CHANNEL_", c.map(|c| c.as_str_name())),
            t.answer_working_days,
            t.resolution_days
        );
    }
}

/// Runs `kenduren holidays …`.
pub async fn run_holidays(command: HolidaysCommand) -> Result<()> {
    match command {
        HolidaysCommand::List { target, year } => {
            let mut client = target.client().await?;
            let mut page_token = String::new();
            loop {
                let page = client
                    .list_holidays(ListHolidaysRequest {
                        year,
                        page_size: 0,
                        page_token,
                    })
                    .await?
                    .into_inner();
                for h in page.holidays {
                    println!("{}  {}", h.date, h.name);
                }
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
        }
        HolidaysCommand::Set {
            target,
            year,
            file,
            days,
        } => {
            let mut holidays = Vec::new();
            if let Some(path) = file {
                let text = std::fs::read_to_string(&path).with_context(|| path.display().to_string())?;
                for h in parse_holidays(&text)? {
                    if chrono::Datelike::year(&h.date) == year {
                        holidays.push(Holiday {
                            date: h.date.format("%Y-%m-%d").to_string(),
                            name: h.name,
                        });
                    }
                }
            }
            for d in days {
                let Some((date, name)) = d.split_once('=') else {
                    bail!("--day {d}: expected YYYY-MM-DD=name");
                };
                holidays.push(Holiday {
                    date: date.trim().into(),
                    name: name.trim().into(),
                });
            }
            let r = target
                .client()
                .await?
                .set_holidays(SetHolidaysRequest { year, holidays })
                .await?
                .into_inner();
            println!("{year}: {} holidays", r.holidays.len());
        }
    }
    Ok(())
}

/// Runs `kenduren sla …`.
pub async fn run_sla(command: SlaCommand) -> Result<()> {
    match command {
        SlaCommand::Get(t) => {
            let r = t
                .client()
                .await?
                .get_sla_policy(GetSlaPolicyRequest {})
                .await?
                .into_inner();
            print_policy(&r.policy.unwrap_or_default());
        }
        SlaCommand::Set {
            target,
            answer_days,
            resolution_days,
            level2_days,
            targets,
        } => {
            let policy = SlaPolicy {
                answer_working_days: answer_days,
                resolution_days,
                level2_after_working_days: level2_days,
                targets: targets.iter().map(|t| sla_target(t)).collect::<Result<_>>()?,
            };
            let r = target
                .client()
                .await?
                .update_sla_policy(UpdateSlaPolicyRequest { policy: Some(policy) })
                .await?;
            print_policy(&r.into_inner().policy.unwrap_or_default());
        }
    }
    Ok(())
}
