//! Helpers for the key-management tests: the input's plaintext PII and the stored
//! ciphertexts in the database and the lake.

use pfm::store::PgStore;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

pub fn key(b64: &str) -> [u8; 32] {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("b64")
        .try_into()
        .expect("32 bytes")
}

pub const FIELDS: [(&str, &str); 4] = [
    ("customer_name", "customer_name_enc"),
    ("customer_email", "customer_email_enc"),
    ("card_number", "card_number_enc"),
    ("iban", "iban_enc"),
];

/// transaction_id → (account, field → plaintext) from JSON-lines input.
pub fn plaintext_by_id(input: &str) -> HashMap<String, (String, BTreeMap<&'static str, String>)> {
    input
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|v| {
            let fields = FIELDS
                .iter()
                .filter_map(|(f, _)| Some((*f, v[*f].as_str()?.to_owned())))
                .collect();
            (
                v["transaction_id"].as_str().expect("id").to_owned(),
                (v["account_id"].as_str().expect("acct").to_owned(), fields),
            )
        })
        .collect()
}

type Opt = Option<String>;
type EncRow = (String, String, Opt, Opt, Opt, Opt);

/// Every stored PII ciphertext: (transaction, account, field, ciphertext).
pub async fn stored_ciphertexts(store: &PgStore) -> Vec<(String, String, &'static str, String)> {
    let mut out = Vec::new();
    for table in ["transactions", "quarantine"] {
        let rows: Vec<EncRow> =
            sqlx::query_as(&format!(
                "SELECT transaction_id, account_id, customer_name_enc, customer_email_enc, card_number_enc, iban_enc FROM {table}"
            ))
            .fetch_all(store.pool())
            .await
            .expect("read rows");
        for (id, account, a, b, c, d) in rows {
            for ((field, _), ct) in FIELDS.iter().zip([a, b, c, d]) {
                if let Some(ct) = ct {
                    out.push((id.clone(), account.clone(), *field, ct));
                }
            }
        }
    }
    out
}

/// Every string cell of every Parquet file under `dir`, as (column, value), read with the
/// parquet crate's Arrow reader.
pub fn lake_strings(dir: &std::path::Path) -> Vec<(String, String)> {
    use arrow_array::{Array, StringArray};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            if p.extension().and_then(|x| x.to_str()) != Some("parquet") {
                continue;
            }
            let file = std::fs::File::open(&p).expect("open parquet");
            let reader = ParquetRecordBatchReaderBuilder::try_new(file)
                .expect("parquet footer")
                .build()
                .expect("parquet reader");
            for batch in reader {
                let batch = batch.expect("record batch");
                let schema = batch.schema();
                for (i, field) in schema.fields().iter().enumerate() {
                    let Some(col) = batch.column(i).as_any().downcast_ref::<StringArray>() else {
                        continue;
                    };
                    for row in 0..col.len() {
                        if col.is_valid(row) {
                            out.push((field.name().clone(), col.value(row).to_owned()));
                        }
                    }
                }
            }
        }
    }
    out
}

/// The `*_enc` values of published messages (JSON payloads), as (account, field, ciphertext).
pub fn published_ciphertexts(messages: &[Value]) -> Vec<(String, &'static str, String)> {
    let mut out = Vec::new();
    for m in messages {
        let Some(v) = m["value"]
            .as_str()
            .and_then(|s| serde_json::from_str::<Value>(s).ok())
        else {
            continue;
        };
        let account = v["account_id"].as_str().unwrap_or_default().to_owned();
        for (field, col) in FIELDS {
            if let Some(ct) = v[col].as_str() {
                out.push((account.clone(), field, ct.to_owned()));
            }
        }
    }
    out
}
