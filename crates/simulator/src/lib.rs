//! The ground truth for reporting: a seeded season of Kenduren Mas driven only through
//! the real services' gRPC APIs, with proper role tokens, that computes the figures it
//! expects from its own model of what it did and what it observed — never from
//! reporting's code — and compares them with `GetOpdScorecards` and `GetSessionReport`.
//!
//! The season: an admin schedules sessions across the kecamatan; OPDs with behaviour
//! profiles (prompt, slow, absent, rejecting) check in or not and work their inboxes;
//! citizens submit on site (every kind, aspirations included) and on the web, some
//! withdraw, some rate answers (a 1–2 reopens); an admin routes what routing sent to
//! triage after a rejection. Escalation time is the one controllable clock: routing's
//! `RunEscalations{as_of}` runs twice, once just past every open question's due date and
//! once far beyond. Everything else runs on the services' real time, so the model reads
//! the facts it cannot choose (assignment, due date, answer time) from intake's
//! `TrackQuestion`, as a citizen would, and counts working hours to answer with its own
//! arithmetic over routing's holiday list (`ListHolidays`). The first session has already
//! ended when the season starts and the others lie ahead, so session reports show both
//! absent and awaited OPDs.

mod citizens;
mod clients;
mod error;
mod figures;
mod hours;
mod model;
mod observe;
mod season;
mod work;

use std::collections::BTreeMap;

use kenduren_domain::Catalogue;

pub use clients::Endpoints;
pub use error::SimulationError;
pub use figures::{compare, Figures, Mismatch, OpdFigures, SessionFigures};
pub use hours::{percentile_hours, working_micros};
/// The working-day calendar [`working_micros`] counts on.
pub use kenduren_domain::WorkCalendar;
pub use model::Profile;

/// What season to simulate.
#[derive(Debug, Clone)]
pub struct SimulationConfig {
    /// Seeds every choice the simulator makes (profiles, places, kinds, answers, ratings).
    pub seed: u64,
    /// Kenduren Mas sessions to schedule.
    pub sessions: usize,
    /// Citizens, each bringing one submission.
    pub citizens: usize,
    /// Categories and the gazetteer the services validate against (the deployment's
    /// reference data), so the simulator only submits what the desk would accept.
    pub catalogue: Catalogue,
    /// The services' clock (`KENDUREN_CLOCK_SHIFT_SECONDS`): the season's dates and the
    /// figures' "now" are read from it, so a season can run on a working morning.
    pub clock: kenduren_runtime::Clock,
}

/// Counts of what the season did, for the progress line and sanity checks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeasonStats {
    /// Submissions taken (on site and on the web).
    pub submissions: usize,
    /// Of them, taken on site at a session.
    pub on_site: usize,
    /// Assignments an OPD rejected.
    pub rejections: usize,
    /// Questions an admin routed by hand out of triage.
    pub routed_manually: usize,
    /// Questions answered at least once.
    pub answered: usize,
    /// Questions withdrawn by their citizen.
    pub withdrawn: usize,
    /// Answers rated, and of those, reopened by a rating of 1–2.
    pub rated: usize,
    /// Ratings that reopened their question.
    pub reopened: usize,
    /// Escalation events the two sweeps produced.
    pub escalations: usize,
    /// OPD check-ins at sessions.
    pub check_ins: usize,
}

/// The outcome of a season: what the simulator expected, what reporting said, and
/// every difference.
#[derive(Debug, Clone)]
pub struct SimulationReport {
    /// The seed the season ran with.
    pub seed: u64,
    /// Each OPD's behaviour profile.
    pub profiles: BTreeMap<String, Profile>,
    /// What the season did.
    pub stats: SeasonStats,
    /// The figures computed by the simulator from its own model.
    pub expected: Figures,
    /// The figures reporting served once it had caught up.
    pub reported: Figures,
    /// Every figure where the two differ.
    pub mismatches: Vec<Mismatch>,
    /// Where a service behaved otherwise than the model predicted while the season
    /// ran (e.g. routing escalated a question the model thought answered).
    pub divergences: Vec<String>,
}

impl SimulationReport {
    /// True when reporting matched the model exactly and no service diverged from it.
    pub fn matches(&self) -> bool {
        self.mismatches.is_empty() && self.divergences.is_empty()
    }
}

/// Runs a season against the services at `endpoints` and compares the figures.
pub async fn simulate(
    config: SimulationConfig,
    endpoints: Endpoints,
) -> Result<SimulationReport, SimulationError> {
    simulate_with_progress(config, endpoints, &|_| {}).await
}

/// As [`simulate`], calling `progress` with a short line as each phase starts.
pub async fn simulate_with_progress(
    config: SimulationConfig,
    endpoints: Endpoints,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<SimulationReport, SimulationError> {
    season::run(config, endpoints, progress).await
}
