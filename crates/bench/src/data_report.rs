//! The rebuild and query phases in the report: their rows of the table and issue 8's
//! targets for them.

use std::fmt::Write as _;

use crate::{
    report::{latency_row, target, Ratio, Report},
    stats::{ms, Throughput},
};

/// Issue 8: a rebuild replays at least this many events per second.
pub const REBUILD_EVENTS_PER_SECOND: f64 = 50_000.0;
/// Issue 8: scorecard and unanswered-list p99 at most this many milliseconds.
pub const QUERY_P99_MS: f64 = 20.0;

impl Report {
    /// The targets of the rebuild and query phases that ran, and what did not run; with
    /// the floors of the same run, their ratios: the rebuild's rate to single-row
    /// commits, each query's median to an empty call's.
    pub(crate) fn judge_data(&mut self) {
        if self.settings.pipeline {
            let (commits, empty_call_us) = (
                self.floors.postgres_commit.per_second,
                self.floors.tonic_unary.latency.p50_us as f64,
            );
            if let Some(r) = &self.rebuild {
                self.ratios.push(Ratio::new(
                    "rebuild.events_per_second",
                    r.events_per_second,
                    "floors.postgres_commit.per_second",
                    commits,
                ));
            }
            if let Some(q) = &self.queries {
                for (field, t) in [
                    ("scorecards_month", &q.scorecards_month),
                    ("scorecards_year", &q.scorecards_year),
                    ("unanswered_first_page", &q.unanswered_first_page),
                    ("unanswered_by_opd", &q.unanswered_by_opd),
                    ("unanswered_by_kecamatan", &q.unanswered_by_kecamatan),
                ] {
                    self.ratios.push(Ratio::new(
                        &format!("queries.{field}.latency.p50_us"),
                        t.latency.p50_us as f64,
                        "floors.tonic_unary.latency.p50_us",
                        empty_call_us,
                    ));
                }
            }
        }
        match &self.rebuild {
            Some(r) => {
                let mut t = target(
                    &format!(
                        "reporting rebuild >= 50,000 events/s over {} events (events/s)",
                        r.generated.events
                    ),
                    r.events_per_second,
                    REBUILD_EVENTS_PER_SECOND,
                    true,
                );
                // A rebuild that did not apply everything has no rate worth the name.
                t.met &= r.complete;
                self.targets.push(t);
            }
            None => self
                .not_measured
                .push("reporting rebuild (--rebuild-events 0)".into()),
        }
        match &self.queries {
            Some(q) => {
                for (name, t) in query_rows(q) {
                    let mut judged = target(
                        &format!("{name} p99 <= 20 ms over {} questions (ms)", q.questions),
                        ms(t.latency.p99_us),
                        QUERY_P99_MS,
                        false,
                    );
                    judged.met &= q.consistent && t.errors == 0 && t.ok > 0;
                    self.targets.push(judged);
                }
            }
            None => self
                .not_measured
                .push("GetOpdScorecards / ListUnanswered (--query-questions 0)".into()),
        }
    }

    /// The rebuild and query rows of the table.
    pub(crate) fn data_table(&self, out: &mut String) {
        if let Some(r) = &self.rebuild {
            let g = &r.generated;
            let _ = writeln!(out);
            let _ = writeln!(
                out,
                "generated {} events ({} questions, {} answered, {} sessions) in {:.1} s: {:.0}/s published with acks",
                g.events, g.questions, g.answered, g.sessions, r.generate_seconds, r.generate_per_second
            );
            let _ = writeln!(
                out,
                "rebuild: {} events replayed in {:.1} s = {:.0} events/s; read model {} questions, {} answered, {} timeline rows, {} sessions, {} check-ins, {} applied, {} dead-lettered: {}",
                r.replayed,
                r.seconds,
                r.events_per_second,
                r.questions,
                r.answered,
                r.timeline_rows,
                r.sessions,
                r.check_ins,
                r.applied,
                r.dead_letters,
                if r.complete { "all applied" } else { "INCOMPLETE" }
            );
        }
        if let Some(q) = &self.queries {
            let _ = writeln!(out);
            let _ = writeln!(
                out,
                "queries over {} questions, filled by {} in {:.1} s; {} calls each, one at a time",
                q.questions, q.filled_by, q.fill_seconds, q.iterations
            );
            for (name, t) in query_rows(q) {
                latency_row(out, name, &t.latency);
            }
            let _ = writeln!(
                out,
                "checks: year scorecards assign {} of {} questions with an OPD ({} OPDs); unanswered total {} of {} open public: {}",
                q.year_assigned,
                q.expected_assigned,
                q.year_opds,
                q.unanswered_total,
                q.expected_unanswered,
                if q.consistent { "consistent" } else { "INCONSISTENT" }
            );
        }
    }
}

fn query_rows(q: &crate::queries::QueryFigures) -> [(&'static str, &Throughput); 5] {
    [
        ("GetOpdScorecards, one month", &q.scorecards_month),
        ("GetOpdScorecards, whole year", &q.scorecards_year),
        ("ListUnanswered, first page", &q.unanswered_first_page),
        ("ListUnanswered, by OPD", &q.unanswered_by_opd),
        ("ListUnanswered, by kecamatan", &q.unanswered_by_kecamatan),
    ]
}
