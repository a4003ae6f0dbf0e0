use sha2::{Digest, Sha256};

pub const GENESIS: &str = "genesis";

/// One decision-log row as stored; the hash covers every column but `row_hash`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainRow {
    pub seq: i64,
    pub transaction_id: String,
    pub account_id: String,
    pub policy_path: String,
    pub policy_version: String,
    pub result: String,
    pub reasons: String,
    pub findings: String,
    /// RFC 3339 with microseconds, UTC: the precision both databases keep.
    pub decided_at: String,
    pub prev_hash: String,
    pub row_hash: String,
}

impl ChainRow {
    pub fn compute_hash(&self) -> String {
        let mut h = Sha256::new();
        for field in [
            self.seq.to_string().as_str(),
            &self.transaction_id,
            &self.account_id,
            &self.policy_path,
            &self.policy_version,
            &self.result,
            &self.reasons,
            &self.findings,
            &self.decided_at,
            &self.prev_hash,
        ] {
            h.update((field.len() as u64).to_be_bytes());
            h.update(field.as_bytes());
        }
        hex::encode(h.finalize())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyReport {
    Intact { rows: i64 },
    Broken { seq: i64, problem: String },
}

#[derive(Default)]
pub(crate) struct Verifier {
    last_seq: i64,
    last_hash: Option<String>,
}

impl Verifier {
    /// A verifier that continues the chain after row `last_seq`, whose hash is `last_hash`.
    pub(crate) fn anchored(last_seq: i64, last_hash: String) -> Self {
        Self {
            last_seq,
            last_hash: Some(last_hash),
        }
    }

    pub(crate) fn last_seq(&self) -> i64 {
        self.last_seq
    }

    pub(crate) fn feed(&mut self, rows: &[ChainRow]) -> Option<VerifyReport> {
        for r in rows {
            let prev = self.last_hash.clone().unwrap_or_else(|| GENESIS.to_owned());
            let broken = |problem: String| {
                Some(VerifyReport::Broken {
                    seq: r.seq,
                    problem,
                })
            };
            if r.seq != self.last_seq + 1 {
                return broken(format!(
                    "expected seq {}, found {} (rows removed)",
                    self.last_seq + 1,
                    r.seq
                ));
            }
            if r.prev_hash != prev {
                return broken("prev_hash does not match the previous row".into());
            }
            if r.compute_hash() != r.row_hash {
                return broken("row content does not match its hash (row altered)".into());
            }
            self.last_seq = r.seq;
            self.last_hash = Some(r.row_hash.clone());
        }
        None
    }

    pub(crate) fn finish(self, head: (i64, String)) -> VerifyReport {
        let last_hash = self.last_hash.unwrap_or_else(|| GENESIS.to_owned());
        if head.0 != self.last_seq || head.1 != last_hash {
            return VerifyReport::Broken {
                seq: self.last_seq + 1,
                problem: format!(
                    "chain head says seq {} but the log ends at {} (newest rows removed)",
                    head.0, self.last_seq
                ),
            };
        }
        VerifyReport::Intact {
            rows: self.last_seq,
        }
    }
}

/// Checks rows already in memory (the store-backed walk is `store::audit_verify`).
pub fn verify_chain(rows: &[ChainRow], head: (i64, String)) -> VerifyReport {
    let mut v = Verifier::default();
    v.feed(rows).unwrap_or_else(|| v.finish(head))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<ChainRow> {
        let mut prev = GENESIS.to_owned();
        (1..=n)
            .map(|seq| {
                let mut r = ChainRow {
                    seq,
                    transaction_id: format!("t{seq}"),
                    account_id: "a".into(),
                    policy_path: "agentic/allow".into(),
                    policy_version: "v".into(),
                    result: "allow".into(),
                    reasons: "[]".into(),
                    findings: "[]".into(),
                    decided_at: "2026-01-01T00:00:00.000000Z".into(),
                    prev_hash: prev.clone(),
                    row_hash: String::new(),
                };
                r.row_hash = r.compute_hash();
                prev = r.row_hash.clone();
                r
            })
            .collect()
    }

    fn head(rows: &[ChainRow]) -> (i64, String) {
        rows.last()
            .map(|r| (r.seq, r.row_hash.clone()))
            .unwrap_or((0, GENESIS.into()))
    }

    #[test]
    fn intact_altered_removed_and_truncated() {
        let rows = chain(5);
        assert_eq!(
            verify_chain(&rows, head(&rows)),
            VerifyReport::Intact { rows: 5 }
        );
        let mut altered = rows.clone();
        altered[2].result = "deny".into();
        assert!(matches!(
            verify_chain(&altered, head(&rows)),
            VerifyReport::Broken { seq: 3, .. }
        ));
        let mut removed = rows.clone();
        removed.remove(1);
        assert!(matches!(
            verify_chain(&removed, head(&rows)),
            VerifyReport::Broken { seq: 3, .. }
        ));
        let truncated = rows[..4].to_vec();
        assert!(matches!(
            verify_chain(&truncated, head(&rows)),
            VerifyReport::Broken { seq: 5, .. }
        ));
        assert_eq!(
            verify_chain(&[], (0, GENESIS.into())),
            VerifyReport::Intact { rows: 0 }
        );
    }
}
