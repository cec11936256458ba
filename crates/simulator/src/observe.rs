//! Waiting for the services to show what the model did, and reading the facts the model
//! cannot choose — assignment, due date, answer time — from intake's `TrackQuestion`,
//! as a citizen would: instants are the timeline entries' times, which are the events'
//! own `occurred_at`. Every wait polls and gives up after [`PATIENCE`].

use std::{
    collections::{BTreeMap, BTreeSet},
    time::Duration,
};

use chrono::{DateTime, Utc};
use kenduren_domain::WorkCalendar;
use kenduren_proto::{
    answering::v1::ListInboxRequest,
    intake::v1::{TrackQuestionRequest, TrackQuestionResponse},
};
use kenduren_runtime::to_datetime;

use crate::{
    clients::Clients,
    error::During,
    model::{FirstAnswer, Model, Question, Status},
    SimulationError,
};

/// How long the services may take to catch up with one step of the season.
pub(crate) const PATIENCE: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(100);

/// A wait with a deadline: each unsuccessful poll calls [`Patience::again`].
pub(crate) struct Patience {
    what: &'static str,
    deadline: tokio::time::Instant,
}

impl Patience {
    /// Starts waiting for `what`.
    pub(crate) fn new(what: &'static str) -> Self {
        Self {
            what,
            deadline: tokio::time::Instant::now() + PATIENCE,
        }
    }

    /// Pauses before the next poll, or fails once the deadline has passed.
    pub(crate) async fn again(&self) -> Result<(), SimulationError> {
        if tokio::time::Instant::now() >= self.deadline {
            return Err(SimulationError::Timeout(self.what.to_owned()));
        }
        tokio::time::sleep(POLL).await;
        Ok(())
    }
}

const ASSIGNMENTS: [&str; 3] = ["QuestionRouted", "QuestionTriaged", "QuestionReassigned"];

fn is(entry_type: &str, name: &str) -> bool {
    entry_type.rsplit('.').next() == Some(name)
}

/// The citizen's view of `q`.
pub(crate) async fn track(
    clients: &mut Clients,
    q: &Question,
) -> Result<TrackQuestionResponse, SimulationError> {
    clients
        .desk
        .track_question(TrackQuestionRequest {
            ticket: q.ticket.clone(),
            tracking_pin: q.pin.clone(),
        })
        .await
        .during(|| format!("tracking {}", q.ticket))
}

/// Applies what tracking shows to `q` when it shows everything the model caused;
/// returns whether it did.
fn absorb(q: &mut Question, t: &TrackQuestionResponse) -> bool {
    let count = |names: &[&str]| {
        t.timeline
            .iter()
            .filter(|e| names.iter().any(|n| is(&e.event_type, n)))
            .count()
    };
    if count(&ASSIGNMENTS) < q.routings || count(&["QuestionAnswered"]) < q.answers {
        return false;
    }
    let status = t.status;
    if q.awaiting_route {
        if status == Status::Routed.proto() as i32 && !t.opd_code.is_empty() {
            q.status = Status::Routed;
            q.opd = Some(t.opd_code.clone());
            q.due = t.due_at.as_ref().and_then(to_datetime);
            q.routed_at = t
                .timeline
                .iter()
                .rev()
                .find(|e| is(&e.event_type, "QuestionRouted") || is(&e.event_type, "QuestionReassigned"))
                .and_then(|e| e.at.as_ref().and_then(to_datetime));
        } else if status == Status::Triage.proto() as i32 {
            q.status = Status::Triage;
            q.opd = None;
            q.due = None;
        } else {
            return false;
        }
        q.awaiting_route = false;
        // A new assignment runs a new SLA clock.
        q.clock_levels.clear();
        return true;
    }
    if status != q.status.proto() as i32 {
        return false;
    }
    if q.first_answer.is_none() && q.answers > 0 {
        let time_of = |ty: &str| {
            t.timeline
                .iter()
                .find(|e| is(&e.event_type, ty))
                .and_then(|e| e.at.as_ref().and_then(to_datetime))
        };
        let (Some(at), Some(submitted_at)) = (time_of("QuestionAnswered"), time_of("QuestionSubmitted"))
        else {
            return false;
        };
        q.first_answer = Some(first_answer(q, submitted_at, at));
    }
    true
}

/// The first answer's figures; "on the spot" means by the end of the day the citizen
/// asked, whenever routing got to it.
fn first_answer(q: &Question, submitted_at: DateTime<Utc>, at: DateTime<Utc>) -> FirstAnswer {
    FirstAnswer {
        at,
        within_due: q.due.is_none_or(|due| at <= due),
        on_the_spot: q.on_site && at < WorkCalendar::default().end_of_local_day(submitted_at),
    }
}

/// Waits until intake's tracking shows every question as the model has it, and
/// records what routing decided and when answers were given.
pub(crate) async fn settle_tracking(clients: &mut Clients, model: &mut Model) -> Result<(), SimulationError> {
    let mut pending: BTreeSet<usize> = (0..model.questions.len()).collect();
    let patience = Patience::new("intake's tracking to show every question as the simulator left it");
    loop {
        let ids: Vec<usize> = pending.iter().copied().collect();
        for i in ids {
            let t = track(clients, &model.questions[i]).await?;
            if absorb(&mut model.questions[i], &t) {
                pending.remove(&i);
            }
        }
        if pending.is_empty() {
            return Ok(());
        }
        patience.again().await?;
    }
}

/// Waits until every OPD's inbox in answering lists exactly the questions the model
/// has open with it, so the OPDs work from the same state as the model.
pub(crate) async fn settle_inboxes(
    clients: &mut Clients,
    model: &Model,
    opds: &[String],
) -> Result<(), SimulationError> {
    let mut want: BTreeMap<String, BTreeSet<String>> =
        opds.iter().map(|o| (o.clone(), BTreeSet::new())).collect();
    for q in &model.questions {
        if let (Some(opd), true) = (&q.opd, q.status.with_opd()) {
            want.entry(opd.clone()).or_default().insert(q.id.clone());
        }
    }
    let mut pending: Vec<String> = want.keys().cloned().collect();
    let patience = Patience::new("answering's inboxes to list what the simulator expects");
    loop {
        let mut still = Vec::new();
        for opd in &pending {
            if want.get(opd) != Some(&inbox(clients, opd).await?) {
                still.push(opd.clone());
            }
        }
        pending = still;
        if pending.is_empty() {
            return Ok(());
        }
        patience.again().await?;
    }
}

/// The ids in `opd`'s inbox, read as the OPD.
pub(crate) async fn inbox(clients: &mut Clients, opd: &str) -> Result<BTreeSet<String>, SimulationError> {
    let mut client = clients.opd(opd)?;
    let mut ids = BTreeSet::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .list_inbox(ListInboxRequest {
                opd_code: opd.to_owned(),
                page_size: 200,
                page_token: page_token.clone(),
                ..Default::default()
            })
            .await
            .during(|| format!("listing {opd}'s inbox"))?;
        ids.extend(page.items.into_iter().map(|i| i.question_id));
        if page.next_page_token.is_empty() {
            return Ok(ids);
        }
        page_token = page.next_page_token;
    }
}
