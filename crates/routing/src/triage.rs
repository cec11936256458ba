//! Where people step in: the triage queue of questions no rule matched, routing one of
//! them by hand, and moving an open question to another OPD.

use chrono::{DateTime, Utc};
use kenduren_domain::{FieldViolation, OpdCode, QuestionId, QuestionStatus, Transition};
use kenduren_proto::{events::v1 as ev, routing::v1 as pb, EventMessage};
use kenduren_runtime::{
    convert::{kind_from_name, kind_to_proto},
    new_event, timestamp, ApiError, ServiceContext,
};
use kenduren_store::ExpectedVersion;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{clock, paging::Page};

type TriageRow = (
    Uuid,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<DateTime<Utc>>,
    Vec<String>,
);

/// `ListTriage`: questions waiting for an admin, oldest first.
pub(crate) async fn list(
    ctx: &ServiceContext,
    r: pb::ListTriageRequest,
) -> Result<pb::ListTriageResponse, ApiError> {
    let mut v = Vec::new();
    let page = Page::parse(r.page_size, &r.page_token, 50, 100, &mut v);
    if !v.is_empty() {
        return Err(ApiError::InvalidArgument(v));
    }
    let rows: Vec<TriageRow> = sqlx::query_as(
        "SELECT question_id, ticket, kind, category, kecamatan, text, triage_reason, triaged_at, rejected_by
         FROM questions WHERE status = 'TRIAGE' ORDER BY triaged_at, question_id LIMIT $1 OFFSET $2",
    )
    .bind(page.size + 1)
    .bind(page.offset)
    .fetch_all(&ctx.pool)
    .await?;
    let next_page_token = page.next_token(rows.len());
    let items = rows
        .into_iter()
        .take(usize::try_from(page.size).unwrap_or(usize::MAX))
        .map(
            |(id, ticket, kind, category, kecamatan, text, reason, at, rejected_by)| pb::TriageItem {
                question_id: id.to_string(),
                ticket,
                kind: kind_from_name(&kind).map_or(0, |k| kind_to_proto(k) as i32),
                category,
                kecamatan,
                text,
                reason: reason.unwrap_or_default(),
                triaged_at: at.map(timestamp),
                rejected_by,
            },
        )
        .collect();
    Ok(pb::ListTriageResponse {
        items,
        next_page_token,
    })
}

/// A validated "send this question to that OPD, because" request.
struct Move {
    id: Uuid,
    opd: OpdCode,
    reason: String,
}

fn validate(question_id: &str, opd_code: &str, reason: &str) -> Result<Move, ApiError> {
    let mut v = Vec::new();
    let id = QuestionId::parse(question_id).ok();
    if id.is_none() {
        v.push(FieldViolation {
            field: "question_id".into(),
            description: "must be a question id (UUID)".into(),
        });
    }
    let opd = OpdCode::parse(opd_code).ok();
    if opd.is_none() {
        v.push(FieldViolation {
            field: "opd_code".into(),
            description: "must be an OPD code".into(),
        });
    }
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 1000 {
        v.push(FieldViolation {
            field: "reason".into(),
            description: "must be 1 to 1000 characters".into(),
        });
    }
    match (id, opd) {
        (Some(id), Some(opd)) if v.is_empty() => Ok(Move {
            id: id.as_uuid(),
            opd,
            reason: reason.to_owned(),
        }),
        _ => Err(ApiError::InvalidArgument(v)),
    }
}

/// The question's row, locked, and its status after `t`; refused if the lifecycle forbids it.
async fn lock(
    conn: &mut PgConnection,
    id: Uuid,
    t: Transition,
) -> Result<(String, Option<String>, QuestionStatus), ApiError> {
    let row: Option<(String, String, Option<String>)> =
        sqlx::query_as("SELECT status, ticket, opd_code FROM questions WHERE question_id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    let Some((status, ticket, opd)) = row else {
        return Err(ApiError::NotFound(format!("no question {id}")));
    };
    let status = QuestionStatus::parse(&status)
        .ok_or_else(|| ApiError::Internal(format!("stored status {status:?}")))?;
    let next = status.apply(t)?;
    sqlx::query("UPDATE questions SET status = $2 WHERE question_id = $1")
        .bind(id)
        .bind(next.as_str())
        .execute(&mut *conn)
        .await?;
    Ok((ticket, opd, status))
}

/// Refuses an OPD that is not in the directory or not active.
async fn check_opd(conn: &mut PgConnection, opd: &OpdCode) -> Result<(), ApiError> {
    let active: Option<(bool,)> = sqlx::query_as("SELECT active FROM opds WHERE code = $1")
        .bind(opd.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    match active {
        Some((true,)) => Ok(()),
        Some((false,)) => Err(ApiError::FailedPrecondition(format!("OPD {opd} is inactive"))),
        None => Err(ApiError::field("opd_code", "is not in the OPD directory")),
    }
}

/// `RouteManually`: sends a question waiting in triage to an OPD.
pub(crate) async fn route_manually(
    ctx: &ServiceContext,
    r: pb::RouteManuallyRequest,
) -> Result<pb::RouteManuallyResponse, ApiError> {
    let m = validate(&r.question_id, &r.opd_code, &r.reason)?;
    let mut tx = ctx.pool.begin().await?;
    check_opd(&mut tx, &m.opd).await?;
    let (ticket, _, status) = lock(&mut tx, m.id, Transition::Route).await?;
    if status != QuestionStatus::Triage {
        // Route is also allowed from SUBMITTED, but that one belongs to the router.
        return Err(ApiError::FailedPrecondition(format!(
            "question {} is {status}, not in triage; use ReassignQuestion to move it",
            m.id
        )));
    }
    let stream = m.id.to_string();
    let version = ctx.store.stream_version(&mut tx, &stream).await?;
    let (cause,): (Uuid,) = sqlx::query_as(
        "SELECT event_id FROM events WHERE stream_id = $1 AND event_type = $2 ORDER BY stream_version DESC LIMIT 1",
    )
    .bind(&stream)
    .bind(ev::QuestionTriaged::TYPE)
    .fetch_one(&mut *tx)
    .await?;
    let now = ctx.clock.now();
    let d = clock::start(&mut tx, m.id, m.opd.as_str(), now).await?;
    let routed = clock::routed_event(&stream, m.opd.as_str(), String::new(), m.reason, ticket, now, &d);
    let subject = ctx.subjects.question(Some(m.opd.as_str()), "routed");
    ctx.store
        .append(
            &mut tx,
            &stream,
            ExpectedVersion::Exact(version),
            vec![new_event(&routed, subject, Some(cause), now)],
        )
        .await?;
    tx.commit().await?;
    Ok(pb::RouteManuallyResponse { routed: Some(routed) })
}

/// `ReassignQuestion`: moves an open question to another OPD, with a new due date.
pub(crate) async fn reassign(
    ctx: &ServiceContext,
    r: pb::ReassignQuestionRequest,
) -> Result<pb::ReassignQuestionResponse, ApiError> {
    let m = validate(&r.question_id, &r.opd_code, &r.reason)?;
    let mut tx = ctx.pool.begin().await?;
    check_opd(&mut tx, &m.opd).await?;
    let (_, from, _) = lock(&mut tx, m.id, Transition::Reassign).await?;
    let from = from.unwrap_or_default();
    if from == m.opd.as_str() {
        return Err(ApiError::FailedPrecondition(format!(
            "question {} is already with {from}",
            m.id
        )));
    }
    let stream = m.id.to_string();
    let version = ctx.store.stream_version(&mut tx, &stream).await?;
    let now = ctx.clock.now();
    let d = clock::start(&mut tx, m.id, m.opd.as_str(), now).await?;
    let reassigned = ev::QuestionReassigned {
        question_id: stream.clone(),
        from_opd_code: from,
        to_opd_code: m.opd.to_string(),
        reason: m.reason,
        due_at: Some(timestamp(d.answer_due)),
        reassigned_at: Some(timestamp(now)),
    };
    // On the new OPD's subject: it is the one that must act.
    let subject = ctx.subjects.question(Some(m.opd.as_str()), "reassigned");
    ctx.store
        .append(
            &mut tx,
            &stream,
            ExpectedVersion::Exact(version),
            vec![new_event(&reassigned, subject, None, now)],
        )
        .await?;
    tx.commit().await?;
    Ok(pb::ReassignQuestionResponse {
        reassigned: Some(reassigned),
    })
}
