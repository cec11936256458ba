//! What citizens do: submit (on site at a session or on the web), withdraw an
//! unanswered question, and rate an answer (a 1–2 reopens it).

use std::collections::BTreeSet;

use kenduren_domain::QuestionKind;
use kenduren_proto::{
    events::v1::{Channel, Location, QuestionKind as PbKind},
    intake::v1::{Citizen, RateAnswerRequest, SubmitQuestionRequest, WithdrawQuestionRequest},
};
use rand::{seq::IndexedRandom, Rng};

use crate::{
    error::During,
    model::{Question, Status},
    season::{Plan, Season},
    SimulationError,
};

impl Season<'_> {
    /// Citizen `citizen` submits; on site at a random session when `may_be_on_site`.
    pub(crate) async fn submit(
        &mut self,
        citizen: usize,
        may_be_on_site: bool,
    ) -> Result<(), SimulationError> {
        let session = (may_be_on_site && !self.model.sessions.is_empty() && self.rng.random_bool(0.8))
            .then(|| self.rng.random_range(0..self.model.sessions.len()));
        let kind = *[
            QuestionKind::Question,
            QuestionKind::Question,
            QuestionKind::Complaint,
            QuestionKind::Aspiration,
            QuestionKind::Aspiration,
            QuestionKind::ServiceRequest,
        ]
        .choose(&mut self.rng)
        .unwrap_or(&QuestionKind::Question);
        let fitting: Vec<&(String, BTreeSet<QuestionKind>)> = self
            .categories
            .iter()
            .filter(|(_, kinds)| kinds.is_empty() || kinds.contains(&kind))
            .collect();
        let Some((category, _)) = fitting.choose(&mut self.rng).map(|c| (*c).clone()) else {
            return Err(SimulationError::Setup(format!("no category accepts {kind:?}")));
        };
        let (kecamatan, desa) = match session {
            Some(i) => (
                self.model.sessions[i].kecamatan.clone(),
                self.model.sessions[i].desa.clone(),
            ),
            None => {
                let places: Vec<(&String, &BTreeSet<String>)> =
                    self.config.catalogue.gazetteer.iter().collect();
                let (k, villages) = places[self.rng.random_range(0..places.len())];
                let v: Vec<&String> = villages.iter().collect();
                (
                    k.clone(),
                    v.choose(&mut self.rng).map(|d| (*d).clone()).unwrap_or_default(),
                )
            }
        };
        let plan = Plan {
            withdraw_early: self.rng.random_bool(0.08),
            withdraw_late: self.rng.random_bool(0.08),
            rating: self
                .rng
                .random_bool(0.6)
                .then(|| *[1, 2, 3, 4, 4, 5, 5].choose(&mut self.rng).unwrap_or(&4)),
        };
        let anonymous = self.rng.random_bool(0.1);
        let confidential = self.rng.random_bool(0.05);
        let session_id = session.map(|i| self.model.sessions[i].id.clone());
        let submitted = self
            .clients
            .desk
            .submit_question(SubmitQuestionRequest {
                // Fresh per run: a seed replayed against the same deployment is a new season.
                request_id: uuid::Uuid::new_v4().to_string(),
                kind: proto_kind(kind) as i32,
                category: category.clone(),
                text: format!("Warga ke-{citizen} menyampaikan soal {category} di {kecamatan}."),
                channel: if session.is_some() {
                    Channel::OnSite
                } else {
                    Channel::Web
                } as i32,
                session_id: session_id.clone().unwrap_or_default(),
                location: Some(Location {
                    kecamatan,
                    desa,
                    ..Default::default()
                }),
                citizen: Some(Citizen {
                    name: format!("Warga {citizen}"),
                    phone: format!("08123{citizen:06}"),
                    anonymous,
                    confidential,
                    ..Default::default()
                }),
            })
            .await
            .during(|| format!("citizen {citizen} submitting"))?;
        self.stats.submissions += 1;
        self.stats.on_site += usize::from(session.is_some());
        self.plans.push(plan);
        self.model.questions.push(Question {
            id: submitted.question_id,
            ticket: submitted.ticket,
            pin: submitted.tracking_pin,
            kind,
            category,
            on_site: session.is_some(),
            session: session_id,
            status: Status::Submitted,
            opd: None,
            due: None,
            routed_at: None,
            routings: 1,
            awaiting_route: true,
            answers: 0,
            rejected_by: Vec::new(),
            first_answer: None,
            rating: None,
            reopened: 0,
            escalations: BTreeSet::new(),
            clock_levels: BTreeSet::new(),
        });
        Ok(())
    }

    /// Citizens whose plan says so withdraw their still unanswered questions.
    pub(crate) async fn withdraw(&mut self, wants: fn(&Plan) -> bool) -> Result<(), SimulationError> {
        for i in 0..self.model.questions.len() {
            let q = &self.model.questions[i];
            if !wants(&self.plans[i]) || !q.status.unanswered() || q.status == Status::Submitted {
                continue;
            }
            let (ticket, pin) = (q.ticket.clone(), q.pin.clone());
            self.clients
                .desk
                .withdraw_question(WithdrawQuestionRequest {
                    ticket: ticket.clone(),
                    tracking_pin: pin,
                    reason: "Sudah terselesaikan sendiri".into(),
                })
                .await
                .during(|| format!("withdrawing {ticket}"))?;
            self.model.questions[i].status = Status::Withdrawn;
            self.stats.withdrawn += 1;
        }
        Ok(())
    }

    /// Citizens with a rating in mind rate their answered questions.
    pub(crate) async fn rate(&mut self) -> Result<(), SimulationError> {
        for i in 0..self.model.questions.len() {
            let q = &self.model.questions[i];
            let Some(rating) = self.plans[i].rating else {
                continue;
            };
            if q.status != Status::Answered || q.rating.is_some() {
                continue;
            }
            let (ticket, pin) = (q.ticket.clone(), q.pin.clone());
            let rated = self
                .clients
                .desk
                .rate_answer(RateAnswerRequest {
                    ticket: ticket.clone(),
                    tracking_pin: pin,
                    rating,
                    comment: String::new(),
                })
                .await
                .during(|| format!("rating {ticket}"))?;
            let q = &mut self.model.questions[i];
            q.rating = Some(rating);
            self.stats.rated += 1;
            if rated.reopened {
                // Back to the same OPD on a new SLA clock.
                q.status = Status::Routed;
                q.reopened += 1;
                q.clock_levels.clear();
                self.stats.reopened += 1;
            }
            if rated.reopened != (rating <= 2) {
                self.divergences
                    .push(format!("{ticket}: rating {rating} reopened = {}", rated.reopened));
            }
        }
        Ok(())
    }

    /// The next late citizen submits on the web, if any is left.
    pub(crate) async fn late_submission(&mut self) -> Result<bool, SimulationError> {
        let Some(citizen) = self.late_citizens.pop() else {
            return Ok(false);
        };
        self.submit(citizen, false).await?;
        Ok(true)
    }
}

fn proto_kind(kind: QuestionKind) -> PbKind {
    match kind {
        QuestionKind::Question => PbKind::Question,
        QuestionKind::Complaint => PbKind::Complaint,
        QuestionKind::Aspiration => PbKind::Aspiration,
        QuestionKind::ServiceRequest => PbKind::ServiceRequest,
    }
}
