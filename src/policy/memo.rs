//! Decisions remembered per evaluator, keyed on only what the policy can observe of its
//! input (decision 0017). Two inputs with the same key are indistinguishable to the policy,
//! so the remembered verdict is the one it would compute again.

use super::reads::{Read, Usage};
use super::Verdict;
use regorus::Value;
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// Entries kept before the memo starts over: bounds memory when the observed values vary
/// (e.g. findings with varied scores and reasons, which never recur).
pub const CAPACITY: usize = 4096;

/// One observation of the input, as the policy can tell it apart.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Part {
    /// The value's type, for paths only tested with `is_*`/`type_name`.
    Kind(u8),
    /// A number's side of each threshold it is compared with.
    Sides(Vec<Ordering>),
    /// The value itself.
    Exact(Value),
    /// A value that is not an object stands on the path: what indexing it gives.
    Through(Value),
}

struct Field {
    path: Vec<Value>,
    usage: Usage,
}

/// How often the memo answered, for the benchmark and diagnostics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoStats {
    pub hits: u64,
    pub misses: u64,
}

pub struct Memo {
    fields: Vec<Field>,
    entries: BTreeMap<Vec<Part>, Verdict>,
    capacity: usize,
    stats: MemoStats,
}

/// A memo key: opaque outside this module.
pub struct Key(Vec<Part>);

impl Memo {
    pub fn new(reads: &[Read], capacity: usize) -> Self {
        let fields = reads
            .iter()
            .map(|r| Field {
                path: r.path.iter().map(|p| Value::from(p.as_str())).collect(),
                usage: r.usage.clone(),
            })
            .collect();
        Self {
            fields,
            entries: BTreeMap::new(),
            capacity: capacity.max(1),
            stats: MemoStats::default(),
        }
    }

    pub fn key(&self, input: &Value) -> Key {
        Key(self.fields.iter().map(|f| f.part(input)).collect())
    }

    pub fn get(&mut self, key: &Key) -> Option<Verdict> {
        let found = self.entries.get(&key.0).cloned();
        match found {
            Some(_) => self.stats.hits += 1,
            None => self.stats.misses += 1,
        }
        found
    }

    pub fn insert(&mut self, key: Key, verdict: Verdict) {
        // Clear-when-full: O(1) bookkeeping per lookup, and the working set refills at once.
        if self.entries.len() >= self.capacity {
            self.entries.clear();
        }
        self.entries.insert(key.0, verdict);
    }

    pub fn stats(&self) -> MemoStats {
        self.stats
    }
}

impl Field {
    fn part(&self, input: &Value) -> Part {
        let mut v = input;
        for k in &self.path {
            v = match v {
                Value::Object(_) | Value::Undefined => &v[k],
                // A set answers `s.x` with `x` when it holds it; keep whatever stands here.
                other => return Part::Through(other.clone()),
            };
        }
        match (&self.usage, v) {
            (Usage::Kind, v) => Part::Kind(kind(v)),
            (Usage::Thresholds(ts), Value::Number(_)) => {
                // Value's order is the one Rego's comparisons use, in the VM and interpreter.
                Part::Sides(ts.iter().map(|t| v.cmp(t)).collect())
            }
            (Usage::Scaled(s), Value::Number(n)) => {
                // The product as regorus computes it (its own number type), so the side of
                // each limit is the one the policy sees, boundaries included. The rate's key
                // is read exactly, so the same key always meets the same rate.
                let rate = &s.table[at(input, &s.by)];
                let product = match rate {
                    Value::Number(r) => n.mul(r).ok().map(Value::Number),
                    _ => None,
                };
                match product {
                    Some(p) => Part::Sides(
                        s.plain
                            .iter()
                            .map(|t| v.cmp(t))
                            .chain(s.limits.iter().map(|t| p.cmp(t)))
                            .collect(),
                    ),
                    // No rate or no product: the policy sees an error or nothing; the exact
                    // amount keeps whatever it decides.
                    None => Part::Exact(v.clone()),
                }
            }
            _ => Part::Exact(v.clone()),
        }
    }
}

/// The value at a literal input path (`Undefined` past a non-object).
fn at<'v>(input: &'v Value, path: &[String]) -> &'v Value {
    let mut v = input;
    for k in path {
        v = match v {
            Value::Object(_) => &v[k.as_str()],
            _ => &Value::Undefined,
        };
    }
    v
}

fn kind(v: &Value) -> u8 {
    match v {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Number(_) => 2,
        Value::String(_) => 3,
        Value::Array(_) => 4,
        Value::Set(_) => 5,
        Value::Object(_) => 6,
        Value::Undefined => 7,
    }
}
