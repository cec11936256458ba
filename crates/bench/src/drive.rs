//! Load drivers: a closed loop (N workers, each sends the next request when the last
//! one returned) and an open loop (requests at a fixed offered rate, latency measured
//! from the moment each one was due, so a stall shows instead of being hidden by the
//! sender slowing down — no coordinated omission).

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use futures::future::BoxFuture;
use tokio::{sync::Semaphore, task::JoinSet};

use crate::stats::{Recorder, Throughput};

/// One operation, given its sequence number and the moment it was due (its send time in a
/// closed loop); resolves to whether it succeeded.
pub type Op = Arc<dyn Fn(u64, Instant) -> BoxFuture<'static, bool> + Send + Sync>;

/// Runs `op` from `concurrency` workers until `duration` has passed.
pub async fn closed_loop(concurrency: usize, duration: Duration, op: Op) -> Throughput {
    let start = Instant::now();
    let deadline = start + duration;
    let mut workers = JoinSet::new();
    for worker in 0..concurrency.max(1) {
        let op = op.clone();
        workers.spawn(async move {
            let mut recorder = Recorder::new();
            let mut errors = 0u64;
            let mut seq = worker as u64;
            while Instant::now() < deadline {
                let sent = Instant::now();
                if op(seq, sent).await {
                    recorder.record(sent.elapsed());
                } else {
                    errors += 1;
                }
                seq += concurrency as u64;
            }
            (recorder, errors)
        });
    }
    let (recorder, errors) = collect(&mut workers).await;
    Throughput::new(&recorder, errors, start.elapsed())
}

/// What an open-loop phase did.
#[derive(Debug, Clone, Copy)]
pub struct OpenLoopResult {
    /// The rate requests were scheduled at, per second.
    pub offered_per_second: f64,
    /// Requests scheduled.
    pub scheduled: u64,
    /// Completed requests; latency from each request's intended send time.
    pub done: Throughput,
}

/// Schedules `op` at `rate` per second for `duration` and waits for every request.
/// At most `max_in_flight` run at once; a request waiting for a slot still counts its
/// latency from when it was due.
pub async fn open_loop(rate: f64, duration: Duration, max_in_flight: usize, op: Op) -> OpenLoopResult {
    let rate = rate.max(0.001);
    let interval = Duration::from_secs_f64(1.0 / rate);
    let start = Instant::now();
    let slots = Arc::new(Semaphore::new(max_in_flight.max(1)));
    // One shared recorder: a histogram per request would cost more than the request.
    let shared = Arc::new(Mutex::new((Recorder::new(), 0u64)));
    let mut tasks = JoinSet::new();
    let mut seq = 0u64;
    loop {
        let due = start + interval.mul_f64(seq as f64);
        if due >= start + duration {
            break;
        }
        tokio::time::sleep_until(due.into()).await;
        let (op, slots, shared) = (op.clone(), slots.clone(), shared.clone());
        tasks.spawn(async move {
            let _slot = slots.acquire_owned().await;
            let ok = op(seq, due).await;
            let latency = due.elapsed();
            let mut guard = shared.lock().unwrap_or_else(|p| p.into_inner());
            if ok {
                guard.0.record(latency);
            } else {
                guard.1 += 1;
            }
        });
        seq += 1;
        // Reap finished tasks as we go so the set does not grow with the run.
        while tasks.try_join_next().is_some() {}
    }
    let mut panicked = 0;
    while let Some(joined) = tasks.join_next().await {
        panicked += u64::from(joined.is_err());
    }
    let guard = shared.lock().unwrap_or_else(|p| p.into_inner());
    let (recorder, errors) = (&guard.0, guard.1 + panicked);
    OpenLoopResult {
        offered_per_second: rate,
        scheduled: seq,
        done: Throughput::new(recorder, errors, start.elapsed()),
    }
}

/// Merges what the tasks recorded; a task that panicked counts as one error.
async fn collect(tasks: &mut JoinSet<(Recorder, u64)>) -> (Recorder, u64) {
    let mut all = Recorder::new();
    let mut errors = 0;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((r, e)) => {
                all.merge(&r);
                errors += e;
            }
            Err(_) => errors += 1,
        }
    }
    (all, errors)
}
