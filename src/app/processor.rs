//! One batch: decode, load the per-account state the later stages need, run the stages,
//! and turn the result into the rows of one database transaction.

use super::remote_govern::RemoteGovern;
use crate::config::Config;
use crate::crypto::{DataKey, KekRing};
use crate::policy::{EmbeddedPolicy, RemotePolicy};
use crate::source::SourceBatch;
use crate::stage::{
    Batch, Categorise, DeadLetter, Decode, Govern, Protect, Record, Risk, Scrub, Stage,
    StageContext, StageError,
};
use crate::store::{CommitBatch, DeadLetterRow, Store, StoreError, TxnRow};
use crate::telemetry::metrics::{Metrics, ReasonLabel, ResultLabel, StageLabel};
use chrono::Utc;
use pfm_pii::Scrubber;
use pfm_risk::AccountState;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Stage(#[from] StageError),
    #[error("stored data key for account {account} cannot be unwrapped: {source}")]
    Key {
        account: String,
        source: crate::crypto::CryptoError,
    },
}

impl BatchError {
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Store(e) if e.is_unavailable())
    }

    pub fn is_conflict(&self) -> bool {
        matches!(self, Self::Store(e) if e.is_conflict())
    }
}

/// Builds the stage chain: decode → scrub → categorise → risk → govern → protect. With
/// `OPA_URL`, govern's decisions come from the remote OPA (see [`RemoteGovern`]); the
/// embedded policy is still loaded (and returned) as the version the start-up log names.
pub fn build_processor(
    cfg: &Config,
    kek: Arc<KekRing>,
    metrics: Arc<Metrics>,
) -> Result<(BatchProcessor, Arc<EmbeddedPolicy>), crate::policy::PolicyError> {
    let scrubber = Arc::new(Scrubber::new());
    let policy = Arc::new(EmbeddedPolicy::load(
        cfg.policy_dir.as_deref(),
        &cfg.opa_policy_path,
    )?);
    let (govern, remote) = match &cfg.opa_url {
        None => (Govern::new(&policy)?, None),
        Some(url) => {
            let client = RemotePolicy::new(
                url,
                &cfg.opa_policy_path,
                cfg.opa.clone(),
                metrics.opa.clone(),
            )?;
            (
                Govern::remote(&cfg.opa_policy_path),
                Some(RemoteGovern::new(Arc::new(client), cfg.opa.failure_mode)),
            )
        }
    };
    let processor = BatchProcessor {
        decode: Box::new(Decode::new(scrubber.clone())),
        stages: vec![
            Box::new(Scrub::new(scrubber)),
            Box::new(Categorise),
            Box::new(Risk::new(pfm_risk::RiskEngine::new(cfg.risk.clone()))),
            Box::new(govern),
            Box::new(Protect),
        ],
        remote,
        ctx: StageContext::default(),
        kek,
        metrics,
        erasure_seen: None,
        publish: Default::default(),
        lineage: None,
    };
    Ok((processor, policy))
}

pub struct BatchProcessor {
    pub decode: Box<dyn Stage>,
    pub stages: Vec<Box<dyn Stage>>,
    /// With `OPA_URL`: fetches the decisions the govern stage records.
    pub remote: Option<RemoteGovern>,
    pub ctx: StageContext,
    pub kek: Arc<KekRing>,
    pub metrics: Arc<Metrics>,
    /// The last erasure this replica has applied to its caches (`None` until first read).
    pub erasure_seen: Option<i64>,
    /// Where committed records and dead letters are published (nothing by default).
    pub publish: crate::store::PublishTopics,
    /// The process's OpenLineage runs: each commit is tallied into the open interval.
    pub lineage: Option<super::lineage::ProcessRuns>,
}

impl BatchProcessor {
    /// Runs the stages over a batch. Nothing is written except missing per-account data
    /// keys, which are idempotent: the result is a [`CommitBatch`] for the caller to commit.
    pub async fn prepare<S: Store>(
        &mut self,
        store: &S,
        input: &SourceBatch,
    ) -> Result<CommitBatch, BatchError> {
        // The record's arrival, as its journey reports it.
        let received = Utc::now();
        let mut batch = Batch::new(input.envelopes.clone());
        self.run_stage(0, &mut batch)?;
        // Loads change no detector state, so a transient failure here can retry the batch.
        self.load_account_state(store, &batch.records).await?;
        for i in 0..self.stages.len() {
            if let Some(remote) = &self.remote {
                if self.stages[i].name() == "govern" {
                    self.ctx.remote_decisions = remote.decide(&batch.records).await;
                }
            }
            self.run_stage(i + 1, &mut batch)?;
        }
        let touched: HashSet<&str> = batch
            .records
            .iter()
            .map(|r| r.txn.account_id.as_str())
            .collect();
        let detector_state = touched
            .into_iter()
            .filter_map(|a| {
                let s = self.ctx.detector_state.get(a)?;
                Some((a.to_owned(), serde_json::to_string(s).ok()?))
            })
            .collect();
        let now = Utc::now();
        Ok(CommitBatch {
            rows: batch.records.iter().map(|r| to_row(r, received)).collect(),
            dead_letters: batch.dead.iter().map(|d| to_dead_row(d, now)).collect(),
            offsets: input.offsets.clone(),
            detector_state,
            publish: self.publish.clone(),
            copy_lines: None,
            lineage: self.lineage.as_ref().map(|l| {
                let bytes = input.envelopes.iter().map(|e| e.payload.len()).sum();
                l.target(input.envelopes.len(), bytes)
            }),
        })
    }

    fn run_stage(&mut self, index: usize, batch: &mut Batch) -> Result<(), StageError> {
        let stage = if index == 0 {
            &mut self.decode
        } else {
            &mut self.stages[index - 1]
        };
        let start = Instant::now();
        stage.execute(batch, &mut self.ctx)?;
        self.metrics
            .stage_duration
            .get_or_create(&StageLabel {
                stage: stage.name().to_owned(),
            })
            .observe(start.elapsed().as_secs_f64());
        Ok(())
    }

    async fn load_account_state<S: Store>(
        &mut self,
        store: &S,
        records: &[Record],
    ) -> Result<(), BatchError> {
        self.apply_erasures(store).await?;
        let mut need_state = Vec::new();
        let mut need_key = Vec::new();
        // Separate sets: an account's first record in the batch may carry no PII while a
        // later one does, and that later one still needs the key.
        let mut seen_state = HashSet::new();
        let mut seen_key = HashSet::new();
        for r in records {
            let a = r.txn.account_id.as_str();
            if seen_state.insert(a) && !self.ctx.detector_state.contains_key(a) {
                need_state.push(a.to_owned());
            }
            if !r.txn.pii.is_empty() && seen_key.insert(a) && !self.ctx.keys.contains(a) {
                need_key.push(a.to_owned());
            }
        }
        if !need_state.is_empty() {
            if self.ctx.detector_state.len() > 500_000 {
                // Bounded memory: state is in the store, so dropping it from the cache is
                // safe, except for this batch's accounts: the previous batch, which may
                // have touched them, can still be committing (see `run_loop`).
                let current: HashSet<&str> =
                    records.iter().map(|r| r.txn.account_id.as_str()).collect();
                self.ctx
                    .detector_state
                    .retain(|a, _| current.contains(a.as_str()));
            }
            for (account, json) in store.load_detector_state(&need_state).await? {
                let state: AccountState = serde_json::from_str(&json).unwrap_or_else(|e| {
                    tracing::warn!(account = %account, error = %e, "unreadable detector state, starting afresh");
                    AccountState::default()
                });
                self.ctx.detector_state.insert(account, state);
            }
        }
        if !need_key.is_empty() {
            let proposed: Vec<_> = need_key
                .into_iter()
                .map(|a| (a, self.kek.wrap(&DataKey::generate())))
                .collect();
            for (account, wrapped) in store.get_or_create_data_keys(&proposed).await? {
                let key = self
                    .kek
                    .unwrap(&wrapped)
                    .map_err(|source| BatchError::Key {
                        account: account.clone(),
                        source,
                    })?;
                self.ctx.keys.insert(account, key);
            }
        }
        Ok(())
    }

    /// Drops the cached key and detector history of accounts erased since the last batch,
    /// so no replica keeps encrypting with a destroyed key. A batch already past this point
    /// when the erasure commits is stored under the old key and is shredded with it.
    async fn apply_erasures<S: Store>(&mut self, store: &S) -> Result<(), StoreError> {
        let Some(seen) = self.erasure_seen else {
            self.erasure_seen = Some(store.erasure_head().await?);
            return Ok(());
        };
        for (id, account) in store.erasures_after(seen).await? {
            self.ctx.keys.forget(&account);
            self.ctx.detector_state.remove(&account);
            self.erasure_seen = Some(id);
        }
        Ok(())
    }

    pub fn record_metrics(&self, commit: &CommitBatch, outcome: &crate::store::CommitOutcome) {
        let m = &self.metrics;
        m.outcome("transaction", outcome.transactions);
        m.outcome("quarantine", outcome.quarantined);
        m.outcome("dead_letter", outcome.dead_letters);
        m.outcome("replay", outcome.replays);
        for (result, n) in [
            ("allow", outcome.allow),
            ("review", outcome.review),
            ("deny", outcome.deny),
        ] {
            if n > 0 {
                m.decisions
                    .get_or_create(&ResultLabel {
                        result: result.into(),
                    })
                    .inc_by(n);
            }
        }
        for d in &commit.dead_letters {
            m.dead_letters
                .get_or_create(&ReasonLabel {
                    reason: d.reason.clone(),
                })
                .inc();
        }
        if outcome.duplicate_ids > 0 {
            m.dead_letters
                .get_or_create(&ReasonLabel {
                    reason: "duplicate_id".into(),
                })
                .inc_by(outcome.duplicate_ids);
        }
    }
}

/// The PII kinds removed from a record's free text, each once, as a JSON array.
fn pii_removed(r: &Record) -> String {
    let kinds: std::collections::BTreeSet<&str> = r
        .pii_found
        .iter()
        .chain(&r.pii_in_fields)
        .map(|k| k.as_str())
        .collect();
    serde_json::to_string(&kinds).unwrap_or_else(|_| "[]".into())
}

fn to_row(r: &Record, received: chrono::DateTime<Utc>) -> TxnRow {
    let t = &r.txn;
    let (decision, reasons, path, version, decided_at) = match &r.decision {
        Some(d) => (
            d.result.as_str().to_owned(),
            serde_json::to_string(&d.reasons).unwrap_or_else(|_| "[]".into()),
            d.policy_path.to_string(),
            d.policy_version.to_string(),
            d.decided_at,
        ),
        // Unreachable with the govern stage in the chain; fail closed regardless.
        None => (
            "deny".into(),
            r#"["no_decision"]"#.into(),
            String::new(),
            String::new(),
            Utc::now(),
        ),
    };
    TxnRow {
        transaction_id: t.id.as_str().to_owned(),
        digest: hex::encode(r.digest),
        account_id: t.account_id.as_str().to_owned(),
        ts: t.timestamp,
        amount: t.amount.to_string(),
        currency: t.currency.as_str().to_owned(),
        merchant: t.merchant.clone(),
        mcc: t.mcc.to_code_string(),
        country: t.country.as_str().to_owned(),
        channel: t.channel.as_str().to_owned(),
        category: r.category.to_owned(),
        description: t.description.clone(),
        customer_name_enc: r.protected.name.clone(),
        customer_email_enc: r.protected.email.clone(),
        card_number_enc: r.protected.card_number.clone(),
        iban_enc: r.protected.iban.clone(),
        key_id: r.protected.key_id.clone(),
        extra: serde_json::Value::Object(t.extra.clone()).to_string(),
        risk_score: r.findings.iter().map(|f| f.score).fold(0.0, f64::max),
        findings: serde_json::to_string(&r.findings).unwrap_or_else(|_| "[]".into()),
        decision,
        reasons,
        policy_path: path,
        policy_version: version,
        decided_at,
        source: r.position.source.to_string(),
        partition: r.position.partition,
        offset: r.position.offset,
        received_at: Some(received),
        pii_removed: Some(pii_removed(r)),
    }
}

fn to_dead_row(d: &DeadLetter, now: chrono::DateTime<Utc>) -> DeadLetterRow {
    DeadLetterRow {
        source: d.position.source.to_string(),
        partition: d.position.partition,
        offset: d.position.offset,
        transaction_id: d.transaction_id.clone(),
        reason: d.reason.as_str().to_owned(),
        detail: d.detail.clone(),
        payload: d.payload.clone(),
        received_at: now,
    }
}
