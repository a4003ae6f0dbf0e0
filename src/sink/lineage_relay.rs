//! The lineage relay: delivers the events of the `lineage_outbox` (written in the
//! transactions that open and close runs) to the OpenLineage backend, over HTTP (Marquez's
//! `POST /api/v1/lineage`), to a JSON-lines file, or to the log. A backend that is down
//! blocks nothing: events wait in the table (`pipeline_lineage_backlog`) and go out, in
//! order, when it returns. Delivery is at least once: an event sent just before a crash,
//! and not yet deleted, is sent again, identical (decision 0013).

use crate::config::LineageTransport;
use crate::store::{RelayLease, Store, StoreError};
use crate::telemetry::metrics::Metrics;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::sync::watch;

const ROUND: i64 = 100;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum LineageSendError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("lineage backend {target}: {reason}")]
    Backend { target: String, reason: String },
    #[error("building the HTTP client: {0}")]
    Client(String),
}

/// Delivers events to the configured transport.
pub struct LineageSender {
    transport: LineageTransport,
    http: Option<reqwest::Client>,
}

/// What one delivery attempt achieved, in outbox order.
#[derive(Debug, Default)]
struct Delivery {
    delivered: Vec<i64>,
    /// Refused for good (HTTP 4xx other than 408 and 429): kept aside, never resent.
    rejected: Vec<(i64, String)>,
    /// Why delivery stopped early (the rest waits for the next round).
    error: Option<String>,
}

impl LineageSender {
    pub fn new(transport: &LineageTransport) -> Result<Self, LineageSendError> {
        let http = match transport {
            LineageTransport::Http { .. } => Some(
                reqwest::Client::builder()
                    .connect_timeout(Duration::from_secs(3))
                    .timeout(REQUEST_TIMEOUT)
                    .build()
                    .map_err(|e| LineageSendError::Client(e.to_string()))?,
            ),
            _ => None,
        };
        Ok(Self {
            transport: transport.clone(),
            http,
        })
    }

    async fn deliver(&self, events: &[(i64, String)]) -> Delivery {
        let mut d = Delivery::default();
        match (&self.transport, &self.http) {
            (
                LineageTransport::Http {
                    url,
                    endpoint,
                    api_key,
                },
                Some(client),
            ) => {
                let target = format!("{url}/{endpoint}");
                for (id, event) in events {
                    let mut req = client
                        .post(&target)
                        .header(reqwest::header::CONTENT_TYPE, "application/json")
                        .body(event.clone());
                    if let Some(key) = api_key {
                        req = req.bearer_auth(key.expose());
                    }
                    match req.send().await {
                        Ok(r) if r.status().is_success() => d.delivered.push(*id),
                        Ok(r)
                            if r.status().is_client_error()
                                && !matches!(r.status().as_u16(), 408 | 429) =>
                        {
                            let status = r.status();
                            let body = r.text().await.unwrap_or_default();
                            let excerpt: String = body.chars().take(200).collect();
                            d.rejected.push((*id, format!("HTTP {status}: {excerpt}")));
                        }
                        Ok(r) => {
                            d.error = Some(format!("HTTP {}", r.status()));
                            break;
                        }
                        Err(e) => {
                            // reqwest's error names the URL, never the Authorization header.
                            d.error = Some(if e.is_timeout() {
                                "timed out".into()
                            } else {
                                e.to_string()
                            });
                            break;
                        }
                    }
                }
            }
            (LineageTransport::File(path), _) => {
                let mut text = String::new();
                for (_, event) in events {
                    text.push_str(event);
                    text.push('\n');
                }
                let written = async {
                    let mut f = tokio::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(path)
                        .await?;
                    f.write_all(text.as_bytes()).await?;
                    f.sync_data().await
                };
                match written.await {
                    Ok(()) => d.delivered = events.iter().map(|(id, _)| *id).collect(),
                    Err(e) => d.error = Some(format!("{}: {e}", path.display())),
                }
            }
            (LineageTransport::Console, _) | (LineageTransport::Http { .. }, None) => {
                for (id, event) in events {
                    tracing::info!(target: "openlineage", event = %event, "openlineage event");
                    d.delivered.push(*id);
                }
            }
        }
        d
    }

    /// One round: the next events in order, delivered, then settled in the store. Returns
    /// how many left the outbox.
    async fn round<S: Store>(
        &self,
        store: &S,
        metrics: Option<&Metrics>,
    ) -> Result<usize, LineageSendError> {
        let events = store.lineage_pending(ROUND).await?;
        if events.is_empty() {
            return Ok(0);
        }
        let d = self.deliver(&events).await;
        store.lineage_settle(&d.delivered, &d.rejected).await?;
        for (id, reason) in &d.rejected {
            tracing::error!(outbox_id = id, reason = %reason, "lineage backend refused an event; it is kept in lineage_outbox and not resent");
        }
        if let Some(m) = metrics {
            m.lineage_sent.inc_by(d.delivered.len() as u64);
            m.lineage_rejected.inc_by(d.rejected.len() as u64);
        }
        match d.error {
            Some(reason) => {
                if let Some(m) = metrics {
                    m.lineage_failures.inc();
                }
                Err(LineageSendError::Backend {
                    target: self.transport.describe(),
                    reason,
                })
            }
            None => Ok(d.delivered.len() + d.rejected.len()),
        }
    }
}

/// Relays until `drain_by` holds a deadline (the run is over), then drains what it can
/// until that deadline: the process's one shutdown deadline.
pub async fn run_lineage_relay<S: Store>(
    store: S,
    sender: LineageSender,
    metrics: Arc<Metrics>,
    mut drain_by: watch::Receiver<Option<Instant>>,
) {
    let mut lease: Option<RelayLease> = None;
    let mut backoff = Duration::from_millis(200);
    let mut drain_until: Option<Instant> = None;
    let mut last_warning: Option<Instant> = None;
    loop {
        if drain_until.is_none() {
            drain_until = *drain_by.borrow();
        }
        if drain_until.is_some_and(|t| Instant::now() >= t) {
            break;
        }
        if lease.is_none() {
            lease = store.lineage_relay_lease().await.ok().flatten();
        }
        let mut idle = true;
        if let Some(l) = lease.as_mut() {
            if !l.still_held().await {
                tracing::warn!("lineage relay lease lost");
                lease = None;
            } else {
                match sender.round(&store, Some(&metrics)).await {
                    Ok(n) => {
                        idle = n == 0;
                        backoff = Duration::from_millis(200);
                    }
                    Err(e) => {
                        if last_warning.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) {
                            tracing::warn!(error = %e, "lineage delivery failed; events wait in lineage_outbox and are retried");
                            last_warning = Some(Instant::now());
                        }
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                    }
                }
            }
        }
        let backlog = store.lineage_backlog().await.unwrap_or(-1);
        if backlog >= 0 {
            metrics.lineage_backlog.set(backlog);
        }
        if drain_until.is_some() && backlog == 0 {
            break;
        }
        if idle {
            let wait = if lease.is_some() {
                backoff
            } else {
                Duration::from_secs(2)
            };
            let wait = match drain_until {
                Some(t) => wait.min(t.saturating_duration_since(Instant::now())),
                None => wait,
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = drain_by.changed(), if drain_until.is_none() => {}
            }
        }
    }
    if let Ok(n) = store.lineage_backlog().await {
        metrics.lineage_backlog.set(n);
        if n > 0 {
            tracing::warn!(
                backlog = n,
                "lineage events not all delivered at exit; the next relay sends the rest"
            );
        }
    }
}

/// For the one-shot commands: delivers what is waiting until `deadline`, without a lease
/// loop. Returns what is left; a backend that is down leaves the events for the next relay.
pub async fn deliver_pending<S: Store>(
    store: &S,
    sender: &LineageSender,
    deadline: tokio::time::Instant,
) -> Result<i64, LineageSendError> {
    let Some(_lease) = store.lineage_relay_lease().await? else {
        // A running pipeline relays them.
        return Ok(store.lineage_backlog().await?);
    };
    let work = async {
        loop {
            if sender.round(store, None).await? == 0 {
                return Ok::<_, LineageSendError>(());
            }
        }
    };
    match tokio::time::timeout_at(deadline, work).await {
        Ok(Err(e)) => Err(e),
        _ => Ok(store.lineage_backlog().await?),
    }
}
