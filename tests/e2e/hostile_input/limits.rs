//! Each text field's own limit, one case per field at every RPC that takes text: a
//! request valid in every other way, with that one field just over its limit (well
//! under the server's 256 KiB message limit), is INVALID_ARGUMENT naming exactly that
//! field; a check that counted nothing lets the call through. (Exactly at the limit is
//! checked per field where the domain tests it, e.g. the rating comment in
//! `intake/lifecycle.rs`; this table does not tell characters from bytes.)

use kenduren_proto::{
    answering::v1::{self as ans, answering_service_client::AnsweringServiceClient},
    events::v1::{Holiday, ProgrammeItem},
    intake::v1::{self as int, intake_service_client::IntakeServiceClient},
    routing::v1::{self as rou, routing_service_client::RoutingServiceClient},
};
use tonic::Status;

use crate::{
    access_matrix::{Caller, Fixture},
    walking_skeleton::ktp_question,
};

/// `n` characters of two bytes each.
fn chars(n: usize) -> String {
    "é".repeat(n)
}

/// `n` bytes of ASCII, for limits counted in bytes.
fn bytes(n: usize) -> String {
    "a".repeat(n)
}

/// A timestamp far in the future, for a follow-up's `planned_by`.
fn later() -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp {
        seconds: 4_000_000_000,
        nanos: 0,
    })
}

/// (case, caller, the field the refusal must name). The limits are the services' own:
/// intake's submit.rs, withdraw.rs (reasons and comments), sessions/; routing's
/// directory.rs, triage.rs, sla.rs; answering's answer.rs, lifecycle.rs, templates.rs.
pub const LIMITS: &[(&str, &str, &str)] = &[
    ("SubmitQuestion request_id of 129 bytes", "desk", "request_id"),
    ("SubmitQuestion text of 4001 characters", "desk", "text"),
    (
        "SubmitQuestion citizen name of 201 characters",
        "desk",
        "citizen.name",
    ),
    (
        "SubmitQuestion citizen email of 255 bytes",
        "desk",
        "citizen.email",
    ),
    ("WithdrawQuestion reason of 1001 characters", "desk", "reason"),
    ("RateAnswer comment of 1001 characters", "desk", "comment"),
    ("ScheduleSession session_id of 65 bytes", "admin", "session_id"),
    // Every kecamatan lists its villages, so an overlong desa is also an unknown one:
    // this case shows the refusal, not which check made it.
    ("ScheduleSession desa of 201 characters", "admin", "desa"),
    (
        "ScheduleSession programme activity of 201 characters",
        "admin",
        "programme[0].activity",
    ),
    (
        "CheckInOpd representative of 201 characters",
        "admin",
        "representative",
    ),
    ("EraseCitizen reason of 1001 characters", "admin", "reason"),
    ("UpsertOpd name of 201 characters", "admin", "opd.name"),
    ("UpsertOpd contact of 501 characters", "admin", "opd.contact"),
    ("UpsertRule rule_id of 65 bytes", "admin", "rule.rule_id"),
    (
        "UpsertRule keyword of 101 characters",
        "admin",
        "rule.keywords[0]",
    ),
    ("RouteManually reason of 1001 characters", "admin", "reason"),
    ("ReassignQuestion reason of 1001 characters", "admin", "reason"),
    ("SetHolidays name of 201 characters", "admin", "holidays[0].name"),
    (
        "AcknowledgeQuestion staff_name of 201 characters",
        "opd:DISPENDUKCAPIL",
        "staff_name",
    ),
    (
        "AnswerQuestion answer of 8001 characters",
        "opd:DISPENDUKCAPIL",
        "answer",
    ),
    (
        "AnswerQuestion responder_name of 201 characters",
        "opd:DISPENDUKCAPIL",
        "responder_name",
    ),
    (
        "AnswerQuestion responder_position of 201 characters",
        "opd:DISPENDUKCAPIL",
        "responder_position",
    ),
    (
        "AnswerQuestion attachment of 2001 bytes",
        "opd:DISPENDUKCAPIL",
        "attachments",
    ),
    (
        "AnswerQuestion 21 attachments",
        "opd:DISPENDUKCAPIL",
        "attachments",
    ),
    (
        "PlanFollowUp plan of 4001 characters",
        "opd:DISPENDUKCAPIL",
        "plan",
    ),
    (
        "ResolveQuestion note of 4001 characters",
        "opd:DISPENDUKCAPIL",
        "note",
    ),
    (
        "RejectAssignment reason of 4001 characters",
        "opd:DISPENDUKCAPIL",
        "reason",
    ),
    (
        "UpsertTemplate template_id of 65 bytes",
        "opd:DISPENDUKCAPIL",
        "template_id",
    ),
    (
        "UpsertTemplate title of 201 characters",
        "opd:DISPENDUKCAPIL",
        "title",
    ),
    (
        "UpsertTemplate body of 8001 characters",
        "opd:DISPENDUKCAPIL",
        "body",
    ),
    (
        "UpsertTemplate category of 65 characters",
        "opd:DISPENDUKCAPIL",
        "category",
    ),
];

fn template(id: &str) -> ans::UpsertTemplateRequest {
    ans::UpsertTemplateRequest {
        template_id: id.into(),
        title: "KTP hilang".into(),
        body: "Silakan datang ke kantor kecamatan.".into(),
        category: "kependudukan".into(),
        ..Default::default()
    }
}

fn answer(q: String) -> ans::AnswerQuestionRequest {
    ans::AnswerQuestionRequest {
        question_id: q,
        answer: "Silakan datang ke kantor kecamatan.".into(),
        responder_name: "Budi".into(),
        ..Default::default()
    }
}

fn rule() -> rou::Rule {
    rou::Rule {
        rule_id: "hostile-limit".into(),
        category: "kependudukan".into(),
        opd_code: "DISPENDUKCAPIL".into(),
        ..Default::default()
    }
}

fn session(id: &str) -> int::ScheduleSessionRequest {
    int::ScheduleSessionRequest {
        session_id: id.into(),
        dates: vec!["2026-06-10".into()],
        kecamatan: "Bangil".into(),
        desa: "Kalirejo".into(),
        programme: vec![],
        expected_opd_codes: vec!["DINKES".into()],
    }
}

/// Sends the request of limit `case` as `c`, against the fixture's question, tickets
/// and session, so everything but the one field is valid.
pub async fn send(case: &str, c: &Caller, fx: &Fixture) -> Result<(), Status> {
    let mut intake = IntakeServiceClient::new(c.intake.clone());
    let mut routing = RoutingServiceClient::new(c.routing.clone());
    let mut answering = AnsweringServiceClient::new(c.answering.clone());
    let q = || fx.question_id.clone();
    let rid = "hostile-limit";
    let citizen = || ktp_question(rid).citizen.expect("a citizen");
    macro_rules! go {
        ($call:expr) => {{
            $call.await?;
        }};
    }
    match case {
        "SubmitQuestion request_id of 129 bytes" => go!(intake.submit_question(ktp_question(&bytes(129)))),
        "SubmitQuestion text of 4001 characters" => go!(intake.submit_question(int::SubmitQuestionRequest {
            text: chars(4001),
            ..ktp_question(rid)
        })),
        "SubmitQuestion citizen name of 201 characters" => {
            go!(intake.submit_question(int::SubmitQuestionRequest {
                citizen: Some(int::Citizen {
                    name: chars(201),
                    ..citizen()
                }),
                ..ktp_question(rid)
            }))
        }
        "SubmitQuestion citizen email of 255 bytes" => {
            go!(intake.submit_question(int::SubmitQuestionRequest {
                citizen: Some(int::Citizen {
                    email: format!("{}@example.id", bytes(255 - "@example.id".len())),
                    ..citizen()
                }),
                ..ktp_question(rid)
            }))
        }
        "WithdrawQuestion reason of 1001 characters" => {
            go!(intake.withdraw_question(int::WithdrawQuestionRequest {
                ticket: fx.other_ticket.clone(),
                tracking_pin: fx.other_pin.clone(),
                reason: chars(1001),
            }))
        }
        "RateAnswer comment of 1001 characters" => go!(intake.rate_answer(int::RateAnswerRequest {
            ticket: fx.other_ticket.clone(),
            tracking_pin: fx.other_pin.clone(),
            rating: 5,
            comment: chars(1001),
        })),
        "ScheduleSession session_id of 65 bytes" => go!(intake.schedule_session(session(&bytes(65)))),
        "ScheduleSession desa of 201 characters" => {
            go!(intake.schedule_session(int::ScheduleSessionRequest {
                desa: chars(201),
                ..session(rid)
            }))
        }
        "ScheduleSession programme activity of 201 characters" => {
            go!(intake.schedule_session(int::ScheduleSessionRequest {
                programme: vec![ProgrammeItem {
                    day: 1,
                    time: "13:00".into(),
                    activity: chars(201),
                }],
                ..session(rid)
            }))
        }
        "CheckInOpd representative of 201 characters" => {
            go!(intake.check_in_opd(int::CheckInOpdRequest {
                session_id: fx.session_id.clone(),
                opd_code: "DINKES".into(),
                representative: chars(201),
            }))
        }
        "EraseCitizen reason of 1001 characters" => go!(intake.erase_citizen(int::EraseCitizenRequest {
            ticket: fx.other_ticket.clone(),
            reason: chars(1001),
        })),
        "UpsertOpd name of 201 characters" | "UpsertOpd contact of 501 characters" => {
            let (name, contact) = if case.contains("name") {
                (chars(201), String::new())
            } else {
                ("Dinas Kesehatan".to_owned(), chars(501))
            };
            go!(routing.upsert_opd(rou::UpsertOpdRequest {
                opd: Some(rou::Opd {
                    code: "DINKES".into(),
                    name,
                    contact,
                    active: true,
                }),
            }))
        }
        "UpsertRule rule_id of 65 bytes" => go!(routing.upsert_rule(rou::UpsertRuleRequest {
            rule: Some(rou::Rule {
                rule_id: bytes(65),
                ..rule()
            }),
        })),
        "UpsertRule keyword of 101 characters" => go!(routing.upsert_rule(rou::UpsertRuleRequest {
            rule: Some(rou::Rule {
                keywords: vec![chars(101)],
                ..rule()
            }),
        })),
        "RouteManually reason of 1001 characters" => go!(routing.route_manually(rou::RouteManuallyRequest {
            question_id: q(),
            opd_code: "DINKES".into(),
            reason: chars(1001),
        })),
        "ReassignQuestion reason of 1001 characters" => {
            go!(routing.reassign_question(rou::ReassignQuestionRequest {
                question_id: q(),
                opd_code: "DINKES".into(),
                reason: chars(1001),
            }))
        }
        "SetHolidays name of 201 characters" => go!(routing.set_holidays(rou::SetHolidaysRequest {
            year: 2099,
            holidays: vec![Holiday {
                date: "2099-01-01".into(),
                name: chars(201),
            }],
        })),
        "AcknowledgeQuestion staff_name of 201 characters" => {
            go!(answering.acknowledge_question(ans::AcknowledgeQuestionRequest {
                question_id: q(),
                staff_name: chars(201),
                ..Default::default()
            }))
        }
        "AnswerQuestion answer of 8001 characters" => {
            go!(answering.answer_question(ans::AnswerQuestionRequest {
                answer: chars(8001),
                ..answer(q())
            }))
        }
        "AnswerQuestion responder_name of 201 characters" => {
            go!(answering.answer_question(ans::AnswerQuestionRequest {
                responder_name: chars(201),
                ..answer(q())
            }))
        }
        "AnswerQuestion responder_position of 201 characters" => {
            go!(answering.answer_question(ans::AnswerQuestionRequest {
                responder_position: chars(201),
                ..answer(q())
            }))
        }
        "AnswerQuestion attachment of 2001 bytes" => {
            go!(answering.answer_question(ans::AnswerQuestionRequest {
                attachments: vec![format!("https://example.id/{}", bytes(2001 - 19))],
                ..answer(q())
            }))
        }
        "AnswerQuestion 21 attachments" => go!(answering.answer_question(ans::AnswerQuestionRequest {
            attachments: (0..21).map(|i| format!("https://example.id/{i}")).collect(),
            ..answer(q())
        })),
        "PlanFollowUp plan of 4001 characters" => go!(answering.plan_follow_up(ans::PlanFollowUpRequest {
            question_id: q(),
            plan: chars(4001),
            planned_by: later(),
            ..Default::default()
        })),
        "ResolveQuestion note of 4001 characters" => {
            go!(answering.resolve_question(ans::ResolveQuestionRequest {
                question_id: q(),
                note: chars(4001),
                ..Default::default()
            }))
        }
        "RejectAssignment reason of 4001 characters" => {
            go!(answering.reject_assignment(ans::RejectAssignmentRequest {
                question_id: q(),
                reason: chars(4001),
                ..Default::default()
            }))
        }
        "UpsertTemplate template_id of 65 bytes" => go!(answering.upsert_template(template(&bytes(65)))),
        "UpsertTemplate title of 201 characters" => {
            go!(answering.upsert_template(ans::UpsertTemplateRequest {
                title: chars(201),
                ..template(rid)
            }))
        }
        "UpsertTemplate body of 8001 characters" => {
            go!(answering.upsert_template(ans::UpsertTemplateRequest {
                body: chars(8001),
                ..template(rid)
            }))
        }
        "UpsertTemplate category of 65 characters" => {
            go!(answering.upsert_template(ans::UpsertTemplateRequest {
                category: chars(65),
                ..template(rid)
            }))
        }
        other => panic!("no request for limit case {other:?}"),
    }
    Ok(())
}
