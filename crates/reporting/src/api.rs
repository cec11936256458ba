//! `ReportingService`'s RPC handlers.

use chrono::{DateTime, Utc};
use kenduren_auth::{authorize, Role};
use kenduren_domain::QuestionId;
use kenduren_proto::reporting::v1::{
    reporting_service_server::ReportingService, GetOpdScorecardsRequest, GetOpdScorecardsResponse,
    GetQuestionTimelineRequest, GetQuestionTimelineResponse, OpdScorecard, TimelineEvent,
};
use kenduren_runtime::{timestamp, to_datetime, ApiError, ServiceContext};
use tonic::{Request, Response, Status};
use uuid::Uuid;

/// The reporting API over its read models.
#[derive(Debug, Clone)]
pub struct Reporting {
    ctx: ServiceContext,
}

impl Reporting {
    /// An API bound to the service's read models.
    pub fn new(ctx: ServiceContext) -> Self {
        Self { ctx }
    }
}

type TimelineRow = (Uuid, String, String, DateTime<Utc>, String, String);
type ScoreRow = (String, i64, i64, i64, i64, i64);

/// Reporting is for analysts and admins; it never shows citizen identity.
fn analyst_or_admin(role: &Role) -> bool {
    matches!(role, Role::Analyst | Role::Admin)
}

#[tonic::async_trait]
impl ReportingService for Reporting {
    #[tracing::instrument(skip_all, fields(rpc.method = "GetQuestionTimeline", question_id = %request.get_ref().question_id), err)]
    async fn get_question_timeline(
        &self,
        request: Request<GetQuestionTimelineRequest>,
    ) -> Result<Response<GetQuestionTimelineResponse>, Status> {
        authorize(&request, "analyst, admin", analyst_or_admin)?;
        let req = request.into_inner();
        let id =
            QuestionId::parse(&req.question_id).map_err(|e| ApiError::field("question_id", e.to_string()))?;
        let rows: Vec<TimelineRow> = sqlx::query_as(
            "SELECT event_id, event_type, source, occurred_at, actor, summary FROM timeline
             WHERE question_id = $1 ORDER BY seq",
        )
        .bind(id.as_uuid())
        .fetch_all(&self.ctx.pool)
        .await
        .map_err(ApiError::from)?;
        if rows.is_empty() {
            return Err(ApiError::NotFound(format!("no events for question {id}")).into());
        }
        let events = rows
            .into_iter()
            .map(
                |(event_id, event_type, source, occurred_at, actor, summary)| TimelineEvent {
                    event_id: event_id.to_string(),
                    event_type,
                    source,
                    occurred_at: Some(timestamp(occurred_at)),
                    actor,
                    summary,
                },
            )
            .collect();
        Ok(Response::new(GetQuestionTimelineResponse {
            question_id: id.to_string(),
            events,
        }))
    }

    #[tracing::instrument(skip_all, fields(rpc.method = "GetOpdScorecards"), err)]
    async fn get_opd_scorecards(
        &self,
        request: Request<GetOpdScorecardsRequest>,
    ) -> Result<Response<GetOpdScorecardsResponse>, Status> {
        authorize(&request, "analyst, admin", analyst_or_admin)?;
        let req = request.into_inner();
        let bound = |ts: &Option<prost_types::Timestamp>, field: &str| match ts {
            None => Ok(None),
            Some(t) => to_datetime(t)
                .map(Some)
                .ok_or_else(|| ApiError::field(field, "not a valid timestamp")),
        };
        let from = bound(&req.from, "from")?;
        let to = bound(&req.to, "to")?;
        let rows: Vec<ScoreRow> = sqlx::query_as(
            "SELECT opd_code,
                    count(*),
                    count(answered_at),
                    count(*) FILTER (WHERE answered_within_due),
                    count(*) FILTER (WHERE status IN ('ROUTED', 'ACKNOWLEDGED')),
                    count(*) FILTER (WHERE status IN ('ROUTED', 'ACKNOWLEDGED') AND due_at < now())
             FROM question_facts
             WHERE opd_code IS NOT NULL
               AND ($1::timestamptz IS NULL OR routed_at >= $1)
               AND ($2::timestamptz IS NULL OR routed_at < $2)
             GROUP BY opd_code ORDER BY opd_code",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&self.ctx.pool)
        .await
        .map_err(ApiError::from)?;
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        let scorecards = rows
            .into_iter()
            .map(
                |(opd_code, assigned, answered, within, open, overdue)| OpdScorecard {
                    opd_code,
                    assigned: count(assigned),
                    answered: count(answered),
                    answered_within_due: count(within),
                    open: count(open),
                    overdue: count(overdue),
                },
            )
            .collect();
        Ok(Response::new(GetOpdScorecardsResponse { scorecards }))
    }
}
