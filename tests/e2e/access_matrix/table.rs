//! The access table: what each role gets from each RPC. It mirrors the table under
//! "## Access" in the README, and a test keeps the two in agreement.

/// What a caller gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// The call passes authorization (it may still fail on its input or the lifecycle).
    Yes,
    /// `UNAUTHENTICATED`.
    Unauthenticated,
    /// `PERMISSION_DENIED`.
    PermissionDenied,
    /// `NOT_FOUND`: the question exists, but not for this caller.
    NotFound,
}

use Expect::{NotFound as N, PermissionDenied as D, Unauthenticated as U, Yes as Y};

impl Expect {
    /// The word used in the README's cells.
    pub fn word(self) -> &'static str {
        match self {
            Y => "yes",
            U => "UNAUTHENTICATED",
            D => "PERMISSION_DENIED",
            N => "NOT_FOUND",
        }
    }
}

/// The README's column headings, in order.
pub const COLUMNS: [&str; 7] = [
    "none / expired / forged",
    "desk",
    "opd (own)",
    "opd (other)",
    "admin",
    "analyst",
    "service",
];

/// Every RPC of the four services and what each column gets.
pub const ACCESS: &[(&str, [Expect; 7])] = &[
    ("IntakeService.SubmitQuestion", [U, Y, D, D, Y, D, D]),
    ("IntakeService.TrackQuestion", [U, Y, D, D, Y, D, D]),
    ("IntakeService.WithdrawQuestion", [U, Y, D, D, Y, D, D]),
    ("IntakeService.RateAnswer", [U, Y, D, D, Y, D, D]),
    ("IntakeService.ScheduleSession", [U, D, D, D, Y, D, D]),
    ("IntakeService.ListSessions", [U, Y, Y, Y, Y, Y, Y]),
    ("IntakeService.GetSession", [U, Y, Y, Y, Y, Y, Y]),
    ("IntakeService.CheckInOpd", [U, Y, Y, D, Y, D, D]),
    ("IntakeService.GetCitizenContact", [U, D, D, D, D, D, Y]),
    ("IntakeService.EraseCitizen", [U, D, D, D, Y, D, D]),
    ("RoutingService.ListOpds", [U, Y, Y, Y, Y, Y, Y]),
    ("RoutingService.UpsertOpd", [U, D, D, D, Y, D, D]),
    ("RoutingService.ListRules", [U, Y, Y, Y, Y, Y, Y]),
    ("RoutingService.UpsertRule", [U, D, D, D, Y, D, D]),
    ("RoutingService.DeleteRule", [U, D, D, D, Y, D, D]),
    ("RoutingService.ExplainRoute", [U, Y, Y, Y, Y, Y, Y]),
    ("RoutingService.ListTriage", [U, D, D, D, Y, D, D]),
    ("RoutingService.RouteManually", [U, D, D, D, Y, D, D]),
    ("RoutingService.ReassignQuestion", [U, D, D, D, Y, D, D]),
    ("RoutingService.GetSlaPolicy", [U, Y, Y, Y, Y, Y, Y]),
    ("RoutingService.UpdateSlaPolicy", [U, D, D, D, Y, D, D]),
    ("RoutingService.ListHolidays", [U, Y, Y, Y, Y, Y, Y]),
    ("RoutingService.SetHolidays", [U, D, D, D, Y, D, D]),
    ("RoutingService.RunEscalations", [U, D, D, D, Y, D, D]),
    ("AnsweringService.ListInbox", [U, D, Y, D, Y, D, D]),
    ("AnsweringService.GetQuestion", [U, D, Y, N, Y, D, D]),
    ("AnsweringService.AcknowledgeQuestion", [U, D, Y, N, D, D, D]),
    ("AnsweringService.AnswerQuestion", [U, D, Y, N, D, D, D]),
    ("AnsweringService.PlanFollowUp", [U, D, Y, N, D, D, D]),
    ("AnsweringService.ResolveQuestion", [U, D, Y, N, D, D, D]),
    ("AnsweringService.RejectAssignment", [U, D, Y, N, D, D, D]),
    ("AnsweringService.ListTemplates", [U, D, Y, D, Y, D, D]),
    ("AnsweringService.UpsertTemplate", [U, D, Y, D, D, D, D]),
    ("ReportingService.GetQuestionTimeline", [U, D, D, D, Y, Y, D]),
    ("ReportingService.GetOpdScorecards", [U, D, D, D, Y, Y, D]),
    ("ReportingService.GetSessionReport", [U, D, D, D, Y, Y, D]),
    ("ReportingService.ListUnanswered", [U, D, D, D, Y, Y, D]),
    ("ReportingService.GetTrends", [U, D, D, D, Y, Y, D]),
    ("ReportingService.ExportQuestions", [U, D, D, D, Y, Y, D]),
];

/// The rows of the README's access table, as (RPC, cells).
pub fn readme_rows(readme: &str) -> Vec<(String, Vec<String>)> {
    let section = readme
        .split("\n## Access")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .unwrap_or_default();
    section
        .lines()
        .filter_map(|line| {
            let cells: Vec<String> = line
                .trim()
                .strip_prefix('|')?
                .strip_suffix('|')?
                .split('|')
                .map(|c| c.trim().trim_matches('`').to_owned())
                .collect();
            let rpc = cells.first()?.clone();
            rpc.contains("Service.").then(|| (rpc, cells[1..].to_vec()))
        })
        .collect()
}

#[test]
fn the_readme_table_and_the_test_table_agree() {
    let readme = include_str!("../../../README.md");
    let rows = readme_rows(readme);
    let header = readme
        .lines()
        .find(|l| l.starts_with("| RPC |"))
        .expect("the README has the access table");
    let columns: Vec<&str> = header
        .trim_matches('|')
        .split('|')
        .map(str::trim)
        .skip(1)
        .collect();
    assert_eq!(columns, COLUMNS, "the README's columns differ from the test's");
    let want: Vec<(String, Vec<String>)> = ACCESS
        .iter()
        .map(|(rpc, cells)| {
            (
                (*rpc).to_owned(),
                cells.iter().map(|c| c.word().to_owned()).collect(),
            )
        })
        .collect();
    for (rpc, cells) in &want {
        let found = rows.iter().find(|(r, _)| r == rpc);
        assert_eq!(
            found.map(|(_, c)| c),
            Some(cells),
            "README row for {rpc} differs from tests/e2e/access_matrix/table.rs"
        );
    }
    assert_eq!(
        rows.len(),
        want.len(),
        "the README lists RPCs the test table does not"
    );
}

/// Every `rpc` line of the protos appears in the table, so a new RPC cannot go untested.
#[test]
fn the_table_lists_every_rpc_of_the_protos() {
    let protos = [
        (
            "IntakeService",
            include_str!("../../../proto/kenduren/intake/v1/intake.proto"),
        ),
        (
            "RoutingService",
            include_str!("../../../proto/kenduren/routing/v1/routing.proto"),
        ),
        (
            "AnsweringService",
            include_str!("../../../proto/kenduren/answering/v1/answering.proto"),
        ),
        (
            "ReportingService",
            include_str!("../../../proto/kenduren/reporting/v1/reporting.proto"),
        ),
    ];
    let mut declared = Vec::new();
    for (service, text) in protos {
        for line in text.lines() {
            if let Some(rest) = line.trim().strip_prefix("rpc ") {
                let name = rest.split('(').next().unwrap_or_default().trim();
                declared.push(format!("{service}.{name}"));
            }
        }
    }
    let listed: Vec<String> = ACCESS.iter().map(|(r, _)| (*r).to_owned()).collect();
    assert_eq!(
        listed, declared,
        "the access table and the protos list different RPCs"
    );
}
