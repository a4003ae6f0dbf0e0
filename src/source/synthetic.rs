use super::{Source, SourceBatch, SourceError};
use crate::domain::{Envelope, OffsetRow, Position};
use pfm_synth::{GenConfig, Generator};
use std::collections::HashMap;
use std::sync::Arc;

/// The built-in generator as a source. Records are serialised to JSON and decoded like any
/// other input, so the whole chain is exercised. Resumes where the stored offset says.
pub struct SyntheticSource {
    name: Arc<str>,
    generator: Generator,
    next: i64,
    /// `None`: unbounded.
    remaining: Option<u64>,
}

impl SyntheticSource {
    pub fn new(seed: u64, count: Option<u64>) -> Self {
        let generator = Generator::new(GenConfig {
            seed,
            ..GenConfig::default()
        });
        Self {
            name: format!("synthetic:{seed}").into(),
            generator,
            next: 0,
            remaining: count,
        }
    }
}

impl Source for SyntheticSource {
    fn name(&self) -> &str {
        &self.name
    }

    async fn resume(&mut self, offsets: &HashMap<i32, i64>) -> Result<(), SourceError> {
        let start = offsets.get(&0).copied().unwrap_or(0);
        while self.next < start {
            if self.generator.next().is_none() {
                break;
            }
            self.next += 1;
        }
        Ok(())
    }

    async fn next_batch(&mut self, max: usize) -> Result<Option<SourceBatch>, SourceError> {
        let n = match self.remaining {
            Some(0) => return Ok(None),
            Some(r) => (r as usize).min(max),
            None => max,
        };
        let mut envelopes = Vec::with_capacity(n);
        for txn in self.generator.by_ref().take(n) {
            let payload = serde_json::to_vec(&txn).unwrap_or_default();
            envelopes.push(Envelope {
                position: Position {
                    source: self.name.clone(),
                    partition: 0,
                    offset: self.next,
                },
                payload,
            });
            self.next += 1;
        }
        if let Some(r) = self.remaining.as_mut() {
            *r -= envelopes.len() as u64;
        }
        if envelopes.is_empty() {
            return Ok(None);
        }
        let offsets = vec![OffsetRow {
            source: self.name.to_string(),
            partition: 0,
            next_offset: self.next,
        }];
        Ok(Some(SourceBatch { envelopes, offsets }))
    }
}
