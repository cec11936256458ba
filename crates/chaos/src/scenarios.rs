//! The scenarios: one fault each, injected in the middle of a bounded load.

use std::{
    path::PathBuf,
    sync::atomic::Ordering,
    time::{Duration, Instant},
};

use anyhow::{Context, Result};
use async_nats::jetstream;
use bytes::Bytes;
use sqlx::PgPool;

use crate::{
    cluster::{Nats, Postgres},
    load::Load,
    proxy::Proxy,
    services::{Config, Services},
    verify::{self, Row},
};

/// One fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// SIGKILL one service, start it again.
    Kill(&'static str),
    /// SIGKILL nats-server, keep it down, start it again on the same store.
    NatsOutage,
    /// Crash PostgreSQL (`pg_ctl -m immediate`), keep it down 5 s, start it again.
    PostgresRestart,
    /// Publish undecodable messages onto the event subjects.
    Poison,
    /// SIGKILL nats-server, delete its store, start it, `kenduren republish`.
    NatsWipe,
    /// Reset every service connection to NATS and PostgreSQL (through the proxies).
    ConnectionReset,
}

impl Fault {
    /// Every scenario, in the order they run.
    pub fn all() -> Vec<Fault> {
        vec![
            Fault::Kill("intake"),
            Fault::Kill("routing"),
            Fault::Kill("answering"),
            Fault::Kill("reporting"),
            Fault::NatsOutage,
            Fault::PostgresRestart,
            Fault::Poison,
            Fault::NatsWipe,
            Fault::ConnectionReset,
        ]
    }

    /// Name in the table and for `--only`.
    pub fn name(self) -> String {
        match self {
            Fault::Kill(service) => format!("kill-9-{service}"),
            Fault::NatsOutage => "nats-down".into(),
            Fault::PostgresRestart => "postgres-restart".into(),
            Fault::Poison => "poison-message".into(),
            Fault::NatsWipe => "nats-wiped-republish".into(),
            Fault::ConnectionReset => "connection-reset".into(),
        }
    }
}

/// What every scenario shares: the private servers, proxies in front of them, the
/// binary and the key.
#[derive(Debug)]
pub struct Stage {
    /// Private PostgreSQL.
    pub pg: Postgres,
    /// Private NATS.
    pub nats: Nats,
    /// Proxy the services reach PostgreSQL through.
    pub pg_proxy: Proxy,
    /// Proxy the services reach NATS through.
    pub nats_proxy: Proxy,
    /// The `kenduren` binary.
    pub binary: PathBuf,
    /// Token key (base64) the services and the suite share.
    pub auth_key: String,
    /// Run directory (logs).
    pub dir: PathBuf,
    /// Load settings.
    pub workers: usize,
    /// Submissions per second.
    pub rate: f64,
    /// How long NATS stays down in `nats-down`.
    pub nats_outage: Duration,
}

impl Stage {
    fn token(&self, role: &str) -> Result<String> {
        let key = kenduren_auth::TokenKey::from_base64(&self.auth_key)?;
        let role: kenduren_auth::Role = role.parse()?;
        Ok(key.mint("chaos", &role, Duration::from_secs(3600))?)
    }

    /// Runs one scenario in its own database, stream and subject prefix.
    pub async fn run(&mut self, index: usize, fault: Fault) -> Result<Row> {
        let name = fault.name();
        let database = format!("chaos_{index}");
        let admin = PgPool::connect(&self.pg.url("postgres")).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {database}")))
            .execute(&admin)
            .await?;
        admin.close().await;
        let (stream, prefix) = (format!("CHAOS{index}"), format!("chaos{index}"));
        let config = Config {
            binary: self.binary.clone(),
            database_url: format!("postgres://postgres@127.0.0.1:{}/{database}", self.pg_proxy.port),
            nats_url: format!("nats://127.0.0.1:{}", self.nats_proxy.port),
            stream: stream.clone(),
            prefix: prefix.clone(),
            auth_key: self.auth_key.clone(),
            log_dir: self.dir.join(&name),
        };
        let mut services = Services::start(config.clone())
            .await
            .context("starting the services")?;
        let load = Load::start(
            &services.url("intake"),
            &services.url("answering"),
            &self.token("desk")?,
            &self.token(&format!("opd:{}", crate::load::OPD))?,
            self.workers,
            self.rate,
        )?;
        let mut row = Row {
            scenario: name.clone(),
            expectations_met: true,
            ..Row::default()
        };
        let direct_db = self.pg.url(&database);

        tokio::time::sleep(Duration::from_secs(5)).await;
        println!(
            "  [{name}] {} acknowledged before the fault; injecting it",
            load.acked_so_far()
        );
        load.fault.store(true, Ordering::Relaxed);
        let injected = self.inject(fault, &mut services, &config, &mut row).await;
        load.fault.store(false, Ordering::Relaxed);
        injected.with_context(|| format!("injecting {name}"))?;
        tokio::time::sleep(Duration::from_secs(5)).await;
        let failed_during = load.stats.failed_during_fault.load(Ordering::Relaxed);
        row.failed_calls = load.stats.failed_calls.load(Ordering::Relaxed);
        let abandoned = load.stats.abandoned.load(Ordering::Relaxed);
        let stats = load.stats.clone();
        let outcome = load.stop().await;
        let acked_during = outcome.acked.iter().filter(|a| a.during_fault).count();
        println!(
            "  [{name}] load stopped: {} acknowledged ({acked_during} during the fault), {} answered, \
             {} failed calls retried, {abandoned} abandoned",
            outcome.acked.len(),
            outcome.answered.len(),
            row.failed_calls
        );
        if fault == Fault::NatsOutage {
            let ok = acked_during > 0 && failed_during == 0;
            row.expectations_met &= ok;
            row.notes.push(format!(
                "intake kept accepting while NATS was down: {acked_during} acknowledged, {failed_during} failed calls{}",
                if ok { "" } else { " (EXPECTED >0 and 0)" }
            ));
        }
        let codes = stats.codes();
        if !codes.is_empty() {
            row.notes.push(format!("failed calls by code: {codes}"));
        }
        if fault == Fault::PostgresRestart {
            // Callers must be told to retry (UNAVAILABLE), never get an internal error.
            let ok = codes
                .split(", ")
                .all(|c| c.is_empty() || c.starts_with("Unavailable") || c.starts_with("timeout"));
            row.expectations_met &= ok;
            if !ok {
                row.notes
                    .push("EXPECTED only UNAVAILABLE (or client timeouts) while PostgreSQL was down".into());
            }
        }
        if abandoned > 0 {
            row.notes.push(format!(
                "{abandoned} submissions abandoned after retrying for a minute"
            ));
        }

        let db = PgPool::connect(&direct_db).await?;
        let nats = async_nats::connect(self.nats.url()).await?;
        let js = jetstream::new(nats.clone());
        match verify::quiesce(&db, &js, &stream, Duration::from_secs(300)).await {
            Ok(took) => println!("  [{name}] quiescent after {:.1} s", took.as_secs_f64()),
            Err(e) => {
                row.expectations_met = false;
                row.notes.push(format!("{e:#}"));
            }
        }
        verify::check(&db, &outcome.acked, &outcome.answered, &mut row).await?;
        if fault == Fault::Poison {
            let subject = poison_subject(&prefix);
            let parked = verify::parked_on(&db, &subject).await?;
            let every = parked.iter().all(|(_, n)| *n >= 1);
            row.expectations_met &= every;
            row.notes.push(format!(
                "poison parked in dead_letters per consumer: {}{}",
                parked
                    .iter()
                    .map(|(s, n)| format!("{s} {n}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                if every {
                    ""
                } else {
                    " (EXPECTED every consumer to park it)"
                }
            ));
        } else if row.dead_letters > 0 {
            row.notes
                .push(format!("{} dead letters (none expected)", row.dead_letters));
        }
        services.stop_all();
        db.close().await;
        nats.drain().await.ok();
        Ok(row)
    }

    async fn inject(
        &mut self,
        fault: Fault,
        services: &mut Services,
        config: &Config,
        row: &mut Row,
    ) -> Result<()> {
        match fault {
            Fault::Kill(service) => {
                services.kill(service)?;
                tokio::time::sleep(Duration::from_secs(2)).await;
                let started = Instant::now();
                services.restart(service).await?;
                row.notes.push(format!(
                    "{service} killed (SIGKILL), down 2 s, SERVING again {:.1} s after restart",
                    started.elapsed().as_secs_f64()
                ));
            }
            Fault::NatsOutage => {
                self.nats.kill();
                tokio::time::sleep(self.nats_outage).await;
                self.nats.up()?;
                row.notes.push(format!(
                    "nats-server killed, down {} s",
                    self.nats_outage.as_secs()
                ));
            }
            Fault::PostgresRestart => {
                self.pg.crash()?;
                tokio::time::sleep(Duration::from_secs(5)).await;
                self.pg.up()?;
                row.notes
                    .push("postgres crashed (immediate), down 5 s, recovered from WAL".into());
            }
            Fault::Poison => {
                let nats = async_nats::connect(self.nats.url()).await?;
                let js = jetstream::new(nats.clone());
                let subject = poison_subject(&config.prefix);
                // No CloudEvents headers at all, and headers whose payload is not protobuf.
                js.publish(subject.clone(), Bytes::from_static(b"\xff\xfe not an event"))
                    .await?
                    .await?;
                let mut headers = async_nats::HeaderMap::new();
                for (k, v) in [
                    ("ce-specversion", "1.0"),
                    ("ce-source", "/kenduren/intake"),
                    ("ce-type", "kenduren.events.v1.QuestionSubmitted"),
                    ("ce-time", "2026-01-01T00:00:00Z"),
                    ("ce-datacontenttype", "application/protobuf"),
                ] {
                    headers.insert(k, v);
                }
                headers.insert("ce-id", uuid::Uuid::new_v4().to_string().as_str());
                headers.insert("ce-subject", uuid::Uuid::new_v4().to_string().as_str());
                js.publish_with_headers(subject, headers, Bytes::from_static(b"\x0a\xff\xff\xff"))
                    .await?
                    .await?;
                nats.drain().await.ok();
                row.notes
                    .push("2 poison messages published (no envelope; garbage protobuf)".into());
            }
            Fault::NatsWipe => {
                self.nats.kill();
                self.nats.wipe()?;
                self.nats.up()?;
                tokio::time::sleep(Duration::from_secs(2)).await;
                let out = std::process::Command::new(&config.binary)
                    .args(["republish", "--yes", "--wait", "300"])
                    .env("KENDUREN_DATABASE_URL", self.pg.url(&config.database_url_db()))
                    .env("KENDUREN_NATS_URL", self.nats.url())
                    .env("KENDUREN_STREAM", &config.stream)
                    .env("KENDUREN_SUBJECT_PREFIX", &config.prefix)
                    .output()
                    .context("running kenduren republish")?;
                for line in String::from_utf8_lossy(&out.stdout).lines() {
                    if !line.starts_with("waiting") {
                        println!("      republish: {line}");
                    }
                }
                anyhow::ensure!(
                    out.status.success(),
                    "kenduren republish failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                row.notes.push(
                    "nats-server killed, store deleted, restarted; `kenduren republish` rebuilt the stream"
                        .into(),
                );
            }
            Fault::ConnectionReset => {
                for _ in 0..3 {
                    self.pg_proxy.reset_all();
                    self.nats_proxy.reset_all();
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
                row.notes.push(format!(
                    "every NATS and PostgreSQL connection reset 3 times, 2 s apart ({} NATS and {} PostgreSQL connections cut)",
                    self.nats_proxy.resets(),
                    self.pg_proxy.resets()
                ));
            }
        }
        Ok(())
    }
}

/// Where poison is published: the subject every question consumer receives.
fn poison_subject(prefix: &str) -> String {
    format!("{prefix}.v1.question.unassigned.submitted")
}

impl Config {
    /// The database name in [`Config::database_url`].
    fn database_url_db(&self) -> String {
        self.database_url
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned()
    }
}
