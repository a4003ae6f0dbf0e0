//! PostgreSQL's `COPY … FROM STDIN` text format, the bulk path for the batch's largest
//! tables (decision 0007). COPY inserts many heap tuples per WAL record, and the rows can be
//! encoded while the previous batch commits, so neither cost sits on the commit path.

use super::rows::{format_ts, TxnRow};
use super::ChainRow;
use chrono::{DateTime, Datelike, Utc};
use std::fmt::Write;

/// Column order of [`txn_line`]. `committed_at` is left to its default, `now()`: the
/// commit's transaction time, as the `INSERT` path stored.
pub(crate) const TXN_COLUMNS: &str = "transaction_id, account_id, ts, amount, currency, merchant, mcc, \
    country, channel, category, description, customer_name_enc, customer_email_enc, card_number_enc, iban_enc, \
    key_id, extra, risk_score, findings, decision, reasons, policy_version, source, source_partition, source_offset, \
    received_at, pii_removed";

/// Column order of [`chain_line`].
pub(crate) const CHAIN_COLUMNS: &str =
    "seq, transaction_id, account_id, policy_path, policy_version, result, \
    reasons, findings, decided_at, prev_hash, row_hash";

/// Column order of [`id_line`].
pub(crate) const ID_COLUMNS: &str = "transaction_id, digest, outcome";

/// A batch's rows as COPY lines for `transactions` and `quarantine`, encoded ahead of the
/// commit. Valid only for the batch they were encoded from, and only while every row of it
/// is new to the store; otherwise the commit encodes the new rows itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyLines {
    pub(crate) rows: usize,
    pub(crate) transactions: String,
    pub(crate) quarantine: String,
}

impl CopyLines {
    pub fn encode<'a>(rows: impl ExactSizeIterator<Item = &'a TxnRow>) -> Self {
        let mut out = Self {
            rows: rows.len(),
            // About 1 KB per encoded row; one allocation per table in the common case.
            transactions: String::with_capacity(rows.len() * 1024),
            quarantine: String::new(),
        };
        for r in rows {
            let dest = if r.is_quarantine() {
                &mut out.quarantine
            } else {
                &mut out.transactions
            };
            txn_line(dest, r);
        }
        out
    }
}

/// Appends `v` with COPY text escapes: backslash, and the characters that would end a field
/// or a line.
pub(crate) fn field(out: &mut String, v: &str) {
    // Most values need no escape; a plain byte scan finds that much faster than `find`.
    if !v
        .bytes()
        .any(|b| matches!(b, b'\\' | b'\t' | b'\n' | b'\r'))
    {
        out.push_str(v);
        return;
    }
    let mut rest = v;
    while let Some(i) = rest.find(['\\', '\t', '\n', '\r']) {
        out.push_str(&rest[..i]);
        out.push_str(match rest.as_bytes()[i] {
            b'\\' => "\\\\",
            b'\t' => "\\t",
            b'\n' => "\\n",
            _ => "\\r",
        });
        rest = &rest[i + 1..];
    }
    out.push_str(rest);
}

fn opt(out: &mut String, v: Option<&str>) {
    match v {
        Some(v) => field(out, v),
        None => out.push_str("\\N"),
    }
}

fn sep(out: &mut String) {
    out.push('\t');
}

/// A timestamp as PostgreSQL's text input reads it. That input has no year 0: chrono's
/// year 0 (1 BC, which validation accepts) is written as year 1 with the era "BC".
fn timestamp(ts: DateTime<Utc>) -> String {
    if ts.year() >= 1 {
        return format_ts(ts);
    }
    format!(
        "{:04}-{} BC",
        1 - ts.year(),
        ts.format("%m-%dT%H:%M:%S%.6fZ")
    )
}

pub(crate) fn txn_line(out: &mut String, r: &TxnRow) {
    for (i, v) in [
        &r.transaction_id,
        &r.account_id,
        &timestamp(r.ts),
        &r.amount,
        &r.currency,
        &r.merchant,
        &r.mcc,
        &r.country,
        &r.channel,
        &r.category,
    ]
    .into_iter()
    .enumerate()
    {
        if i > 0 {
            sep(out);
        }
        field(out, v);
    }
    for v in [
        &r.description,
        &r.customer_name_enc,
        &r.customer_email_enc,
        &r.card_number_enc,
        &r.iban_enc,
        &r.key_id,
    ] {
        sep(out);
        opt(out, v.as_deref());
    }
    sep(out);
    field(out, &r.extra);
    // `Display` for f64 is the shortest text that reads back as the same double.
    let _ = write!(out, "\t{}\t", r.risk_score);
    for (i, v) in [
        &r.findings,
        &r.decision,
        &r.reasons,
        &r.policy_version,
        &r.source,
    ]
    .into_iter()
    .enumerate()
    {
        if i > 0 {
            sep(out);
        }
        field(out, v);
    }
    let _ = write!(out, "\t{}\t{}\t", r.partition, r.offset);
    opt(out, r.received_at.map(timestamp).as_deref());
    sep(out);
    opt(out, r.pii_removed.as_deref());
    out.push('\n');
}

pub(crate) fn chain_line(out: &mut String, c: &ChainRow) {
    let _ = write!(out, "{}", c.seq);
    for v in [
        &c.transaction_id,
        &c.account_id,
        &c.policy_path,
        &c.policy_version,
        &c.result,
        &c.reasons,
        &c.findings,
        &c.decided_at,
        &c.prev_hash,
        &c.row_hash,
    ] {
        sep(out);
        field(out, v);
    }
    out.push('\n');
}

pub(crate) fn id_line(out: &mut String, r: &TxnRow) {
    field(out, &r.transaction_id);
    sep(out);
    field(out, &r.digest);
    sep(out);
    out.push_str(r.id_outcome());
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_would_end_a_field_or_a_line() {
        let mut out = String::new();
        field(&mut out, "a\\b\tc\nd\re");
        assert_eq!(out, "a\\\\b\\tc\\nd\\re");
        let mut plain = String::new();
        field(&mut plain, "Grüße, 5 €");
        assert_eq!(plain, "Grüße, 5 €");
    }

    #[test]
    fn year_zero_is_written_as_1_bc() {
        use chrono::TimeZone;
        let leap = Utc
            .with_ymd_and_hms(0, 2, 29, 12, 0, 0)
            .single()
            .expect("year 0 is a leap year");
        assert_eq!(timestamp(leap), "0001-02-29T12:00:00.000000Z BC");
        let ad = Utc
            .with_ymd_and_hms(1, 1, 1, 0, 0, 0)
            .single()
            .expect("valid");
        assert_eq!(timestamp(ad), format_ts(ad));
    }

    #[test]
    fn a_line_has_one_field_per_column() {
        let s = |v: &str| v.to_string();
        let row = TxnRow {
            transaction_id: s("t\t1"),
            digest: s("d"),
            account_id: s("acct-1"),
            ts: chrono::DateTime::UNIX_EPOCH,
            amount: s("12.50"),
            currency: s("EUR"),
            merchant: s("Shop"),
            mcc: s("5411"),
            country: s("DE"),
            channel: s("online"),
            category: s("groceries"),
            description: Some(s("line\nbreak")),
            customer_name_enc: None,
            customer_email_enc: None,
            card_number_enc: None,
            iban_enc: None,
            key_id: None,
            extra: s("{}"),
            risk_score: 0.1 + 0.2,
            findings: s("[]"),
            decision: s("deny"),
            reasons: s("[]"),
            policy_path: s("pfm/decision"),
            policy_version: s("v1"),
            decided_at: chrono::DateTime::UNIX_EPOCH,
            source: s("file:x"),
            partition: 0,
            offset: 7,
            received_at: None,
            pii_removed: Some(s(r#"["email"]"#)),
        };
        let mut out = String::new();
        txn_line(&mut out, &row);
        assert!(out.ends_with('\n'));
        let fields: Vec<&str> = out.trim_end_matches('\n').split('\t').collect();
        assert_eq!(fields.len(), TXN_COLUMNS.split(',').count());
        assert_eq!(fields[0], "t\\t1");
        assert_eq!(fields[10], "line\\nbreak");
        assert_eq!(fields[11], "\\N");
        assert_eq!(fields[17].parse::<f64>().ok(), Some(0.1 + 0.2));
        assert_eq!(fields[25], "\\N", "received_at unknown");
        assert_eq!(fields[26], r#"["email"]"#);
        let lines = CopyLines::encode(std::iter::once(&row));
        assert!(lines.transactions.is_empty());
        assert_eq!(lines.quarantine, out);
    }
}
