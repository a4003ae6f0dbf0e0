//! The detectors' parameters (`RISK_CONFIG`): a JSON file of the fields to change, read once at
//! start-up, so that detection can be tuned without a rebuild. Governance thresholds on the
//! detectors' scores stay in the policy data.

use super::{bad, ConfigError};
use pfm_risk::RiskConfig;

const EXPECTED: &str = "the path of a readable JSON file of detector parameters \
    (docs/runbook.md, \"Tuning the detectors\"), with only known fields";

pub(super) fn risk_config(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<RiskConfig, ConfigError> {
    let Some(path) = get("RISK_CONFIG") else {
        return Ok(RiskConfig::default());
    };
    let text = std::fs::read_to_string(path.trim()).map_err(|_| bad("RISK_CONFIG", EXPECTED))?;
    serde_json::from_str(&text).map_err(|e| {
        // serde_json's message names the field and the line, never a secret: the file holds
        // only numbers and currency codes.
        bad("RISK_CONFIG", format!("{EXPECTED} ({e})"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_file(text: &str) -> Result<RiskConfig, ConfigError> {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("risk.json");
        std::fs::write(&path, text).expect("write");
        let p = path.to_string_lossy().into_owned();
        risk_config(&|k: &str| (k == "RISK_CONFIG").then(|| p.clone()))
    }

    #[test]
    fn unset_gives_the_defaults_and_a_file_changes_only_what_it_names() {
        let none = risk_config(&|_: &str| None).expect("defaults");
        assert_eq!(
            none.velocity.min_count,
            RiskConfig::default().velocity.min_count
        );
        let tuned = with_file(r#"{"fan_in": {"min_payers": 6}, "velocity": {"min_count": 4}}"#)
            .expect("valid file");
        assert_eq!(tuned.fan_in.min_payers, 6);
        assert_eq!(tuned.velocity.min_count, 4);
        assert_eq!(
            tuned.fan_in.window_secs,
            RiskConfig::default().fan_in.window_secs
        );
    }

    #[test]
    fn a_missing_file_bad_json_or_an_unknown_field_names_the_variable() {
        let missing = risk_config(&|_: &str| Some("/nonexistent/risk.json".into()))
            .expect_err("missing file");
        assert_eq!(missing.variable, "RISK_CONFIG");
        let broken = with_file("{not json").expect_err("bad JSON");
        assert_eq!(broken.variable, "RISK_CONFIG");
        let typo = with_file(r#"{"fan_in": {"min_payer": 6}}"#).expect_err("unknown field");
        assert!(typo.expected.contains("min_payer"), "{}", typo.expected);
        let wrong_type = with_file(r#"{"velocity": {"min_count": "four"}}"#).expect_err("type");
        assert_eq!(wrong_type.variable, "RISK_CONFIG");
    }
}
