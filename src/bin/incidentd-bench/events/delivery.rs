//! Whether the stream holds every event of the outbox exactly once: the ids
//! the server's database holds, beside those in the stream, and each tenant's
//! sequence numbers in stream order.

use std::{
    collections::{BTreeMap, HashSet},
    time::Duration,
};

use async_nats::jetstream;
use sea_orm::{ConnectionTrait, Database, Statement};
use serde::Serialize;
use uuid::Uuid;

use super::nats::{self, Stored};

/// How long to wait, once the stream holds every event, for any sent twice.
const SETTLE: Duration = Duration::from_millis(500);

/// What the stream holds against what the outbox holds.
#[derive(Debug, Clone, Copy, Serialize)]
pub(super) struct Delivery {
    /// Events in the outbox.
    pub(super) outbox: usize,
    /// Messages in the stream.
    pub(super) messages: usize,
    /// Distinct event ids among them.
    pub(super) unique_ids: usize,
    /// Events of the outbox that the stream lacks.
    pub(super) missing: usize,
    /// Messages whose sequence is not one past their tenant's previous.
    pub(super) out_of_order: usize,
    /// As many messages as events, each event's id among them once, and
    /// each tenant's in sequence order.
    pub(super) exactly_once: bool,
}

impl Delivery {
    /// `messages` (the whole stream, in order) against `outbox`.
    pub(super) fn check(outbox: &[Uuid], messages: &[Stored]) -> Self {
        let ids: HashSet<Uuid> = messages.iter().map(|m| m.id).collect();
        let mut last = BTreeMap::<Uuid, i64>::new();
        let mut out_of_order = 0;
        for message in messages {
            let previous = last.entry(message.tenant).or_insert(0);
            if message.sequence != *previous + 1 {
                out_of_order += 1;
            }
            *previous = message.sequence;
        }
        let missing = outbox.iter().filter(|id| !ids.contains(id)).count();
        let once = messages.len() == outbox.len() && ids.len() == outbox.len();
        Self {
            outbox: outbox.len(),
            messages: messages.len(),
            unique_ids: ids.len(),
            missing,
            out_of_order,
            exactly_once: once && missing == 0 && out_of_order == 0,
        }
    }
}

/// Waits (at most `within`) until the stream holds every event of the outbox
/// of the database at `url`, and a little longer for any sent twice; then
/// the whole stream, in order, and how it compares.
pub(super) async fn delivered(
    url: &str,
    context: &jetstream::Context,
    within: Duration,
) -> anyhow::Result<(Delivery, Vec<Stored>)> {
    let outbox = outbox_ids(url).await?;
    if outbox.is_empty() {
        // Nothing was published: the publisher has not even made the stream.
        return Ok((Delivery::check(&outbox, &[]), Vec::new()));
    }
    nats::wait_for(context, outbox.len() as u64, within).await?;
    tokio::time::sleep(SETTLE).await;
    let messages = nats::messages(context).await?;
    Ok((Delivery::check(&outbox, &messages), messages))
}

/// The ids of every event in the outbox of the database at `url`, published
/// or not.
pub(super) async fn outbox_ids(url: &str) -> anyhow::Result<Vec<Uuid>> {
    let db = Database::connect(url).await?;
    let statement = Statement::from_string(db.get_database_backend(), "SELECT event_id FROM incident_event");
    let rows = db.query_all_raw(statement).await?;
    db.close().await?;
    rows.iter()
        .map(|row| Ok(row.try_get::<Uuid>("", "event_id")?))
        .collect()
}
