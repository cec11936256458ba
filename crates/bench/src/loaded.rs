//! The floors and the pipeline phases of [`crate::run`]: they need the running services.

use std::{sync::Arc, time::Duration};

use crate::{
    connect, drive, floors,
    pipeline::{submit_op, Tracker},
    report::{EndToEndAtRate, Floors, OpenLoop, ProcessCost, Report},
    resources::{sample, Machine},
    say,
    tokens::Tokens,
    BenchError, Probe, Settings, Targets,
};

/// The floors and the pipeline phases against `targets`, then the cost of `probes`.
pub(crate) async fn measure(
    targets: &Targets,
    settings: &Settings,
    mode: &str,
    probes: &[Probe],
    mut machine: Machine,
) -> Result<Report, BenchError> {
    let phase = Duration::from_secs_f64(settings.phase_seconds.max(0.05));
    let settle = Duration::from_secs_f64(settings.settle_seconds.max(1.0));
    let c = settings.concurrency.max(1);
    let idle: Vec<_> = probes.iter().map(|p| sample(p.pid)).collect();

    let nats = async_nats::connect(&targets.nats_url)
        .await
        .map_err(|e| BenchError::Nats(e.to_string()))?;
    machine.nats_version = nats.server_info().version;
    let (intake, answering, reporting) = (
        connect(&targets.intake_url).await?,
        connect(&targets.answering_url).await?,
        connect(&targets.reporting_url).await?,
    );
    let tokens = Tokens::new(&targets.auth_key)?;
    let run_id: Arc<str> = format!("bench-{}", uuid::Uuid::new_v4().simple()).into();

    say(
        settings,
        &format!(
            "floor: postgres single-row commits ({:.1} s, concurrency {c})",
            phase.as_secs_f64()
        ),
    );
    let postgres_commit =
        floors::postgres_commits(&targets.database_url, c, settings.payload_bytes, phase).await?;
    say(settings, "floor: jetstream publish with ack");
    let jetstream_publish =
        floors::jetstream_acks(&targets.nats_url, c, settings.payload_bytes, phase).await?;
    say(settings, "floor: empty tonic unary call (health Check)");
    let tonic_unary = floors::tonic_unary(&targets.intake_url, c, phase).await?;

    // End to end first, on an empty pipeline: the submit-only phases come last, as the
    // questions they leave behind would queue ahead of the tracked ones.
    let tracker = Tracker::start(
        &nats,
        &targets.subject_prefix,
        answering,
        reporting,
        tokens.clone(),
        settings.opd_workers,
        settle,
    )
    .await?;
    say(
        settings,
        "end to end, closed loop: each worker's next question once the last is answered",
    );
    let op = submit_op(
        intake.clone(),
        &tokens,
        settings.payload_bytes,
        format!("{run_id}-e").into(),
        Some(tracker.clone()),
        true,
    )?;
    drive::closed_loop(c, phase, op).await;
    let e2e_sustained = tracker.finish(settle).await;

    let e2e_rate = settings
        .e2e_rate
        .unwrap_or(e2e_sustained.per_second / 2.0)
        .max(1.0);
    say(settings, &format!("end to end, open loop at {e2e_rate:.0}/s"));
    let op = submit_op(
        intake.clone(),
        &tokens,
        settings.payload_bytes,
        format!("{run_id}-r").into(),
        Some(tracker.clone()),
        false,
    )?;
    drive::open_loop(e2e_rate, phase, 10_000, op).await;
    let e2e_at_rate = tracker.finish(settle).await;
    drop(tracker);

    say(settings, "SubmitQuestion closed loop");
    let op = submit_op(
        intake.clone(),
        &tokens,
        settings.payload_bytes,
        format!("{run_id}-c").into(),
        None,
        false,
    )?;
    let submit_closed = drive::closed_loop(c, phase, op).await;

    let submit_rate = settings
        .submit_rate
        .unwrap_or(submit_closed.per_second / 2.0)
        .max(1.0);
    say(
        settings,
        &format!("SubmitQuestion open loop at {submit_rate:.0}/s"),
    );
    let op = submit_op(
        intake,
        &tokens,
        settings.payload_bytes,
        format!("{run_id}-o").into(),
        None,
        false,
    )?;
    let open = drive::open_loop(submit_rate, phase, 10_000, op).await;

    let resources = probes
        .iter()
        .zip(idle)
        .map(|(p, before)| {
            let after = sample(p.pid);
            ProcessCost {
                name: p.name.clone(),
                idle_rss_bytes: before.rss_bytes,
                peak_rss_bytes: after.peak_rss_bytes,
                cpu_seconds: (after.cpu_seconds - before.cpu_seconds).max(0.0),
            }
        })
        .collect();
    let mut report = Report {
        machine,
        settings: settings.clone(),
        mode: mode.into(),
        floors: Floors {
            postgres_commit,
            jetstream_publish,
            tonic_unary,
        },
        submit_closed,
        submit_open: OpenLoop {
            offered_per_second: open.offered_per_second,
            scheduled: open.scheduled,
            done: open.done,
        },
        e2e_sustained,
        e2e_at_rate: EndToEndAtRate {
            offered_per_second: e2e_rate,
            result: e2e_at_rate,
        },
        resources,
        ratios: Vec::new(),
        targets: Vec::new(),
        rebuild: None,
        queries: None,
        not_measured: Vec::new(),
    };
    report.judge();
    Ok(report)
}
