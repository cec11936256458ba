//! The OPDs' work by profile, the admin's triage, the two escalation sweeps on the
//! controllable clock, and reading reporting once it has caught up.

use std::{
    collections::{BTreeMap, BTreeSet},
    time::Duration,
};

use chrono::{DateTime, Utc};
use kenduren_proto::{
    answering::v1::{AcknowledgeQuestionRequest, AnswerQuestionRequest, RejectAssignmentRequest},
    reporting::v1::{GetOpdScorecardsRequest, GetSessionReportRequest},
    routing::v1::{RouteManuallyRequest, RunEscalationsRequest},
};
use rand::{seq::IndexedRandom, Rng};

use crate::{
    error::During,
    figures::{Figures, OpdFigures, SessionFigures},
    model::{Profile, Status},
    observe::{self, PATIENCE},
    season::{ts, Season},
    SimulationError,
};

/// Which part of the season the OPDs are in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Round {
    /// Right after the sessions, before any due date passed.
    Early,
    /// After the first escalation: slow OPDs answer some, rejecting ones reject late.
    Late,
    /// Prompt OPDs answer what reached them by rerouting.
    CatchUp,
    /// Prompt OPDs answer some of the questions a poor rating reopened.
    Reopened,
}

/// From the first answers to the first escalation sweep and the late work after it.
pub(crate) async fn season_of_work(s: &mut Season<'_>) -> Result<(), SimulationError> {
    (s.progress)("OPDs work their inboxes");
    sync(s).await?;
    round(s, Round::Early).await?;
    triage(s).await?;
    barrier(s).await?;
    let open_dues: Vec<DateTime<Utc>> = s
        .model
        .questions
        .iter()
        .filter(|q| q.status.with_opd())
        .filter_map(|q| q.due)
        .collect();
    if let (Some(last), Some(first)) = (open_dues.iter().max(), open_dues.iter().min()) {
        // Past every open question's due date, and days before any level-2 deadline
        // (three working days after a due date), so only level 1 can go out.
        let as_of = *last + chrono::Duration::seconds(1);
        if as_of >= *first + chrono::Duration::days(3) {
            return Err(SimulationError::Setup(
                "the due dates spread over more than three days".into(),
            ));
        }
        (s.progress)("escalation sweep just past the due dates");
        sweep(s, as_of).await?;
    }
    s.withdraw(|p| p.withdraw_late).await?;
    sync(s).await?;
    round(s, Round::Late).await?;
    triage(s).await?;
    sync(s).await?;
    round(s, Round::CatchUp).await?;
    sync(s).await
}

/// After the ratings: some reopened questions answered again, then the last sweep far
/// in the future, when every open question is past both deadlines.
pub(crate) async fn after_ratings(s: &mut Season<'_>) -> Result<(), SimulationError> {
    sync(s).await?;
    round(s, Round::Reopened).await?;
    barrier(s).await?;
    (s.progress)("escalation sweep four months on");
    sweep(s, s.config.clock.now() + chrono::Duration::days(120)).await?;
    observe::settle_tracking(&mut s.clients, &mut s.model).await
}

/// Tracking and inboxes show the model's state.
async fn sync(s: &mut Season<'_>) -> Result<(), SimulationError> {
    observe::settle_tracking(&mut s.clients, &mut s.model).await?;
    let opds = s.opds.clone();
    observe::settle_inboxes(&mut s.clients, &s.model, &opds).await
}

/// Everything so far is in routing's store before a sweep: a late citizen submits on
/// the web after tracking showed every earlier event, and once routing has routed that
/// submission it has read every event published before it (one ordered stream).
async fn barrier(s: &mut Season<'_>) -> Result<(), SimulationError> {
    sync(s).await?;
    if s.late_submission().await? {
        sync(s).await?;
    }
    Ok(())
}

/// Every OPD works the questions open with it, as its profile and the round say.
async fn round(s: &mut Season<'_>, round: Round) -> Result<(), SimulationError> {
    for opd in s.opds.clone() {
        let profile = s.profile(&opd);
        let mine: Vec<usize> = (0..s.model.questions.len())
            .filter(|&i| {
                let q = &s.model.questions[i];
                q.opd.as_deref() == Some(opd.as_str()) && q.status.with_opd()
            })
            .collect();
        for i in mine {
            let reopened = s.model.questions[i].reopened > 0;
            let (ack, act) = match (profile, round) {
                (Profile::Absent, _) => (false, None),
                (Profile::Prompt, Round::Early | Round::Late | Round::CatchUp) => {
                    (s.rng.random_bool(0.3), Some(Act::Answer))
                }
                (Profile::Prompt, Round::Reopened) => {
                    (false, (reopened && s.rng.random_bool(0.5)).then_some(Act::Answer))
                }
                (Profile::Rejecting, Round::Early) => (
                    s.rng.random_bool(0.5),
                    s.rng.random_bool(0.5).then_some(Act::Reject),
                ),
                (Profile::Rejecting, Round::Late) => (
                    false,
                    Some(if s.rng.random_bool(0.5) {
                        Act::Reject
                    } else {
                        Act::Answer
                    }),
                ),
                (Profile::Slow, Round::Early) => (s.rng.random_bool(0.5), None),
                (Profile::Slow, Round::Late) => (false, s.rng.random_bool(0.5).then_some(Act::Answer)),
                (Profile::Rejecting | Profile::Slow, Round::CatchUp | Round::Reopened) => (false, None),
            };
            if ack && s.model.questions[i].status == Status::Routed {
                acknowledge(s, i, &opd).await?;
            }
            match act {
                Some(Act::Answer) => answer(s, i, &opd).await?,
                Some(Act::Reject) => reject(s, i, &opd).await?,
                None => {}
            }
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Copy)]
enum Act {
    Answer,
    Reject,
}

async fn acknowledge(s: &mut Season<'_>, i: usize, opd: &str) -> Result<(), SimulationError> {
    let id = s.model.questions[i].id.clone();
    s.clients
        .opd(opd)?
        .acknowledge_question(AcknowledgeQuestionRequest {
            question_id: id.clone(),
            staff_name: format!("Petugas {opd}"),
            ..Default::default()
        })
        .await
        .during(|| format!("{opd} acknowledging {id}"))?;
    s.model.questions[i].status = Status::Acknowledged;
    Ok(())
}

async fn answer(s: &mut Season<'_>, i: usize, opd: &str) -> Result<(), SimulationError> {
    let id = s.model.questions[i].id.clone();
    s.clients
        .opd(opd)?
        .answer_question(AnswerQuestionRequest {
            question_id: id.clone(),
            answer: format!("Jawaban {opd}: silakan datang ke kantor kami dengan berkas lengkap."),
            responder_name: format!("Petugas {opd}"),
            responder_position: "Kepala Seksi Pelayanan".into(),
            ..Default::default()
        })
        .await
        .during(|| format!("{opd} answering {id}"))?;
    let q = &mut s.model.questions[i];
    if q.answers == 0 {
        s.stats.answered += 1;
    }
    q.status = Status::Answered;
    q.answers += 1;
    Ok(())
}

async fn reject(s: &mut Season<'_>, i: usize, opd: &str) -> Result<(), SimulationError> {
    let id = s.model.questions[i].id.clone();
    s.clients
        .opd(opd)?
        .reject_assignment(RejectAssignmentRequest {
            question_id: id.clone(),
            reason: format!("Bukan kewenangan {opd}"),
            ..Default::default()
        })
        .await
        .during(|| format!("{opd} rejecting {id}"))?;
    let q = &mut s.model.questions[i];
    q.status = Status::Submitted;
    q.opd = None;
    q.due = None;
    q.rejected_by.push(opd.to_owned());
    q.routings += 1;
    q.awaiting_route = true;
    s.stats.rejections += 1;
    Ok(())
}

/// Waits for routing to reroute rejected questions, then routes by hand, to an OPD
/// that has not rejected it, every question that went to triage.
async fn triage(s: &mut Season<'_>) -> Result<(), SimulationError> {
    observe::settle_tracking(&mut s.clients, &mut s.model).await?;
    for i in 0..s.model.questions.len() {
        if s.model.questions[i].status != Status::Triage {
            continue;
        }
        let q = &s.model.questions[i];
        let candidates: Vec<String> = s
            .opds
            .iter()
            .filter(|o| !q.rejected_by.contains(o))
            .cloned()
            .collect();
        let Some(opd) = candidates.choose(&mut s.rng).cloned() else {
            continue;
        };
        let id = q.id.clone();
        s.clients
            .admin_routing
            .route_manually(RouteManuallyRequest {
                question_id: id.clone(),
                opd_code: opd.clone(),
                reason: "Ditelaah admin: urusan OPD ini".into(),
            })
            .await
            .during(|| format!("routing {id} to {opd} by hand"))?;
        let q = &mut s.model.questions[i];
        q.routings += 1;
        q.awaiting_route = true;
        s.stats.routed_manually += 1;
    }
    observe::settle_tracking(&mut s.clients, &mut s.model).await
}

/// Runs routing's sweep as of `as_of`; the model expects every open, assigned question
/// whose due date passed to reach level 1, and level 2 when `as_of` is weeks past it.
async fn sweep(s: &mut Season<'_>, as_of: DateTime<Utc>) -> Result<(), SimulationError> {
    let mut expected: BTreeSet<(String, u32, String)> = BTreeSet::new();
    for q in &s.model.questions {
        let (Some(opd), Some(due), true) = (&q.opd, q.due, q.status.with_opd()) else {
            continue;
        };
        // A reopened question runs a new clock from its reopening, which no client sees;
        // its due date lies within a month of now, so the model only sweeps it far later.
        let due = if q.reopened > 0 {
            s.config.clock.now() + chrono::Duration::days(30)
        } else {
            due
        };
        let mut levels = Vec::new();
        if due <= as_of {
            levels.push(1);
        }
        if due + chrono::Duration::days(60) <= as_of {
            levels.push(2);
        }
        for level in levels {
            if !q.clock_levels.contains(&level) {
                expected.insert((q.id.clone(), level, opd.clone()));
            }
        }
    }
    let done = s
        .clients
        .admin_routing
        .run_escalations(RunEscalationsRequest {
            as_of: Some(ts(as_of)),
        })
        .await
        .during(|| "running the escalation sweep".into())?;
    let happened: BTreeSet<(String, u32, String)> = done
        .escalated
        .into_iter()
        .map(|e| (e.question_id, e.level, e.opd_code))
        .collect();
    for (id, level, opd) in happened.symmetric_difference(&expected) {
        let what = if happened.contains(&(id.clone(), *level, opd.clone())) {
            "escalated unexpectedly"
        } else {
            "expected but not escalated"
        };
        s.divergences.push(format!(
            "sweep as of {as_of}: {id} level {level} at {opd}: {what}"
        ));
    }
    s.stats.escalations += happened.len();
    for q in &mut s.model.questions {
        for (_, level, opd) in expected.iter().filter(|(id, _, _)| *id == q.id) {
            q.escalations.insert((opd.clone(), *level));
            q.clock_levels.insert(*level);
        }
    }
    Ok(())
}

/// The model's figures and reporting's (scorecards from `since`), read once reporting
/// shows the model's figures or has stopped changing for a few seconds.
pub(crate) async fn quiescent_figures(
    s: &mut Season<'_>,
    since: DateTime<Utc>,
) -> Result<(Figures, Figures), SimulationError> {
    let expected = s.model.expected(s.config.clock.now(), &s.calendar);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let mut last: Option<Figures> = None;
    let mut stable_since = tokio::time::Instant::now();
    loop {
        let reported = reported(s, since).await?;
        let now = tokio::time::Instant::now();
        if reported == expected || now >= deadline || now - stable_since >= Duration::from_secs(5) {
            return Ok((expected, reported));
        }
        if last.as_ref() != Some(&reported) {
            stable_since = now;
            last = Some(reported);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Reporting's scorecards from `since` on and each session's report.
async fn reported(s: &mut Season<'_>, since: DateTime<Utc>) -> Result<Figures, SimulationError> {
    let cards = s
        .clients
        .analyst
        .get_opd_scorecards(GetOpdScorecardsRequest {
            from: Some(ts(since)),
            to: None,
        })
        .await
        .during(|| "reading the scorecards".into())?;
    let opds: BTreeMap<String, OpdFigures> = cards
        .scorecards
        .iter()
        .map(|c| (c.opd_code.clone(), OpdFigures::from_scorecard(c)))
        .collect();
    let mut sessions = BTreeMap::new();
    for session in &s.model.sessions {
        let r = s
            .clients
            .analyst
            .get_session_report(GetSessionReportRequest {
                session_id: session.id.clone(),
            })
            .await;
        // A session reporting has not seen yet is one it does not show.
        match r {
            Ok(r) => {
                sessions.insert(session.id.clone(), SessionFigures::from_report(r.get_ref()));
            }
            Err(status) if status.code() == tonic::Code::NotFound => {}
            Err(status) => {
                return Err(SimulationError::Rpc {
                    during: format!("reading session {}", session.id),
                    status: Box::new(status),
                })
            }
        }
    }
    Ok(Figures { opds, sessions })
}
