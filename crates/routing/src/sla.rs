//! The SLA policy and the holiday calendar: stored in routing's schema, read by the
//! router for every assignment, and replaced by admins through audited events (the
//! shipped calendar is seeded by `holidays`).

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate};
use kenduren_domain::{FieldViolation, Holiday, SlaPolicy, SlaTarget, WorkCalendar};
use kenduren_proto::{events::v1 as ev, routing::v1 as pb};
use kenduren_runtime::{
    convert::{
        channel_from_name, channel_from_proto, channel_name, channel_to_proto, kind_from_name,
        kind_from_proto, kind_name, kind_to_proto,
    },
    timestamp, ApiError, ServiceContext,
};
use sqlx::PgConnection;

use crate::{audit, paging::Page};

/// The calendar in force.
pub(crate) async fn load_calendar(conn: &mut PgConnection) -> Result<WorkCalendar, sqlx::Error> {
    let days: Vec<(NaiveDate,)> = sqlx::query_as("SELECT day FROM holidays")
        .fetch_all(&mut *conn)
        .await?;
    Ok(WorkCalendar::new(days.into_iter().map(|(d,)| d)))
}

fn days(v: i32) -> u32 {
    u32::try_from(v).unwrap_or(1)
}

/// The policy in force.
pub(crate) async fn load_policy(conn: &mut PgConnection) -> Result<SlaPolicy, sqlx::Error> {
    let (answer, resolution, level2): (i32, i32, i32) = sqlx::query_as(
        "SELECT answer_working_days, resolution_days, level2_after_working_days FROM sla_policy",
    )
    .fetch_one(&mut *conn)
    .await?;
    let rows: Vec<(String, String, i32, i32)> =
        sqlx::query_as("SELECT kind, channel, answer_working_days, resolution_days FROM sla_targets")
            .fetch_all(&mut *conn)
            .await?;
    Ok(SlaPolicy {
        answer_working_days: days(answer),
        resolution_days: days(resolution),
        level2_after_working_days: days(level2),
        targets: rows
            .into_iter()
            .map(|(kind, channel, a, r)| SlaTarget {
                kind: kind_from_name(&kind),
                channel: channel_from_name(&channel),
                answer_working_days: days(a),
                resolution_days: days(r),
            })
            .collect(),
    })
}

fn to_proto(p: &SlaPolicy) -> pb::SlaPolicy {
    pb::SlaPolicy {
        answer_working_days: p.answer_working_days,
        resolution_days: p.resolution_days,
        level2_after_working_days: p.level2_after_working_days,
        targets: p
            .targets
            .iter()
            .map(|t| ev::SlaTarget {
                kind: t.kind.map_or(0, |k| kind_to_proto(k) as i32),
                channel: t.channel.map_or(0, |c| channel_to_proto(c) as i32),
                answer_working_days: t.answer_working_days,
                resolution_days: t.resolution_days,
            })
            .collect(),
    }
}

/// `GetSlaPolicy`.
pub(crate) async fn get_policy(ctx: &ServiceContext) -> Result<pb::SlaPolicy, ApiError> {
    let mut conn = ctx.pool.acquire().await?;
    Ok(to_proto(&load_policy(&mut conn).await?))
}

fn check_days(field: String, value: u32, max: u32, v: &mut Vec<FieldViolation>) {
    if value == 0 || value > max {
        v.push(FieldViolation {
            field,
            description: format!("must be between 1 and {max}"),
        });
    }
}

/// Validates a policy, naming every bad field.
fn from_proto(p: Option<pb::SlaPolicy>) -> Result<SlaPolicy, ApiError> {
    let Some(p) = p else {
        return Err(ApiError::field("policy", "is required"));
    };
    let mut v = Vec::new();
    check_days(
        "policy.answer_working_days".into(),
        p.answer_working_days,
        60,
        &mut v,
    );
    check_days("policy.resolution_days".into(), p.resolution_days, 365, &mut v);
    check_days(
        "policy.level2_after_working_days".into(),
        p.level2_after_working_days,
        30,
        &mut v,
    );
    let mut seen = BTreeSet::new();
    let mut targets = Vec::new();
    for (i, t) in p.targets.iter().enumerate() {
        let field = |name: &str| format!("policy.targets[{i}].{name}");
        let kind = kind_from_proto(t.kind);
        let channel = channel_from_proto(t.channel);
        if t.kind != 0 && kind.is_none() {
            v.push(FieldViolation {
                field: field("kind"),
                description: "unknown kind".into(),
            });
        }
        if t.channel != 0 && channel.is_none() {
            v.push(FieldViolation {
                field: field("channel"),
                description: "unknown channel".into(),
            });
        }
        if t.kind == 0 && t.channel == 0 {
            v.push(FieldViolation {
                field: field("kind"),
                description: "a target needs a kind, a channel or both (the defaults cover the rest)".into(),
            });
        }
        if !seen.insert((t.kind, t.channel)) {
            v.push(FieldViolation {
                field: field("kind"),
                description: "this kind and channel appear twice".into(),
            });
        }
        check_days(field("answer_working_days"), t.answer_working_days, 60, &mut v);
        check_days(field("resolution_days"), t.resolution_days, 365, &mut v);
        targets.push(SlaTarget {
            kind,
            channel,
            answer_working_days: t.answer_working_days,
            resolution_days: t.resolution_days,
        });
    }
    if !v.is_empty() {
        return Err(ApiError::InvalidArgument(v));
    }
    Ok(SlaPolicy {
        answer_working_days: p.answer_working_days,
        resolution_days: p.resolution_days,
        level2_after_working_days: p.level2_after_working_days,
        targets,
    })
}

fn int(v: u32) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

/// `UpdateSlaPolicy`: replaces the policy and records who did it.
pub(crate) async fn update_policy(
    ctx: &ServiceContext,
    actor: &str,
    request: Option<pb::SlaPolicy>,
) -> Result<pb::SlaPolicy, ApiError> {
    let policy = from_proto(request)?;
    let mut tx = ctx.pool.begin().await?;
    sqlx::query("UPDATE sla_policy SET answer_working_days = $1, resolution_days = $2, level2_after_working_days = $3")
        .bind(int(policy.answer_working_days))
        .bind(int(policy.resolution_days))
        .bind(int(policy.level2_after_working_days))
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM sla_targets").execute(&mut *tx).await?;
    for t in &policy.targets {
        sqlx::query("INSERT INTO sla_targets (kind, channel, answer_working_days, resolution_days) VALUES ($1, $2, $3, $4)")
            .bind(t.kind.map_or("", kind_name))
            .bind(t.channel.map_or("", channel_name))
            .bind(int(t.answer_working_days))
            .bind(int(t.resolution_days))
            .execute(&mut *tx)
            .await?;
    }
    let out = to_proto(&policy);
    let event = ev::SlaPolicyUpdated {
        answer_working_days: out.answer_working_days,
        resolution_days: out.resolution_days,
        level2_after_working_days: out.level2_after_working_days,
        targets: out.targets.clone(),
        actor: actor.to_owned(),
        updated_at: Some(timestamp(ctx.clock.now())),
    };
    audit::record(ctx, &mut tx, "sla-policy", &event).await?;
    tx.commit().await?;
    Ok(out)
}

/// A holiday as events and responses carry it.
pub(crate) fn holiday_to_proto(date: NaiveDate, name: String) -> ev::Holiday {
    ev::Holiday {
        date: date.format("%Y-%m-%d").to_string(),
        name,
    }
}

/// `ListHolidays`: in date order, optionally one year's.
pub(crate) async fn list_holidays(
    ctx: &ServiceContext,
    r: pb::ListHolidaysRequest,
) -> Result<pb::ListHolidaysResponse, ApiError> {
    let mut v = Vec::new();
    let page = Page::parse(r.page_size, &r.page_token, 500, 500, &mut v);
    if r.year != 0 && !(2000..=2100).contains(&r.year) {
        v.push(FieldViolation {
            field: "year".into(),
            description: "must be 0 (every year) or between 2000 and 2100".into(),
        });
    }
    if !v.is_empty() {
        return Err(ApiError::InvalidArgument(v));
    }
    let rows: Vec<(NaiveDate, String)> = sqlx::query_as(
        "SELECT day, name FROM holidays WHERE $1 = 0 OR extract(year FROM day)::int = $1
         ORDER BY day LIMIT $2 OFFSET $3",
    )
    .bind(r.year)
    .bind(page.size + 1)
    .bind(page.offset)
    .fetch_all(&ctx.pool)
    .await?;
    let next_page_token = page.next_token(rows.len());
    let holidays = rows
        .into_iter()
        .take(usize::try_from(page.size).unwrap_or(usize::MAX))
        .map(|(d, n)| holiday_to_proto(d, n))
        .collect();
    Ok(pb::ListHolidaysResponse {
        holidays,
        next_page_token,
    })
}

/// `SetHolidays`: replaces one year's list and records who did it.
pub(crate) async fn set_holidays(
    ctx: &ServiceContext,
    actor: &str,
    r: pb::SetHolidaysRequest,
) -> Result<pb::SetHolidaysResponse, ApiError> {
    let mut v = Vec::new();
    if !(2000..=2100).contains(&r.year) {
        v.push(FieldViolation {
            field: "year".into(),
            description: "must be between 2000 and 2100".into(),
        });
    }
    let mut days = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, h) in r.holidays.iter().enumerate() {
        match NaiveDate::parse_from_str(&h.date, "%Y-%m-%d") {
            Ok(d) if d.year() != r.year => v.push(FieldViolation {
                field: format!("holidays[{i}].date"),
                description: format!("is not in {}", r.year),
            }),
            Ok(d) if !seen.insert(d) => v.push(FieldViolation {
                field: format!("holidays[{i}].date"),
                description: "is listed twice".into(),
            }),
            Ok(d) => days.push(Holiday {
                date: d,
                name: h.name.trim().to_owned(),
            }),
            Err(_) => v.push(FieldViolation {
                field: format!("holidays[{i}].date"),
                description: "must be a date YYYY-MM-DD".into(),
            }),
        }
        let name = h.name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            v.push(FieldViolation {
                field: format!("holidays[{i}].name"),
                description: "must be 1 to 200 characters".into(),
            });
        }
    }
    if !v.is_empty() {
        return Err(ApiError::InvalidArgument(v));
    }
    days.sort();
    let mut tx = ctx.pool.begin().await?;
    sqlx::query("DELETE FROM holidays WHERE extract(year FROM day)::int = $1")
        .bind(r.year)
        .execute(&mut *tx)
        .await?;
    for h in &days {
        sqlx::query("INSERT INTO holidays (day, name) VALUES ($1, $2)")
            .bind(h.date)
            .bind(&h.name)
            .execute(&mut *tx)
            .await?;
    }
    let holidays: Vec<ev::Holiday> = days
        .into_iter()
        .map(|h| holiday_to_proto(h.date, h.name))
        .collect();
    let event = ev::HolidaysSet {
        year: r.year,
        holidays: holidays.clone(),
        actor: actor.to_owned(),
        set_at: Some(timestamp(ctx.clock.now())),
    };
    audit::record(ctx, &mut tx, &format!("holidays-{}", r.year), &event).await?;
    tx.commit().await?;
    Ok(pb::SetHolidaysResponse { holidays })
}
