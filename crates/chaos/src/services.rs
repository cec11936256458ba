//! The four services as separate `kenduren <service>` processes, which the suite can
//! kill with SIGKILL and start again with the same configuration.

use std::{
    fs,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use tonic_health::pb::{
    health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest,
};

use crate::cluster::free_port;

/// The services, in start order (routing and answering before anything is submitted is
/// not required, but it keeps start-up migrations from racing).
pub const NAMES: [&str; 4] = ["intake", "routing", "answering", "reporting"];

/// What every service process is started with.
#[derive(Debug, Clone)]
pub struct Config {
    /// The `kenduren` binary.
    pub binary: PathBuf,
    /// PostgreSQL URL the services use (possibly through the proxy).
    pub database_url: String,
    /// NATS URL the services use (possibly through the proxy).
    pub nats_url: String,
    /// Stream name and subject prefix of this scenario.
    pub stream: String,
    /// Subject prefix of this scenario.
    pub prefix: String,
    /// Token signing key (base64).
    pub auth_key: String,
    /// Where the services' logs go.
    pub log_dir: PathBuf,
}

/// One running service process.
#[derive(Debug)]
struct Process {
    name: &'static str,
    port: u16,
    child: Option<Child>,
}

/// The four service processes of one scenario.
#[derive(Debug)]
pub struct Services {
    config: Config,
    processes: Vec<Process>,
}

impl Services {
    /// Starts the four services, one after another, each until SERVING.
    pub async fn start(config: Config) -> Result<Self> {
        fs::create_dir_all(&config.log_dir)?;
        let mut processes = Vec::new();
        for name in NAMES {
            processes.push(Process {
                name,
                port: free_port()?,
                child: None,
            });
        }
        let mut services = Self { config, processes };
        for name in NAMES {
            services.restart(name).await?;
        }
        Ok(services)
    }

    /// gRPC URL of a service.
    pub fn url(&self, name: &str) -> String {
        let port = self
            .processes
            .iter()
            .find(|p| p.name == name)
            .map_or(0, |p| p.port);
        format!("http://127.0.0.1:{port}")
    }

    fn process(&mut self, name: &str) -> Result<&mut Process> {
        self.processes
            .iter_mut()
            .find(|p| p.name == name)
            .with_context(|| format!("no service {name}"))
    }

    /// SIGKILL: no drain, no final flush, the relay's lock dies with its connection.
    pub fn kill(&mut self, name: &str) -> Result<()> {
        if let Some(mut child) = self.process(name)?.child.take() {
            child.kill().ok();
            child.wait().ok();
        }
        Ok(())
    }

    /// Starts `name` (killing a running one first) and waits until it is SERVING.
    pub async fn restart(&mut self, name: &str) -> Result<()> {
        self.kill(name)?;
        let intake_url = self.url("intake");
        let c = self.config.clone();
        let process = self.process(name)?;
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(c.log_dir.join(format!("{name}.log")))?;
        let child = Command::new(&c.binary)
            .arg(name)
            .env("KENDUREN_DATABASE_URL", &c.database_url)
            .env("KENDUREN_NATS_URL", &c.nats_url)
            .env("KENDUREN_STREAM", &c.stream)
            .env("KENDUREN_SUBJECT_PREFIX", &c.prefix)
            .env("KENDUREN_AUTH_KEY", &c.auth_key)
            .env("KENDUREN_LISTEN_ADDR", format!("127.0.0.1:{}", process.port))
            .env("KENDUREN_INTAKE_URL", intake_url)
            .env("KENDUREN_METRICS_ADDR", "off")
            .env("KENDUREN_LOG_FORMAT", "compact")
            // CHAOS_SERVICE_LOG (a RUST_LOG filter) makes the services' logs verbose.
            .env(
                "RUST_LOG",
                std::env::var("CHAOS_SERVICE_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting `{} {name}`", c.binary.display()))?;
        process.child = Some(child);
        let port = process.port;
        serving(process, port).await
    }

    /// Stops every service (SIGKILL; the scenario is over and its database is dropped).
    pub fn stop_all(&mut self) {
        for p in &mut self.processes {
            if let Some(mut child) = p.child.take() {
                child.kill().ok();
                child.wait().ok();
            }
        }
    }
}

impl Drop for Services {
    fn drop(&mut self) {
        self.stop_all();
    }
}

/// Waits up to 60 s for the process to report SERVING on `port`.
async fn serving(process: &mut Process, port: u16) -> Result<()> {
    let end = Instant::now() + Duration::from_secs(60);
    let url = format!("http://127.0.0.1:{port}");
    while Instant::now() < end {
        if let Some(child) = process.child.as_mut() {
            if let Ok(Some(status)) = child.try_wait() {
                bail!(
                    "`kenduren {}` exited during start-up ({status}); see its log",
                    process.name
                );
            }
        }
        if let Ok(endpoint) = tonic::transport::Endpoint::from_shared(url.clone()) {
            if let Ok(channel) = endpoint.connect_timeout(Duration::from_secs(1)).connect().await {
                let reply = HealthClient::new(channel)
                    .check(HealthCheckRequest {
                        service: String::new(),
                    })
                    .await;
                if reply.is_ok_and(|r| r.into_inner().status == ServingStatus::Serving as i32) {
                    return Ok(());
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("`kenduren {}` was not SERVING on {url} within 60 s", process.name)
}
