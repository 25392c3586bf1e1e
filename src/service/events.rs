//! Watching a tenant's change events: the stored events after the caller's
//! cursor, then each as it commits, read from the outbox in sequence order,
//! so that nothing is missed or repeated between the two.
//!
//! A watch reads no further ahead than its buffer has room for, counted in
//! bytes, so the server holds at most that much (and one event larger than
//! it) for a reader that does not read. A reader that leaves the buffer full
//! for the stall timeout is cut off (RESOURCE_EXHAUSTED) and resumes from
//! its cursor; one that reads slowly sets the pace, since every event waits
//! in the database until there is room for it.

use std::{
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use tokio::{
    sync::{OwnedSemaphorePermit, Semaphore, broadcast, mpsc, oneshot, watch as signal},
    time::Instant,
};
use uuid::Uuid;

use super::Service;
use crate::{
    auth::{Principal, allow},
    domain::{
        Error, Violations,
        event::{Event, EventFilter, Watch, WatchFields},
    },
    store::Store,
};

/// Bytes of events a watch holds for its reader unless configured otherwise
/// (`--watch-buffer`).
pub const DEFAULT_WATCH_BUFFER_BYTES: usize = 1024 * 1024;
/// How long a watch's reader may leave its buffer full unless configured
/// otherwise (`--watch-stall-timeout`); shorter than the write timeout, after
/// which the connection is closed, so that the reader is told why.
pub const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a watch with nothing to send waits before it sends a bookmark,
/// unless configured otherwise.
pub const DEFAULT_BOOKMARK_INTERVAL: Duration = Duration::from_secs(5);
/// How long events are kept unless configured otherwise (`--event-retention`).
pub const DEFAULT_EVENT_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);
/// How often a watch looks for events that another replica committed: this
/// process tells its own watches of its own commits at once.
const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// Most events read from the database at once.
const PAGE: u64 = 32;
/// What a bookmark counts for in the buffer.
const BOOKMARK_BYTES: usize = 32;

/// What each watch is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchSettings {
    /// Bytes of events held for the reader at most (an event larger than
    /// this is held alone).
    pub buffer_bytes: usize,
    /// How long a watch with nothing to send waits before a bookmark.
    pub bookmark_interval: Duration,
    /// How long the reader may leave the buffer full.
    pub stall_timeout: Duration,
}

impl Default for WatchSettings {
    fn default() -> Self {
        Self {
            buffer_bytes: DEFAULT_WATCH_BUFFER_BYTES,
            bookmark_interval: DEFAULT_BOOKMARK_INTERVAL,
            stall_timeout: DEFAULT_STALL_TIMEOUT,
        }
    }
}

/// One message of a watch.
#[derive(Debug, Clone, PartialEq)]
pub enum WatchItem {
    Event(Box<Event>),
    /// Every event up to this sequence has been looked at: the reader's
    /// cursor may move here.
    Bookmark(i64),
}

/// A message in a watch's buffer, with the room it takes there.
type Buffered = (WatchItem, OwnedSemaphorePermit);

impl Service {
    /// Opens a watch of the caller's tenant: checked, its cursor found among
    /// the kept events, and its pump started.
    pub async fn watch_incidents(&self, principal: &Principal, fields: WatchFields) -> Result<Watching, Error> {
        self.admit(principal, allow::READ_INCIDENT)?;
        let watch = Watch::parse(fields).map_err(Violations::into_error)?;
        let tenant_id = principal.tenant_id;
        // Told of commits from before the range is read, so none is missed.
        let commits = self.store.commits();
        let range = self.store.event_range(tenant_id).await?;
        let cursor = watch.start(range.first, range.last)?;
        let settings = self.watch_settings;
        let (items, received) = mpsc::unbounded_channel();
        let (end, ended) = oneshot::channel();
        let mut pump = Pump {
            store: self.store.clone(),
            tenant_id,
            filter: watch.filter,
            cursor,
            items,
            room: Arc::new(Semaphore::new(settings.buffer_bytes.max(BOOKMARK_BYTES))),
            commits,
            stopping: self.stopping.subscribe(),
            settings,
        };
        if watch.after_sequence.is_none() {
            // From now on: the reader learns its cursor at once.
            pump.bookmark();
        }
        tokio::spawn(async move {
            if let Some(error) = pump.run().await {
                tracing::info!(%tenant_id, reason = error.reason(), "watch ended");
                let _ = end.send(error);
            }
        });
        Ok(Watching {
            items: received,
            ended,
            done: false,
        })
    }

    /// Ends every watch of this process with UNAVAILABLE: the server is
    /// shutting down, and their readers resume elsewhere.
    pub fn stop_watches(&self) {
        self.stopping.send_replace(true);
    }
}

/// A watch's messages for its transport, ending with the error that ended it.
pub struct Watching {
    items: mpsc::UnboundedReceiver<Buffered>,
    ended: oneshot::Receiver<Error>,
    done: bool,
}

impl tokio_stream::Stream for Watching {
    type Item = Result<WatchItem, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        // An error ends the watch at once: what is still buffered is read
        // again from the reader's cursor.
        if let Poll::Ready(ended) = Pin::new(&mut self.ended).poll(cx) {
            self.done = true;
            self.items.close();
            return Poll::Ready(ended.ok().map(Err));
        }
        match self.items.poll_recv(cx) {
            // Taken: its room in the buffer is free again.
            Poll::Ready(Some((item, _room))) => Poll::Ready(Some(Ok(item))),
            Poll::Ready(None) => {
                // The pump has stopped: with an error, sent before it let go.
                self.done = true;
                Poll::Ready(self.ended.try_recv().ok().map(Err))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// What reads a watch's events from the store into its buffer.
struct Pump {
    store: Store,
    tenant_id: Uuid,
    filter: EventFilter,
    /// The last sequence looked at.
    cursor: i64,
    items: mpsc::UnboundedSender<Buffered>,
    /// The buffer's free bytes.
    room: Arc<Semaphore>,
    commits: broadcast::Receiver<Uuid>,
    stopping: signal::Receiver<bool>,
    settings: WatchSettings,
}

/// Why a pump stopped sending.
enum Stop {
    /// The reader is gone: nothing to tell.
    Gone,
    Ended(Error),
}

impl From<Error> for Stop {
    fn from(error: Error) -> Self {
        Stop::Ended(error)
    }
}

impl Pump {
    /// Runs until the reader goes (`None`) or the watch ends with an error.
    async fn run(mut self) -> Option<Error> {
        let mut stopping = self.stopping.clone();
        let mut quiet_since = Instant::now();
        loop {
            let sent = tokio::select! {
                // Shutdown also ends a pump waiting for room.
                _ = stopping.wait_for(|stop| *stop) => return Some(Error::ShuttingDown),
                sent = self.send_new() => sent,
            };
            match sent {
                Ok(0) => {}
                Ok(_) => quiet_since = Instant::now(),
                Err(Stop::Gone) => return None,
                Err(Stop::Ended(error)) => return Some(error),
            }
            let bookmark_at = quiet_since + self.settings.bookmark_interval;
            let quiet = tokio::select! {
                () = self.items.closed() => return None,
                _ = stopping.wait_for(|stop| *stop) => return Some(Error::ShuttingDown),
                () = tokio::time::sleep_until(bookmark_at) => true,
                () = tokio::time::sleep(POLL_INTERVAL) => false,
                () = committed(&mut self.commits, self.tenant_id) => false,
            };
            if quiet {
                self.bookmark();
                quiet_since = Instant::now();
            }
        }
    }

    /// Sends a bookmark at the cursor, unless the buffer is full: the reader
    /// then has something to read already.
    fn bookmark(&mut self) {
        if let Ok(room) = self.room.clone().try_acquire_many_owned(BOOKMARK_BYTES as u32) {
            let _ = self.items.send((WatchItem::Bookmark(self.cursor), room));
        }
    }

    /// Sends the events committed after the cursor that the filter lets
    /// through, each once the buffer has room for it. Returns how many.
    async fn send_new(&mut self) -> Result<usize, Stop> {
        let mut sent = 0;
        loop {
            let events = self.store.events_after(self.tenant_id, self.cursor, PAGE).await?;
            if let Some(next) = events.first() {
                Watch::follows(self.cursor, next.sequence)?;
            }
            let more = events.len() as u64 == PAGE;
            for event in events {
                let sequence = event.sequence;
                if self.filter.matches(&event) {
                    self.send(event).await?;
                    sent += 1;
                }
                self.cursor = sequence;
            }
            if !more {
                return Ok(sent);
            }
        }
    }

    /// Sends `event` once the buffer has room for it (all of it, for an
    /// event larger than the buffer): a reader that leaves the buffer full
    /// for the stall timeout is cut off.
    async fn send(&mut self, event: Event) -> Result<(), Stop> {
        let capacity = self.settings.buffer_bytes.max(BOOKMARK_BYTES);
        let bytes = event.approximate_size().clamp(1, capacity);
        let bytes = u32::try_from(bytes).unwrap_or(u32::MAX);
        let waited = self.settings.stall_timeout;
        let room = tokio::select! {
            () = self.items.closed() => return Err(Stop::Gone),
            acquired = tokio::time::timeout(waited, self.room.clone().acquire_many_owned(bytes)) => match acquired {
                Ok(Ok(room)) => room,
                // The semaphore is never closed.
                Ok(Err(_)) => return Err(Stop::Gone),
                Err(_) => return Err(Stop::Ended(Error::WatchTooSlow { waited })),
            },
        };
        self.items
            .send((WatchItem::Event(Box::new(event)), room))
            .map_err(|_| Stop::Gone)
    }
}

/// Resolves when this process commits events of `tenant_id`, or has
/// committed more than it could tell (the watch looks anyway).
async fn committed(commits: &mut broadcast::Receiver<Uuid>, tenant_id: Uuid) {
    loop {
        match commits.recv().await {
            Ok(tenant) if tenant == tenant_id => return,
            Ok(_) => {}
            Err(broadcast::error::RecvError::Lagged(_)) => return,
            Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
        }
    }
}
