//! `kenduren bench --processes`: the four services as separate `kenduren <service>`
//! processes of this same binary, so each one's memory and CPU is read from its own
//! `/proc/<pid>`.

use std::{
    net::SocketAddr,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use kenduren::ServiceAddrs;
use kenduren_bench::{Probe, Report, Settings};
use tonic_health::pb::{
    health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest,
};

use super::Isolated;

/// A service process that is stopped (SIGTERM, then SIGKILL) when dropped.
struct Service {
    name: &'static str,
    child: Child,
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Service {
    /// Asks the process to drain (SIGTERM) and waits up to 15 s for it.
    async fn stop(mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let end = Instant::now() + Duration::from_secs(15);
        while Instant::now() < end {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tracing::warn!(service = self.name, "did not stop within 15 s: killing it");
    }
}

/// Four free ports on localhost.
fn free_addrs() -> Result<ServiceAddrs> {
    let take = || -> Result<SocketAddr> {
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        Ok(l.local_addr()?)
    };
    Ok(ServiceAddrs {
        intake: take()?,
        routing: take()?,
        answering: take()?,
        reporting: take()?,
    })
}

fn spawn(name: &'static str, addr: SocketAddr, stack: &Isolated, intake: SocketAddr) -> Result<Service> {
    let s = &stack.settings;
    let child = Command::new(std::env::current_exe().context("finding the kenduren binary")?)
        .arg(name)
        .env("KENDUREN_DATABASE_URL", &s.database_url)
        .env("KENDUREN_NATS_URL", &s.nats_url)
        .env("KENDUREN_STREAM", &s.stream)
        .env("KENDUREN_SUBJECT_PREFIX", &s.subject_prefix)
        .env("KENDUREN_AUTH_KEY", &s.auth_key)
        .env("KENDUREN_POOL_SIZE", s.pool_size.to_string())
        .env("KENDUREN_LISTEN_ADDR", addr.to_string())
        .env("KENDUREN_INTAKE_URL", format!("http://{intake}"))
        .env("KENDUREN_METRICS_ADDR", "off")
        .env("KENDUREN_SHUTDOWN_GRACE", "10")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .with_context(|| format!("starting `kenduren {name}`"))?;
    Ok(Service { name, child })
}

/// Waits up to 30 s for `addr` to report SERVING.
async fn serving(name: &str, addr: SocketAddr, service: &mut Service) -> Result<()> {
    let end = Instant::now() + Duration::from_secs(30);
    while Instant::now() < end {
        if let Ok(Some(status)) = service.child.try_wait() {
            bail!("`kenduren {name}` exited during start-up ({status})");
        }
        if let Ok(channel) = kenduren_bench::connect(&format!("http://{addr}")).await {
            let reply = HealthClient::new(channel)
                .check(HealthCheckRequest {
                    service: String::new(),
                })
                .await;
            if reply.is_ok_and(|r| r.into_inner().status == ServingStatus::Serving as i32) {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("`kenduren {name}` was not SERVING on {addr} within 30 s")
}

/// Starts the services one after another (so their start-up migrations and stream
/// set-up do not race), measures, and stops them.
pub(super) async fn measure(stack: &Isolated, settings: &Settings) -> Result<Report> {
    let addrs = free_addrs()?;
    let mut services = Vec::new();
    for (name, addr) in [
        ("intake", addrs.intake),
        ("routing", addrs.routing),
        ("answering", addrs.answering),
        ("reporting", addrs.reporting),
    ] {
        let mut service = spawn(name, addr, stack, addrs.intake)?;
        serving(name, addr, &mut service).await?;
        services.push(service);
    }
    let mut probes: Vec<Probe> = services
        .iter()
        .map(|s| Probe {
            name: s.name.into(),
            pid: Some(s.child.id()),
        })
        .collect();
    probes.push(Probe {
        name: "bench load generator".into(),
        pid: None,
    });
    let outcome = kenduren_bench::run(&stack.targets(addrs), settings, "processes", &probes).await;
    for s in services {
        s.stop().await;
    }
    Ok(outcome?)
}
