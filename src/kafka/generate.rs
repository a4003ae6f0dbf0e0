//! `pipeline generate --to-kafka`: synthetic transactions produced to the input topic, keyed
//! by `account_id` so each account's history stays in one partition, at an optional rate.

use super::KafkaError;
use crate::config::KafkaConfig;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::{ClientContext, Message};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, serde::Serialize)]
pub struct ProduceReport {
    pub topic: String,
    pub produced: u64,
    pub seconds: f64,
    pub records_per_second: f64,
}

#[derive(Default)]
struct Deliveries {
    ok: AtomicU64,
    failed: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl ClientContext for Deliveries {
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, message: &str) {
        super::log_line(level, fac, message);
    }
}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => {
                self.ok.fetch_add(1, Ordering::Relaxed);
            }
            Err((e, m)) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                let mut first = self.first_error.lock().unwrap_or_else(|p| p.into_inner());
                if first.is_none() {
                    *first = Some(format!("{e} (partition {})", m.partition()));
                }
            }
        }
    }
}

/// Produces `records` and waits until the broker acknowledged every one. `rate`: records per
/// second (`None`: as fast as the client goes).
pub fn produce_synthetic(
    cfg: &KafkaConfig,
    records: impl Iterator<Item = (String, Vec<u8>)>,
    rate: Option<f64>,
    flush_timeout: Duration,
) -> Result<ProduceReport, KafkaError> {
    let producer: BaseProducer<Deliveries> = super::producer_config(cfg)
        .create_with_context(Deliveries::default())
        .map_err(|source| KafkaError::Create {
            role: "producer",
            source,
        })?;
    let started = Instant::now();
    let mut sent: u64 = 0;
    for (key, payload) in records {
        if let Some(r) = rate {
            // Paced against the start, so a slow moment is caught up rather than lost.
            let due = started + Duration::from_secs_f64(sent as f64 / r);
            let now = Instant::now();
            if due > now {
                producer.poll(due - now);
            }
        }
        let mut record = BaseRecord::to(&cfg.topic).key(&key).payload(&payload);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((e, back))
                    if e.rdkafka_error_code()
                        == Some(rdkafka::types::RDKafkaErrorCode::QueueFull) =>
                {
                    producer.poll(Duration::from_millis(50));
                    record = back;
                }
                Err((e, _)) => {
                    return Err(KafkaError::Delivery {
                        failed: 1,
                        total: sent + 1,
                        first: e.to_string(),
                    })
                }
            }
        }
        sent += 1;
        producer.poll(Duration::ZERO);
    }
    let _ = producer.flush(flush_timeout);
    let ctx = producer.context();
    let failed = ctx.failed.load(Ordering::Relaxed)
        + sent.saturating_sub(ctx.ok.load(Ordering::Relaxed) + ctx.failed.load(Ordering::Relaxed));
    if failed > 0 {
        let first = ctx
            .first_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .unwrap_or_else(|| format!("not acknowledged within {flush_timeout:?}"));
        return Err(KafkaError::Delivery {
            failed,
            total: sent,
            first,
        });
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(ProduceReport {
        topic: cfg.topic.clone(),
        produced: sent,
        seconds: (seconds * 1000.0).round() / 1000.0,
        records_per_second: if seconds > 0.0 {
            (sent as f64 / seconds).round()
        } else {
            0.0
        },
    })
}
