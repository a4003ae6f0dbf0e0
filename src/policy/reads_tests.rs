use super::*;
use crate::policy::EmbeddedPolicy;

fn policy(rego: &str) -> EmbeddedPolicy {
    EmbeddedPolicy::from_sources(
        vec![
            (
                "p.rego".into(),
                format!("package p\nimport rego.v1\n{rego}"),
            ),
            (
                "d.json".into(),
                r#"{"c": {"limit": 100, "name": "x"}}"#.into(),
            ),
        ],
        "p/allow",
    )
    .expect("compiles")
}

/// The analysis alone, on a parsed policy: also for builtins and keywords this build of
/// regorus does not compile (`time.now_ns`, `with`), which OPA would run.
fn analyse(rego: &str) -> InputReads {
    let mut engine = regorus::Engine::new();
    engine
        .add_policy(
            "p.rego".into(),
            format!("package p\nimport rego.v1\n{rego}"),
        )
        .expect("parses");
    engine
        .add_data_json(r#"{"c": {"limit": 100, "name": "x"}}"#)
        .expect("data");
    InputReads::of(&engine, &engine.get_data())
}

fn bounded(rego: &str) -> Vec<Read> {
    match analyse(rego) {
        InputReads::Bounded(r) => r,
        other => panic!("expected bounded reads, got {other:?}"),
    }
}

fn usage(reads: &[Read], path: &[&str]) -> Option<Usage> {
    reads
        .iter()
        .find(|r| r.path.iter().map(String::as_str).eq(path.iter().copied()))
        .map(|r| r.usage.clone())
}

fn numbers(u: Option<Usage>) -> Vec<f64> {
    let Some(Usage::Thresholds(ts)) = u else {
        panic!("expected thresholds, got {u:?}");
    };
    sorted(&ts)
}

/// The constants as numbers, in order.
fn sorted(ts: &[regorus::Value]) -> Vec<f64> {
    let mut v: Vec<f64> = ts.iter().map(|t| t.as_f64().expect("a number")).collect();
    v.sort_by(f64::total_cmp);
    v
}

#[test]
fn the_shipped_policy_reads_few_fields_and_compares_the_amount_with_its_data() {
    let p = EmbeddedPolicy::load(None, "agentic/allow").expect("loads");
    let InputReads::Bounded(reads) = p.input_reads() else {
        panic!(
            "the shipped policy must be memoisable: {:?}",
            p.input_reads()
        );
    };
    // The amount is compared with 0 as it is, and with the euro limits once converted at
    // the rate its currency selects in `fx_to_eur`.
    let Some(Usage::Scaled(scale)) = usage(reads, &["transaction", "amount"]) else {
        panic!("the amount is read as a scaled threshold");
    };
    assert_eq!(sorted(&scale.plain), vec![0.0]);
    assert_eq!(sorted(&scale.limits), vec![5_000.0, 10_000.0, 1_000_000.0]);
    assert_eq!(scale.by, vec!["transaction", "currency"]);
    assert_eq!(
        scale.table[&regorus::Value::from("JPY")].as_f64().ok(),
        Some(0.0062)
    );
    assert_eq!(usage(reads, &["transaction", "id"]), Some(Usage::Kind));
    for exact in [
        &["transaction", "currency"][..],
        &["transaction", "country"],
        &["transaction", "category"],
        &["risk", "findings"],
        &["pii", "description_kinds"],
    ] {
        assert_eq!(usage(reads, exact), Some(Usage::Exact), "{exact:?}");
    }
    assert_eq!(usage(reads, &["transaction", "timestamp"]), None);
    assert_eq!(usage(reads, &["transaction", "merchant"]), None);
}

#[test]
fn non_deterministic_builtins_turn_the_memo_off() {
    for (rego, builtin) in [
        ("allow if { time.now_ns() > input.t }", "time.now_ns"),
        ("allow if { rand.intn(\"k\", 10) > input.n }", "rand.intn"),
        ("allow := uuid.rfc4122(\"k\")", "uuid.rfc4122"),
        (
            "allow if { http.send({\"url\": input.u}).status_code == 200 }",
            "http.send",
        ),
    ] {
        assert_eq!(
            analyse(rego),
            InputReads::Unbounded(Unbounded::NonDeterministic(builtin.into())),
            "{rego}"
        );
    }
}

#[test]
fn reading_input_whole_or_by_a_computed_key_turns_the_memo_off() {
    for rego in [
        "allow if { input == {\"a\": 1} }",
        "allow if { object.get(input, \"a\", 0) > 1 }",
        "allow if { some k; input[k] == 1 }",
        "allow if { x := input; x.a > 1 }",
    ] {
        let p = policy(rego);
        assert_eq!(
            p.input_reads(),
            &InputReads::Unbounded(Unbounded::WholeInput),
            "{rego}"
        );
        let mut e = p.evaluator().expect("vm");
        assert_eq!(e.memo_stats(), None, "{rego}");
        // Unmemoised, it still decides: the VM runs for every input.
        let a = e.evaluate(regorus::Value::from(serde_json::json!({"a": 1})));
        let b = e.evaluate(regorus::Value::from(serde_json::json!({"a": 2})));
        assert_eq!(
            (a.clone(), b.clone()),
            (
                p.evaluate(regorus::Value::from(serde_json::json!({"a": 1}))),
                p.evaluate(regorus::Value::from(serde_json::json!({"a": 2})))
            )
        );
    }
    assert_eq!(
        analyse("allow if { input.a > 1 with input as {\"a\": 2} }"),
        InputReads::Unbounded(Unbounded::WithModifier)
    );
}

#[test]
fn only_comparisons_with_constants_key_on_thresholds() {
    let reads = bounded(
        "cfg := data.c\n\
         allow if { is_number(input.a); input.a > cfg.limit; 3 >= input.a }\n\
         allow if { input.b > data.c.limit }\n\
         allow if { input.c * 2 > 10 }\n\
         allow if { input.d > input.e }\n\
         allow if { input.f > 1; sprintf(\"%v\", [input.f]) == \"2\" }\n\
         allow if { input.g > cfg.name }\n\
         allow if { some x in input.h; x.score > 1 }\n\
         allow if { input.i[_] > 1 }",
    );
    assert_eq!(numbers(usage(&reads, &["a"])), vec![3.0, 100.0]);
    assert_eq!(numbers(usage(&reads, &["b"])), vec![100.0]);
    for exact in ["c", "d", "e", "f", "g", "h", "i"] {
        assert_eq!(usage(&reads, &[exact]), Some(Usage::Exact), "input.{exact}");
    }
}

#[test]
fn a_rebound_name_is_not_taken_for_its_constant_rule() {
    let reads = bounded(
        "lim := data.c.limit\n\
         allow if { input.a > lim }\n\
         allow if { lim := 5; input.b > lim }\n\
         allow if { every lim in [1, 2] { input.c > lim } }",
    );
    assert_eq!(usage(&reads, &["a"]), Some(Usage::Exact));
    assert_eq!(usage(&reads, &["b"]), Some(Usage::Exact));
    assert_eq!(usage(&reads, &["c"]), Some(Usage::Exact));
    let reads = bounded("lim := data.c.limit\nallow if { input.a > lim }");
    assert_eq!(numbers(usage(&reads, &["a"])), vec![100.0]);
}

#[test]
fn a_product_with_a_rate_from_a_data_table_keys_on_the_side_of_each_limit() {
    let src = "allow if { is_number(input.a); input.a * data.fx[input.cur] >= data.c.limit }\n\
               allow if { input.a * data.fx[input.cur] < 3 }\n\
               allow if { input.a > 1 }\n\
               allow if { input.b * data.fx[input.cur] > 100 }\n\
               allow if { input.b * data.other[input.cur] > 100 }\n\
               allow if { input.d * data.fx[input.d] > 100 }\n\
               allow if { input.e * 2 > 10 }";
    let mut engine = regorus::Engine::new();
    engine
        .add_policy("p.rego".into(), format!("package p\nimport rego.v1\n{src}"))
        .expect("parses");
    engine
        .add_data_json(
            r#"{"c": {"limit": 100}, "fx": {"EUR": 1, "JPY": 0.0062}, "other": {"EUR": 2}}"#,
        )
        .expect("data");
    let InputReads::Bounded(reads) = InputReads::of(&engine, &engine.get_data()) else {
        panic!("bounded");
    };
    let Some(Usage::Scaled(s)) = usage(&reads, &["a"]) else {
        panic!("input.a is scaled: {:?}", usage(&reads, &["a"]));
    };
    assert_eq!(
        (sorted(&s.plain), sorted(&s.limits)),
        (vec![1.0], vec![3.0, 100.0])
    );
    assert_eq!(usage(&reads, &["cur"]), Some(Usage::Exact));
    // Two tables for one amount, a rate keyed on the amount itself, a plain product: exact.
    for exact in ["b", "d", "e"] {
        assert_eq!(usage(&reads, &[exact]), Some(Usage::Exact), "input.{exact}");
    }
}
