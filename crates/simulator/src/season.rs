//! The season in order: set-up, sessions and check-ins, submissions, withdrawals, the
//! OPDs' work and two escalation sweeps (in `work`), ratings, and the comparison.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Days, NaiveDate, NaiveTime, TimeZone, Utc};
use kenduren_domain::{calendar::wib, QuestionKind, WorkCalendar};
use kenduren_proto::{
    intake::v1::{CheckInOpdRequest, ScheduleSessionRequest},
    routing::v1::{ListHolidaysRequest, ListOpdsRequest, ListRulesRequest},
};
use rand::{rngs::StdRng, seq::IndexedRandom, seq::SliceRandom, Rng, SeedableRng};

use crate::{
    clients::Clients,
    error::During,
    model::{Model, Profile, Session},
    observe, work, Endpoints, SeasonStats, SimulationConfig, SimulationError, SimulationReport,
};

/// What a citizen means to do after submitting.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Plan {
    pub withdraw_early: bool,
    pub withdraw_late: bool,
    /// The rating the citizen gives an answer, if any.
    pub rating: Option<u32>,
}

/// The season's state: the services' clients, the seeded choices and the model.
pub(crate) struct Season<'a> {
    pub rng: StdRng,
    pub clients: Clients,
    pub model: Model,
    pub plans: Vec<Plan>,
    pub profiles: BTreeMap<String, Profile>,
    /// OPD codes the rules route to, sorted: the OPDs that take part.
    pub opds: Vec<String>,
    /// Categories with a rule, and the kinds each accepts (empty: any).
    pub categories: Vec<(String, BTreeSet<QuestionKind>)>,
    pub stats: SeasonStats,
    /// Working days as routing counts them (its holiday list), for working hours.
    pub calendar: WorkCalendar,
    pub divergences: Vec<String>,
    pub config: SimulationConfig,
    /// Citizens who submit on the web right before a sweep (their routing shows that
    /// routing has read everything published before them).
    pub late_citizens: Vec<usize>,
    pub progress: &'a (dyn Fn(&str) + Sync),
}

/// Runs the whole season.
pub(crate) async fn run(
    config: SimulationConfig,
    endpoints: Endpoints,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<SimulationReport, SimulationError> {
    let started = config.clock.now();
    let mut s = setup(config, endpoints, progress).await?;
    (s.progress)(&format!(
        "season of seed {}: {} OPDs, {} sessions, {} citizens",
        s.config.seed,
        s.opds.len(),
        s.config.sessions,
        s.config.citizens
    ));
    s.schedule_sessions().await?;
    s.check_ins().await?;
    (s.progress)("citizens submit");
    let late = s.config.citizens.min(2);
    let first = s.config.citizens - late;
    s.late_citizens = (first..s.config.citizens).rev().collect();
    for citizen in 0..first {
        s.submit(citizen, true).await?;
    }
    observe::settle_tracking(&mut s.clients, &mut s.model).await?;
    s.withdraw(|p| p.withdraw_early).await?;
    work::season_of_work(&mut s).await?;
    (s.progress)("citizens rate answers");
    s.rate().await?;
    work::after_ratings(&mut s).await?;
    (s.progress)("waiting for reporting to catch up");
    // The scorecards' period opens with the first session's first day (already past).
    let since = s
        .model
        .sessions
        .iter()
        .filter_map(|x| x.dates.first())
        .filter_map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .min()
        .and_then(|d| wib().from_local_datetime(&d.and_time(NaiveTime::MIN)).single())
        .map_or(started, |midnight| started.min(midnight.with_timezone(&Utc)));
    let (expected, reported) = work::quiescent_figures(&mut s, since).await?;
    let mismatches = crate::compare(&expected, &reported);
    Ok(SimulationReport {
        seed: s.config.seed,
        profiles: s.profiles,
        stats: s.stats,
        expected,
        reported,
        mismatches,
        divergences: s.divergences,
    })
}

async fn setup<'a>(
    config: SimulationConfig,
    endpoints: Endpoints,
    progress: &'a (dyn Fn(&str) + Sync),
) -> Result<Season<'a>, SimulationError> {
    let mut clients = Clients::new(endpoints)?;
    let directory = clients
        .admin_routing
        .list_opds(ListOpdsRequest {})
        .await
        .during(|| "reading the OPD directory".into())?;
    let active: BTreeSet<String> = directory
        .opds
        .into_iter()
        .filter(|o| o.active)
        .map(|o| o.code)
        .collect();
    let rules = clients
        .admin_routing
        .list_rules(ListRulesRequest {})
        .await
        .during(|| "reading the routing rules".into())?
        .rules;
    let opds: Vec<String> = rules
        .iter()
        .map(|r| r.opd_code.clone())
        .filter(|c| active.contains(c))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let categories: Vec<(String, BTreeSet<QuestionKind>)> = rules
        .iter()
        .filter(|r| active.contains(&r.opd_code) && r.keywords.is_empty() && r.kecamatan.is_empty())
        .filter_map(|r| {
            let kinds = config.catalogue.categories.get(&r.category)?;
            Some((r.category.clone(), kinds.clone()))
        })
        .collect::<BTreeMap<_, _>>()
        .into_iter()
        .collect();
    if opds.is_empty() || categories.is_empty() || config.catalogue.gazetteer.is_empty() {
        return Err(SimulationError::Setup(
            "the deployment needs active OPDs, routing rules for catalogue categories and a gazetteer".into(),
        ));
    }
    let calendar = holidays(&mut clients).await?;
    let mut rng = StdRng::seed_from_u64(config.seed);
    let mut order = opds.clone();
    order.shuffle(&mut rng);
    let all = [
        Profile::Prompt,
        Profile::Slow,
        Profile::Absent,
        Profile::Rejecting,
    ];
    let profiles = order
        .iter()
        .enumerate()
        .map(|(i, code)| {
            // Every profile once, then mostly prompt OPDs as in a real season.
            let p = all.get(i).copied().unwrap_or_else(|| {
                *[
                    Profile::Prompt,
                    Profile::Prompt,
                    Profile::Slow,
                    Profile::Absent,
                    Profile::Rejecting,
                ]
                .choose(&mut rng)
                .unwrap_or(&Profile::Prompt)
            });
            (code.clone(), p)
        })
        .collect();
    Ok(Season {
        rng,
        clients,
        model: Model::default(),
        plans: Vec::new(),
        profiles,
        opds,
        categories,
        stats: SeasonStats::default(),
        calendar,
        divergences: Vec::new(),
        config,
        late_citizens: Vec::new(),
        progress,
    })
}

impl Season<'_> {
    /// The profile of `opd`.
    pub(crate) fn profile(&self, opd: &str) -> Profile {
        self.profiles.get(opd).copied().unwrap_or(Profile::Absent)
    }

    async fn schedule_sessions(&mut self) -> Result<(), SimulationError> {
        (self.progress)("admin schedules sessions");
        let mut places: Vec<(String, Vec<String>)> = self
            .config
            .catalogue
            .gazetteer
            .iter()
            .map(|(k, v)| (k.clone(), v.iter().cloned().collect()))
            .collect();
        places.shuffle(&mut self.rng);
        // The first session ended yesterday (WIB): no one can check in any more, so every
        // expected OPD is absent.
        // The others start tomorrow and every two weeks after: not checked in yet is
        // only awaited.
        let today = self.config.clock.now().with_timezone(&wib()).date_naive();
        for i in 0..self.config.sessions {
            let (kecamatan, villages) = &places[i % places.len()];
            let desa = villages
                .choose(&mut self.rng)
                .cloned()
                .unwrap_or_else(|| kecamatan.clone());
            let first = match i {
                0 => today - Days::new(2),
                _ => today + Days::new(1 + 14 * (i as u64 - 1)),
            };
            let dates = vec![first.to_string(), (first + Days::new(1)).to_string()];
            let k = self.rng.random_range(3..=7).min(self.opds.len());
            let expected: BTreeSet<String> = self.opds.choose_multiple(&mut self.rng, k).cloned().collect();
            let scheduled = self
                .clients
                .admin_intake
                .schedule_session(ScheduleSessionRequest {
                    dates: dates.clone(),
                    kecamatan: kecamatan.clone(),
                    desa: desa.clone(),
                    expected_opd_codes: expected.iter().cloned().collect(),
                    ..Default::default()
                })
                .await
                .during(|| format!("scheduling a session in {kecamatan}"))?;
            let id = scheduled.session.map(|s| s.session_id).unwrap_or_default();
            self.model.sessions.push(Session {
                id,
                dates,
                kecamatan: kecamatan.clone(),
                desa,
                expected,
                checked_in: BTreeSet::new(),
            });
        }
        Ok(())
    }

    async fn check_ins(&mut self) -> Result<(), SimulationError> {
        (self.progress)("OPDs check in (or not)");
        for i in 0..self.model.sessions.len() {
            let expected: Vec<String> = self.model.sessions[i].expected.iter().cloned().collect();
            let mut coming: Vec<String> = expected
                .iter()
                .filter(|opd| {
                    let p = match self.profile(opd) {
                        Profile::Prompt => 0.9,
                        Profile::Rejecting => 0.8,
                        Profile::Slow => 0.5,
                        Profile::Absent => 0.0,
                    };
                    self.rng.random_bool(p)
                })
                .cloned()
                .collect();
            // Now and then an OPD nobody expected comes anyway.
            if self.rng.random_bool(0.3) {
                let others: Vec<&String> = self
                    .opds
                    .iter()
                    .filter(|o| !expected.contains(o) && self.profile(o) != Profile::Absent)
                    .collect();
                if let Some(o) = others.choose(&mut self.rng) {
                    coming.push((*o).clone());
                }
            }
            // Once a session is over intake refuses a check-in: an absence stays one.
            let over = crate::model::over(&self.model.sessions[i].dates, self.config.clock.now());
            for opd in coming {
                let session_id = self.model.sessions[i].id.clone();
                let answer = self
                    .clients
                    .opd_at_intake(&opd)?
                    .check_in_opd(CheckInOpdRequest {
                        session_id: session_id.clone(),
                        opd_code: opd.clone(),
                        representative: format!("Kepala Bidang Pelayanan {opd}"),
                    })
                    .await;
                match answer {
                    Err(status) if over && status.code() == tonic::Code::FailedPrecondition => continue,
                    Ok(_) if over => self.divergences.push(format!(
                        "intake let {opd} check in at {session_id} after it ended"
                    )),
                    answer => {
                        answer.during(|| format!("{opd} checking in"))?;
                    }
                }
                self.model.sessions[i].checked_in.insert(opd);
                self.stats.check_ins += 1;
            }
        }
        Ok(())
    }
}

/// Routing's working-day calendar: every holiday it lists.
async fn holidays(clients: &mut Clients) -> Result<WorkCalendar, SimulationError> {
    let mut days = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = clients
            .admin_routing
            .list_holidays(ListHolidaysRequest {
                year: 0,
                page_size: 500,
                page_token: page_token.clone(),
            })
            .await
            .during(|| "reading routing's holidays".into())?;
        for h in page.holidays {
            let day = NaiveDate::parse_from_str(&h.date, "%Y-%m-%d")
                .map_err(|_| SimulationError::Setup(format!("routing lists a holiday on {:?}", h.date)))?;
            days.push(day);
        }
        if page.next_page_token.is_empty() {
            return Ok(WorkCalendar::new(days));
        }
        page_token = page.next_page_token;
    }
}

/// The instant as a protobuf timestamp.
pub(crate) fn ts(at: DateTime<Utc>) -> prost_types::Timestamp {
    kenduren_runtime::timestamp(at)
}
