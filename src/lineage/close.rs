//! Terminal events. Each is made from its run's START event (the same job, run and
//! datasets, whoever closes it), with what the run did: for an interval, the statistics
//! its commits tallied in the database; for an export, the files it wrote.

use super::{facets, now, Lineage, KIND_INTERVAL, PRODUCER, RUN_EVENT_SCHEMA};
use crate::store::{ClosedRun, LineageEvent, Tally};
use serde_json::{json, Map, Value};

/// How a run ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    Complete,
    /// An export run's COMPLETE, with what it wrote per lakehouse table.
    Exported(Vec<LakeTableStats>),
    Fail(String),
    Abort(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LakeTableStats {
    pub table: String,
    pub rows: i64,
    pub bytes: i64,
    pub files: i64,
}

pub(super) fn terminal(l: &Lineage, c: &ClosedRun, ending: &Ending) -> LineageEvent {
    let mut ev = serde_json::from_str::<Value>(&c.run.start.json)
        .ok()
        .filter(Value::is_object)
        .unwrap_or_else(|| {
            // Unreadable template: the event still closes the run by its id.
            json!({
                "producer": PRODUCER,
                "schemaURL": RUN_EVENT_SCHEMA,
                "run": {"runId": c.run.run_id},
                "job": {"namespace": l.namespace(), "name": "pipeline.unknown"},
            })
        });
    let kind = match ending {
        Ending::Complete | Ending::Exported(_) => "COMPLETE",
        Ending::Fail(_) => "FAIL",
        Ending::Abort(_) => "ABORT",
    };
    ev["eventType"] = kind.into();
    ev["eventTime"] = now().into();
    if let Ending::Fail(m) | Ending::Abort(m) = ending {
        let run_facets = object_in(object_at(&mut ev, "run"), "facets");
        run_facets.insert("errorMessage".into(), facets::error_message(m));
    }
    if c.run.kind == KIND_INTERVAL {
        add_tallies(l, &mut ev, &c.tallies);
    }
    if let Ending::Exported(stats) = ending {
        add_export(&mut ev, stats);
    }
    LineageEvent {
        key: c.run.start.key.clone(),
        json: ev.to_string(),
    }
}

/// `v[key]` as an object, replacing whatever else is there.
fn object_at<'a>(v: &'a mut Value, key: &str) -> &'a mut Map<String, Value> {
    if !v.is_object() {
        *v = json!({});
    }
    let slot = &mut v[key];
    if !slot.is_object() {
        *slot = json!({});
    }
    slot.as_object_mut().expect("replaced by an object above")
}

fn object_in<'a>(m: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let slot = m.entry(key).or_insert_with(|| json!({}));
    if !slot.is_object() {
        *slot = json!({});
    }
    slot.as_object_mut().expect("replaced by an object above")
}

fn entries<'a>(ev: &'a mut Value, key: &str) -> impl Iterator<Item = &'a mut Value> {
    ev.get_mut(key)
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
}

fn text(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// The tally item an output dataset was counted under: its topic, or its table.
fn item_of(dataset: &Value) -> String {
    let (ns, name) = (text(dataset, "namespace"), text(dataset, "name"));
    if ns.starts_with("kafka://") {
        format!("topic:{name}")
    } else {
        format!("table:{}", name.rsplit('.').next().unwrap_or_default())
    }
}

fn add_tallies(l: &Lineage, ev: &mut Value, tallies: &[Tally]) {
    let get = |item: &str| {
        tallies
            .iter()
            .find(|t| t.item == item)
            .map_or((0, 0), |t| (t.rows, t.bytes))
    };
    let with_prefix = |prefix: &str| -> Vec<(String, i64)> {
        tallies
            .iter()
            .filter_map(|t| Some((t.item.strip_prefix(prefix)?.to_owned(), t.rows)))
            .collect()
    };
    for out in entries(ev, "outputs") {
        let item = item_of(out);
        let (rows, bytes) = get(&item);
        object_at(out, "outputFacets").insert(
            "outputStatistics".into(),
            facets::output_statistics(rows, bytes, None),
        );
        if let Some(table @ ("quarantine" | "dead_letters")) = item.strip_prefix("table:") {
            let reasons = with_prefix(&format!("reason:{table}:"));
            object_at(out, "facets").insert(
                "dataQualityMetrics".into(),
                facets::data_quality_metrics(rows, &reasons),
            );
        }
    }
    let (rows_in, bytes_in) = get("input");
    let mut failed: Vec<(&str, String, i64)> = Vec::new();
    for (reason, n) in with_prefix("reason:dead_letters:") {
        failed.push(("dead_letter", reason, n));
    }
    for (reason, n) in with_prefix("reason:quarantine:") {
        failed.push(("policy_deny", reason, n));
    }
    for input in entries(ev, "inputs") {
        let f = object_at(input, "inputFacets");
        f.insert(
            "inputStatistics".into(),
            facets::input_statistics(rows_in, bytes_in),
        );
        if !failed.is_empty() {
            f.insert(
                "dataQualityAssertions".into(),
                facets::data_quality_assertions(&failed),
            );
        }
    }
    let counts = |prefix: &str| -> Value {
        Value::Object(
            with_prefix(prefix)
                .into_iter()
                .map(|(k, n)| (k, Value::from(n)))
                .collect(),
        )
    };
    let run_facets = object_in(object_at(ev, "run"), "facets");
    // The policy the run started under (a dead process's, when the next start closes it).
    let policy = run_facets
        .get("pfm_policy")
        .and_then(|p| {
            Some(super::PolicyInfo {
                path: p.get("policyPath")?.as_str()?.to_owned(),
                engine: p.get("engine")?.as_str()?.to_owned(),
                version: p.get("policyVersion")?.as_str()?.to_owned(),
            })
        })
        .or_else(|| l.inner.policy.clone());
    if let Some(policy) = policy {
        run_facets.insert(
            "pfm_policy".into(),
            facets::policy(&policy, Some((counts("policy:"), counts("decision:")))),
        );
    }
}

fn add_export(ev: &mut Value, stats: &[LakeTableStats]) {
    for out in entries(ev, "outputs") {
        let name = text(out, "name");
        let Some(s) = stats
            .iter()
            .find(|s| name.ends_with(&format!("table={}", s.table)))
        else {
            continue;
        };
        object_at(out, "outputFacets").insert(
            "outputStatistics".into(),
            facets::output_statistics(s.rows, s.bytes, Some(s.files)),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{LineageConfig, LineageTransport};
    use crate::lineage::{DatasetId, Datasets, PolicyInfo};

    fn lineage() -> Lineage {
        let cfg = crate::config::Config::from_lookup(|_| None).expect("defaults");
        let lc = LineageConfig {
            namespace: "test".into(),
            transport: Some(LineageTransport::Console),
            kafka_topic: None,
            interval: std::time::Duration::from_secs(60),
        };
        let datasets = Datasets::from_config(&cfg, Some(DatasetId::synthetic(1)), &[]);
        let policy = Some(PolicyInfo {
            path: "agentic/allow".into(),
            engine: "embedded".into(),
            version: "embedded:1".into(),
        });
        Lineage::new(&lc, datasets, policy)
    }

    fn tally(item: &str, rows: i64, bytes: i64) -> Tally {
        Tally {
            item: item.into(),
            rows,
            bytes,
        }
    }

    #[test]
    fn an_interval_completes_with_its_tallies() {
        let l = lineage();
        let parent = l.process_run();
        let child = l.interval_run(&parent.run_id);
        let closed = ClosedRun {
            run: child.clone(),
            tallies: vec![
                tally("table:transactions", 7, 700),
                tally("table:quarantine", 2, 200),
                tally("reason:quarantine:velocity", 2, 0),
                tally("reason:dead_letters:bad_json", 1, 0),
                tally("table:dead_letters", 1, 50),
                tally("input", 10, 1000),
                tally("policy:embedded:1", 9, 0),
            ],
        };
        let ev: Value =
            serde_json::from_str(&terminal(&l, &closed, &Ending::Complete).json).expect("json");
        assert_eq!(ev["eventType"], "COMPLETE");
        assert_eq!(ev["run"]["runId"], child.run_id.as_str());
        assert_eq!(
            ev["run"]["facets"]["parent"]["run"]["runId"],
            parent.run_id.as_str()
        );
        let out = |suffix: &str| {
            ev["outputs"]
                .as_array()
                .and_then(|a| {
                    a.iter()
                        .find(|o| o["name"].as_str().is_some_and(|n| n.ends_with(suffix)))
                })
                .cloned()
                .unwrap_or_default()
        };
        let stats = &out(".transactions")["outputFacets"]["outputStatistics"];
        assert_eq!(
            (stats["rowCount"].as_i64(), stats["size"].as_i64()),
            (Some(7), Some(700))
        );
        assert_eq!(
            out(".decision_log")["outputFacets"]["outputStatistics"]["rowCount"],
            0
        );
        let dq = &out(".quarantine")["facets"]["dataQualityMetrics"];
        assert_eq!(dq["columnMetrics"]["reason"]["distinctCount"], 1);
        let input = &ev["inputs"][0]["inputFacets"];
        assert_eq!(input["inputStatistics"]["rowCount"], 10);
        assert_eq!(
            input["dataQualityAssertions"]["assertions"]
                .as_array()
                .map(Vec::len),
            Some(2)
        );
        assert_eq!(
            ev["run"]["facets"]["pfm_policy"]["decisionsByPolicyVersion"]["embedded:1"],
            9
        );
    }

    #[test]
    fn failures_carry_the_message_and_unreadable_templates_still_close() {
        let l = lineage();
        let mut run = l.process_run();
        let closed = ClosedRun {
            run: run.clone(),
            tallies: vec![],
        };
        let ev: Value = serde_json::from_str(
            &terminal(&l, &closed, &Ending::Fail("database gone".into())).json,
        )
        .expect("json");
        assert_eq!(ev["eventType"], "FAIL");
        assert_eq!(
            ev["run"]["facets"]["errorMessage"]["message"],
            "database gone"
        );
        run.start.json = "not json".into();
        let closed = ClosedRun {
            run: run.clone(),
            tallies: vec![],
        };
        let ev: Value =
            serde_json::from_str(&terminal(&l, &closed, &Ending::Abort("killed".into())).json)
                .expect("json");
        assert_eq!(ev["eventType"], "ABORT");
        assert_eq!(ev["run"]["runId"], run.run_id.as_str());
    }
}
