//! The readable form of a journey (`pipeline lineage --format text`): the same facts as the
//! JSON, one labelled line each, in the order the record met them.

use super::{DeadLetterJourney, Journey, RecordJourney};
use crate::store::PublicationFacts;
use serde_json::Value;
use std::fmt::Write;

const LABEL: usize = 14;

fn line(out: &mut String, label: &str, text: impl AsRef<str>) {
    let _ = writeln!(out, "  {label:<LABEL$}{}", text.as_ref());
}

fn or_unknown(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("not recorded")
}

/// A JSON array of strings as `a, b`; `none` when empty.
fn list(v: &Value) -> String {
    match v.as_array() {
        Some(items) if !items.is_empty() => items
            .iter()
            .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
            .collect::<Vec<_>>()
            .join(", "),
        Some(_) => "none".into(),
        None => v.to_string(),
    }
}

fn findings(v: &Value) -> String {
    match v.as_array() {
        Some(items) if !items.is_empty() => items
            .iter()
            .map(|f| {
                format!(
                    "{} ({}: {})",
                    f["detector"].as_str().unwrap_or("?"),
                    f["score"],
                    f["reason"].as_str().unwrap_or("")
                )
            })
            .collect::<Vec<_>>()
            .join("; "),
        _ => "none".into(),
    }
}

fn publication(p: &PublicationFacts) -> String {
    match (p.partition, p.offset) {
        (Some(part), Some(off)) => format!(
            "{} partition {part} offset {off} (acknowledged {})",
            p.topic,
            p.published_at.as_deref().unwrap_or("?")
        ),
        (Some(part), None) => format!(
            "{} partition {part}: sent, acknowledgement pending",
            p.topic
        ),
        _ => format!("{}: waiting in the outbox", p.topic),
    }
}

fn publications(out: &mut String, published: &[PublicationFacts]) {
    if published.is_empty() {
        line(
            out,
            "Published",
            "nothing (publishing off, or not published)",
        );
    }
    for (i, p) in published.iter().enumerate() {
        line(out, if i == 0 { "Published" } else { "" }, publication(p));
    }
}

fn record(out: &mut String, r: &RecordJourney) {
    let s = &r.stages;
    let rec = &r.record;
    line(out, "Source", r.source.describe());
    line(
        out,
        "Record",
        format!(
            "account {}, {} {} at {}, {} (MCC {}), {}, {}",
            rec.account_id,
            rec.amount,
            rec.currency,
            rec.merchant,
            rec.timestamp,
            rec.mcc,
            rec.country,
            rec.channel
        ),
    );
    line(out, "Arrived", or_unknown(&r.received_at));
    line(out, "Decided", or_unknown(&r.decided_at));
    line(out, "Committed", &r.committed_at);
    out.push_str("  Stages\n");
    line(out, "  decode", "valid record");
    let removed = s
        .scrub
        .pii_removed
        .as_ref()
        .map_or_else(|| "not recorded".into(), list);
    let encrypted = if s.scrub.encrypted_fields.is_empty() {
        "none".to_owned()
    } else {
        format!(
            "{} (data key {})",
            s.scrub.encrypted_fields.join(", "),
            s.scrub.key_id.as_deref().unwrap_or("?")
        )
    };
    line(
        out,
        "  scrub",
        format!("PII removed from free text: {removed}; encrypted: {encrypted}"),
    );
    line(out, "  categorise", &s.categorise.category);
    line(
        out,
        "  risk",
        format!(
            "score {}; findings: {}",
            s.risk.score,
            findings(&s.risk.findings)
        ),
    );
    line(
        out,
        "  govern",
        format!(
            "{}; reasons: {}; policy {} version {}",
            s.govern.decision,
            list(&s.govern.reasons),
            s.govern.policy_path.as_deref().unwrap_or("?"),
            s.govern.policy_version
        ),
    );
    match &r.decision_log {
        None => line(out, "Decision log", "no entry"),
        Some(e) => {
            let chain = match &e.chain {
                None => "chain not checked".to_owned(),
                Some(c) if c.verified => {
                    format!(
                        "hash chain verified from genesis through seq {}",
                        c.through_seq
                    )
                }
                Some(c) => format!(
                    "HASH CHAIN BROKEN at seq {}: {}",
                    c.first_broken_seq.unwrap_or(0),
                    c.problem.as_deref().unwrap_or("?")
                ),
            };
            line(
                out,
                "Decision log",
                format!("seq {}, row hash {}; {chain}", e.seq, e.row_hash),
            );
        }
    }
    line(out, "Landed in", format!("table {}", r.table));
    publications(out, &r.published);
    let l = &r.lake;
    let lake = match (l.status, l.range) {
        ("exported" | "exporting", Some((start, end))) => format!(
            "{} in range ({start}, {end}]: {}; decision: {}{}",
            l.status,
            l.object_key.as_deref().unwrap_or("?"),
            l.decision_log_object_key.as_deref().unwrap_or("?"),
            l.exported_at
                .as_deref()
                .map(|t| format!(" (at {t})"))
                .unwrap_or_default()
        ),
        ("waiting", _) => "not exported yet (no export range covers it)".into(),
        (other, _) => other.to_owned(),
    };
    line(out, "Lake", lake);
    match &r.investigation {
        None => line(
            out,
            "Investigation",
            "none (only review decisions start one)",
        ),
        Some(i) => {
            let steps: Vec<&str> = i.steps.iter().map(|s| s.name.as_str()).collect();
            let case = i.case.as_ref().map_or_else(String::new, |c| {
                format!("; case {} (score {})", c.decision, c.score)
            });
            line(
                out,
                "Investigation",
                format!(
                    "{}: {}, {} step(s) done{}{case}",
                    i.workflow_id,
                    i.status,
                    steps.len(),
                    if steps.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", steps.join(", "))
                    }
                ),
            );
        }
    }
    let e = &r.erasure;
    let pii = match e.record_pii {
        "none_stored" => "no encrypted PII stored",
        "readable" => "its encrypted PII is readable with the account's key",
        _ => "its encrypted PII is shredded (the key is destroyed everywhere)",
    };
    let erased = if e.account_erased {
        format!(
            "account ERASED at {} (destroyed key {}); {pii}",
            e.erased_at.as_deref().unwrap_or("?"),
            if e.destroyed_key_ids.is_empty() {
                "none".to_owned()
            } else {
                e.destroyed_key_ids.join(", ")
            }
        )
    } else {
        format!("account not erased; {pii}")
    };
    line(out, "Erasure", erased);
}

fn dead_letter(out: &mut String, d: &DeadLetterJourney) {
    line(out, "Source", d.source.describe());
    line(out, "Rejected", format!("{}: {}", d.reason, d.detail));
    line(out, "Arrived", &d.received_at);
    line(out, "Committed", or_unknown(&d.committed_at));
    line(
        out,
        "Landed in",
        "table dead_letters (payload scrubbed, not shown)",
    );
    publications(out, &d.published);
}

pub(super) fn render(j: &Journey) -> String {
    let mut out = String::new();
    let id = j.transaction_id.as_deref().map_or_else(
        || "a record without a transaction id".into(),
        |t| format!("transaction {t}"),
    );
    let _ = writeln!(out, "Journey of {id} (asked: {})", j.query);
    let what = match j.path {
        "transaction" => "governed and stored in transactions",
        "quarantine" => "denied by the policy and stored in quarantine",
        "dead_letter" => "rejected before governance: a dead letter",
        _ => "a replay: read again after the original was committed; nothing changed",
    };
    let _ = writeln!(out, "Path: {} ({what})", j.path);
    if let Some(r) = &j.record {
        let title = if matches!(j.path, "transaction" | "quarantine") {
            "\nRecord\n"
        } else {
            "\nThe original record (committed first)\n"
        };
        out.push_str(title);
        record(&mut out, r);
    }
    if !j.dead_letters.is_empty() {
        out.push_str(if j.path == "dead_letter" && j.dead_letters.len() == 1 {
            "\nDead letter\n"
        } else {
            "\nDead letters carrying this id\n"
        });
        for d in &j.dead_letters {
            dead_letter(&mut out, d);
        }
    }
    if !j.replays.is_empty() {
        out.push_str(
            "\nSeen again with the same content (replays: no new row, decision or message)\n",
        );
        for r in &j.replays {
            line(
                &mut out,
                "Replay",
                format!(
                    "{} at {}",
                    super::Origin::of(&r.position).describe(),
                    r.seen_at
                ),
            );
        }
    }
    out
}
