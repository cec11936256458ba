//! End-to-end tests of the reporting service's own capabilities: every figure on a
//! hand-made week with known answers, rebuild, duplicates and out-of-order delivery,
//! and no citizen identity anywhere.

mod events;
mod scenario;
mod sessions;
mod summary;

use async_nats::jetstream;
use kenduren_proto::reporting::v1::{
    EscalationCount, ExportQuestionsRequest, GetOpdScorecardsRequest, GetSessionReportRequest,
    GetTrendsRequest, LabelCount, ListUnansweredRequest, OpdScorecard, TrendDimension, TrendGranularity,
};
use kenduren_store::CloudEvent;
use tonic::Code;

use crate::support::{eventually, TestSystem};
use events::{ts, wib, Events};
use scenario::SECRET;

fn card(code: &str) -> OpdScorecard {
    OpdScorecard {
        opd_code: code.into(),
        ..Default::default()
    }
}

fn expected_scorecards() -> Vec<OpdScorecard> {
    vec![
        OpdScorecard {
            sessions_expected: 1,
            ..card("BAPENDA")
        },
        OpdScorecard {
            assigned: 2,
            answered: 1,
            answered_within_due: 1,
            answered_within_due_percent: 100.0,
            open: 1,
            overdue: 1,
            on_site: 1,
            escalated: vec![EscalationCount {
                level: 1,
                questions: 1,
            }],
            median_working_hours_to_answer: 31.0,
            p90_working_hours_to_answer: 31.0,
            average_rating: 4.0,
            rated: 1,
            sessions_expected: 1,
            sessions_attended: 1,
            sessions_late: 1,
            ..card("DINKES")
        },
        OpdScorecard {
            assigned: 2,
            answered: 2,
            answered_within_due: 2,
            answered_within_due_percent: 100.0,
            open: 1,
            overdue: 1,
            on_site: 2,
            answered_on_the_spot: 1,
            median_working_hours_to_answer: 2.0,
            p90_working_hours_to_answer: 16.0,
            average_rating: 3.0,
            rated: 2,
            reopened: 1,
            sessions_expected: 1,
            sessions_attended: 1,
            ..card("DISPENDUKCAPIL")
        },
    ]
}

async fn scorecards(sys: &mut TestSystem) -> Vec<OpdScorecard> {
    sys.reporting
        .get_opd_scorecards(GetOpdScorecardsRequest { from: None, to: None })
        .await
        .expect("scorecards")
        .into_inner()
        .scorecards
}

/// Everything reporting says about the scenario, as text, for comparisons and searches.
/// With `whole`, also the session report, trends and export (which a new question changes).
async fn every_figure(sys: &mut TestSystem, ids: &scenario::Ids, whole: bool) -> String {
    let r = &mut sys.reporting;
    let mut all = format!(
        "{:?}",
        r.get_opd_scorecards(GetOpdScorecardsRequest::default())
            .await
            .expect("cards")
            .into_inner()
    );
    all += &format!(
        "{:?}",
        r.list_unanswered(ListUnansweredRequest::default())
            .await
            .expect("unanswered")
            .into_inner()
    );
    for q in &ids.q {
        let t = r
            .get_question_timeline(kenduren_proto::reporting::v1::GetQuestionTimelineRequest {
                question_id: q.clone(),
            })
            .await
            .expect("timeline")
            .into_inner();
        // Event ids and order, not the row numbers of the table.
        all += &format!("{:?}", t.events);
    }
    if !whole {
        return all;
    }
    all += &format!(
        "{:?}",
        r.get_session_report(GetSessionReportRequest {
            session_id: "S-1".into()
        })
        .await
        .expect("session")
        .into_inner()
    );
    for dimension in [
        TrendDimension::Opd,
        TrendDimension::Kecamatan,
        TrendDimension::Category,
    ] {
        let req = GetTrendsRequest {
            granularity: TrendGranularity::Week as i32,
            dimension: dimension as i32,
            from: None,
            to: None,
        };
        all += &format!("{:?}", r.get_trends(req).await.expect("trends").into_inner());
    }
    let mut export = r
        .export_questions(ExportQuestionsRequest::default())
        .await
        .expect("export")
        .into_inner();
    while let Some(row) = export.message().await.expect("row") {
        all += &format!("{row:?}");
    }
    all
}

async fn scenario_system() -> (TestSystem, Events, scenario::Ids) {
    let sys = TestSystem::start().await;
    let mut ev = Events::new(&sys).await;
    let ids = scenario::build(&mut ev).await;
    ev.applied().await;
    (sys, ev, ids)
}

#[tokio::test]
async fn scorecards_count_each_opds_questions_answers_ratings_escalations_and_attendance() {
    let (mut sys, _ev, _ids) = scenario_system().await;
    assert_eq!(scorecards(&mut sys).await, expected_scorecards());
    // A period that starts after Monday holds only Tuesday's q4 for DINKES, no session.
    let later = sys
        .reporting
        .get_opd_scorecards(GetOpdScorecardsRequest {
            from: ts(wib(1, 0, 0)),
            to: ts(wib(7, 0, 0)),
        })
        .await
        .expect("scorecards")
        .into_inner()
        .scorecards;
    let dinkes = later.iter().find(|c| c.opd_code == "DINKES").expect("DINKES");
    assert_eq!(
        (dinkes.assigned, dinkes.answered, dinkes.sessions_expected),
        (1, 1, 0)
    );
    assert_eq!(
        dinkes.escalated,
        vec![EscalationCount {
            level: 1,
            questions: 1
        }]
    );
    assert!(later.iter().all(|c| c.opd_code != "DISPENDUKCAPIL"));
    sys.stop().await;
}

#[tokio::test]
async fn a_session_report_shows_what_came_in_what_was_answered_and_who_stayed_away() {
    let (mut sys, _ev, _ids) = scenario_system().await;
    let r = sys
        .reporting
        .get_session_report(GetSessionReportRequest {
            session_id: "S-1".into(),
        })
        .await
        .expect("report")
        .into_inner();
    let label = |l: &str, n| LabelCount {
        label: l.into(),
        count: n,
    };
    assert_eq!(r.kecamatan, "Bangil");
    assert_eq!(r.submissions, 4);
    assert_eq!(
        r.by_kind,
        vec![
            label("ASPIRATION", 2),
            label("COMPLAINT", 1),
            label("QUESTION", 1)
        ]
    );
    assert_eq!(
        r.by_category,
        vec![label("kependudukan", 3), label("pariwisata", 1)]
    );
    assert_eq!(r.answered_on_the_spot, 1);
    assert_eq!(r.still_unanswered, 2);
    assert_eq!(r.aspiration_percent, 50.0);
    assert_eq!(r.opds_expected, ["BAPENDA", "DINKES", "DISPENDUKCAPIL"]);
    assert_eq!(r.opds_checked_in, ["DINKES", "DISPENDUKCAPIL"]);
    assert_eq!(r.opds_present, ["DISPENDUKCAPIL"]);
    assert_eq!(r.opds_late, ["DINKES"]);
    assert_eq!(r.opds_absent, ["BAPENDA"]);
    let unknown = sys
        .reporting
        .get_session_report(GetSessionReportRequest {
            session_id: "S-404".into(),
        })
        .await
        .expect_err("unknown session");
    assert_eq!(unknown.code(), Code::NotFound);
    sys.stop().await;
}

#[tokio::test]
async fn unanswered_lists_overdue_first_filters_pages_and_only_counts_confidential_ones() {
    let (sys, _ev, ids) = scenario_system().await;
    let list = |req: ListUnansweredRequest| {
        let mut client = sys.reporting.clone();
        async move { client.list_unanswered(req).await.map(|r| r.into_inner()) }
    };
    let all = list(ListUnansweredRequest::default()).await.expect("list");
    let listed: Vec<&str> = all.questions.iter().map(|q| q.question_id.as_str()).collect();
    assert_eq!(
        listed,
        [ids.q[1].as_str(), ids.q[5].as_str()],
        "overdue q2 before q6 without a due date"
    );
    assert!(all.questions[0].overdue && !all.questions[1].overdue);
    assert_eq!((all.total, all.confidential_count), (2, 1));

    let dinkes = list(ListUnansweredRequest {
        opd_code: "DINKES".into(),
        ..Default::default()
    })
    .await
    .expect("list");
    assert!(dinkes.questions.is_empty());
    assert_eq!(dinkes.confidential_count, 1);
    let escalated = list(ListUnansweredRequest {
        min_escalation_level: 1,
        ..Default::default()
    })
    .await
    .expect("list");
    assert_eq!((escalated.total, escalated.confidential_count), (0, 1));
    let pandaan = list(ListUnansweredRequest {
        kecamatan: "Pandaan".into(),
        category: "kesehatan".into(),
        ..Default::default()
    })
    .await
    .expect("list");
    assert_eq!(pandaan.questions.len(), 1);

    let first = list(ListUnansweredRequest {
        page_size: 1,
        ..Default::default()
    })
    .await
    .expect("page 1");
    assert_eq!(first.questions[0].question_id, ids.q[1]);
    let second = list(ListUnansweredRequest {
        page_size: 1,
        page_token: first.next_page_token,
        ..Default::default()
    })
    .await
    .expect("page 2");
    assert_eq!(second.questions[0].question_id, ids.q[5]);
    assert!(second.next_page_token.is_empty());

    let bad = list(ListUnansweredRequest {
        page_size: -1,
        page_token: "x".into(),
        ..Default::default()
    })
    .await
    .expect_err("bad paging");
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert!(
        bad.message().contains("page_size") && bad.message().contains("page_token"),
        "{}",
        bad.message()
    );
    sys.stop().await;
}

#[tokio::test]
async fn trends_count_submissions_and_answers_per_week_and_month() {
    let (sys, _ev, _ids) = scenario_system().await;
    let trends = |granularity: TrendGranularity, dimension: TrendDimension| {
        let mut client = sys.reporting.clone();
        async move {
            client
                .get_trends(GetTrendsRequest {
                    granularity: granularity as i32,
                    dimension: dimension as i32,
                    from: None,
                    to: None,
                })
                .await
                .map(|r| r.into_inner().series)
        }
    };
    let by_category = trends(TrendGranularity::Month, TrendDimension::Category)
        .await
        .expect("trends");
    let figures: Vec<(String, String, u64, u64, u64)> = by_category
        .iter()
        .flat_map(|s| {
            s.points.iter().map(|p| {
                (
                    s.key.clone(),
                    p.period_start.clone(),
                    p.submitted,
                    p.answered,
                    p.answered_within_due,
                )
            })
        })
        .collect();
    assert_eq!(
        figures,
        [
            ("kependudukan".into(), "2026-03-01".into(), 3, 2, 2),
            ("kesehatan".into(), "2026-03-01".into(), 2, 1, 1),
            ("pariwisata".into(), "2026-03-01".into(), 1, 0, 0),
        ]
    );
    let by_opd = trends(TrendGranularity::Week, TrendDimension::Opd)
        .await
        .expect("trends");
    let keys: Vec<(&str, &str, u64, u64)> = by_opd
        .iter()
        .flat_map(|s| {
            s.points
                .iter()
                .map(|p| (s.key.as_str(), p.period_start.as_str(), p.submitted, p.answered))
        })
        .collect();
    assert_eq!(
        keys,
        [
            ("DINKES", "2026-03-02", 2, 1),
            ("DISPENDUKCAPIL", "2026-03-02", 2, 2)
        ]
    );
    let bad = trends(TrendGranularity::Unspecified, TrendDimension::Unspecified)
        .await
        .expect_err("unspecified");
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert!(bad.message().contains("granularity") && bad.message().contains("dimension"));
    sys.stop().await;
}

#[tokio::test]
async fn the_export_has_one_row_per_question_and_no_confidential_text() {
    let (mut sys, _ev, ids) = scenario_system().await;
    let mut stream = sys
        .reporting
        .export_questions(ExportQuestionsRequest::default())
        .await
        .expect("export")
        .into_inner();
    let mut rows = Vec::new();
    while let Some(message) = stream.message().await.expect("row") {
        assert_eq!(message.total, 6);
        rows.push(message.question.expect("row"));
    }
    let exported: Vec<&str> = rows.iter().map(|r| r.question_id.as_str()).collect();
    // Submission order: q1, q2, q3, q5 (Monday), q4 (Tuesday), q6 (Thursday).
    assert_eq!(
        exported,
        [&ids.q[0], &ids.q[1], &ids.q[2], &ids.q[4], &ids.q[3], &ids.q[5]].map(String::as_str)
    );
    let confidential = rows.iter().find(|r| r.question_id == ids.q[2]).expect("q3");
    assert!(confidential.confidential && confidential.text.is_empty());
    assert_eq!(confidential.escalation_level, 1);
    let reopened = rows.iter().find(|r| r.question_id == ids.q[1]).expect("q2");
    assert_eq!(
        (reopened.status.as_str(), reopened.rating, reopened.reopened),
        ("ROUTED", 1, 1)
    );
    assert!(!format!("{rows:?}").contains(SECRET));
    sys.stop().await;
}

#[tokio::test]
async fn a_rebuild_ends_with_exactly_the_live_figures() {
    let (mut sys, ev, ids) = scenario_system().await;
    let live = every_figure(&mut sys, &ids, true).await;
    let progress = std::sync::Mutex::new(Vec::new());
    let done = kenduren_reporting::rebuild(&sys.settings, |p| progress.lock().expect("lock").push(p.done))
        .await
        .expect("rebuild");
    assert!(
        done.done >= ev.ids.len() as u64,
        "replayed {} of {} events",
        done.done,
        ev.ids.len()
    );
    assert!(
        !progress.lock().expect("lock").is_empty(),
        "progress was reported"
    );
    assert_eq!(every_figure(&mut sys, &ids, true).await, live);
    // The live consumer goes on after the swap: a new event still shows up.
    let mut ev = ev;
    let late = uuid::Uuid::now_v7().to_string();
    ev.emit(
        events::Owner::Intake,
        &late,
        &kenduren_proto::events::v1::QuestionSubmitted {
            question_id: late.clone(),
            kind: kenduren_proto::events::v1::QuestionKind::Question as i32,
            channel: kenduren_proto::events::v1::Channel::Web as i32,
            category: "kesehatan".into(),
            ..Default::default()
        },
        wib(5, 9, 0),
    )
    .await;
    ev.applied().await;
    sys.stop().await;
}

#[tokio::test]
async fn a_duplicate_and_an_out_of_order_delivery_leave_every_figure_unchanged() {
    let (mut sys, ev, ids) = scenario_system().await;
    let before = every_figure(&mut sys, &ids, false).await;
    let js = jetstream::new(sys.system.as_ref().expect("running").backbone.nats.clone());
    // A copy of q2's reopening rating under a new Nats-Msg-Id: the stream keeps both.
    let intake = kenduren_store::connect_pool(&sys.settings.database_url, "intake", 1)
        .await
        .expect("pool");
    let stored: Vec<kenduren_store::StoredEvent> =
        sqlx::query_as("SELECT * FROM events WHERE stream_id = $1 ORDER BY stream_version")
            .bind(&ids.q[1])
            .fetch_all(&intake)
            .await
            .expect("q2's intake events");
    let rating = stored.last().expect("rating").to_cloud_event("/kenduren/intake");
    publish(&js, &sys.settings.subject_prefix, &rating, true).await;
    // A fresh question whose later events arrive before its submission.
    let id = uuid::Uuid::now_v7().to_string();
    let mut hand = Vec::new();
    let mut cause = None;
    for (version, message) in [(1, "submitted"), (2, "withdrawn")] {
        let data = if message == "submitted" {
            prost::Message::encode_to_vec(&kenduren_proto::events::v1::QuestionSubmitted {
                question_id: id.clone(),
                kind: kenduren_proto::events::v1::QuestionKind::Aspiration as i32,
                channel: kenduren_proto::events::v1::Channel::OnSite as i32,
                category: "pariwisata".into(),
                session_id: "S-1".into(),
                submitted_at: ts(wib(0, 14, 0)),
                ..Default::default()
            })
        } else {
            prost::Message::encode_to_vec(&kenduren_proto::events::v1::QuestionWithdrawn {
                question_id: id.clone(),
                reason: String::new(),
                withdrawn_at: ts(wib(0, 15, 0)),
            })
        };
        let ty = if message == "submitted" {
            "QuestionSubmitted"
        } else {
            "QuestionWithdrawn"
        };
        let event = CloudEvent {
            id: uuid::Uuid::now_v7(),
            source: "/kenduren/intake".into(),
            ty: format!("kenduren.events.v1.{ty}"),
            time: wib(0, 14, 0),
            subject: id.clone(),
            stream_version: version,
            causation_id: cause,
            traceparent: None,
            data: data.into(),
        };
        cause = Some(event.id);
        hand.push(event);
    }
    publish(&js, &sys.settings.subject_prefix, &hand[1], false).await;
    publish(&js, &sys.settings.subject_prefix, &hand[0], false).await;
    let reporting = kenduren_store::connect_pool(&sys.settings.database_url, "reporting", 1)
        .await
        .expect("pool");
    eventually("the out-of-order pair to be applied", || {
        let (pool, id) = (reporting.clone(), hand[1].id);
        async move {
            let n: i64 = sqlx::query_scalar("SELECT count(*) FROM inbox WHERE event_id = $1")
                .bind(id)
                .fetch_one(&pool)
                .await
                .ok()?;
            (n == 1).then_some(())
        }
    })
    .await;
    let r = sys
        .reporting
        .get_session_report(GetSessionReportRequest {
            session_id: "S-1".into(),
        })
        .await
        .expect("report")
        .into_inner();
    // The late question counts as submitted and then withdrawn, as in order.
    assert_eq!((r.submissions, r.still_unanswered), (5, 2));
    assert_eq!(
        r.by_kind[0],
        LabelCount {
            label: "ASPIRATION".into(),
            count: 3
        }
    );
    let timeline = sys
        .reporting
        .get_question_timeline(kenduren_proto::reporting::v1::GetQuestionTimelineRequest { question_id: id })
        .await
        .expect("timeline")
        .into_inner();
    let order: Vec<_> = timeline.events.iter().map(|e| e.event_id.clone()).collect();
    assert_eq!(order, [hand[0].id.to_string(), hand[1].id.to_string()]);
    // Everything about the scenario's own questions is as before: the copy was skipped.
    drop(ev);
    assert_eq!(scorecards(&mut sys).await, expected_scorecards());
    assert_eq!(every_figure(&mut sys, &ids, false).await, before);
    sys.stop().await;
}

#[tokio::test]
async fn an_analyst_sees_no_citizen_identity_anywhere() {
    let (mut sys, _ev, ids) = scenario_system().await;
    let submitted = sys
        .intake
        .submit_question(crate::walking_skeleton::ktp_question("identity-1"))
        .await
        .expect("submit")
        .into_inner();
    let reporting = sys.reporting.clone();
    eventually("reporting to see the real submission", || {
        let mut r = reporting.clone();
        let id = submitted.question_id.clone();
        async move {
            r.get_question_timeline(kenduren_proto::reporting::v1::GetQuestionTimelineRequest {
                question_id: id,
            })
            .await
            .ok()
        }
    })
    .await;
    let mut everything = every_figure(&mut sys, &ids, true).await;
    let timeline = sys
        .reporting
        .get_question_timeline(kenduren_proto::reporting::v1::GetQuestionTimelineRequest {
            question_id: submitted.question_id.clone(),
        })
        .await
        .expect("timeline")
        .into_inner();
    everything += &format!("{timeline:?}");
    assert!(
        everything.contains(&submitted.question_id),
        "the real question is in the export"
    );
    for identity in ["Siti Aminah", "081234567890", SECRET] {
        assert!(
            !everything.contains(identity),
            "{identity:?} appears in a reporting response"
        );
    }
    sys.stop().await;
}

async fn publish(js: &jetstream::Context, prefix: &str, event: &CloudEvent, new_msg_id: bool) {
    let mut headers = event.to_headers().expect("headers");
    if new_msg_id {
        headers.insert("Nats-Msg-Id", uuid::Uuid::now_v7().to_string().as_str());
    }
    js.publish_with_headers(
        format!("{prefix}.v1.scenario.replayed"),
        headers,
        event.data.clone(),
    )
    .await
    .expect("publish")
    .await
    .expect("ack");
}
