# Unit tests of agent_actions.rego: `opa test policies/` runs them, and so does
# tests/it/rego_unit.rs with the embedded engine (regorus).
package pfm.agent_test

import rego.v1

import data.pfm.agent

case(action, decision, findings) := {
	"agent": "investigation",
	"action": action,
	"record": {"decision": decision, "risk_score": 0.2, "findings": findings, "reasons": ["high_value"]},
}

low := [{"detector": "velocity", "score": 0.2}]

high := [{"detector": "card_testing", "score": 0.8}]

test_escalate_clear_and_handing_over_a_low_risk_review_are_allowed if {
	agent.allow_action == {"decision": "allow", "reasons": []} with input as case("escalate", "review", low)
	agent.allow_action == {"decision": "allow", "reasons": []} with input as case("clear", "review", low)
	agent.allow_action == {"decision": "allow", "reasons": []} with input as case("needs_human", "review", low)
}

test_clearing_a_high_risk_finding_is_refused if {
	agent.allow_action == {"decision": "deny", "reasons": ["clear_high_risk_finding"]} with input as case("clear", "review", high)
	agent.allow_action.decision == "allow" with input as case("escalate", "review", high)
}

test_clearing_a_high_record_score_is_refused if {
	doc := object.union(case("clear", "review", []), {"record": {"risk_score": 0.9}})
	agent.allow_action == {"decision": "deny", "reasons": ["clear_high_risk_score"]} with input as doc
}

test_the_high_risk_bar_follows_the_policy_data if {
	agent.allow_action.decision == "allow" with input as case("clear", "review", high)
		with data.agentic_config.agent_high_risk_score as 0.9
}

test_a_denied_record_is_not_acted_on if {
	d := agent.allow_action with input as case("escalate", "deny", low)
	d == {"decision": "deny", "reasons": ["record_denied"]}
	agent.allow_action == {"decision": "deny", "reasons": ["clear_high_risk_finding", "record_denied"]} with input as case("clear", "deny", high)
	agent.allow_action.decision == "allow" with input as case("needs_human", "deny", high)
}

test_a_record_outside_review_is_not_acted_on if {
	agent.allow_action == {"decision": "deny", "reasons": ["record_not_in_review"]} with input as case("clear", "allow", low)
}

test_sanctions_and_hard_limits_are_never_cleared if {
	doc := object.union(case("clear", "review", low), {"record": {"reasons": ["sanctioned_country"]}})
	agent.allow_action == {"decision": "deny", "reasons": ["clear_policy_reason"]} with input as doc
}

test_an_unknown_action_is_refused if {
	agent.allow_action == {"decision": "deny", "reasons": ["unknown_action"]} with input as case("pay_out", "review", low)
}

test_malformed_input_is_undefined if {
	not agent.allow_action with input as {"action": "clear"}
	not agent.allow_action with input as case(7, "review", low)
	not agent.allow_action with input as "clear"
}
