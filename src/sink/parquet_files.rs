//! Arrow schemas and Parquet encoding of the exported tables. PII columns hold only the
//! ciphertexts and scrubbed text that the database holds.

use crate::store::{ChainRow, TxnRow};
use arrow_array::builder::{Decimal128Builder, StringBuilder};
use arrow_array::{
    ArrayRef, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use arrow_schema::{ArrowError, DataType, Field, Schema, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use rust_decimal::Decimal;
use std::str::FromStr;
use std::sync::Arc;

pub const AMOUNT_PRECISION: u8 = 17;
pub const AMOUNT_SCALE: i8 = 4;
/// Rows per row group: large enough for good compression and scans, small enough that a
/// reader can skip by statistics.
pub const ROW_GROUP_ROWS: usize = 64 * 1024;

fn ts_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

pub fn transaction_schema() -> Arc<Schema> {
    let s = |n: &str| Field::new(n, DataType::Utf8, false);
    let o = |n: &str| Field::new(n, DataType::Utf8, true);
    Arc::new(Schema::new(vec![
        Field::new("decision_seq", DataType::Int64, false),
        s("transaction_id"),
        s("account_id"),
        Field::new("ts", ts_type(), false),
        Field::new(
            "amount",
            DataType::Decimal128(AMOUNT_PRECISION, AMOUNT_SCALE),
            false,
        ),
        s("currency"),
        s("merchant"),
        s("mcc"),
        s("country"),
        s("channel"),
        s("category"),
        o("description"),
        o("customer_name_enc"),
        o("customer_email_enc"),
        o("card_number_enc"),
        o("iban_enc"),
        o("key_id"),
        s("extra"),
        Field::new("risk_score", DataType::Float64, false),
        s("findings"),
        s("decision"),
        s("reasons"),
        s("policy_version"),
        Field::new("decided_at", ts_type(), false),
        s("source"),
        Field::new("source_partition", DataType::Int32, false),
        Field::new("source_offset", DataType::Int64, false),
    ]))
}

pub fn decision_schema() -> Arc<Schema> {
    let s = |n: &str| Field::new(n, DataType::Utf8, false);
    Arc::new(Schema::new(vec![
        Field::new("seq", DataType::Int64, false),
        s("transaction_id"),
        s("account_id"),
        s("policy_path"),
        s("policy_version"),
        s("result"),
        s("reasons"),
        s("findings"),
        Field::new("decided_at", ts_type(), false),
        s("prev_hash"),
        s("row_hash"),
    ]))
}

fn strings<'a>(it: impl Iterator<Item = &'a str>) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(it))
}

fn opt_strings<'a>(it: impl Iterator<Item = Option<&'a str>>) -> ArrayRef {
    let mut b = StringBuilder::new();
    for v in it {
        b.append_option(v);
    }
    Arc::new(b.finish())
}

fn micros(it: impl Iterator<Item = i64>) -> ArrayRef {
    Arc::new(TimestampMicrosecondArray::from_iter_values(it).with_timezone("UTC"))
}

pub fn transactions_batch(rows: &[&(i64, TxnRow)]) -> Result<RecordBatch, ArrowError> {
    let mut amount = Decimal128Builder::with_capacity(rows.len());
    for (_, r) in rows {
        let mut d = Decimal::from_str(&r.amount).map_err(|e| {
            ArrowError::InvalidArgumentError(format!("amount of {}: {e}", r.transaction_id))
        })?;
        d.rescale(AMOUNT_SCALE as u32);
        amount.append_value(d.mantissa());
    }
    let amount = amount
        .finish()
        .with_precision_and_scale(AMOUNT_PRECISION, AMOUNT_SCALE)?;
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|(s, _)| *s))),
        strings(rows.iter().map(|(_, r)| r.transaction_id.as_str())),
        strings(rows.iter().map(|(_, r)| r.account_id.as_str())),
        micros(rows.iter().map(|(_, r)| r.ts.timestamp_micros())),
        Arc::new(amount),
        strings(rows.iter().map(|(_, r)| r.currency.as_str())),
        strings(rows.iter().map(|(_, r)| r.merchant.as_str())),
        strings(rows.iter().map(|(_, r)| r.mcc.as_str())),
        strings(rows.iter().map(|(_, r)| r.country.as_str())),
        strings(rows.iter().map(|(_, r)| r.channel.as_str())),
        strings(rows.iter().map(|(_, r)| r.category.as_str())),
        opt_strings(rows.iter().map(|(_, r)| r.description.as_deref())),
        opt_strings(rows.iter().map(|(_, r)| r.customer_name_enc.as_deref())),
        opt_strings(rows.iter().map(|(_, r)| r.customer_email_enc.as_deref())),
        opt_strings(rows.iter().map(|(_, r)| r.card_number_enc.as_deref())),
        opt_strings(rows.iter().map(|(_, r)| r.iban_enc.as_deref())),
        opt_strings(rows.iter().map(|(_, r)| r.key_id.as_deref())),
        strings(rows.iter().map(|(_, r)| r.extra.as_str())),
        Arc::new(Float64Array::from_iter_values(
            rows.iter().map(|(_, r)| r.risk_score),
        )),
        strings(rows.iter().map(|(_, r)| r.findings.as_str())),
        strings(rows.iter().map(|(_, r)| r.decision.as_str())),
        strings(rows.iter().map(|(_, r)| r.reasons.as_str())),
        strings(rows.iter().map(|(_, r)| r.policy_version.as_str())),
        micros(rows.iter().map(|(_, r)| r.decided_at.timestamp_micros())),
        strings(rows.iter().map(|(_, r)| r.source.as_str())),
        Arc::new(Int32Array::from_iter_values(
            rows.iter().map(|(_, r)| r.partition),
        )),
        Arc::new(Int64Array::from_iter_values(
            rows.iter().map(|(_, r)| r.offset),
        )),
    ];
    RecordBatch::try_new(transaction_schema(), cols)
}

pub fn decisions_batch(rows: &[&ChainRow]) -> Result<RecordBatch, ArrowError> {
    let mut decided = Vec::with_capacity(rows.len());
    for r in rows {
        let t = chrono::DateTime::parse_from_rfc3339(&r.decided_at).map_err(|e| {
            ArrowError::InvalidArgumentError(format!("decided_at of seq {}: {e}", r.seq))
        })?;
        decided.push(t.timestamp_micros());
    }
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.seq))),
        strings(rows.iter().map(|r| r.transaction_id.as_str())),
        strings(rows.iter().map(|r| r.account_id.as_str())),
        strings(rows.iter().map(|r| r.policy_path.as_str())),
        strings(rows.iter().map(|r| r.policy_version.as_str())),
        strings(rows.iter().map(|r| r.result.as_str())),
        strings(rows.iter().map(|r| r.reasons.as_str())),
        strings(rows.iter().map(|r| r.findings.as_str())),
        micros(decided.into_iter()),
        strings(rows.iter().map(|r| r.prev_hash.as_str())),
        strings(rows.iter().map(|r| r.row_hash.as_str())),
    ];
    RecordBatch::try_new(decision_schema(), cols)
}

pub fn encode(batch: &RecordBatch) -> Result<Vec<u8>, parquet::errors::ParquetError> {
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3)?))
        .set_max_row_group_size(ROW_GROUP_ROWS)
        .set_created_by("agentic-pfm".into())
        .build();
    let mut buf = Vec::new();
    let mut w = ArrowWriter::try_new(&mut buf, batch.schema(), Some(props))?;
    w.write(batch)?;
    w.close()?;
    Ok(buf)
}
