//! The hostile request of each case: which field, what value, sent as which role.

use kenduren_proto::{
    answering::v1::{self as ans, answering_service_client::AnsweringServiceClient},
    intake::v1::{self as int, intake_service_client::IntakeServiceClient},
    reporting::v1::{self as rep, reporting_service_client::ReportingServiceClient},
    routing::v1::{self as rou, routing_service_client::RoutingServiceClient},
};
use tonic::{Code, Status};

use super::{megabyte, HTML, SQL};
use crate::{access_matrix::Caller, walking_skeleton::ktp_question};

/// Too big for the server's limit or for the field's own limit.
const TOO_BIG: &[Code] = &[Code::ResourceExhausted, Code::OutOfRange, Code::InvalidArgument];
const BAD: &[Code] = &[Code::InvalidArgument];
/// A malformed id: refused as invalid, or (where any text is a valid id) not found.
const BAD_ID: &[Code] = &[Code::InvalidArgument, Code::NotFound];
const FINE: &[Code] = &[Code::Ok];

/// Hostile field values, one or more at every RPC that takes fields: (case, caller,
/// codes). Each field's own length limit has its case in `limits.rs`; the megabyte
/// cases here are refused by the server's message limit before any field is read.
pub const CASES: &[(&str, &str, &[Code])] = &[
    ("SubmitQuestion text of 1 MB", "desk", TOO_BIG),
    ("SubmitQuestion request_id of 1 MB", "desk", TOO_BIG),
    ("SubmitQuestion kind 99", "desk", BAD),
    ("SubmitQuestion channel 99", "desk", BAD),
    ("TrackQuestion ticket in SQL", "desk", BAD_ID),
    ("TrackQuestion pin of 1 MB", "desk", TOO_BIG),
    ("WithdrawQuestion reason of 1 MB", "desk", TOO_BIG),
    ("RateAnswer rating 99", "desk", BAD),
    ("RateAnswer comment of 1 MB", "desk", TOO_BIG),
    ("ScheduleSession desa of 1 MB", "admin", TOO_BIG),
    ("ScheduleSession kecamatan in SQL", "admin", BAD),
    ("ListSessions page_size -1", "desk", BAD),
    ("ListSessions page_size i32::MAX", "desk", FINE),
    ("GetSession session_id in SQL", "desk", BAD_ID),
    ("CheckInOpd opd_code in SQL", "admin", BAD_ID),
    ("GetCitizenContact question_id in SQL", "service", BAD_ID),
    ("EraseCitizen ticket in SQL", "admin", BAD_ID),
    ("UpsertOpd name of 1 MB", "admin", TOO_BIG),
    ("UpsertRule rule_id in SQL", "admin", BAD),
    ("UpsertRule kind 99", "admin", BAD),
    ("DeleteRule rule_id in SQL", "admin", BAD_ID),
    ("ExplainRoute kind 99", "desk", BAD),
    ("ListTriage page_size -1", "admin", BAD),
    ("ListTriage page_size i32::MAX", "admin", FINE),
    ("RouteManually opd_code in SQL", "admin", BAD),
    ("ReassignQuestion question_id of 1 MB", "admin", TOO_BIG),
    ("UpdateSlaPolicy answer days u32::MAX", "admin", BAD),
    ("ListHolidays page_size -1", "desk", BAD),
    ("ListHolidays page_size i32::MAX", "desk", FINE),
    ("SetHolidays date in SQL", "admin", BAD),
    ("RunEscalations as_of with negative nanos", "admin", BAD),
    ("ListInbox page_size -1", "opd:DISPENDUKCAPIL", BAD),
    ("ListInbox page_size i32::MAX", "opd:DISPENDUKCAPIL", FINE),
    ("ListInbox status 99", "opd:DISPENDUKCAPIL", BAD),
    ("GetQuestion question_id in SQL", "opd:DISPENDUKCAPIL", BAD_ID),
    (
        "AcknowledgeQuestion staff_name of 1 MB",
        "opd:DISPENDUKCAPIL",
        TOO_BIG,
    ),
    ("AnswerQuestion answer of 1 MB", "opd:DISPENDUKCAPIL", TOO_BIG),
    ("PlanFollowUp plan of 1 MB", "opd:DISPENDUKCAPIL", TOO_BIG),
    ("ResolveQuestion note of 1 MB", "opd:DISPENDUKCAPIL", TOO_BIG),
    ("RejectAssignment reason of 1 MB", "opd:DISPENDUKCAPIL", TOO_BIG),
    ("ListTemplates page_size -1", "opd:DISPENDUKCAPIL", BAD),
    ("ListTemplates page_size i32::MAX", "opd:DISPENDUKCAPIL", FINE),
    ("UpsertTemplate body of 1 MB", "opd:DISPENDUKCAPIL", TOO_BIG),
    ("GetQuestionTimeline question_id in SQL", "analyst", BAD),
    ("GetOpdScorecards from with negative nanos", "analyst", BAD),
    ("GetSessionReport session_id of 1 MB", "analyst", TOO_BIG),
    ("ListUnanswered page_size -1", "analyst", BAD),
    ("ListUnanswered page_size i32::MAX", "analyst", FINE),
    ("GetTrends granularity 99", "analyst", BAD),
    ("ExportQuestions to with negative nanos", "analyst", BAD),
];

fn bad_time() -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp {
        seconds: 1_800_000_000,
        nanos: -5,
    })
}

/// Sends the hostile request of `case` as `c`.
pub async fn send(case: &str, c: &Caller, question_id: &str) -> Result<(), Status> {
    let mut intake = IntakeServiceClient::new(c.intake.clone());
    let mut routing = RoutingServiceClient::new(c.routing.clone());
    let mut answering = AnsweringServiceClient::new(c.answering.clone());
    let mut reporting = ReportingServiceClient::new(c.reporting.clone());
    let q = || question_id.to_owned();
    let big = megabyte;
    let rid = format!("hostile-{}", case.len());
    macro_rules! go {
        ($call:expr) => {{
            $call.await?;
        }};
    }
    match case {
        "SubmitQuestion text of 1 MB" => go!(intake.submit_question(int::SubmitQuestionRequest {
            text: big(),
            ..ktp_question(&rid)
        })),
        "SubmitQuestion request_id of 1 MB" => go!(intake.submit_question(ktp_question(&big()))),
        "SubmitQuestion kind 99" => go!(intake.submit_question(int::SubmitQuestionRequest {
            kind: 99,
            ..ktp_question(&rid)
        })),
        "SubmitQuestion channel 99" => {
            go!(intake.submit_question(int::SubmitQuestionRequest {
                channel: 99,
                ..ktp_question(&rid)
            }))
        }
        "TrackQuestion ticket in SQL" => {
            go!(intake.track_question(int::TrackQuestionRequest {
                ticket: SQL.into(),
                tracking_pin: "1".into()
            }))
        }
        "TrackQuestion pin of 1 MB" => go!(intake.track_question(int::TrackQuestionRequest {
            ticket: "KM-2026-000001".into(),
            tracking_pin: big()
        })),
        "WithdrawQuestion reason of 1 MB" => go!(intake.withdraw_question(int::WithdrawQuestionRequest {
            ticket: "KM-2026-000001".into(),
            tracking_pin: "1".into(),
            reason: big()
        })),
        "RateAnswer rating 99" => go!(intake.rate_answer(int::RateAnswerRequest {
            ticket: "KM-2026-000001".into(),
            tracking_pin: "1".into(),
            rating: 99,
            comment: String::new()
        })),
        "RateAnswer comment of 1 MB" => go!(intake.rate_answer(int::RateAnswerRequest {
            ticket: "KM-2026-000001".into(),
            tracking_pin: "1".into(),
            rating: 5,
            comment: big()
        })),
        "ScheduleSession desa of 1 MB" => go!(intake.schedule_session(int::ScheduleSessionRequest {
            session_id: "hostile".into(),
            dates: vec!["2026-06-10".into()],
            kecamatan: "Bangil".into(),
            desa: big(),
            ..Default::default()
        })),
        "ScheduleSession kecamatan in SQL" => go!(intake.schedule_session(int::ScheduleSessionRequest {
            session_id: "hostile".into(),
            dates: vec!["2026-06-10".into()],
            kecamatan: SQL.into(),
            ..Default::default()
        })),
        "ListSessions page_size -1" => go!(intake.list_sessions(int::ListSessionsRequest {
            page_size: -1,
            ..Default::default()
        })),
        "ListSessions page_size i32::MAX" => {
            go!(intake.list_sessions(int::ListSessionsRequest {
                page_size: i32::MAX,
                ..Default::default()
            }))
        }
        "GetSession session_id in SQL" => go!(intake.get_session(int::GetSessionRequest {
            session_id: SQL.into()
        })),
        "CheckInOpd opd_code in SQL" => go!(intake.check_in_opd(int::CheckInOpdRequest {
            session_id: "matrix-session".into(),
            opd_code: SQL.into(),
            representative: "x".into()
        })),
        "GetCitizenContact question_id in SQL" => {
            go!(intake.get_citizen_contact(int::GetCitizenContactRequest {
                question_id: SQL.into()
            }))
        }
        "EraseCitizen ticket in SQL" => {
            go!(intake.erase_citizen(int::EraseCitizenRequest {
                ticket: SQL.into(),
                reason: "x".into()
            }))
        }
        "UpsertOpd name of 1 MB" => go!(routing.upsert_opd(rou::UpsertOpdRequest {
            opd: Some(rou::Opd {
                code: "DINKES".into(),
                name: big(),
                contact: String::new(),
                active: true
            })
        })),
        "UpsertRule rule_id in SQL" => go!(routing.upsert_rule(rou::UpsertRuleRequest {
            rule: Some(rou::Rule {
                rule_id: SQL.into(),
                category: "kependudukan".into(),
                opd_code: "DINKES".into(),
                ..Default::default()
            })
        })),
        "UpsertRule kind 99" => go!(routing.upsert_rule(rou::UpsertRuleRequest {
            rule: Some(rou::Rule {
                rule_id: "hostile-rule".into(),
                category: "kependudukan".into(),
                opd_code: "DINKES".into(),
                kinds: vec![99],
                ..Default::default()
            })
        })),
        "DeleteRule rule_id in SQL" => {
            go!(routing.delete_rule(rou::DeleteRuleRequest { rule_id: SQL.into() }))
        }
        "ExplainRoute kind 99" => go!(routing.explain_route(rou::ExplainRouteRequest {
            kind: 99,
            category: "kependudukan".into(),
            kecamatan: "Bangil".into(),
            ..Default::default()
        })),
        "ListTriage page_size -1" => go!(routing.list_triage(rou::ListTriageRequest {
            page_size: -1,
            ..Default::default()
        })),
        "ListTriage page_size i32::MAX" => {
            go!(routing.list_triage(rou::ListTriageRequest {
                page_size: i32::MAX,
                ..Default::default()
            }))
        }
        "RouteManually opd_code in SQL" => go!(routing.route_manually(rou::RouteManuallyRequest {
            question_id: q(),
            opd_code: SQL.into(),
            reason: "x".into()
        })),
        "ReassignQuestion question_id of 1 MB" => {
            go!(routing.reassign_question(rou::ReassignQuestionRequest {
                question_id: big(),
                opd_code: "DINKES".into(),
                reason: "x".into()
            }))
        }
        "UpdateSlaPolicy answer days u32::MAX" => {
            go!(routing.update_sla_policy(rou::UpdateSlaPolicyRequest {
                policy: Some(rou::SlaPolicy {
                    answer_working_days: u32::MAX,
                    resolution_days: 60,
                    level2_after_working_days: 3,
                    targets: vec![]
                })
            }))
        }
        "ListHolidays page_size -1" => {
            go!(routing.list_holidays(rou::ListHolidaysRequest {
                page_size: -1,
                ..Default::default()
            }))
        }
        "ListHolidays page_size i32::MAX" => {
            go!(routing.list_holidays(rou::ListHolidaysRequest {
                page_size: i32::MAX,
                ..Default::default()
            }))
        }
        "SetHolidays date in SQL" => go!(routing.set_holidays(rou::SetHolidaysRequest {
            year: 2026,
            holidays: vec![kenduren_proto::events::v1::Holiday {
                date: SQL.into(),
                name: HTML.into()
            }]
        })),
        "RunEscalations as_of with negative nanos" => {
            go!(routing.run_escalations(rou::RunEscalationsRequest { as_of: bad_time() }))
        }
        "ListInbox page_size -1" => go!(answering.list_inbox(ans::ListInboxRequest {
            page_size: -1,
            ..Default::default()
        })),
        "ListInbox page_size i32::MAX" => {
            go!(answering.list_inbox(ans::ListInboxRequest {
                page_size: i32::MAX,
                ..Default::default()
            }))
        }
        "ListInbox status 99" => go!(answering.list_inbox(ans::ListInboxRequest {
            statuses: vec![99],
            ..Default::default()
        })),
        "GetQuestion question_id in SQL" => {
            go!(answering.get_question(ans::GetQuestionRequest {
                question_id: SQL.into(),
                opd_code: String::new()
            }))
        }
        "AcknowledgeQuestion staff_name of 1 MB" => {
            go!(answering.acknowledge_question(ans::AcknowledgeQuestionRequest {
                question_id: q(),
                staff_name: big(),
                ..Default::default()
            }))
        }
        "AnswerQuestion answer of 1 MB" => go!(answering.answer_question(ans::AnswerQuestionRequest {
            question_id: q(),
            answer: big(),
            responder_name: "Budi".into(),
            ..Default::default()
        })),
        "PlanFollowUp plan of 1 MB" => go!(answering.plan_follow_up(ans::PlanFollowUpRequest {
            question_id: q(),
            plan: big(),
            planned_by: Some(prost_types::Timestamp {
                seconds: 1_900_000_000,
                nanos: 0
            }),
            ..Default::default()
        })),
        "ResolveQuestion note of 1 MB" => go!(answering.resolve_question(ans::ResolveQuestionRequest {
            question_id: q(),
            note: big(),
            ..Default::default()
        })),
        "RejectAssignment reason of 1 MB" => go!(answering.reject_assignment(ans::RejectAssignmentRequest {
            question_id: q(),
            reason: big(),
            ..Default::default()
        })),
        "ListTemplates page_size -1" => {
            go!(answering.list_templates(ans::ListTemplatesRequest {
                page_size: -1,
                ..Default::default()
            }))
        }
        "ListTemplates page_size i32::MAX" => {
            go!(answering.list_templates(ans::ListTemplatesRequest {
                page_size: i32::MAX,
                ..Default::default()
            }))
        }
        "UpsertTemplate body of 1 MB" => go!(answering.upsert_template(ans::UpsertTemplateRequest {
            template_id: "hostile".into(),
            title: "x".into(),
            body: big(),
            category: "kependudukan".into(),
            ..Default::default()
        })),
        "GetQuestionTimeline question_id in SQL" => {
            go!(reporting.get_question_timeline(rep::GetQuestionTimelineRequest {
                question_id: SQL.into()
            }))
        }
        "GetOpdScorecards from with negative nanos" => {
            go!(reporting.get_opd_scorecards(rep::GetOpdScorecardsRequest {
                from: bad_time(),
                to: None
            }))
        }
        "GetSessionReport session_id of 1 MB" => {
            go!(reporting.get_session_report(rep::GetSessionReportRequest { session_id: big() }))
        }
        "ListUnanswered page_size -1" => {
            go!(reporting.list_unanswered(rep::ListUnansweredRequest {
                page_size: -1,
                ..Default::default()
            }))
        }
        "ListUnanswered page_size i32::MAX" => {
            go!(reporting.list_unanswered(rep::ListUnansweredRequest {
                page_size: i32::MAX,
                ..Default::default()
            }))
        }
        "GetTrends granularity 99" => go!(reporting.get_trends(rep::GetTrendsRequest {
            granularity: 99,
            ..Default::default()
        })),
        "ExportQuestions to with negative nanos" => {
            go!(reporting.export_questions(rep::ExportQuestionsRequest {
                from: None,
                to: bad_time()
            }))
        }
        other => panic!("no request for case {other:?}"),
    }
    Ok(())
}
