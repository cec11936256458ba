//! `kenduren report rebuild`: replays the stream into fresh read models and swaps them in.

use anyhow::Result;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use kenduren_runtime::BackboneSettings;

/// Options of `kenduren report rebuild`.
#[derive(Debug, Args)]
pub struct RebuildArgs {
    #[command(flatten)]
    pub backbone: crate::cli::BackboneArgs,
}

/// Runs `kenduren report rebuild`: replays the stream into fresh read models and swaps them in.
pub async fn rebuild(args: RebuildArgs) -> Result<()> {
    let b = args.backbone;
    let settings = BackboneSettings {
        database_url: b.database_url,
        nats_url: b.nats_url,
        stream: b.stream,
        subject_prefix: b.subject_prefix,
        stream_replicas: b.stream_replicas,
        pool_size: b.pool_size,
        ..BackboneSettings::default()
    };
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} events {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let done = kenduren_reporting::rebuild(&settings, |p| {
        bar.set_length(p.total);
        bar.set_position(p.done);
        bar.set_message(format!("{:.0} events/s", p.events_per_second()));
    })
    .await?;
    bar.finish_and_clear();
    println!(
        "rebuilt from {} events in {:.1} s ({:.0} events/s); the live service now reads the new read models",
        done.done,
        done.elapsed.as_secs_f64(),
        done.events_per_second()
    );
    Ok(())
}
