//! The JSON schema of an answer, and a validator for the subset of JSON Schema the agents
//! use: `type` (one or several), `properties`, `required`, `additionalProperties: false`,
//! `items`, `enum`, `minLength`/`maxLength`, `minimum`/`maximum`, `minItems`/`maxItems`,
//! plus the annotations `title` and `description`.
//!
//! A schema using any other keyword is refused when it is built ([`OutputSchema::new`]):
//! a keyword the validator silently ignored would let answers through unchecked. Servers
//! enforce the schema with varying fidelity (grammar-constrained decoding in llama.cpp and
//! Ollama, best effort elsewhere), so every answer is checked here regardless.

use serde_json::{Map, Value};
use std::fmt::Write as _;

/// A named JSON schema that answers must satisfy.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputSchema {
    name: String,
    schema: Value,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    #[error("schema name {0:?}: expected 1 to 64 characters of a-z, A-Z, 0-9, _ or -")]
    Name(String),
    #[error("schema at {path}: {what}")]
    Unsupported { path: String, what: String },
}

/// Where an answer breaks its schema, and which rule. It never quotes the answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at {path}: {rule}")]
pub struct Violation {
    pub path: String,
    pub rule: String,
}

const TYPES: &[&str] = &[
    "object", "array", "string", "integer", "number", "boolean", "null",
];

impl OutputSchema {
    /// `name` is sent as `json_schema.name` (OpenAI's rule: `[a-zA-Z0-9_-]{1,64}`).
    pub fn new(name: impl Into<String>, schema: Value) -> Result<Self, SchemaError> {
        let name = name.into();
        let name_ok = (1..=64).contains(&name.len())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !name_ok {
            return Err(SchemaError::Name(name));
        }
        check_schema(&schema, "$")?;
        Ok(Self { name, schema })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn schema(&self) -> &Value {
        &self.schema
    }

    pub fn validate(&self, value: &Value) -> Result<(), Violation> {
        let mut path = String::from("$");
        validate(&self.schema, value, &mut path)
    }
}

fn unsupported(path: &str, what: impl Into<String>) -> SchemaError {
    SchemaError::Unsupported {
        path: path.to_owned(),
        what: what.into(),
    }
}

fn check_schema(schema: &Value, path: &str) -> Result<(), SchemaError> {
    let Some(obj) = schema.as_object() else {
        return Err(unsupported(path, "a schema must be a JSON object"));
    };
    for (key, v) in obj {
        let ok = match key.as_str() {
            "type" => match v {
                Value::String(t) => TYPES.contains(&t.as_str()),
                Value::Array(ts) => {
                    !ts.is_empty()
                        && ts
                            .iter()
                            .all(|t| t.as_str().is_some_and(|t| TYPES.contains(&t)))
                }
                _ => false,
            },
            "properties" => match v.as_object() {
                Some(props) => {
                    for (name, sub) in props {
                        check_schema(sub, &format!("{path}.{name}"))?;
                    }
                    true
                }
                None => false,
            },
            "items" => {
                check_schema(v, &format!("{path}[]"))?;
                true
            }
            "required" => v.as_array().is_some_and(|r| r.iter().all(Value::is_string)),
            "enum" => v.as_array().is_some_and(|e| !e.is_empty()),
            // Only the boolean form: a schema for the other properties is not supported.
            "additionalProperties" => v.is_boolean(),
            "minLength" | "maxLength" | "minItems" | "maxItems" => v.is_u64(),
            "minimum" | "maximum" => v.is_number(),
            "title" | "description" => v.is_string(),
            other => {
                return Err(unsupported(
                    path,
                    format!("keyword {other:?} is not supported"),
                ))
            }
        };
        if !ok {
            return Err(unsupported(path, format!("malformed {key:?}")));
        }
    }
    Ok(())
}

fn violation(path: &str, rule: impl Into<String>) -> Violation {
    Violation {
        path: path.to_owned(),
        rule: rule.into(),
    }
}

fn type_matches(t: &str, v: &Value) -> bool {
    match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        // JSON Schema: a number with a zero fractional part is an integer.
        "integer" => v.is_i64() || v.is_u64() || v.as_f64().is_some_and(|f| f.fract() == 0.0),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        _ => false,
    }
}

fn limit(schema: &Map<String, Value>, key: &str) -> Option<u64> {
    schema.get(key).and_then(Value::as_u64)
}

fn validate(schema: &Value, value: &Value, path: &mut String) -> Result<(), Violation> {
    let Some(s) = schema.as_object() else {
        return Ok(());
    };
    if let Some(t) = s.get("type") {
        let matches = match t {
            Value::String(t) => type_matches(t, value),
            Value::Array(ts) => ts
                .iter()
                .any(|t| t.as_str().is_some_and(|t| type_matches(t, value))),
            _ => true,
        };
        if !matches {
            return Err(violation(path, format!("expected type {t}")));
        }
    }
    if let Some(allowed) = s.get("enum").and_then(Value::as_array) {
        if !allowed.contains(value) {
            return Err(violation(path, "not one of the allowed values"));
        }
    }
    match value {
        Value::String(text) => {
            let chars = text.chars().count() as u64;
            if limit(s, "maxLength").is_some_and(|max| chars > max) {
                return Err(violation(path, "longer than maxLength"));
            }
            if limit(s, "minLength").is_some_and(|min| chars < min) {
                return Err(violation(path, "shorter than minLength"));
            }
        }
        Value::Number(n) => {
            let n = n.as_f64().unwrap_or(f64::NAN);
            let below = s
                .get("minimum")
                .and_then(Value::as_f64)
                .is_some_and(|m| n < m);
            let above = s
                .get("maximum")
                .and_then(Value::as_f64)
                .is_some_and(|m| n > m);
            if below || above {
                return Err(violation(path, "outside minimum..maximum"));
            }
        }
        Value::Array(items) => {
            let len = items.len() as u64;
            if limit(s, "maxItems").is_some_and(|max| len > max) {
                return Err(violation(path, "more items than maxItems"));
            }
            if limit(s, "minItems").is_some_and(|min| len < min) {
                return Err(violation(path, "fewer items than minItems"));
            }
            if let Some(item_schema) = s.get("items") {
                for (i, item) in items.iter().enumerate() {
                    let len = path.len();
                    let _ = write!(path, "[{i}]");
                    validate(item_schema, item, path)?;
                    path.truncate(len);
                }
            }
        }
        Value::Object(fields) => validate_object(s, fields, path)?,
        Value::Bool(_) | Value::Null => {}
    }
    Ok(())
}

fn validate_object(
    s: &Map<String, Value>,
    fields: &Map<String, Value>,
    path: &mut String,
) -> Result<(), Violation> {
    let props = s.get("properties").and_then(Value::as_object);
    for name in s
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if !fields.contains_key(name) {
            return Err(violation(
                path,
                format!("missing required property {name:?}"),
            ));
        }
    }
    if s.get("additionalProperties") == Some(&Value::Bool(false)) {
        let declared = |k: &String| props.is_some_and(|p| p.contains_key(k));
        if !fields.keys().all(declared) {
            // The answer's own key is not quoted: it is the model's text.
            return Err(violation(path, "a property the schema does not declare"));
        }
    }
    for (name, sub) in props.into_iter().flatten() {
        if let Some(v) = fields.get(name) {
            let len = path.len();
            let _ = write!(path, ".{name}");
            validate(sub, v, path)?;
            path.truncate(len);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn triage() -> OutputSchema {
        OutputSchema::new(
            "triage",
            json!({
                "type": "object",
                "additionalProperties": false,
                "required": ["action", "rationale"],
                "properties": {
                    "action": {"type": "string", "enum": ["escalate", "clear"]},
                    "rationale": {"type": "string", "maxLength": 20, "description": "why"},
                    "score": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
                    "tags": {"type": "array", "maxItems": 2, "items": {"type": "string", "minLength": 1}}
                }
            }),
        )
        .expect("supported")
    }

    #[test]
    fn answers_are_checked_against_every_supported_keyword() {
        let s = triage();
        let ok =
            json!({"action": "clear", "rationale": "small amount", "score": 0.2, "tags": ["a"]});
        assert_eq!(s.validate(&ok), Ok(()));
        assert_eq!(
            s.validate(&json!({"action": "clear", "rationale": "x", "score": null})),
            Ok(())
        );
        let cases = [
            (json!([]), "$", "expected type \"object\""),
            (
                json!({"action": "clear"}),
                "$",
                "missing required property \"rationale\"",
            ),
            (
                json!({"action": "pay", "rationale": "x"}),
                "$.action",
                "not one of the allowed values",
            ),
            (
                json!({"action": "clear", "rationale": "x".repeat(21)}),
                "$.rationale",
                "longer than maxLength",
            ),
            (
                json!({"action": "clear", "rationale": "x", "score": 2}),
                "$.score",
                "outside minimum..maximum",
            ),
            (
                json!({"action": "clear", "rationale": "x", "score": "high"}),
                "$.score",
                "expected type [\"number\",\"null\"]",
            ),
            (
                json!({"action": "clear", "rationale": "x", "tags": ["a", ""]}),
                "$.tags[1]",
                "shorter than minLength",
            ),
            (
                json!({"action": "clear", "rationale": "x", "tags": ["a", "b", "c"]}),
                "$.tags",
                "more items than maxItems",
            ),
            (
                json!({"action": "clear", "rationale": "x", "secret_note": "y"}),
                "$",
                "a property the schema does not declare",
            ),
        ];
        for (answer, path, rule) in cases {
            let v = s.validate(&answer).expect_err(rule);
            assert_eq!((v.path.as_str(), v.rule.as_str()), (path, rule), "{answer}");
        }
        // Characters, not bytes: twenty multi-byte characters fit maxLength 20.
        let wide = json!({"action": "clear", "rationale": "é".repeat(20)});
        assert_eq!(s.validate(&wide), Ok(()));
    }

    #[test]
    fn a_keyword_the_validator_would_ignore_is_refused_up_front() {
        for (schema, path) in [
            (json!({"type": "string", "pattern": "^a"}), "$"),
            (
                json!({"type": "object", "properties": {"a": {"oneOf": []}}}),
                "$.a",
            ),
            (json!({"type": "array", "items": {"format": "date"}}), "$[]"),
            (
                json!({"type": "object", "additionalProperties": {"type": "string"}}),
                "$",
            ),
            (json!({"type": "decimal"}), "$"),
            (json!("string"), "$"),
        ] {
            match OutputSchema::new("x", schema.clone()) {
                Err(SchemaError::Unsupported { path: p, .. }) => assert_eq!(p, path, "{schema}"),
                other => panic!("{schema}: {other:?}"),
            }
        }
        assert!(matches!(
            OutputSchema::new("has space", json!({})),
            Err(SchemaError::Name(_))
        ));
    }
}
