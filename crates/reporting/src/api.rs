//! `ReportingService`'s RPC handlers: authorize, validate, call one query module.

use chrono::{DateTime, Utc};
use kenduren_auth::{authorize, Role};
use kenduren_domain::QuestionId;
use kenduren_proto::reporting::v1::{
    reporting_service_server::ReportingService, ExportQuestionsRequest, ExportQuestionsResponse,
    GetOpdScorecardsRequest, GetOpdScorecardsResponse, GetQuestionTimelineRequest,
    GetQuestionTimelineResponse, GetSessionReportRequest, GetSessionReportResponse, GetTrendsRequest,
    GetTrendsResponse, ListUnansweredRequest, ListUnansweredResponse, TimelineEvent,
};
use kenduren_runtime::{timestamp, ApiError, ServiceContext};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::queries::{export, scorecards, session, trends, unanswered, Period};

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

/// Reporting is for analysts and admins; it never shows citizen identity.
fn analyst_or_admin(role: &Role) -> bool {
    matches!(role, Role::Analyst | Role::Admin)
}

#[tonic::async_trait]
impl ReportingService for Reporting {
    #[tracing::instrument(skip_all, fields(rpc.method = "GetQuestionTimeline", question_id = %kenduren_runtime::logged(&request.get_ref().question_id)), err(level = "info"))]
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

    #[tracing::instrument(skip_all, fields(rpc.method = "GetOpdScorecards"), err(level = "info"))]
    async fn get_opd_scorecards(
        &self,
        request: Request<GetOpdScorecardsRequest>,
    ) -> Result<Response<GetOpdScorecardsResponse>, Status> {
        authorize(&request, "analyst, admin", analyst_or_admin)?;
        let req = request.into_inner();
        let period = Period::parse(&req.from, &req.to)?;
        let scorecards = scorecards::scorecards(&self.ctx.pool, period, self.ctx.clock.now()).await?;
        Ok(Response::new(GetOpdScorecardsResponse { scorecards }))
    }

    #[tracing::instrument(skip_all, fields(rpc.method = "GetSessionReport", session_id = %kenduren_runtime::logged(&request.get_ref().session_id)), err(level = "info"))]
    async fn get_session_report(
        &self,
        request: Request<GetSessionReportRequest>,
    ) -> Result<Response<GetSessionReportResponse>, Status> {
        authorize(&request, "analyst, admin", analyst_or_admin)?;
        let req = request.into_inner();
        if req.session_id.trim().is_empty() {
            return Err(ApiError::field("session_id", "required").into());
        }
        Ok(Response::new(
            session::report(&self.ctx.pool, &req.session_id, self.ctx.clock.now()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(rpc.method = "ListUnanswered"), err(level = "info"))]
    async fn list_unanswered(
        &self,
        request: Request<ListUnansweredRequest>,
    ) -> Result<Response<ListUnansweredResponse>, Status> {
        authorize(&request, "analyst, admin", analyst_or_admin)?;
        let query = unanswered::Query::parse(request.get_ref())?;
        Ok(Response::new(
            unanswered::list(&self.ctx.pool, &query, self.ctx.clock.now()).await?,
        ))
    }

    #[tracing::instrument(skip_all, fields(rpc.method = "GetTrends"), err(level = "info"))]
    async fn get_trends(
        &self,
        request: Request<GetTrendsRequest>,
    ) -> Result<Response<GetTrendsResponse>, Status> {
        authorize(&request, "analyst, admin", analyst_or_admin)?;
        let req = request.into_inner();
        let enums = trends::parse(req.granularity, req.dimension);
        let period = Period::parse(&req.from, &req.to);
        let ((unit, column), period) = match (enums, period) {
            (Ok(e), Ok(p)) => (e, p),
            (Err(ApiError::InvalidArgument(mut a)), Err(ApiError::InvalidArgument(b))) => {
                a.extend(b);
                return Err(ApiError::InvalidArgument(a).into());
            }
            (Err(e), _) | (_, Err(e)) => return Err(e.into()),
        };
        let series = trends::trends(&self.ctx.pool, unit, column, period).await?;
        Ok(Response::new(GetTrendsResponse { series }))
    }

    type ExportQuestionsStream = ReceiverStream<Result<ExportQuestionsResponse, Status>>;

    #[tracing::instrument(skip_all, fields(rpc.method = "ExportQuestions"), err(level = "info"))]
    async fn export_questions(
        &self,
        request: Request<ExportQuestionsRequest>,
    ) -> Result<Response<Self::ExportQuestionsStream>, Status> {
        authorize(&request, "analyst, admin", analyst_or_admin)?;
        let req = request.into_inner();
        let period = Period::parse(&req.from, &req.to)?;
        let total = export::total(&self.ctx.pool, period).await?;
        let (tx, rx) = mpsc::channel(64);
        tokio::spawn(export::stream(self.ctx.pool.clone(), period, total, tx));
        Ok(Response::new(ReceiverStream::new(rx)))
    }
}
