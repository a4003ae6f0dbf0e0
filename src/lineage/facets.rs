//! The facets the events carry, each with `_producer` and `_schemaURL` (the facet versions
//! openlineage-python 1.x models).

use super::{PolicyInfo, PRODUCER};
use serde_json::{json, Map, Value};

const SPEC: &str = "https://openlineage.io/spec/facets";
/// The schema of the one custom facet, `pfm_policy` (`schema/openlineage/`).
pub const POLICY_FACET_SCHEMA: &str =
    "https://agentic-pfm.invalid/schema/openlineage/PolicyRunFacet.json#/$defs/PolicyRunFacet";

/// `fields` with `_producer` and `_schemaURL` for the standard facet `name` at `version`.
fn standard(name: &str, version: &str, fields: Value) -> Value {
    with_base(
        format!("{SPEC}/{version}/{name}.json#/$defs/{name}"),
        fields,
    )
}

fn with_base(schema_url: String, fields: Value) -> Value {
    let mut m = match fields {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    m.insert("_producer".into(), PRODUCER.into());
    m.insert("_schemaURL".into(), schema_url.into());
    Value::Object(m)
}

pub(super) fn processing_engine() -> Value {
    let v = env!("CARGO_PKG_VERSION");
    standard(
        "ProcessingEngineRunFacet",
        "1-1-1",
        json!({"name": "agentic-pfm", "version": v, "openlineageAdapterVersion": v}),
    )
}

pub(super) fn job_type(job: &str) -> Value {
    let processing = if job == super::JOB_RUN || job == super::JOB_COMMITS {
        "STREAMING"
    } else {
        "BATCH"
    };
    let kind = if job.starts_with("pipeline.run.") {
        "TASK"
    } else {
        "JOB"
    };
    standard(
        "JobTypeJobFacet",
        "2-0-3",
        json!({"processingType": processing, "integration": "AGENTIC_PFM", "jobType": kind}),
    )
}

pub(super) fn parent(namespace: &str, run_id: &str, job: &str) -> Value {
    let job = json!({"namespace": namespace, "name": job});
    standard(
        "ParentRunFacet",
        "1-2-0",
        json!({
            "run": {"runId": run_id},
            "job": job,
            "root": {"run": {"runId": run_id}, "job": job},
        }),
    )
}

pub(super) fn error_message(message: &str) -> Value {
    standard(
        "ErrorMessageRunFacet",
        "1-0-1",
        json!({"message": message, "programmingLanguage": "RUST"}),
    )
}

/// The custom facet: the policy the run was governed by. A closing interval adds how many
/// decisions each policy version made (an OPA bundle revision appears there by name).
pub(super) fn policy(p: &PolicyInfo, decisions: Option<(Value, Value)>) -> Value {
    let mut f = json!({"policyPath": p.path, "engine": p.engine, "policyVersion": p.version});
    if let (Some((by_version, by_result)), Some(m)) = (decisions, f.as_object_mut()) {
        m.insert("decisionsByPolicyVersion".into(), by_version);
        m.insert("decisions".into(), by_result);
    }
    with_base(POLICY_FACET_SCHEMA.into(), f)
}

pub(super) fn schema(fields: &[(&str, &str)]) -> Value {
    let fields: Vec<Value> = fields
        .iter()
        .map(|(name, ty)| json!({"name": name, "type": ty}))
        .collect();
    standard("SchemaDatasetFacet", "1-2-0", json!({ "fields": fields }))
}

pub(super) fn data_source(name: &str, uri: &str) -> Value {
    standard(
        "DatasourceDatasetFacet",
        "1-0-1",
        json!({"name": name, "uri": uri}),
    )
}

pub(super) fn column_lineage(fields: Map<String, Value>) -> Value {
    standard(
        "ColumnLineageDatasetFacet",
        "1-2-0",
        json!({ "fields": fields }),
    )
}

pub(super) fn output_statistics(rows: i64, bytes: i64, files: Option<i64>) -> Value {
    let mut f = json!({"rowCount": rows, "size": bytes});
    if let (Some(n), Some(m)) = (files, f.as_object_mut()) {
        m.insert("fileCount".into(), n.into());
    }
    standard("OutputStatisticsOutputDatasetFacet", "1-0-2", f)
}

pub(super) fn input_statistics(rows: i64, bytes: i64) -> Value {
    standard(
        "InputStatisticsInputDatasetFacet",
        "1-0-0",
        json!({"rowCount": rows, "size": bytes}),
    )
}

/// Rows a table received in the interval, and how its `reason` column is spread.
pub(super) fn data_quality_metrics(rows: i64, reasons: &[(String, i64)]) -> Value {
    let total: i64 = reasons.iter().map(|(_, n)| n).sum();
    standard(
        "DataQualityMetricsDatasetFacet",
        "1-0-1",
        json!({
            "rowCount": rows,
            "columnMetrics": {
                "reason": {"nullCount": 0, "distinctCount": reasons.len(), "count": total as f64}
            },
        }),
    )
}

/// One failed assertion per reason a record was dead-lettered or quarantined, with how
/// many records it held back (`actual`).
pub(super) fn data_quality_assertions(failed: &[(&str, String, i64)]) -> Value {
    let assertions: Vec<Value> = failed
        .iter()
        .map(|(kind, reason, n)| {
            json!({
                "assertion": kind,
                "name": reason,
                "success": false,
                "severity": if *kind == "policy_deny" { "error" } else { "warn" },
                "actual": n.to_string(),
                "description": match *kind {
                    "policy_deny" => "records the policy denied (quarantine), by reason",
                    _ => "records that could not be decoded or validated (dead_letters), by reason",
                },
            })
        })
        .collect();
    standard(
        "DataQualityAssertionsDatasetFacet",
        "1-1-0",
        json!({ "assertions": assertions }),
    )
}

/// A column derived from `inputs` of `source`: `masking` when no original value survives
/// (scrubbed or encrypted).
pub(super) fn derived(
    source: &super::DatasetId,
    inputs: &[&str],
    subtype: &str,
    description: &str,
    masking: bool,
) -> Value {
    let input_fields: Vec<Value> = inputs
        .iter()
        .map(|f| {
            json!({
                "namespace": source.namespace,
                "name": source.name,
                "field": f,
                "transformations": [{
                    "type": "DIRECT",
                    "subtype": subtype,
                    "description": description,
                    "masking": masking,
                }],
            })
        })
        .collect();
    json!({ "inputFields": input_fields })
}
