use super::reads::InputReads;
use crate::domain::Record;
use regorus::Value;
use std::collections::BTreeMap;

/// One field of the policy document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Leaf {
    Id,
    AccountId,
    Timestamp,
    Amount,
    AmountText,
    Currency,
    Merchant,
    Mcc,
    Country,
    Channel,
    Category,
    Findings,
    MaxScore,
    DescriptionKinds,
}

/// The document's layout: `input.<group>.<name>`.
const LEAVES: [(&str, &str, Leaf); 14] = [
    ("transaction", "id", Leaf::Id),
    ("transaction", "account_id", Leaf::AccountId),
    ("transaction", "timestamp", Leaf::Timestamp),
    ("transaction", "amount", Leaf::Amount),
    ("transaction", "amount_text", Leaf::AmountText),
    ("transaction", "currency", Leaf::Currency),
    ("transaction", "merchant", Leaf::Merchant),
    ("transaction", "mcc", Leaf::Mcc),
    ("transaction", "country", Leaf::Country),
    ("transaction", "channel", Leaf::Channel),
    ("transaction", "category", Leaf::Category),
    ("risk", "findings", Leaf::Findings),
    ("risk", "max_score", Leaf::MaxScore),
    ("pii", "description_kinds", Leaf::DescriptionKinds),
];

impl Leaf {
    fn value(self, r: &Record) -> Value {
        let t = &r.txn;
        match self {
            Leaf::Id => Value::from(t.id.as_str()),
            Leaf::AccountId => Value::from(t.account_id.as_str()),
            Leaf::Timestamp => Value::from(t.timestamp.to_rfc3339()),
            Leaf::Amount => Value::from(t.amount.to_f64()),
            Leaf::AmountText => Value::from(t.amount.to_string()),
            Leaf::Currency => Value::from(t.currency.as_str()),
            Leaf::Merchant => Value::from(t.merchant.as_str()),
            Leaf::Mcc => Value::from(t.mcc.to_code_string()),
            Leaf::Country => Value::from(t.country.as_str()),
            Leaf::Channel => Value::from(t.channel.as_str()),
            Leaf::Category => Value::from(r.category),
            Leaf::Findings => Value::from(
                r.findings
                    .iter()
                    .map(|f| {
                        object([
                            ("detector", Value::from(f.detector.as_str())),
                            ("score", Value::from(f.score)),
                            ("reason", Value::from(f.reason.as_str())),
                        ])
                    })
                    .collect::<Vec<_>>(),
            ),
            Leaf::MaxScore => {
                Value::from(r.findings.iter().map(|f| f.score).fold(0.0_f64, f64::max))
            }
            Leaf::DescriptionKinds => Value::from(
                r.pii_found
                    .iter()
                    .map(|k| Value::from(k.as_str()))
                    .collect::<Vec<_>>(),
            ),
        }
    }
}

fn object<const N: usize>(fields: [(&str, Value); N]) -> Value {
    Value::from(
        fields
            .into_iter()
            .map(|(k, v)| (Value::from(k), v))
            .collect::<BTreeMap<_, _>>(),
    )
}

/// Which fields of the document to build: all of them, or only those a policy reads.
pub struct InputShape {
    /// `(group, name, leaf)`, the names built once.
    leaves: Vec<(Value, Value, Leaf)>,
}

impl InputShape {
    /// The whole document, as OPA sidecars and the MCP server see it.
    pub fn full() -> Self {
        Self::with(|_, _| true)
    }

    /// The fields a policy reading `reads` can observe; the whole document when they are
    /// unbounded. A path read below a field includes it; a path read above includes all
    /// below, so every path the policy reads resolves as in the whole document.
    pub fn of(reads: &InputReads) -> Self {
        match reads {
            InputReads::Unbounded(_) => Self::full(),
            InputReads::Bounded(reads) => Self::with(|group, name| {
                let leaf = [group, name];
                reads.iter().any(|r| {
                    let n = r.path.len().min(2);
                    r.path[..n].iter().zip(&leaf[..n]).all(|(a, b)| a == b)
                })
            }),
        }
    }

    fn with(keep: impl Fn(&str, &str) -> bool) -> Self {
        let leaves = LEAVES
            .iter()
            .filter(|(g, n, _)| keep(g, n))
            .map(|&(g, n, leaf)| (Value::from(g), Value::from(n), leaf))
            .collect();
        Self { leaves }
    }

    /// The document a policy sees for one record. Only scrubbed data: no customer PII.
    /// Built directly as a regorus value: a JSON round trip per record costs more than the
    /// policy.
    pub fn build(&self, r: &Record) -> Value {
        let mut groups = BTreeMap::<Value, BTreeMap<Value, Value>>::new();
        for (group, name, leaf) in &self.leaves {
            groups
                .entry(group.clone())
                .or_default()
                .insert(name.clone(), leaf.value(r));
        }
        Value::from(
            groups
                .into_iter()
                .map(|(g, fields)| (g, Value::from(fields)))
                .collect::<BTreeMap<_, _>>(),
        )
    }
}

/// The whole document a policy sees for one record.
pub fn policy_input(r: &Record) -> Value {
    static FULL: std::sync::OnceLock<InputShape> = std::sync::OnceLock::new();
    FULL.get_or_init(InputShape::full).build(r)
}
