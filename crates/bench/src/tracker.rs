//! The tracker that follows each submitted question to routed (its `QuestionRouted` on
//! NATS), in the OPD's inbox (answering's `ListInbox` lists it), and answered-and-visible
//! in reporting (its timeline shows `QuestionAnswered`), with a simulated OPD answering
//! everything it receives.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use futures::StreamExt;
use kenduren_proto::{
    answering::v1::{
        answering_service_client::AnsweringServiceClient, AnswerQuestionRequest, ListInboxRequest,
    },
    events::v1::QuestionStatus,
    reporting::v1::{reporting_service_client::ReportingServiceClient, GetQuestionTimelineRequest},
};
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, Semaphore};
use tonic::{metadata::MetadataValue, transport::Channel};

use crate::{
    stats::{rate, Latency, Recorder},
    tokens::{authed, Tokens},
    BenchError,
};

/// Longest wait between two polls of reporting for an answer; polls start at 1 ms and
/// double.
const MAX_POLL: Duration = Duration::from_millis(20);
/// Wait between two polls of an OPD's inbox: the resolution of the in-inbox latency.
const INBOX_POLL: Duration = Duration::from_millis(5);

/// End-to-end figures of one phase.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct EndToEnd {
    /// Questions accepted by intake in the phase.
    pub submitted: u64,
    /// Questions seen routed, in the inbox, answered and visible in reporting.
    pub completed: u64,
    /// Questions that did not complete within the wait.
    pub incomplete: u64,
    /// Seconds from the first question's send time to the last completion.
    pub seconds: f64,
    /// `completed / seconds`.
    pub per_second: f64,
    /// Due → `QuestionRouted` received on NATS.
    pub routed: Latency,
    /// Due → the simulated OPD's inbox poll (every 5 ms) lists it.
    pub inbox: Latency,
    /// Due → reporting's timeline shows `QuestionAnswered`.
    pub visible: Latency,
}

/// What is known of one question so far.
#[derive(Default)]
struct Seen {
    due: Option<Instant>,
    routed: Option<Instant>,
    inbox: Option<Instant>,
    done: Option<tokio::sync::oneshot::Sender<bool>>,
}

#[derive(Default)]
struct Recorders {
    routed: Recorder,
    inbox: Recorder,
    visible: Recorder,
    first_due: Option<Instant>,
    last_done: Option<Instant>,
}

/// Follows submitted questions through the pipeline. The simulated OPD polls each
/// OPD's inbox (as an OPD system would), answers every new question in it, and waits
/// for reporting to show the answer.
pub struct Tracker {
    seen: Mutex<HashMap<String, Seen>>,
    results: Mutex<Recorders>,
    submitted: AtomicU64,
    finished: AtomicU64,
    last_activity: Mutex<Instant>,
    progress: Notify,
    answering: Channel,
    reporting: Channel,
    tokens: Tokens,
    opd_slots: Arc<Semaphore>,
    /// Per OPD: questions routed to it and not yet seen in its inbox, and the signal
    /// that wakes its poller. An OPD's inbox is polled only while it awaits something,
    /// so the measurement does not load answering with idle polls.
    opds: Mutex<HashMap<String, Awaited>>,
    pub(crate) give_up: Duration,
}

/// What one OPD's poller waits for.
#[derive(Default)]
struct Awaited {
    questions: std::collections::HashSet<String>,
    wake: Arc<Notify>,
}

impl std::fmt::Debug for Tracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracker")
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Tracker {
    /// Subscribes to `<prefix>.v1.question.*.routed` and starts an inbox poller for
    /// every OPD a question is routed to. The simulated OPD answers at most
    /// `opd_workers` questions at once and gives a question up after `give_up`. The
    /// pollers stop when the tracker is dropped.
    pub async fn start(
        nats: &async_nats::Client,
        prefix: &str,
        answering: Channel,
        reporting: Channel,
        tokens: Tokens,
        opd_workers: usize,
        give_up: Duration,
    ) -> Result<Arc<Self>, BenchError> {
        let mut routed = nats
            .subscribe(format!("{prefix}.v1.question.*.routed"))
            .await
            .map_err(|e| BenchError::Nats(format!("subscribe: {e}")))?;
        let tracker = Arc::new(Self {
            seen: Mutex::default(),
            results: Mutex::default(),
            submitted: AtomicU64::new(0),
            finished: AtomicU64::new(0),
            last_activity: Mutex::new(Instant::now()),
            progress: Notify::new(),
            answering,
            reporting,
            tokens,
            opd_slots: Arc::new(Semaphore::new(opd_workers.max(1))),
            opds: Mutex::default(),
            give_up,
        });
        let weak = Arc::downgrade(&tracker);
        tokio::spawn(async move {
            while let Some(msg) = routed.next().await {
                let at = Instant::now();
                let Some(tracker) = weak.upgrade() else { break };
                let id = msg
                    .headers
                    .as_ref()
                    .and_then(|h| h.get("ce-subject"))
                    .map(|v| v.as_str().to_owned());
                let tokens: Vec<&str> = msg.subject.split('.').collect();
                let opd = tokens.len().checked_sub(2).and_then(|i| tokens.get(i));
                if let (Some(id), Some(opd)) = (id, opd) {
                    *lock(&tracker.last_activity) = at;
                    let listed = {
                        let mut seen = lock(&tracker.seen);
                        let entry = seen.entry(id.clone()).or_default();
                        entry.routed = Some(at);
                        entry.inbox.is_some()
                    };
                    let mut opds = lock(&tracker.opds);
                    let first = !opds.contains_key(*opd);
                    let awaited = opds.entry(opd.to_string()).or_default();
                    if !listed {
                        awaited.questions.insert(id);
                        awaited.wake.notify_one();
                    }
                    if first {
                        Self::poll_inbox(Arc::downgrade(&tracker), opd.to_string());
                    }
                }
            }
        });
        Ok(tracker)
    }

    /// Notes a question's send time; the receiver learns whether it made it through.
    pub(crate) fn submitted(&self, id: String, due: Instant) -> tokio::sync::oneshot::Receiver<bool> {
        self.submitted.fetch_add(1, Ordering::Relaxed);
        {
            let mut r = lock(&self.results);
            r.first_due = Some(r.first_due.map_or(due, |f| f.min(due)));
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        let mut seen = lock(&self.seen);
        let entry = seen.entry(id).or_default();
        entry.due = Some(due);
        entry.done = Some(tx);
        rx
    }

    /// The simulated OPD's inbox loop: while a question routed to `opd` has not shown up
    /// in its inbox, every few milliseconds, the routed questions in the inbox; each new
    /// one is answered. Idle otherwise.
    fn poll_inbox(tracker: std::sync::Weak<Self>, opd: String) {
        tokio::spawn(async move {
            let mut answered = std::collections::HashSet::new();
            loop {
                let Some(t) = tracker.upgrade() else { break };
                let wake = {
                    let opds = lock(&t.opds);
                    let awaited = opds.get(&opd);
                    match awaited {
                        Some(a) if a.questions.is_empty() => Some(a.wake.clone()),
                        _ => None,
                    }
                };
                if let Some(wake) = wake {
                    drop(t);
                    let _ = tokio::time::timeout(Duration::from_secs(1), wake.notified()).await;
                    continue;
                }
                let Ok(auth) = t.tokens.header(&format!("opd:{opd}")) else {
                    break;
                };
                let request = ListInboxRequest {
                    opd_code: opd.clone(),
                    statuses: vec![QuestionStatus::Routed as i32],
                    page_size: 500,
                    ..Default::default()
                };
                let mut client = AnsweringServiceClient::new(t.answering.clone());
                if let Ok(reply) = client.list_inbox(authed(request, &auth)).await {
                    let now = Instant::now();
                    for item in reply.into_inner().items {
                        if answered.insert(item.question_id.clone()) {
                            if let Some(awaited) = lock(&t.opds).get_mut(&opd) {
                                awaited.questions.remove(&item.question_id);
                            }
                            lock(&t.seen).entry(item.question_id.clone()).or_default().inbox = Some(now);
                            *lock(&t.last_activity) = now;
                            let t = t.clone();
                            let auth = auth.clone();
                            tokio::spawn(async move { t.answer(item.question_id, auth).await });
                        }
                    }
                }
                drop(t);
                tokio::time::sleep(INBOX_POLL).await;
            }
        });
    }

    /// Answers one question and waits until reporting shows the answer.
    async fn answer(self: Arc<Self>, id: String, auth: MetadataValue<tonic::metadata::Ascii>) {
        let done = async {
            let _slot = self.opd_slots.acquire().await.map_err(|_| ())?;
            let deadline = Instant::now() + self.give_up;
            let analyst = self.tokens.header("analyst").map_err(|_| ())?;
            let answer = AnswerQuestionRequest {
                question_id: id.clone(),
                answer: "Silakan datang ke kantor dengan dokumen lengkap.".into(),
                responder_name: "Bench".into(),
                responder_position: "Simulated OPD".into(),
                ..Default::default()
            };
            let mut answering = AnsweringServiceClient::new(self.answering.clone());
            answering
                .answer_question(authed(answer, &auth))
                .await
                .map_err(|_| ())?;
            let reporting = ReportingServiceClient::new(self.reporting.clone());
            let timeline = GetQuestionTimelineRequest {
                question_id: id.clone(),
            };
            poll(deadline, || {
                let (mut c, r) = (reporting.clone(), authed(timeline.clone(), &analyst));
                async move {
                    c.get_question_timeline(r)
                        .await
                        .map(|t| {
                            t.into_inner()
                                .events
                                .iter()
                                .any(|e| e.event_type.ends_with("QuestionAnswered"))
                        })
                        .unwrap_or(false)
                }
            })
            .await
        }
        .await;
        let now = Instant::now();
        *lock(&self.last_activity) = now;
        let Some(seen) = lock(&self.seen).remove(&id) else {
            return;
        };
        // Only questions submitted in a tracked phase count (earlier phases' questions
        // are answered too, but have no send time here).
        let Some(due) = seen.due else { return };
        let mut through = false;
        if done.is_ok() {
            let mut r = lock(&self.results);
            if let (Some(routed), Some(inbox)) = (seen.routed, seen.inbox) {
                r.routed.record(routed.saturating_duration_since(due));
                r.inbox.record(inbox.saturating_duration_since(due));
                r.visible.record(now - due);
                r.last_done = Some(r.last_done.map_or(now, |l| l.max(now)));
                through = true;
            }
        }
        if let Some(tx) = seen.done {
            let _ = tx.send(through);
        }
        self.finished.fetch_add(1, Ordering::Relaxed);
        self.progress.notify_waiters();
    }

    /// Waits until every submitted question finished or failed, or `timeout` passed,
    /// then takes the figures and resets for the next phase.
    pub async fn finish(&self, timeout: Duration) -> EndToEnd {
        let end = Instant::now() + timeout;
        loop {
            let notified = self.progress.notified();
            let submitted = self.submitted.load(Ordering::Relaxed);
            if self.finished.load(Ordering::Relaxed) >= submitted || Instant::now() >= end {
                break;
            }
            let _ = tokio::time::timeout(Duration::from_millis(50), notified).await;
        }
        let taken = std::mem::take(&mut *lock(&self.results));
        lock(&self.seen).clear();
        let submitted = self.submitted.swap(0, Ordering::Relaxed);
        self.finished.store(0, Ordering::Relaxed);
        let completed = taken.visible.summary().count;
        let seconds = match (taken.first_due, taken.last_done) {
            (Some(f), Some(l)) => l.saturating_duration_since(f).as_secs_f64(),
            _ => 0.0,
        };
        EndToEnd {
            submitted,
            completed,
            incomplete: submitted.saturating_sub(completed),
            seconds,
            per_second: rate(completed, seconds),
            routed: taken.routed.summary(),
            inbox: taken.inbox.summary(),
            visible: taken.visible.summary(),
        }
    }
}

/// Calls `check` until it says yes, waiting 1 ms, 2 ms, … up to [`MAX_POLL`] between
/// tries; gives up at `deadline`.
async fn poll<F, Fut>(deadline: Instant, mut check: F) -> Result<(), ()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let mut wait = Duration::from_millis(1);
    loop {
        if check().await {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(());
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(MAX_POLL);
    }
}
