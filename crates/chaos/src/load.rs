//! The bounded load of one scenario: desk workers submitting questions (retrying a
//! failed call with the same `request_id`, as a careful client does) and a simulated OPD
//! that lists its inbox and answers. Everything the client saw acknowledged is recorded.

use std::{
    collections::BTreeSet,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use anyhow::{Context, Result};
use kenduren_auth::BearerToken;
use kenduren_proto::{
    answering::v1::{
        answering_service_client::AnsweringServiceClient, AnswerQuestionRequest, ListInboxRequest,
    },
    events::v1::{Channel as SubmitChannel, Location, QuestionKind, QuestionStatus},
    intake::v1::{intake_service_client::IntakeServiceClient, SubmitQuestionRequest},
};
use tonic::{service::interceptor::InterceptedService, transport::Channel};

/// The OPD the `kependudukan` rule routes to: the simulated OPD's inbox.
pub const OPD: &str = "DISPENDUKCAPIL";

/// How long one call may take before it counts as failed (and is retried).
const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// A submission is given up after this many failed attempts (~60 s of retrying).
const MAX_ATTEMPTS: u32 = 120;

type Authed = InterceptedService<Channel, BearerToken>;

/// A submission the desk saw acknowledged.
#[derive(Debug, Clone)]
pub struct Acked {
    /// Question id from the response.
    pub question_id: String,
    /// Ticket from the response (printed with a lost question, so it can be traced).
    pub ticket: String,
    /// Sent and acknowledged while the fault was active.
    pub during_fault: bool,
}

/// Counters shared by the workers.
#[derive(Debug, Default)]
pub struct Stats {
    /// Failed calls that were retried (UNAVAILABLE, timeouts, resets).
    pub failed_calls: AtomicU64,
    /// Failed calls made while the fault was active.
    pub failed_during_fault: AtomicU64,
    /// Submissions given up after [`MAX_ATTEMPTS`] (not acknowledged, not counted).
    pub abandoned: AtomicU64,
    /// Failed calls by gRPC code (`timeout` when the client gave up waiting).
    pub codes: Mutex<std::collections::BTreeMap<String, u64>>,
}

impl Stats {
    /// `CODE n, …` of the failed calls.
    pub fn codes(&self) -> String {
        let codes = lock(&self.codes);
        codes
            .iter()
            .map(|(c, n)| format!("{c} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A running load; [`Load::stop`] ends it and returns what was acknowledged.
#[derive(Debug)]
pub struct Load {
    stop: Arc<AtomicBool>,
    /// Set by the scenario while its fault is active.
    pub fault: Arc<AtomicBool>,
    acked: Arc<Mutex<Vec<Acked>>>,
    answered: Arc<Mutex<BTreeSet<String>>>,
    /// Counters.
    pub stats: Arc<Stats>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// What the load did.
#[derive(Debug)]
pub struct Outcome {
    /// Every acknowledged submission.
    pub acked: Vec<Acked>,
    /// Questions the OPD's AnswerQuestion call acknowledged.
    pub answered: BTreeSet<String>,
}

fn authed(url: &str, token: &str) -> Result<Authed> {
    let channel = Channel::from_shared(url.to_owned())
        .with_context(|| format!("bad URL {url}"))?
        .connect_timeout(Duration::from_secs(2))
        .connect_lazy();
    Ok(InterceptedService::new(channel, BearerToken::new(token)?))
}

impl Load {
    /// Starts `workers` desk workers sharing `rate` submissions per second, and one OPD.
    pub fn start(
        intake_url: &str,
        answering_url: &str,
        desk_token: &str,
        opd_token: &str,
        workers: usize,
        rate: f64,
    ) -> Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let fault = Arc::new(AtomicBool::new(false));
        let acked = Arc::new(Mutex::new(Vec::new()));
        let answered = Arc::new(Mutex::new(BTreeSet::new()));
        let stats = Arc::new(Stats::default());
        let pace = Duration::from_secs_f64(workers.max(1) as f64 / rate.max(0.1));
        let mut tasks = Vec::new();
        for _ in 0..workers.max(1) {
            let desk = IntakeServiceClient::new(authed(intake_url, desk_token)?);
            let (stop, fault, acked, stats) = (stop.clone(), fault.clone(), acked.clone(), stats.clone());
            tasks.push(tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    if let Some(a) = submit(desk.clone(), &fault, &stats).await {
                        lock(&acked).push(a);
                    }
                    tokio::time::sleep(pace).await;
                }
            }));
        }
        let opd = AnsweringServiceClient::new(authed(answering_url, opd_token)?);
        let (stop_opd, answered_opd) = (stop.clone(), answered.clone());
        tasks.push(tokio::spawn(async move {
            while !stop_opd.load(Ordering::Relaxed) {
                answer_inbox(opd.clone(), &answered_opd).await;
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }));
        Ok(Self {
            stop,
            fault,
            acked,
            answered,
            stats,
            tasks,
        })
    }

    /// Submissions acknowledged so far.
    pub fn acked_so_far(&self) -> usize {
        lock(&self.acked).len()
    }

    /// Stops the workers, letting each finish (or give up on) the submission in hand.
    pub async fn stop(self) -> Outcome {
        self.stop.store(true, Ordering::Relaxed);
        for task in self.tasks {
            task.await.ok();
        }
        Outcome {
            acked: std::mem::take(&mut *lock(&self.acked)),
            answered: std::mem::take(&mut *lock(&self.answered)),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Submits one question, retrying with the same request id until it is acknowledged.
async fn submit(mut desk: IntakeServiceClient<Authed>, fault: &AtomicBool, stats: &Stats) -> Option<Acked> {
    let request = SubmitQuestionRequest {
        request_id: uuid::Uuid::new_v4().to_string(),
        kind: QuestionKind::Question as i32,
        category: "kependudukan".into(),
        text: "Bagaimana mengurus KTP-el yang hilang? (chaos)".into(),
        channel: SubmitChannel::Web as i32,
        session_id: String::new(),
        location: Some(Location {
            kecamatan: "Bangil".into(),
            desa: "Kalirejo".into(),
            latitude: None,
            longitude: None,
        }),
        citizen: None,
    };
    for _ in 0..MAX_ATTEMPTS {
        let in_fault = fault.load(Ordering::Relaxed);
        let reply = tokio::time::timeout(CALL_TIMEOUT, desk.submit_question(request.clone())).await;
        match reply {
            Ok(Ok(r)) => {
                let r = r.into_inner();
                return Some(Acked {
                    question_id: r.question_id,
                    ticket: r.ticket,
                    during_fault: in_fault && fault.load(Ordering::Relaxed),
                });
            }
            Ok(Err(_)) | Err(_) => {
                let code = match &reply {
                    Ok(Err(status)) => format!("{:?}", status.code()),
                    _ => "timeout".to_owned(),
                };
                *lock(&stats.codes).entry(code).or_default() += 1;
                stats.failed_calls.fetch_add(1, Ordering::Relaxed);
                if in_fault {
                    stats.failed_during_fault.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    stats.abandoned.fetch_add(1, Ordering::Relaxed);
    None
}

/// Lists the OPD's routed questions and answers each one (errors: next round).
async fn answer_inbox(mut opd: AnsweringServiceClient<Authed>, answered: &Mutex<BTreeSet<String>>) {
    let listed = tokio::time::timeout(
        CALL_TIMEOUT,
        opd.list_inbox(ListInboxRequest {
            opd_code: OPD.into(),
            statuses: vec![QuestionStatus::Routed as i32],
            page_size: 100,
            page_token: String::new(),
            overdue_only: false,
        }),
    )
    .await;
    let Ok(Ok(listed)) = listed else { return };
    for item in listed.into_inner().items {
        let reply = tokio::time::timeout(
            CALL_TIMEOUT,
            opd.answer_question(AnswerQuestionRequest {
                question_id: item.question_id.clone(),
                opd_code: OPD.into(),
                answer: "Datang ke kantor dengan surat kehilangan.".into(),
                responder_name: "Budi".into(),
                responder_position: "Kasi Pelayanan".into(),
                attachments: Vec::new(),
                expected_version: Some(item.version),
            }),
        )
        .await;
        if let Ok(Ok(_)) = reply {
            lock(answered).insert(item.question_id);
        }
    }
}
