//! What operators and grpcurl users rely on: health, reflection (both versions) and
//! the seeded OPD directory.

use kenduren_proto::routing::v1::{ListOpdsRequest, ListRulesRequest};
use tonic::transport::Channel;
use tonic_health::pb::{
    health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest,
};
use tonic_reflection::pb::{v1, v1alpha};

use crate::support::TestSystem;

async fn channel(addr: std::net::SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .expect("uri")
        .connect()
        .await
        .expect("reachable")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_service_reports_serving_and_lists_itself_over_both_reflection_versions() {
    let sys = TestSystem::start().await;
    let a = sys.system.as_ref().expect("running").addrs;
    let services = [
        (a.intake, "kenduren.intake.v1.IntakeService"),
        (a.routing, "kenduren.routing.v1.RoutingService"),
        (a.answering, "kenduren.answering.v1.AnsweringService"),
        (a.reporting, "kenduren.reporting.v1.ReportingService"),
    ];
    for (addr, name) in services {
        let ch = channel(addr).await;
        let health = HealthClient::new(ch.clone())
            .check(HealthCheckRequest { service: name.into() })
            .await
            .expect("health check")
            .into_inner();
        assert_eq!(health.status, ServingStatus::Serving as i32, "{name}");

        let request = v1::ServerReflectionRequest {
            host: String::new(),
            message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(
                String::new(),
            )),
        };
        let mut stream = v1::server_reflection_client::ServerReflectionClient::new(ch.clone())
            .server_reflection_info(tokio_stream::iter([request]))
            .await
            .expect("reflection v1")
            .into_inner();
        let reply = stream.message().await.expect("v1 reply").expect("one message");
        let Some(v1::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
            reply.message_response
        else {
            panic!("unexpected v1 reflection reply for {name}");
        };
        assert!(
            list.service.iter().any(|s| s.name == name),
            "{name} not listed over v1"
        );

        let request = v1alpha::ServerReflectionRequest {
            host: String::new(),
            message_request: Some(v1alpha::server_reflection_request::MessageRequest::ListServices(
                String::new(),
            )),
        };
        let mut stream = v1alpha::server_reflection_client::ServerReflectionClient::new(ch)
            .server_reflection_info(tokio_stream::iter([request]))
            .await
            .expect("reflection v1alpha")
            .into_inner();
        let reply = stream
            .message()
            .await
            .expect("v1alpha reply")
            .expect("one message");
        let Some(v1alpha::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
            reply.message_response
        else {
            panic!("unexpected v1alpha reflection reply for {name}");
        };
        assert!(
            list.service.iter().any(|s| s.name == name),
            "{name} not listed over v1alpha"
        );
    }
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routing_is_seeded_with_pasuruans_opds_and_rules() {
    let mut sys = TestSystem::start().await;
    let opds = sys
        .routing
        .list_opds(ListOpdsRequest {})
        .await
        .expect("opds")
        .into_inner()
        .opds;
    assert!(opds.iter().any(|o| o.code == "DISPENDUKCAPIL" && o.active));
    let rules = sys
        .routing
        .list_rules(ListRulesRequest {})
        .await
        .expect("rules")
        .into_inner()
        .rules;
    let first_infra = rules
        .iter()
        .find(|r| r.category == "jalan_jembatan")
        .expect("a road rule");
    // The narrower street-light rule outranks the general roads rule.
    assert_eq!(
        (first_infra.opd_code.as_str(), first_infra.priority),
        ("DISHUB", 20)
    );
    sys.stop().await;
}
