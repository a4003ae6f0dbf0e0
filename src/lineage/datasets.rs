//! Dataset names, by the OpenLineage naming conventions: Kafka `kafka://host:port` + topic,
//! PostgreSQL `postgres://host:port` + `database.schema.table`, S3 `s3://bucket` + key
//! prefix, local files `file` + absolute path. SQLite has no convention: its namespace is
//! `sqlite://` + the database file's absolute path, its names `main.table` (decision 0013).
//! Each dataset carries its schema and data source; the tables and topics the records reach
//! carry column lineage, with `masking` where PII is scrubbed or encrypted.

use super::facets;
use crate::config::{Config, DatabaseConfig, KafkaConfig};
use serde_json::{json, Map, Value};
use std::path::Path;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetId {
    pub namespace: String,
    pub name: String,
}

impl DatasetId {
    pub fn kafka(bootstrap_servers: &str, topic: &str) -> Self {
        let first = bootstrap_servers.split(',').next().unwrap_or_default();
        Self {
            namespace: format!("kafka://{}", first.trim()),
            name: topic.into(),
        }
    }

    /// A file read by `--input` (`-` is stdin).
    pub fn file(path: &str) -> Self {
        let name = if path == "-" {
            "/dev/stdin".to_owned()
        } else {
            absolute(Path::new(path))
        };
        Self {
            namespace: "file".into(),
            name,
        }
    }

    /// The synthetic generator (`--count`, or the endless default): a source, not storage.
    pub fn synthetic(seed: u64) -> Self {
        Self {
            namespace: "synthetic://agentic-pfm".into(),
            name: format!("transactions/seed={seed}"),
        }
    }

    fn json(&self, facets: Map<String, Value>) -> Value {
        json!({"namespace": self.namespace, "name": self.name, "facets": facets})
    }

    fn source_facet(&self) -> Value {
        let uri = if self.namespace == "file" {
            format!("file://{}", self.name)
        } else {
            self.namespace.clone()
        };
        facets::data_source(&self.namespace, &uri)
    }
}

fn absolute(p: &Path) -> String {
    std::path::absolute(p)
        .unwrap_or_else(|_| p.to_path_buf())
        .display()
        .to_string()
}

/// Everything the pipeline reads and writes, named once from the configuration.
#[derive(Debug, Clone)]
pub struct Datasets {
    input: Option<DatasetId>,
    db_namespace: String,
    /// `database.schema.` (PostgreSQL) or `main.` (SQLite).
    db_prefix: String,
    /// (topic dataset, carries records (processed/alerts) rather than dead letters)
    topics: Vec<(DatasetId, bool)>,
    /// Namespace and name prefix of the lakehouse tables, when exporting.
    lake: Option<(String, String)>,
}

pub const TABLES: [&str; 4] = ["transactions", "quarantine", "dead_letters", "decision_log"];

const INPUT_FIELDS: &[(&str, &str)] = &[
    ("transaction_id", "STRING"),
    ("account_id", "STRING"),
    ("timestamp", "TIMESTAMP"),
    ("amount", "DECIMAL"),
    ("currency", "STRING"),
    ("merchant", "STRING"),
    ("mcc", "STRING"),
    ("country", "STRING"),
    ("channel", "STRING"),
    ("description", "STRING"),
    ("customer_name", "STRING"),
    ("customer_email", "STRING"),
    ("card_number", "STRING"),
    ("iban", "STRING"),
];

/// Columns of `transactions` and `quarantine` (the lake adds `decision_seq`, `decided_at`).
const RECORD_COLUMNS: &[(&str, &str)] = &[
    ("transaction_id", "TEXT"),
    ("account_id", "TEXT"),
    ("ts", "TIMESTAMPTZ"),
    ("amount", "NUMERIC(17,4)"),
    ("currency", "TEXT"),
    ("merchant", "TEXT"),
    ("mcc", "TEXT"),
    ("country", "TEXT"),
    ("channel", "TEXT"),
    ("category", "TEXT"),
    ("description", "TEXT"),
    ("customer_name_enc", "TEXT"),
    ("customer_email_enc", "TEXT"),
    ("card_number_enc", "TEXT"),
    ("iban_enc", "TEXT"),
    ("key_id", "TEXT"),
    ("extra", "JSON"),
    ("risk_score", "DOUBLE"),
    ("findings", "JSON"),
    ("decision", "TEXT"),
    ("reasons", "JSON"),
    ("policy_version", "TEXT"),
    ("source", "TEXT"),
    ("source_partition", "INTEGER"),
    ("source_offset", "BIGINT"),
    ("committed_at", "TIMESTAMPTZ"),
];

const DEAD_LETTER_COLUMNS: &[(&str, &str)] = &[
    ("source", "TEXT"),
    ("source_partition", "INTEGER"),
    ("source_offset", "BIGINT"),
    ("transaction_id", "TEXT"),
    ("reason", "TEXT"),
    ("detail", "TEXT"),
    ("payload", "TEXT"),
    ("received_at", "TIMESTAMPTZ"),
];

const DECISION_COLUMNS: &[(&str, &str)] = &[
    ("seq", "BIGINT"),
    ("transaction_id", "TEXT"),
    ("account_id", "TEXT"),
    ("policy_path", "TEXT"),
    ("policy_version", "TEXT"),
    ("result", "TEXT"),
    ("reasons", "JSON"),
    ("findings", "JSON"),
    ("decided_at", "TIMESTAMPTZ"),
    ("prev_hash", "TEXT"),
    ("row_hash", "TEXT"),
];

/// A published record (schema/kafka.md): the row without its storage columns.
const TOPIC_RECORD_FIELDS: &[(&str, &str)] = &[
    ("transaction_id", "STRING"),
    ("account_id", "STRING"),
    ("timestamp", "TIMESTAMP"),
    ("amount", "DECIMAL"),
    ("currency", "STRING"),
    ("merchant", "STRING"),
    ("mcc", "STRING"),
    ("country", "STRING"),
    ("channel", "STRING"),
    ("category", "STRING"),
    ("description", "STRING"),
    ("customer_name_enc", "STRING"),
    ("customer_email_enc", "STRING"),
    ("card_number_enc", "STRING"),
    ("iban_enc", "STRING"),
    ("key_id", "STRING"),
    ("risk_score", "DOUBLE"),
    ("findings", "JSON"),
    ("decision", "STRING"),
    ("reasons", "JSON"),
    ("policy_version", "STRING"),
    ("decided_at", "TIMESTAMP"),
];

impl Datasets {
    /// `input` is the run's source (none for the commands); `topics` the output topics with
    /// whether each carries records (processed, alerts) or dead letters.
    pub fn from_config(cfg: &Config, input: Option<DatasetId>, topics: &[(String, bool)]) -> Self {
        let (db_namespace, db_prefix) = match &cfg.database {
            DatabaseConfig::Sqlite { path } => {
                (format!("sqlite://{}", absolute(path)), "main.".into())
            }
            DatabaseConfig::Postgres { url } => postgres_naming(url.expose()),
        };
        let kafka_topics = match &cfg.kafka {
            Some(KafkaConfig {
                bootstrap_servers, ..
            }) => topics
                .iter()
                .map(|(t, records)| (DatasetId::kafka(bootstrap_servers, t), *records))
                .collect(),
            None => Vec::new(),
        };
        let lake = cfg
            .lakehouse
            .enabled
            .then(|| match &cfg.lakehouse.endpoint {
                Some(_) => (format!("s3://{}", cfg.lakehouse.bucket), String::new()),
                None => (
                    "file".into(),
                    format!("{}/", absolute(&cfg.lakehouse.local_dir)),
                ),
            });
        Self {
            input,
            db_namespace,
            db_prefix,
            topics: kafka_topics,
            lake,
        }
    }

    pub fn input(&self) -> Option<&DatasetId> {
        self.input.as_ref()
    }

    pub fn table(&self, table: &str) -> DatasetId {
        DatasetId {
            namespace: self.db_namespace.clone(),
            name: format!("{}{table}", self.db_prefix),
        }
    }

    fn table_json(&self, table: &str) -> Value {
        let id = self.table(table);
        let columns = match table {
            "transactions" | "quarantine" => Some(RECORD_COLUMNS),
            "dead_letters" => Some(DEAD_LETTER_COLUMNS),
            "decision_log" => Some(DECISION_COLUMNS),
            _ => None,
        };
        let mut f = Map::new();
        if let Some(columns) = columns {
            f.insert("schema".into(), facets::schema(columns));
        }
        f.insert("dataSource".into(), id.source_facet());
        if let (Some(input), "transactions" | "quarantine") = (&self.input, table) {
            f.insert("columnLineage".into(), record_lineage(input, "ts"));
        }
        id.json(f)
    }

    /// Tables by name, as a command reports the ones it reads or writes.
    pub fn tables(&self, tables: &[&str]) -> Vec<Value> {
        tables.iter().map(|t| self.table_json(t)).collect()
    }

    /// The interval runs' datasets: the source in; the four tables and the output topics out.
    pub fn commit_io(&self) -> (Vec<Value>, Vec<Value>) {
        let inputs = self
            .input
            .iter()
            .map(|id| {
                let mut f = Map::new();
                f.insert("schema".into(), facets::schema(INPUT_FIELDS));
                f.insert("dataSource".into(), id.source_facet());
                id.json(f)
            })
            .collect();
        let mut outputs = self.tables(&TABLES);
        for (id, records) in &self.topics {
            let mut f = Map::new();
            f.insert("dataSource".into(), id.source_facet());
            if *records {
                f.insert("schema".into(), facets::schema(TOPIC_RECORD_FIELDS));
                if let Some(input) = &self.input {
                    f.insert("columnLineage".into(), record_lineage(input, "timestamp"));
                }
            } else {
                f.insert("schema".into(), facets::schema(&[("payload", "JSON")]));
            }
            outputs.push(id.json(f));
        }
        (inputs, outputs)
    }

    /// The lakehouse tables an export writes, by table.
    pub fn lake_table(&self, table: &str) -> Option<DatasetId> {
        self.lake.as_ref().map(|(ns, prefix)| DatasetId {
            namespace: ns.clone(),
            name: format!("{prefix}table={table}"),
        })
    }

    /// The export runs' datasets: the stored tables in, their lakehouse copies out.
    pub fn export_io(&self) -> (Vec<Value>, Vec<Value>) {
        let inputs = ["transactions", "quarantine", "decision_log"]
            .iter()
            .map(|t| {
                let id = self.table(t);
                let mut f = Map::new();
                f.insert("dataSource".into(), id.source_facet());
                id.json(f)
            })
            .collect();
        let outputs = ["transactions", "quarantine", "decision_log"]
            .iter()
            .filter_map(|t| {
                let id = self.lake_table(t)?;
                let mut lake_columns = vec![("decision_seq", "BIGINT")];
                let columns = if *t == "decision_log" {
                    DECISION_COLUMNS.to_vec()
                } else {
                    lake_columns.extend(
                        RECORD_COLUMNS
                            .iter()
                            .copied()
                            .filter(|(c, _)| *c != "committed_at"),
                    );
                    lake_columns.push(("decided_at", "TIMESTAMPTZ"));
                    lake_columns
                };
                let mut f = Map::new();
                f.insert("schema".into(), facets::schema(&columns));
                f.insert("dataSource".into(), id.source_facet());
                Some(id.json(f))
            })
            .collect();
        (inputs, outputs)
    }
}

/// `postgres://host:port` and `database.public.` from the URL, without its credentials.
fn postgres_naming(url: &str) -> (String, String) {
    match sqlx::postgres::PgConnectOptions::from_str(url) {
        Ok(o) => {
            let db = o
                .get_database()
                .unwrap_or_else(|| o.get_username())
                .to_owned();
            (
                format!("postgres://{}:{}", o.get_host(), o.get_port()),
                format!("{db}.public."),
            )
        }
        Err(_) => ("postgres://unknown:5432".into(), "unknown.public.".into()),
    }
}

/// How each column of a stored or published record comes from the input record; `ts_name`
/// is the timestamp column's name there (`ts` in the tables, `timestamp` on the topics).
fn record_lineage(input: &DatasetId, ts_name: &str) -> Value {
    let mut fields = Map::new();
    let mut add = |column: &str, inputs: &[&str], subtype: &str, how: &str, masking: bool| {
        fields.insert(
            column.to_owned(),
            facets::derived(input, inputs, subtype, how, masking),
        );
    };
    for c in [
        "transaction_id",
        "account_id",
        "amount",
        "currency",
        "merchant",
        "mcc",
        "country",
        "channel",
    ] {
        add(c, &[c], "IDENTITY", "decode: validated and copied", false);
    }
    add(
        ts_name,
        &["timestamp"],
        "TRANSFORMATION",
        "decode: converted to UTC",
        false,
    );
    add(
        "category",
        &["mcc", "merchant"],
        "TRANSFORMATION",
        "categorise: merchant category code and merchant to a spending category",
        false,
    );
    add(
        "description",
        &["description"],
        "TRANSFORMATION",
        "scrub: personal data in free text replaced by typed tokens ([EMAIL], [CARD], ...)",
        true,
    );
    for (enc, plain) in [
        ("customer_name_enc", "customer_name"),
        ("customer_email_enc", "customer_email"),
        ("card_number_enc", "card_number"),
        ("iban_enc", "iban"),
    ] {
        add(
            enc,
            &[plain],
            "TRANSFORMATION",
            "protect: AES-256-GCM envelope encryption with the account's data key (erasable by crypto-shredding)",
            true,
        );
    }
    let signals = [
        "account_id",
        "amount",
        "currency",
        "mcc",
        "country",
        "channel",
        "timestamp",
    ];
    add(
        "risk_score",
        &signals[..],
        "AGGREGATION",
        "risk: per-account fraud and AML detectors over the account's history",
        false,
    );
    add(
        "findings",
        &signals[..],
        "AGGREGATION",
        "risk: per-account fraud and AML detectors over the account's history",
        false,
    );
    for c in ["decision", "reasons"] {
        add(
            c,
            &signals[..],
            "TRANSFORMATION",
            "govern: the Rego policy's decision on the record and its findings",
            false,
        );
    }
    facets::column_lineage(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_names_carry_no_credentials() {
        // A made-up password: the names must not carry it.
        let url = "postgres://pfm:hunter2@db.internal:6543/agentic_pfm?sslmode=require"; // pragma: allowlist secret
        let (ns, prefix) = postgres_naming(url);
        assert_eq!(ns, "postgres://db.internal:6543");
        assert_eq!(prefix, "agentic_pfm.public.");
        let (ns, _) = postgres_naming("postgres://u:p@db/x");
        assert_eq!(ns, "postgres://db:5432");
    }

    #[test]
    fn kafka_and_file_names() {
        let k = DatasetId::kafka("b1:9092,b2:9092", "agentic-transactions");
        assert_eq!(k.namespace, "kafka://b1:9092");
        assert_eq!(k.name, "agentic-transactions");
        let f = DatasetId::file("/data/in.jsonl");
        assert_eq!(
            (f.namespace.as_str(), f.name.as_str()),
            ("file", "/data/in.jsonl")
        );
    }
}
