//! The figures of a run: as JSON, or as tables with a few lines beside.

use serde_json::{Value, json};

use super::{EventsArgs, delivery::Delivery, drain::Drained, latency::Latency};
use crate::{
    percentile,
    update::{row, summary},
};

/// What a run found, to be printed.
pub(super) struct Report<'a> {
    pub(super) args: &'a EventsArgs,
    pub(super) backend: &'a str,
    pub(super) drained: Option<&'a Drained>,
    pub(super) latency: Option<&'a Latency>,
}

impl Report<'_> {
    /// Prints the figures: as JSON with `--json`, else as tables.
    pub(super) fn print(&self) -> anyhow::Result<()> {
        if self.args.json {
            println!("{}", serde_json::to_string_pretty(&self.figures())?);
            return Ok(());
        }
        println!(
            "{}: change events to NATS JetStream, {} clients",
            self.backend, self.args.concurrency
        );
        if let Some(drained) = self.drained {
            print_drain(drained);
        }
        if let Some(latency) = self.latency {
            print_latency(latency);
        }
        Ok(())
    }

    fn figures(&self) -> Value {
        json!({
            "backend": self.backend,
            "concurrency": self.args.concurrency,
            "drain": self.drained,
            "latency": self.latency.map(|l| json!({
                "rate": l.rate,
                "saturation": l.saturation.as_ref().map(summary),
                "updates": summary(&l.updates),
                "commit_to_jetstream": spread(&l.millis),
                "delivery": l.delivery,
            })),
        })
    }
}

fn print_drain(drained: &Drained) {
    println!("| publisher drain | events | seconds | events/s |");
    println!("|---|---|---|---|");
    println!(
        "| outbox filled while NATS was down | {} | {:.2} | {:.0} |",
        drained.events, drained.seconds, drained.per_second
    );
    println!(
        "seconds from nats-server's start to the last event stored: {:.1} (reconnection and back-off \
         included); the outbox was filled at {:.0} events/s",
        drained.seconds_from_nats_start, drained.filled_per_second
    );
    print_delivery("drain", &drained.delivery);
}

fn print_latency(latency: &Latency) {
    println!("| UpdateIncident, publisher live | calls/s | p50 ms | p90 ms | p99 ms | max ms | errors |");
    println!("|---|---|---|---|---|---|---|");
    if let Some(saturation) = &latency.saturation {
        row("at saturation", &summary(saturation));
    }
    row(&format!("paced at {:.0}/s", latency.rate), &summary(&latency.updates));
    let f = spread(&latency.millis);
    let ms = |key: &str| f[key].as_f64().unwrap_or(0.0);
    println!("| commit to JetStream | events | p50 ms | p90 ms | p99 ms | max ms |");
    println!("|---|---|---|---|---|---|");
    println!(
        "| at {:.0} updates/s | {} | {:.2} | {:.2} | {:.2} | {:.2} |",
        latency.rate,
        f["events"],
        ms("p50_ms"),
        ms("p90_ms"),
        ms("p99_ms"),
        ms("max_ms")
    );
    print_delivery("paced run", &latency.delivery);
}

fn print_delivery(what: &str, d: &Delivery) {
    println!(
        "{what}: {} events in the outbox, {} messages in the stream, {} distinct ids, {} missing, {} out of \
         order: {}",
        d.outbox,
        d.messages,
        d.unique_ids,
        d.missing,
        d.out_of_order,
        if d.exactly_once {
            "each exactly once"
        } else {
            "NOT exactly once"
        }
    );
}

/// How many, and their percentiles.
fn spread(millis: &[f64]) -> Value {
    let mut all = millis.to_vec();
    json!({
        "events": all.len(),
        "p50_ms": percentile(&mut all, 50.0),
        "p90_ms": percentile(&mut all, 90.0),
        "p99_ms": percentile(&mut all, 99.0),
        "max_ms": percentile(&mut all, 100.0),
    })
}
