# Governance policy for every transaction. Evaluated per record at data.agentic.allow
# (OPA_POLICY_PATH=agentic/allow), by the embedded engine or by an OPA sidecar unchanged.
#
# The decision is an object: {"decision": "allow"|"review"|"deny", "reasons": [...]}.
# Fail-closed: when the input is not a well-formed transaction document, no rule matches,
# the decision is undefined, and the pipeline treats undefined as deny.
package agentic

import rego.v1

cfg := data.agentic_config

# The `*_amount` limits are in euros, so a limit means the same value whatever the card's
# currency: 25,000 JPY is a dinner, not a high-value payment. An amount is converted at
# `fx_to_eur` (indicative rates, euros per unit, maintained as policy data and changed
# without a rebuild). The conversion is written out in each rule, `amount * rate >= limit`,
# so the pipeline's memo still keys the amount on its side of each limit (decision 0019).

allow := {"decision": "deny", "reasons": sort(deny_reasons)} if {
	well_formed
	count(deny_reasons) > 0
}

allow := {"decision": "review", "reasons": sort(review_reasons)} if {
	well_formed
	count(deny_reasons) == 0
	count(review_reasons) > 0
}

allow := {"decision": "allow", "reasons": []} if {
	well_formed
	count(deny_reasons) == 0
	count(review_reasons) == 0
}

well_formed if {
	is_string(input.transaction.id)
	is_number(input.transaction.amount)
	input.transaction.amount > 0
	is_array(input.risk.findings)
}

# --- deny -------------------------------------------------------------------------------

deny_reasons contains "sanctioned_country" if {
	input.transaction.country in cfg.sanctioned_countries
}

deny_reasons contains sprintf("risk_%s", [f.detector]) if {
	some f in input.risk.findings
	f.score >= object.get(cfg.deny_score, f.detector, cfg.deny_score_default)
}

deny_reasons contains "amount_over_hard_limit" if {
	is_number(input.transaction.amount)
	input.transaction.amount * cfg.fx_to_eur[input.transaction.currency] > cfg.hard_limit_amount
}

# --- review -----------------------------------------------------------------------------

review_reasons contains sprintf("risk_%s", [f.detector]) if {
	some f in input.risk.findings
	f.score >= cfg.review_score
}

review_reasons contains "high_value" if {
	is_number(input.transaction.amount)
	input.transaction.amount * cfg.fx_to_eur[input.transaction.currency] >= cfg.high_value_amount
}

review_reasons contains "high_risk_category" if {
	input.transaction.category in cfg.review_categories
	is_number(input.transaction.amount)
	input.transaction.amount * cfg.fx_to_eur[input.transaction.currency] >= cfg.review_category_min_amount
}

# A currency without a rate cannot be compared with the limits, so a person looks at it.
review_reasons contains "no_fx_rate" if {
	not is_number(cfg.fx_to_eur[input.transaction.currency])
}

review_reasons contains "pii_in_description" if {
	count(input.pii.description_kinds) > 0
	cfg.review_on_pii_in_description
}
