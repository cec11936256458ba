//! `kenduren report export`: one row per question to a CSV or JSON Lines file, with a
//! progress bar.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use kenduren_proto::reporting::v1::{ExportQuestionsRequest, QuestionRow};

use super::{wib_midnight, PeriodArgs, ReportingTarget};

/// File format of an export.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    Csv,
    Jsonl,
}

/// Options of `kenduren report export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub target: ReportingTarget,
    /// Questions submitted in the period.
    #[command(flatten)]
    pub period: PeriodArgs,
    /// Output format: csv (one header row) or jsonl (one JSON object per line).
    #[arg(long, value_enum, default_value = "csv")]
    pub format: ExportFormat,
    /// Output file.
    #[arg(long)]
    pub out: PathBuf,
}

const COLUMNS: [&str; 21] = [
    "question_id",
    "ticket",
    "kind",
    "category",
    "channel",
    "kecamatan",
    "desa",
    "session_id",
    "confidential",
    "text",
    "status",
    "opd_code",
    "submitted_at",
    "assigned_at",
    "due_at",
    "answered_at",
    "answered_within_due",
    "answered_on_the_spot",
    "escalation_level",
    "rating",
    "reopened",
];

fn rfc3339(ts: Option<prost_types::Timestamp>) -> String {
    ts.and_then(|t| kenduren_runtime::to_datetime(&t))
        .map(|d| d.to_rfc3339())
        .unwrap_or_default()
}

/// A row's values in [`COLUMNS`] order.
fn values(q: QuestionRow) -> [String; 21] {
    [
        q.question_id,
        q.ticket,
        q.kind,
        q.category,
        q.channel,
        q.kecamatan,
        q.desa,
        q.session_id,
        q.confidential.to_string(),
        q.text,
        q.status,
        q.opd_code,
        rfc3339(q.submitted_at),
        rfc3339(q.assigned_at),
        rfc3339(q.due_at),
        rfc3339(q.answered_at),
        q.answered_within_due.to_string(),
        q.answered_on_the_spot.to_string(),
        q.escalation_level.to_string(),
        q.rating.to_string(),
        q.reopened.to_string(),
    ]
}

/// One CSV field, quoted when it needs to be (RFC 4180).
fn csv_field(v: &str) -> String {
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_owned()
    }
}

/// Runs `kenduren report export`.
pub async fn export(args: ExportArgs) -> Result<()> {
    let mut stream = args
        .target
        .client()
        .await?
        .export_questions(ExportQuestionsRequest {
            from: wib_midnight(args.period.from),
            to: wib_midnight(args.period.to),
        })
        .await?
        .into_inner();
    let file =
        std::fs::File::create(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    let mut out = std::io::BufWriter::new(file);
    if matches!(args.format, ExportFormat::Csv) {
        writeln!(out, "{}", COLUMNS.join(","))?;
    }
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} questions ({per_sec}, {eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut written = 0u64;
    while let Some(message) = stream.message().await? {
        bar.set_length(message.total);
        let Some(row) = message.question else { continue };
        let vals = values(row);
        match args.format {
            ExportFormat::Csv => {
                let line: Vec<String> = vals.iter().map(|v| csv_field(v)).collect();
                writeln!(out, "{}", line.join(","))?;
            }
            ExportFormat::Jsonl => {
                let object: serde_json::Map<String, serde_json::Value> = COLUMNS
                    .iter()
                    .zip(vals)
                    .map(|(k, v)| ((*k).to_owned(), serde_json::Value::String(v)))
                    .collect();
                writeln!(out, "{}", serde_json::Value::Object(object))?;
            }
        }
        written += 1;
        bar.inc(1);
    }
    out.flush()?;
    bar.finish_and_clear();
    println!("{written} questions written to {}", args.out.display());
    Ok(())
}
