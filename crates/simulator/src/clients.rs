//! gRPC clients for every role the season plays, each with its own bearer token.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use kenduren_auth::{BearerToken, Role, TokenKey};
use kenduren_domain::OpdCode;
use kenduren_proto::{
    answering::v1::answering_service_client::AnsweringServiceClient,
    intake::v1::intake_service_client::IntakeServiceClient,
    reporting::v1::reporting_service_client::ReportingServiceClient,
    routing::v1::routing_service_client::RoutingServiceClient,
};
use tonic::{service::interceptor::InterceptedService, transport::Channel};

use crate::SimulationError;

/// A channel that sends one role's bearer token.
pub(crate) type Authed = InterceptedService<Channel, BearerToken>;

/// How to reach the four services, and the deployment's signing key, from which the
/// simulator mints a token for each role it plays (desk, admin, analyst, each OPD).
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// Intake (the citizen desk, sessions).
    pub intake: Channel,
    /// Routing (escalation sweeps, triage).
    pub routing: Channel,
    /// Answering (the OPDs' inboxes).
    pub answering: Channel,
    /// Reporting (the figures compared).
    pub reporting: Channel,
    /// The deployment's token signing key.
    pub key: Arc<TokenKey>,
}

/// Long enough for any season; short enough that a leaked token soon expires.
const TOKEN_TTL: Duration = Duration::from_secs(6 * 3600);

/// Clients per role, OPD clients made on first use.
pub(crate) struct Clients {
    endpoints: Endpoints,
    /// The citizen desk: submissions, tracking, withdrawals, ratings.
    pub desk: IntakeServiceClient<Authed>,
    /// An admin at intake: scheduling sessions.
    pub admin_intake: IntakeServiceClient<Authed>,
    /// An admin at routing: triage, manual routing, escalation sweeps.
    pub admin_routing: RoutingServiceClient<Authed>,
    /// An analyst: the figures.
    pub analyst: ReportingServiceClient<Authed>,
    opd_answering: BTreeMap<String, AnsweringServiceClient<Authed>>,
    opd_intake: BTreeMap<String, IntakeServiceClient<Authed>>,
}

impl Clients {
    /// Mints the fixed roles' tokens.
    pub(crate) fn new(endpoints: Endpoints) -> Result<Self, SimulationError> {
        let desk = authed(&endpoints, &endpoints.intake, &Role::Desk)?;
        let admin_intake = authed(&endpoints, &endpoints.intake, &Role::Admin)?;
        let admin_routing = authed(&endpoints, &endpoints.routing, &Role::Admin)?;
        let analyst = authed(&endpoints, &endpoints.reporting, &Role::Analyst)?;
        Ok(Self {
            desk: IntakeServiceClient::new(desk),
            admin_intake: IntakeServiceClient::new(admin_intake),
            admin_routing: RoutingServiceClient::new(admin_routing),
            analyst: ReportingServiceClient::new(analyst),
            endpoints,
            opd_answering: BTreeMap::new(),
            opd_intake: BTreeMap::new(),
        })
    }

    /// Answering as the OPD `code` itself.
    pub(crate) fn opd(&mut self, code: &str) -> Result<AnsweringServiceClient<Authed>, SimulationError> {
        if let Some(c) = self.opd_answering.get(code) {
            return Ok(c.clone());
        }
        let role = opd_role(code)?;
        let client = AnsweringServiceClient::new(authed(&self.endpoints, &self.endpoints.answering, &role)?);
        self.opd_answering.insert(code.to_owned(), client.clone());
        Ok(client)
    }

    /// Intake as the OPD `code` itself (checking in at sessions).
    pub(crate) fn opd_at_intake(
        &mut self,
        code: &str,
    ) -> Result<IntakeServiceClient<Authed>, SimulationError> {
        if let Some(c) = self.opd_intake.get(code) {
            return Ok(c.clone());
        }
        let role = opd_role(code)?;
        let client = IntakeServiceClient::new(authed(&self.endpoints, &self.endpoints.intake, &role)?);
        self.opd_intake.insert(code.to_owned(), client.clone());
        Ok(client)
    }
}

fn opd_role(code: &str) -> Result<Role, SimulationError> {
    OpdCode::parse(code)
        .map(Role::Opd)
        .map_err(|e| SimulationError::Setup(format!("OPD code {code:?} from the directory: {e}")))
}

fn authed(endpoints: &Endpoints, channel: &Channel, role: &Role) -> Result<Authed, SimulationError> {
    let token = endpoints.key.mint("simulator", role, TOKEN_TTL)?;
    Ok(InterceptedService::new(
        channel.clone(),
        BearerToken::new(&token)?,
    ))
}
