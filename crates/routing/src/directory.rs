//! The OPD directory and the routing rules: listing, audited changes by admins, and
//! `ExplainRoute`, which asks the same [`RuleSet`] the router uses.

use kenduren_domain::{
    CategoryCode, FieldViolation, OpdCode, ReferenceData, RouteDecision, RouteQuery, RuleSet,
};
use kenduren_proto::{events::v1 as ev, routing::v1 as pb};
use kenduren_runtime::{
    convert::{kind_from_proto, kind_name, kind_to_proto},
    timestamp, ApiError, ServiceContext,
};
use sqlx::PgConnection;

use crate::{audit, router};

fn violation(field: impl Into<String>, description: impl Into<String>) -> FieldViolation {
    FieldViolation {
        field: field.into(),
        description: description.into(),
    }
}

/// `ListOpds`.
pub(crate) async fn list_opds(ctx: &ServiceContext) -> Result<Vec<pb::Opd>, ApiError> {
    let rows: Vec<(String, String, String, bool)> =
        sqlx::query_as("SELECT code, name, contact, active FROM opds ORDER BY code")
            .fetch_all(&ctx.pool)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(code, name, contact, active)| pb::Opd {
            code,
            name,
            contact,
            active,
        })
        .collect())
}

/// `UpsertOpd`: creates or changes an OPD and records who did it.
pub(crate) async fn upsert_opd(
    ctx: &ServiceContext,
    actor: &str,
    opd: Option<pb::Opd>,
) -> Result<pb::UpsertOpdResponse, ApiError> {
    let Some(mut opd) = opd else {
        return Err(ApiError::field("opd", "is required"));
    };
    opd.name = opd.name.trim().to_owned();
    opd.contact = opd.contact.trim().to_owned();
    let mut v = Vec::new();
    if OpdCode::parse(&opd.code).is_err() {
        v.push(violation(
            "opd.code",
            "must be 2 to 32 upper-case letters, digits or _, starting with a letter",
        ));
    }
    if opd.name.is_empty() || opd.name.chars().count() > 200 {
        v.push(violation("opd.name", "must be 1 to 200 characters"));
    }
    if opd.contact.chars().count() > 500 {
        v.push(violation("opd.contact", "must be at most 500 characters"));
    }
    if !v.is_empty() {
        return Err(ApiError::InvalidArgument(v));
    }
    let mut tx = ctx.pool.begin().await?;
    let (created,): (bool,) = sqlx::query_as(
        "INSERT INTO opds (code, name, contact, active) VALUES ($1, $2, $3, $4)
         ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, contact = EXCLUDED.contact, active = EXCLUDED.active
         RETURNING (xmax = 0)",
    )
    .bind(&opd.code)
    .bind(&opd.name)
    .bind(&opd.contact)
    .bind(opd.active)
    .fetch_one(&mut *tx)
    .await?;
    let event = ev::OpdUpserted {
        code: opd.code.clone(),
        name: opd.name.clone(),
        contact: opd.contact.clone(),
        active: opd.active,
        actor: actor.to_owned(),
        upserted_at: Some(timestamp(ctx.clock.now())),
    };
    audit::record(ctx, &mut tx, &format!("opd-{}", opd.code), &event).await?;
    tx.commit().await?;
    Ok(pb::UpsertOpdResponse {
        opd: Some(opd),
        created,
    })
}

fn rule_to_proto(r: &kenduren_domain::RoutingRule) -> pb::Rule {
    pb::Rule {
        rule_id: r.id.clone(),
        category: r.category.to_string(),
        opd_code: r.opd.to_string(),
        priority: r.priority,
        kinds: r.kinds.iter().map(|k| kind_to_proto(*k) as i32).collect(),
        kecamatan: r.kecamatan.clone(),
        keywords: r.keywords.clone(),
    }
}

/// `ListRules`: in the order they are tried.
pub(crate) async fn list_rules(ctx: &ServiceContext) -> Result<Vec<pb::Rule>, ApiError> {
    let mut conn = ctx.pool.acquire().await?;
    let rules = router::load_rules(&mut conn).await?;
    Ok(rules.rules().iter().map(rule_to_proto).collect())
}

fn valid_rule_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// Trims a list of words, naming every empty or overlong one.
fn words(field: &str, list: &[String], v: &mut Vec<FieldViolation>) -> Vec<String> {
    let mut out = Vec::with_capacity(list.len());
    for (i, w) in list.iter().enumerate() {
        let w = w.trim();
        if w.is_empty() || w.chars().count() > 100 {
            v.push(violation(format!("{field}[{i}]"), "must be 1 to 100 characters"));
        }
        out.push(w.to_owned());
    }
    out
}

/// `UpsertRule`: creates or changes a rule and records who did it.
pub(crate) async fn upsert_rule(
    ctx: &ServiceContext,
    reference: &ReferenceData,
    actor: &str,
    rule: Option<pb::Rule>,
) -> Result<pb::UpsertRuleResponse, ApiError> {
    let Some(mut rule) = rule else {
        return Err(ApiError::field("rule", "is required"));
    };
    let mut v = Vec::new();
    if !valid_rule_id(&rule.rule_id) {
        v.push(violation(
            "rule.rule_id",
            "must be 1 to 64 lower-case letters, digits, - or _",
        ));
    }
    if CategoryCode::parse(&rule.category).is_err()
        || !reference.catalogue.categories.contains_key(&rule.category)
    {
        v.push(violation("rule.category", "is not a category of the catalogue"));
    }
    if OpdCode::parse(&rule.opd_code).is_err() {
        v.push(violation("rule.opd_code", "is not an OPD code"));
    }
    let mut kinds = Vec::new();
    for (i, k) in rule.kinds.iter().enumerate() {
        match kind_from_proto(*k) {
            Some(k) if !kinds.contains(&kind_name(k)) => kinds.push(kind_name(k)),
            Some(_) => v.push(violation(format!("rule.kinds[{i}]"), "is listed twice")),
            None => v.push(violation(format!("rule.kinds[{i}]"), "is not a kind")),
        }
    }
    rule.kecamatan = words("rule.kecamatan", &rule.kecamatan, &mut v);
    for (i, k) in rule.kecamatan.iter().enumerate() {
        if !k.is_empty()
            && !reference
                .catalogue
                .gazetteer
                .keys()
                .any(|g| g.eq_ignore_ascii_case(k))
        {
            v.push(violation(
                format!("rule.kecamatan[{i}]"),
                "is not a kecamatan of Kabupaten Pasuruan",
            ));
        }
    }
    rule.keywords = words("rule.keywords", &rule.keywords, &mut v);
    let mut tx = ctx.pool.begin().await?;
    let opd_known: Option<(bool,)> = sqlx::query_as("SELECT active FROM opds WHERE code = $1")
        .bind(&rule.opd_code)
        .fetch_optional(&mut *tx)
        .await?;
    if opd_known.is_none() && OpdCode::parse(&rule.opd_code).is_ok() {
        v.push(violation("rule.opd_code", "is not in the OPD directory"));
    }
    if !v.is_empty() {
        return Err(ApiError::InvalidArgument(v));
    }
    let (created,): (bool,) = sqlx::query_as(
        "INSERT INTO rules (rule_id, category, opd_code, priority, kinds, kecamatan, keywords)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (rule_id) DO UPDATE SET category = EXCLUDED.category, opd_code = EXCLUDED.opd_code,
             priority = EXCLUDED.priority, kinds = EXCLUDED.kinds, kecamatan = EXCLUDED.kecamatan,
             keywords = EXCLUDED.keywords
         RETURNING (xmax = 0)",
    )
    .bind(&rule.rule_id)
    .bind(&rule.category)
    .bind(&rule.opd_code)
    .bind(rule.priority)
    .bind(&kinds)
    .bind(&rule.kecamatan)
    .bind(&rule.keywords)
    .fetch_one(&mut *tx)
    .await?;
    let event = ev::RuleUpserted {
        rule_id: rule.rule_id.clone(),
        category: rule.category.clone(),
        opd_code: rule.opd_code.clone(),
        priority: rule.priority,
        kinds: rule.kinds.clone(),
        kecamatan: rule.kecamatan.clone(),
        keywords: rule.keywords.clone(),
        actor: actor.to_owned(),
        upserted_at: Some(timestamp(ctx.clock.now())),
    };
    audit::record(ctx, &mut tx, &format!("rule-{}", rule.rule_id), &event).await?;
    tx.commit().await?;
    Ok(pb::UpsertRuleResponse {
        rule: Some(rule),
        created,
    })
}

/// `DeleteRule`: removes a rule and records who did it.
pub(crate) async fn delete_rule(ctx: &ServiceContext, actor: &str, rule_id: &str) -> Result<(), ApiError> {
    if !valid_rule_id(rule_id) {
        return Err(ApiError::field(
            "rule_id",
            "must be 1 to 64 lower-case letters, digits, - or _",
        ));
    }
    let mut tx = ctx.pool.begin().await?;
    let deleted = sqlx::query("DELETE FROM rules WHERE rule_id = $1")
        .bind(rule_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if deleted == 0 {
        return Err(ApiError::NotFound(format!("no rule {rule_id}")));
    }
    let event = ev::RuleDeleted {
        rule_id: rule_id.to_owned(),
        actor: actor.to_owned(),
        deleted_at: Some(timestamp(ctx.clock.now())),
    };
    audit::record(ctx, &mut tx, &format!("rule-{rule_id}"), &event).await?;
    tx.commit().await?;
    Ok(())
}

/// OPDs that must not receive questions: those switched off in the directory.
pub(crate) async fn inactive_opds(conn: &mut PgConnection) -> Result<Vec<OpdCode>, sqlx::Error> {
    let rows: Vec<(String,)> = sqlx::query_as("SELECT code FROM opds WHERE NOT active")
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(c,)| OpdCode::parse(&c).ok())
        .collect())
}

/// `ExplainRoute`: what the router would decide for such a question now.
pub(crate) async fn explain(
    ctx: &ServiceContext,
    r: pb::ExplainRouteRequest,
) -> Result<pb::ExplainRouteResponse, ApiError> {
    let mut v = Vec::new();
    let kind = kind_from_proto(r.kind);
    if kind.is_none() {
        v.push(violation("kind", "is required"));
    }
    if r.category.trim().is_empty() {
        v.push(violation("category", "is required"));
    }
    let mut excluded = Vec::new();
    for (i, code) in r.excluded_opd_codes.iter().enumerate() {
        match OpdCode::parse(code) {
            Ok(c) => excluded.push(c),
            Err(_) => v.push(violation(
                format!("excluded_opd_codes[{i}]"),
                "is not an OPD code",
            )),
        }
    }
    let Some(kind) = kind.filter(|_| v.is_empty()) else {
        return Err(ApiError::InvalidArgument(v));
    };
    let mut conn = ctx.pool.acquire().await?;
    let rules: RuleSet = router::load_rules(&mut conn).await?;
    let inactive = inactive_opds(&mut conn).await?;
    excluded.extend(inactive.iter().cloned());
    let query = RouteQuery {
        category: r.category.trim(),
        kind,
        kecamatan: r.kecamatan.trim(),
        text: &r.text,
    };
    Ok(match rules.route(&query, &excluded) {
        RouteDecision::Routed { opd, rule_id, reason } => pb::ExplainRouteResponse {
            triage: false,
            opd_code: opd.to_string(),
            rule_id,
            reason,
        },
        RouteDecision::Triage { reason } => pb::ExplainRouteResponse {
            triage: true,
            opd_code: String::new(),
            rule_id: String::new(),
            reason,
        },
    })
}
