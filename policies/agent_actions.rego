# Governance over what an agent proposes to do with a case (decision 0014). The workflow
# worker evaluates data.pfm.agent.allow_action with the embedded engine for every action an
# LLM proposes, before the action is recorded; the same file runs unchanged in OPA.
#
# The decision has the shape of data.agentic.allow: {"decision": "allow"|"deny",
# "reasons": [...]}. Fail-closed: a malformed input matches no rule, the decision is
# undefined, and the worker reads undefined as a refusal.
#
# What a model writes cannot widen what this rule allows: the input is built from the
# stored record and the detectors' findings, never from the model's text, except the
# action itself.
package pfm.agent

import rego.v1

cfg := data.agentic_config

actions := {"escalate", "clear", "needs_human"}

# A finding at or above this score sent the record to review on its own: "high risk".
high_risk_score := object.get(cfg, "agent_high_risk_score", cfg.review_score)

allow_action := {"decision": "deny", "reasons": sort(deny_reasons)} if {
	well_formed
	count(deny_reasons) > 0
}

allow_action := {"decision": "allow", "reasons": []} if {
	well_formed
	count(deny_reasons) == 0
}

well_formed if {
	is_string(input.action)
	is_string(input.record.decision)
	is_array(input.record.findings)
	is_number(input.record.risk_score)
}

deny_reasons contains "unknown_action" if {
	not input.action in actions
}

# Handing the case to a person is always allowed: it is where every refusal lands.
acts if input.action in {"escalate", "clear"}

# The governance policy denied the record: no agent decides anything about it.
deny_reasons contains "record_denied" if {
	acts
	input.record.decision == "deny"
}

# Agents investigate what the policy sent to review, nothing else.
deny_reasons contains "record_not_in_review" if {
	acts
	not input.record.decision in {"review", "deny"}
}

# An agent may not clear what a detector marked high-risk.
deny_reasons contains "clear_high_risk_finding" if {
	input.action == "clear"
	some f in input.record.findings
	is_number(f.score)
	f.score >= high_risk_score
}

deny_reasons contains "clear_high_risk_score" if {
	input.action == "clear"
	input.record.risk_score >= high_risk_score
}

# Nor clear what the policy itself flagged as a sanctions or hard-limit matter.
deny_reasons contains "clear_policy_reason" if {
	input.action == "clear"
	some r in object.get(input.record, "reasons", [])
	r in {"sanctioned_country", "amount_over_hard_limit"}
}
