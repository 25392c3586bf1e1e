//! The load driver: concurrent clients, a warm-up, a measured period, an
//! optional evenly paced rate; what it found, call by call.

use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use tokio::task::JoinSet;

use super::Operation;

/// What one measurement found.
#[derive(Default)]
pub(crate) struct Run {
    /// Milliseconds per counted call, by operation.
    pub(crate) millis: BTreeMap<Operation, Vec<f64>>,
    pub(crate) errors: Vec<String>,
    pub(crate) seconds: f64,
}

impl Run {
    pub(crate) fn calls(&self) -> usize {
        self.millis.values().map(Vec::len).sum()
    }

    pub(crate) fn throughput(&self) -> f64 {
        self.calls() as f64 / self.seconds
    }

    pub(crate) fn all_millis(&self) -> Vec<f64> {
        self.millis.values().flatten().copied().collect()
    }

    /// Adds the calls and errors of `other` (one client's) to these.
    fn absorb(&mut self, other: Run) {
        for (operation, millis) in other.millis {
            self.millis.entry(operation).or_default().extend(millis);
        }
        self.errors.extend(other.errors);
    }
}

/// Runs `call` from `clients.len()` concurrent tasks for `warmup`, then counts
/// for `duration`; with a `rate`, the calls of all clients together are paced
/// to it, each at its scheduled time. A call that starts late because its
/// client's previous call overran its slot is timed from its slot, so waiting
/// for a slow server counts.
pub(crate) async fn drive<C, F, Fut>(clients: Vec<C>, pace: Pace, call: F) -> Run
where
    C: Send + 'static,
    F: Fn(C) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = (C, Operation, Result<(), String>)> + Send + 'static,
{
    let Pace { warmup, duration, rate } = pace;
    let counting = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = JoinSet::new();
    let interval = rate.map(|rate| Duration::from_secs_f64(clients.len() as f64 / rate));
    let begin = tokio::time::Instant::now();
    let count = clients.len() as f64;
    for (c, client) in clients.into_iter().enumerate() {
        let (call, counting, stop) = (call.clone(), counting.clone(), stop.clone());
        // Clients take turns evenly within each interval.
        let next = interval.map(|every| begin + every.mul_f64(c as f64 / count));
        tasks.spawn(calls(client, call, next, interval, counting, stop));
    }
    tokio::time::sleep(warmup).await;
    counting.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(duration).await;
    counting.store(false, Ordering::Relaxed);
    let seconds = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let mut total = Run {
        seconds,
        ..Run::default()
    };
    while let Some(run) = tasks.join_next().await {
        total.absorb(run.expect("a client task"));
    }
    total
}

/// One client's calls, one after the other until `stop`; those made while
/// `counting` are recorded.
async fn calls<C, F, Fut>(
    mut client: C,
    call: F,
    mut next: Option<tokio::time::Instant>,
    interval: Option<Duration>,
    counting: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
) -> Run
where
    F: Fn(C) -> Fut,
    Fut: std::future::Future<Output = (C, Operation, Result<(), String>)>,
{
    let mut run = Run::default();
    while !stop.load(Ordering::Relaxed) {
        let started = start(&mut next, interval).await;
        let (back, operation, result) = call(client).await;
        client = back;
        let millis = started.elapsed().as_secs_f64() * 1000.0;
        if !counting.load(Ordering::Relaxed) {
            continue;
        }
        match result {
            Ok(()) => run.millis.entry(operation).or_default().push(millis),
            Err(error) => run.errors.push(error),
        }
    }
    run
}

/// When the next call starts, as it is timed: now, without a rate; with one,
/// its slot `next` (waited for if it is still to come), and `next` moves on
/// by `interval`.
async fn start(next: &mut Option<tokio::time::Instant>, interval: Option<Duration>) -> Instant {
    let (Some(at), Some(every)) = (next.as_mut(), interval) else {
        return Instant::now();
    };
    let scheduled = *at;
    *at += every;
    if tokio::time::Instant::now() < scheduled {
        // On time: the call goes out when tokio's timer fires, up to a
        // millisecond after its slot. That lateness is the client's own, so the
        // call is timed from when it goes out.
        tokio::time::sleep_until(scheduled).await;
        Instant::now()
    } else {
        // Behind: the previous call overran this one's slot, and the wait
        // counts against the server.
        scheduled.into_std()
    }
}

/// How long to warm up and measure, and at which rate.
#[derive(Clone, Copy)]
pub(crate) struct Pace {
    pub(crate) warmup: Duration,
    pub(crate) duration: Duration,
    pub(crate) rate: Option<f64>,
}
