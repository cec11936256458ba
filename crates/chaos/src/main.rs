//! `kenduren-chaos` (`make chaos`): the fault-injection suite.
//!
//! Starts a private PostgreSQL and NATS, then, scenario by scenario, the four services as
//! separate `kenduren <service>` processes (behind TCP proxies it can cut), a bounded load
//! of submissions and answers, one fault in the middle, recovery and quiescence; then it
//! follows every acknowledged question through every store and prints one row per
//! scenario. Exits 1 when any row lost or duplicated something, or missed its own
//! expectation.

mod cluster;
mod load;
mod proxy;
mod scenarios;
mod services;
mod verify;

use std::{io::Write, path::PathBuf, process::ExitCode, time::Duration};

use anyhow::{Context, Result};
use base64::Engine;
use clap::Parser;

use scenarios::{Fault, Stage};
use verify::Row;

/// Fault-injection suite: every acknowledged submission must arrive everywhere, once.
#[derive(Debug, Parser)]
#[command(name = "kenduren-chaos")]
struct Args {
    /// The `kenduren` binary whose services are tested (build it first).
    #[arg(long, default_value = "target/debug/kenduren")]
    binary: PathBuf,
    /// Run only these scenarios (by name, comma-separated; see --list).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// List the scenarios and exit.
    #[arg(long)]
    list: bool,
    /// Concurrent desk workers.
    #[arg(long, default_value_t = 4)]
    workers: usize,
    /// Submissions per second, shared by the desk workers.
    #[arg(long, default_value_t = 20.0)]
    rate: f64,
    /// Seconds NATS stays down in the nats-down scenario.
    #[arg(long, default_value_t = 30)]
    nats_outage: u64,
    /// Keep the run directory (databases, NATS store, logs) instead of deleting it.
    #[arg(long)]
    keep: bool,
    /// Also write the table (Markdown) to this file.
    #[arg(long)]
    out: Option<PathBuf>,
}

fn table(rows: &[Row]) -> String {
    let mut s = String::from(
        "| scenario | acknowledged | delivered to inbox | reached reporting | answered | lost | duplicated | dead letters | retried calls |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            r.scenario,
            r.acknowledged,
            r.in_inbox,
            r.in_reporting,
            r.answered,
            r.lost,
            r.duplicated,
            r.dead_letters,
            r.failed_calls
        ));
    }
    s
}

async fn run(args: Args) -> Result<bool> {
    let faults: Vec<Fault> = Fault::all()
        .into_iter()
        .filter(|f| args.only.is_empty() || args.only.iter().any(|o| *o == f.name()))
        .collect();
    if args.list || faults.is_empty() {
        for f in Fault::all() {
            println!("{}", f.name());
        }
        return Ok(!faults.is_empty());
    }
    let binary = std::fs::canonicalize(&args.binary).with_context(|| {
        format!(
            "{} not found; build it first (cargo build -p kenduren)",
            args.binary.display()
        )
    })?;
    let dir = std::env::temp_dir().join(format!("kenduren-chaos-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    println!("run directory {} (logs per scenario)", dir.display());

    let pg = cluster::Postgres::start(dir.join("postgres")).context("starting a private PostgreSQL")?;
    let nats = cluster::Nats::start(dir.join("nats")).context("starting a private nats-server")?;
    println!(
        "private PostgreSQL on 127.0.0.1:{}, nats-server on 127.0.0.1:{}",
        pg.port, nats.port
    );
    let key = base64::engine::general_purpose::STANDARD.encode(
        [
            uuid::Uuid::new_v4().into_bytes(),
            uuid::Uuid::new_v4().into_bytes(),
        ]
        .concat(),
    );
    let mut stage = Stage {
        pg_proxy: proxy::Proxy::start(pg.port).await?,
        nats_proxy: proxy::Proxy::start(nats.port).await?,
        pg,
        nats,
        binary,
        auth_key: key,
        dir: dir.clone(),
        workers: args.workers,
        rate: args.rate,
        nats_outage: Duration::from_secs(args.nats_outage),
    };

    let mut rows = Vec::new();
    for (i, fault) in faults.into_iter().enumerate() {
        println!("scenario {}: {}", i + 1, fault.name());
        let row = match stage.run(i + 1, fault).await {
            Ok(row) => row,
            Err(e) => Row {
                scenario: fault.name(),
                notes: vec![format!("scenario failed: {e:#}")],
                expectations_met: false,
                ..Row::default()
            },
        };
        for note in &row.notes {
            println!("  [{}] {note}", row.scenario);
        }
        println!(
            "  [{}] {}",
            row.scenario,
            if row.passed() { "PASS" } else { "FAIL" }
        );
        rows.push(row);
    }
    drop(stage);

    let table = table(&rows);
    println!("\n{table}");
    if let Some(out) = &args.out {
        let mut f = std::fs::File::create(out)?;
        f.write_all(table.as_bytes())?;
        for r in &rows {
            for n in &r.notes {
                writeln!(f, "- {}: {n}", r.scenario)?;
            }
        }
    }
    let passed = rows.iter().all(Row::passed);
    if args.keep || !passed {
        println!("run directory kept: {}", dir.display());
    } else {
        std::fs::remove_dir_all(&dir).ok();
    }
    Ok(passed)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("chaos: some scenario lost or duplicated events, or missed its expectation");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("chaos: {e:#}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_fails_on_any_loss_duplicate_or_missed_expectation() {
        let ok = Row {
            expectations_met: true,
            ..Row::default()
        };
        assert!(ok.passed());
        assert!(!Row {
            lost: 1,
            ..ok.clone()
        }
        .passed());
        assert!(!Row {
            duplicated: 1,
            ..ok.clone()
        }
        .passed());
        assert!(!Row {
            expectations_met: false,
            ..ok
        }
        .passed());
    }

    #[test]
    fn scenario_names_are_unique_and_the_table_has_a_row_each() {
        let names: std::collections::BTreeSet<String> = Fault::all().into_iter().map(Fault::name).collect();
        assert_eq!(names.len(), Fault::all().len());
        let rows: Vec<Row> = names
            .iter()
            .map(|n| Row {
                scenario: n.clone(),
                ..Row::default()
            })
            .collect();
        assert_eq!(table(&rows).lines().count(), rows.len() + 2);
    }
}
