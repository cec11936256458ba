//! The pipeline under load: `SubmitQuestion` calls, each handed to the [`Tracker`] that
//! follows the question to the end.

use std::sync::Arc;

use futures::FutureExt;
use kenduren_proto::{
    events::v1::{Channel as SubmitChannel, Location, QuestionKind},
    intake::v1::{intake_service_client::IntakeServiceClient, SubmitQuestionRequest},
};
use tonic::transport::Channel;

pub use crate::tracker::{EndToEnd, Tracker};

use crate::{
    drive::Op,
    tokens::{authed, Tokens},
    BenchError,
};

/// Categories the shipped rules route to five different OPDs, so the load spreads.
const CATEGORIES: [&str; 5] = [
    "kependudukan",
    "pajak_daerah",
    "jalan_jembatan",
    "kesehatan",
    "pendidikan",
];

/// A `SubmitQuestion` request whose text is `payload` bytes.
pub fn question(seq: u64, payload: usize, run: &str) -> SubmitQuestionRequest {
    let mut text = format!("Benchmark {run} #{seq}: bagaimana mengurus KTP-el? ");
    while text.len() < payload {
        text.push('x');
    }
    text.truncate(payload.max(1));
    SubmitQuestionRequest {
        request_id: format!("{run}-{seq}"),
        kind: QuestionKind::Question as i32,
        category: CATEGORIES[(seq % CATEGORIES.len() as u64) as usize].into(),
        text,
        channel: SubmitChannel::Web as i32,
        session_id: String::new(),
        location: Some(Location {
            kecamatan: "Bangil".into(),
            desa: "Kalirejo".into(),
            latitude: None,
            longitude: None,
        }),
        citizen: None,
    }
}

/// An operation that submits question `seq`; when `tracker` is given, it follows the
/// question from the moment it was due.
pub fn submit_op(
    intake: Channel,
    tokens: &Tokens,
    payload: usize,
    run: Arc<str>,
    tracker: Option<Arc<Tracker>>,
    wait_for_answer: bool,
) -> Result<Op, BenchError> {
    let desk = tokens.header("desk")?;
    Ok(Arc::new(move |seq, due| {
        let mut client = IntakeServiceClient::new(intake.clone());
        let request = authed(question(seq, payload, &run), &desk);
        let tracker = tracker.clone();
        async move {
            match client.submit_question(request).await {
                Ok(reply) => match tracker {
                    Some(t) => {
                        let answered = t.submitted(reply.into_inner().question_id, due);
                        // The end-to-end closed loop: the next question only once this
                        // one is answered and visible in reporting.
                        !wait_for_answer
                            || tokio::time::timeout(t.give_up, answered)
                                .await
                                .is_ok_and(|r| r == Ok(true))
                    }
                    None => true,
                },
                Err(_) => false,
            }
        }
        .boxed()
    }))
}
