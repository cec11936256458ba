//! The simulator as ground truth: a seeded season driven through the real services'
//! gRPC APIs, whose own expected figures must equal `GetOpdScorecards` and
//! `GetSessionReport` exactly, field by field.

use std::sync::Arc;

use kenduren::reference;
use kenduren_auth::TokenKey;
use kenduren_simulator::{simulate, Endpoints, SimulationConfig, SimulationReport};
use tonic::transport::Channel;

use crate::support::TestSystem;

async fn channel(addr: std::net::SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .expect("valid uri")
        .connect()
        .await
        .expect("service reachable")
}

/// Runs a small season of `seed` on a system of its own.
async fn season(seed: u64) -> SimulationReport {
    let sys = TestSystem::start().await;
    let a = sys.addrs();
    let endpoints = Endpoints {
        intake: channel(a.intake).await,
        routing: channel(a.routing).await,
        answering: channel(a.answering).await,
        reporting: channel(a.reporting).await,
        key: Arc::new(TokenKey::from_base64(&sys.settings.auth_key).expect("test key")),
    };
    let config = SimulationConfig {
        seed,
        sessions: 3,
        citizens: 40,
        catalogue: reference::load(None).expect("shipped reference data").catalogue,
    };
    let report = simulate(config, endpoints)
        .await
        .expect("the season runs to its end");
    sys.stop().await;
    report
}

fn assert_matches(report: &SimulationReport) {
    assert!(
        report.divergences.is_empty(),
        "services diverged from the model: {:#?}",
        report.divergences
    );
    assert!(
        report.mismatches.is_empty(),
        "reporting differs from the simulator: {:#?}",
        report.mismatches
    );
    assert_eq!(report.expected, report.reported);
}

/// The season exercised what the figures are about, so equality says something.
fn assert_eventful(report: &SimulationReport) {
    let s = &report.stats;
    assert_eq!(s.submissions, 40);
    assert!(s.on_site > 0 && s.on_site < 40, "{s:?}");
    assert!(s.answered > 0 && s.escalations > 0 && s.rated > 0, "{s:?}");
    assert_eq!(report.expected.sessions.len(), 3);
    let absent: usize = report
        .expected
        .sessions
        .values()
        .map(|x| x.opds_absent.len())
        .sum();
    assert!(absent > 0, "some expected OPD skipped a session");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reporting_equals_the_simulators_figures_for_seed_1() {
    let report = season(1).await;
    assert_eventful(&report);
    assert_matches(&report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reporting_equals_the_simulators_figures_for_seed_20260501() {
    let report = season(20_260_501).await;
    assert_eventful(&report);
    assert_matches(&report);
}
