//! One request per RPC, valid for an allowed caller wherever a side effect is harmless.

use kenduren_proto::{
    answering::v1::{self as ans, answering_service_client::AnsweringServiceClient},
    events::v1::QuestionKind,
    intake::v1::{self as int, intake_service_client::IntakeServiceClient},
    reporting::v1::{self as rep, reporting_service_client::ReportingServiceClient},
    routing::v1::{self as rou, routing_service_client::RoutingServiceClient},
};
use tonic::Status;

use super::{Caller, Fixture};
use crate::walking_skeleton::ktp_question;

const OWN: &str = "DISPENDUKCAPIL";

/// Calls `rpc` as `c` with a request that is valid for an allowed caller wherever a
/// side effect is harmless; admin-only writes get empty requests, which an allowed
/// caller sees refused as INVALID_ARGUMENT only after authorization.
pub async fn call(rpc: &str, c: &Caller, fx: &Fixture, n: usize) -> Result<(), Status> {
    let mut intake = IntakeServiceClient::new(c.intake.clone());
    let mut routing = RoutingServiceClient::new(c.routing.clone());
    let mut answering = AnsweringServiceClient::new(c.answering.clone());
    let mut reporting = ReportingServiceClient::new(c.reporting.clone());
    let q = || fx.question_id.clone();
    let own = || OWN.to_owned();
    match rpc {
        "IntakeService.SubmitQuestion" => drop(
            intake
                .submit_question(ktp_question(&format!("matrix-{n}")))
                .await?,
        ),
        "IntakeService.TrackQuestion" => drop(
            intake
                .track_question(int::TrackQuestionRequest {
                    ticket: fx.ticket.clone(),
                    tracking_pin: fx.pin.clone(),
                })
                .await?,
        ),
        "IntakeService.WithdrawQuestion" => drop(
            intake
                .withdraw_question(int::WithdrawQuestionRequest {
                    ticket: fx.other_ticket.clone(),
                    tracking_pin: fx.other_pin.clone(),
                    reason: "sudah selesai".into(),
                })
                .await?,
        ),
        "IntakeService.RateAnswer" => drop(
            intake
                .rate_answer(int::RateAnswerRequest {
                    ticket: fx.other_ticket.clone(),
                    tracking_pin: fx.other_pin.clone(),
                    rating: 5,
                    comment: String::new(),
                })
                .await?,
        ),
        "IntakeService.ScheduleSession" => drop(
            intake
                .schedule_session(int::ScheduleSessionRequest::default())
                .await?,
        ),
        "IntakeService.ListSessions" => {
            drop(intake.list_sessions(int::ListSessionsRequest::default()).await?)
        }
        "IntakeService.GetSession" => drop(
            intake
                .get_session(int::GetSessionRequest {
                    session_id: fx.session_id.clone(),
                })
                .await?,
        ),
        "IntakeService.CheckInOpd" => drop(
            intake
                .check_in_opd(int::CheckInOpdRequest {
                    session_id: fx.session_id.clone(),
                    opd_code: own(),
                    representative: "Budi".into(),
                })
                .await?,
        ),
        "IntakeService.GetCitizenContact" => drop(
            intake
                .get_citizen_contact(int::GetCitizenContactRequest { question_id: q() })
                .await?,
        ),
        "IntakeService.EraseCitizen" => drop(
            intake
                .erase_citizen(int::EraseCitizenRequest {
                    ticket: fx.other_ticket.clone(),
                    reason: "uji akses".into(),
                })
                .await?,
        ),
        "RoutingService.ListOpds" => drop(routing.list_opds(rou::ListOpdsRequest::default()).await?),
        "RoutingService.UpsertOpd" => drop(routing.upsert_opd(rou::UpsertOpdRequest::default()).await?),
        "RoutingService.ListRules" => drop(routing.list_rules(rou::ListRulesRequest::default()).await?),
        "RoutingService.UpsertRule" => drop(routing.upsert_rule(rou::UpsertRuleRequest::default()).await?),
        "RoutingService.DeleteRule" => drop(routing.delete_rule(rou::DeleteRuleRequest::default()).await?),
        "RoutingService.ExplainRoute" => drop(
            routing
                .explain_route(rou::ExplainRouteRequest {
                    kind: QuestionKind::Question as i32,
                    category: "kependudukan".into(),
                    kecamatan: "Bangil".into(),
                    text: "KTP hilang".into(),
                    excluded_opd_codes: vec![],
                })
                .await?,
        ),
        "RoutingService.ListTriage" => drop(routing.list_triage(rou::ListTriageRequest::default()).await?),
        "RoutingService.RouteManually" => drop(
            routing
                .route_manually(rou::RouteManuallyRequest::default())
                .await?,
        ),
        "RoutingService.ReassignQuestion" => drop(
            routing
                .reassign_question(rou::ReassignQuestionRequest::default())
                .await?,
        ),
        "RoutingService.GetSlaPolicy" => drop(
            routing
                .get_sla_policy(rou::GetSlaPolicyRequest::default())
                .await?,
        ),
        "RoutingService.UpdateSlaPolicy" => drop(
            routing
                .update_sla_policy(rou::UpdateSlaPolicyRequest::default())
                .await?,
        ),
        "RoutingService.ListHolidays" => {
            drop(routing.list_holidays(rou::ListHolidaysRequest::default()).await?)
        }
        "RoutingService.SetHolidays" => drop(routing.set_holidays(rou::SetHolidaysRequest::default()).await?),
        "RoutingService.RunEscalations" => drop(
            routing
                .run_escalations(rou::RunEscalationsRequest::default())
                .await?,
        ),
        "AnsweringService.ListInbox" => drop(
            answering
                .list_inbox(ans::ListInboxRequest {
                    opd_code: own(),
                    ..Default::default()
                })
                .await?,
        ),
        "AnsweringService.GetQuestion" => drop(
            answering
                .get_question(ans::GetQuestionRequest {
                    question_id: q(),
                    opd_code: String::new(),
                })
                .await?,
        ),
        "AnsweringService.AcknowledgeQuestion" => drop(
            answering
                .acknowledge_question(ans::AcknowledgeQuestionRequest {
                    question_id: q(),
                    staff_name: "Budi".into(),
                    ..Default::default()
                })
                .await?,
        ),
        "AnsweringService.AnswerQuestion" => drop(
            answering
                .answer_question(ans::AnswerQuestionRequest {
                    question_id: q(),
                    answer: "Datang ke kantor dengan surat kehilangan.".into(),
                    responder_name: "Budi".into(),
                    responder_position: "Kasi Pelayanan".into(),
                    ..Default::default()
                })
                .await?,
        ),
        "AnsweringService.PlanFollowUp" => drop(
            answering
                .plan_follow_up(ans::PlanFollowUpRequest {
                    question_id: q(),
                    plan: "Petugas menghubungi warga minggu depan.".into(),
                    planned_by: Some(prost_types::Timestamp {
                        seconds: chrono::Utc::now().timestamp() + 7 * 86_400,
                        nanos: 0,
                    }),
                    ..Default::default()
                })
                .await?,
        ),
        "AnsweringService.ResolveQuestion" => drop(
            answering
                .resolve_question(ans::ResolveQuestionRequest {
                    question_id: q(),
                    note: "selesai".into(),
                    ..Default::default()
                })
                .await?,
        ),
        "AnsweringService.RejectAssignment" => drop(
            answering
                .reject_assignment(ans::RejectAssignmentRequest {
                    question_id: q(),
                    reason: "bukan kewenangan kami".into(),
                    ..Default::default()
                })
                .await?,
        ),
        "AnsweringService.ListTemplates" => drop(
            answering
                .list_templates(ans::ListTemplatesRequest {
                    opd_code: own(),
                    ..Default::default()
                })
                .await?,
        ),
        "AnsweringService.UpsertTemplate" => drop(
            answering
                .upsert_template(ans::UpsertTemplateRequest {
                    opd_code: own(),
                    template_id: "ktp-hilang".into(),
                    title: "KTP hilang".into(),
                    body: "Bawa surat kehilangan dari kepolisian.".into(),
                    category: "kependudukan".into(),
                })
                .await?,
        ),
        "ReportingService.GetQuestionTimeline" => drop(
            reporting
                .get_question_timeline(rep::GetQuestionTimelineRequest { question_id: q() })
                .await?,
        ),
        "ReportingService.GetOpdScorecards" => drop(
            reporting
                .get_opd_scorecards(rep::GetOpdScorecardsRequest::default())
                .await?,
        ),
        "ReportingService.GetSessionReport" => drop(
            reporting
                .get_session_report(rep::GetSessionReportRequest {
                    session_id: fx.session_id.clone(),
                })
                .await?,
        ),
        "ReportingService.ListUnanswered" => drop(
            reporting
                .list_unanswered(rep::ListUnansweredRequest::default())
                .await?,
        ),
        "ReportingService.GetTrends" => drop(reporting.get_trends(rep::GetTrendsRequest::default()).await?),
        "ReportingService.ExportQuestions" => drop(
            reporting
                .export_questions(rep::ExportQuestionsRequest::default())
                .await?,
        ),
        other => panic!("the access table names {other}, which this test cannot call"),
    }
    Ok(())
}
