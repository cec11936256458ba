//! Routing's consumer: assigns each submitted question to an OPD by the rules (or to
//! triage), reroutes rejected ones away from the OPD that rejected them, and follows
//! answers, reopenings and withdrawals so it knows which SLA clocks still run.

use kenduren_bus::{CloudEvent, Subjects};
use kenduren_domain::{
    CategoryCode, OpdCode, QuestionKind, QuestionStatus, RouteDecision, RouteQuery, RoutingRule, RuleSet,
    Transition,
};
use kenduren_proto::{events::v1 as ev, AnyEvent};
use kenduren_runtime::{
    convert::{channel_from_proto, channel_name, kind_from_name, kind_from_proto, kind_name},
    new_event, timestamp, to_datetime, Clock, LifecycleEvent, ServiceContext,
};
use kenduren_store::{EventHandler, EventStore, ExpectedVersion, HandlerError};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{clock, directory::inactive_opds};

/// The routing consumer.
#[derive(Debug, Clone)]
pub struct Router {
    store: EventStore,
    subjects: Subjects,
    clock: Clock,
}

impl Router {
    /// A router appending to the service's store.
    pub fn new(ctx: &ServiceContext) -> Self {
        Self {
            store: ctx.store.clone(),
            subjects: ctx.subjects.clone(),
            clock: ctx.clock,
        }
    }
}

fn transient(e: impl std::fmt::Display) -> HandlerError {
    HandlerError::transient(e.to_string())
}

fn parse_id(id: &str) -> Result<Uuid, HandlerError> {
    Uuid::parse_str(id).map_err(|_| HandlerError::Poison(format!("bad question id {id:?}")))
}

impl EventHandler for Router {
    async fn handle(&self, conn: &mut PgConnection, event: &CloudEvent) -> Result<(), HandlerError> {
        match AnyEvent::decode(&event.ty, &event.data).map_err(|e| HandlerError::Poison(e.to_string()))? {
            AnyEvent::QuestionSubmitted(e) => self.on_submitted(conn, event, e).await,
            AnyEvent::AssignmentRejected(e) => {
                let id = parse_id(&e.question_id)?;
                transition(conn, id, e.transition()).await?;
                sqlx::query(
                    "UPDATE questions SET rejected_by = array_append(rejected_by, $2), opd_code = NULL WHERE question_id = $1",
                )
                .bind(id)
                .bind(&e.opd_code)
                .execute(&mut *conn)
                .await
                .map_err(transient)?;
                clock::stop(conn, id).await.map_err(transient)?;
                self.route(conn, id, event.id).await
            }
            AnyEvent::QuestionAcknowledged(e) => {
                transition(conn, parse_id(&e.question_id)?, e.transition()).await
            }
            AnyEvent::QuestionAnswered(e) => {
                let id = parse_id(&e.question_id)?;
                transition(conn, id, e.transition()).await?;
                // The answer stops the clock: no escalation for this assignment any more.
                clock::stop(conn, id).await.map_err(transient)
            }
            AnyEvent::AnswerRated(e) => {
                let id = parse_id(&e.question_id)?;
                transition(conn, id, e.transition()).await?;
                if e.reopens {
                    self.reschedule(conn, id, event, e.rating).await?;
                }
                Ok(())
            }
            AnyEvent::FollowUpPlanned(e) => transition(conn, parse_id(&e.question_id)?, e.transition()).await,
            AnyEvent::QuestionResolved(e) => {
                transition(conn, parse_id(&e.question_id)?, e.transition()).await
            }
            AnyEvent::QuestionWithdrawn(e) => {
                let id = parse_id(&e.question_id)?;
                transition(conn, id, e.transition()).await?;
                clock::stop(conn, id).await.map_err(transient)
            }
            // Routing's own events were applied when appended; the rest is not routing's concern.
            _ => Ok(()),
        }
    }
}

impl Router {
    async fn on_submitted(
        &self,
        conn: &mut PgConnection,
        event: &CloudEvent,
        e: ev::QuestionSubmitted,
    ) -> Result<(), HandlerError> {
        let id = parse_id(&e.question_id)?;
        let kind = kind_from_proto(e.kind)
            .ok_or_else(|| HandlerError::Poison("submission without a kind".into()))?;
        let channel = channel_from_proto(e.channel)
            .ok_or_else(|| HandlerError::Poison("submission without a channel".into()))?;
        let submitted_at = e
            .submitted_at
            .as_ref()
            .and_then(to_datetime)
            .unwrap_or(event.time);
        sqlx::query(
            "INSERT INTO questions (question_id, ticket, kind, category, channel, kecamatan, text, status, submitted_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(id)
        .bind(&e.ticket)
        .bind(kind_name(kind))
        .bind(&e.category)
        .bind(channel_name(channel))
        .bind(e.location.as_ref().map(|l| l.kecamatan.as_str()).unwrap_or_default())
        .bind(&e.text)
        .bind(QuestionStatus::Submitted.as_str())
        .bind(submitted_at)
        .execute(&mut *conn)
        .await
        .map_err(transient)?;
        self.route(conn, id, event.id).await
    }

    /// Reopened: the same OPD owes a new answer, on a new clock from the rating; the
    /// new due dates go out as `QuestionRescheduled` in the same transaction, so inboxes,
    /// tracking and reporting agree with the deadlines escalation will use.
    async fn reschedule(
        &self,
        conn: &mut PgConnection,
        id: Uuid,
        rating: &CloudEvent,
        stars: u32,
    ) -> Result<(), HandlerError> {
        let Some((opd, d)) = clock::restart(conn, id, rating.time).await.map_err(transient)? else {
            return Ok(());
        };
        let stream = id.to_string();
        let version = self
            .store
            .stream_version(&mut *conn, &stream)
            .await
            .map_err(transient)?;
        let reason = format!("reopened by a rating of {stars}");
        let event = clock::rescheduled_event(&stream, &opd, reason, rating.time, &d);
        let subject = self.subjects.question(Some(&opd), "rescheduled");
        self.store
            .append(
                &mut *conn,
                &stream,
                ExpectedVersion::Exact(version),
                vec![new_event(&event, subject, Some(rating.id), self.clock.now())],
            )
            .await
            .map_err(transient)?;
        Ok(())
    }

    /// Routes a question waiting for routing and appends the outcome.
    async fn route(&self, conn: &mut PgConnection, id: Uuid, cause: Uuid) -> Result<(), HandlerError> {
        let (ticket, kind, category, kecamatan, text, rejected_by): (String, String, String, String, String, Vec<String>) =
            sqlx::query_as(
                "SELECT ticket, kind, category, kecamatan, text, rejected_by FROM questions WHERE question_id = $1",
            )
            .bind(id)
            .fetch_one(&mut *conn)
            .await
            .map_err(transient)?;
        let kind =
            kind_from_name(&kind).ok_or_else(|| HandlerError::Poison(format!("stored kind {kind:?}")))?;
        let rules = load_rules(conn).await.map_err(transient)?;
        let mut excluded: Vec<OpdCode> = rejected_by
            .iter()
            .filter_map(|c| OpdCode::parse(c).ok())
            .collect();
        excluded.extend(inactive_opds(conn).await.map_err(transient)?);
        let query = RouteQuery {
            category: &category,
            kind,
            kecamatan: &kecamatan,
            text: &text,
        };
        let now = self.clock.now();
        let stream = id.to_string();
        let version = self
            .store
            .stream_version(&mut *conn, &stream)
            .await
            .map_err(transient)?;
        match rules.route(&query, &excluded) {
            RouteDecision::Routed { opd, rule_id, reason } => {
                transition(conn, id, Transition::Route).await?;
                let d = clock::start(conn, id, opd.as_str(), now)
                    .await
                    .map_err(transient)?;
                let routed = clock::routed_event(&stream, opd.as_str(), rule_id, reason, ticket, now, &d);
                let subject = self.subjects.question(Some(opd.as_str()), "routed");
                self.store
                    .append(
                        &mut *conn,
                        &stream,
                        ExpectedVersion::Exact(version),
                        vec![new_event(&routed, subject, Some(cause), now)],
                    )
                    .await
                    .map_err(transient)?;
            }
            RouteDecision::Triage { reason } => {
                let triaged = ev::QuestionTriaged {
                    question_id: stream.clone(),
                    reason: reason.clone(),
                    triaged_at: Some(timestamp(now)),
                };
                let subject = self.subjects.question(None, "triaged");
                self.store
                    .append(
                        &mut *conn,
                        &stream,
                        ExpectedVersion::Exact(version),
                        vec![new_event(&triaged, subject, Some(cause), now)],
                    )
                    .await
                    .map_err(transient)?;
                transition(conn, id, triaged.transition()).await?;
                sqlx::query(
                    "UPDATE questions SET triage_reason = $2, triaged_at = $3 WHERE question_id = $1",
                )
                .bind(id)
                .bind(reason)
                .bind(now)
                .execute(&mut *conn)
                .await
                .map_err(transient)?;
            }
        }
        Ok(())
    }
}

/// Moves the question's status in routing's view, or reports a gap.
async fn transition(conn: &mut PgConnection, id: Uuid, t: Transition) -> Result<(), HandlerError> {
    let current: Option<(String,)> =
        sqlx::query_as("SELECT status FROM questions WHERE question_id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(transient)?;
    let Some((status,)) = current else {
        return Err(HandlerError::Gap(format!(
            "question {id} not seen by routing yet"
        )));
    };
    let status = QuestionStatus::parse(&status)
        .ok_or_else(|| HandlerError::Poison(format!("stored status {status:?}")))?;
    let next = status.apply(t).map_err(|e| HandlerError::Gap(e.to_string()))?;
    sqlx::query("UPDATE questions SET status = $2 WHERE question_id = $1")
        .bind(id)
        .bind(next.as_str())
        .execute(&mut *conn)
        .await
        .map_err(transient)?;
    Ok(())
}

type RuleRow = (String, String, String, i32, Vec<String>, Vec<String>, Vec<String>);

/// The rules in force; read per question so every instance sees an admin's change at once.
pub(crate) async fn load_rules(conn: &mut PgConnection) -> Result<RuleSet, sqlx::Error> {
    let rows: Vec<RuleRow> =
        sqlx::query_as("SELECT rule_id, category, opd_code, priority, kinds, kecamatan, keywords FROM rules")
            .fetch_all(&mut *conn)
            .await?;
    let mut rules = Vec::with_capacity(rows.len());
    for (id, category, opd, priority, kinds, kecamatan, keywords) in rows {
        let (Ok(category), Ok(opd)) = (CategoryCode::parse(&category), OpdCode::parse(&opd)) else {
            tracing::warn!(rule_id = %id, "skipping a stored rule with an invalid category or OPD");
            continue;
        };
        let kinds: Vec<QuestionKind> = kinds.iter().filter_map(|k| kind_from_name(k)).collect();
        rules.push(RoutingRule {
            id,
            category,
            opd,
            priority,
            kinds,
            kecamatan,
            keywords,
        });
    }
    Ok(RuleSet::new(rules))
}
