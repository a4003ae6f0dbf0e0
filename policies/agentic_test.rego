# Unit tests of agentic.rego: `opa test policies/` runs them (every `test_` rule must be
# true), and so does tests/rego_unit.rs with the embedded engine (regorus). The pipeline
# never loads *_test.rego files as policy.
package agentic_test

import rego.v1

import data.agentic

tx(amount, country, category) := tx_in(amount, "EUR", country, category)

tx_in(amount, currency, country, category) := {
	"transaction": {"id": "t-1", "amount": amount, "currency": currency, "country": country, "category": category},
	"risk": {"findings": [], "max_score": 0},
	"pii": {"description_kinds": []},
}

with_findings(doc, findings) := object.union(doc, {"risk": {"findings": findings, "max_score": 0}})

test_ordinary_purchase_is_allowed if {
	agentic.allow == {"decision": "allow", "reasons": []} with input as tx(42.5, "DE", "groceries")
}

test_sanctioned_country_is_denied if {
	agentic.allow == {"decision": "deny", "reasons": ["sanctioned_country"]} with input as tx(10, "KP", "groceries")
}

test_high_value_is_reviewed if {
	agentic.allow == {"decision": "review", "reasons": ["high_value"]} with input as tx(10000, "DE", "groceries")
}

test_amount_over_hard_limit_is_denied if {
	d := agentic.allow with input as tx(1000001, "DE", "groceries")
	d.decision == "deny"
	"amount_over_hard_limit" in d.reasons
}

test_high_risk_category_is_reviewed_above_its_minimum if {
	agentic.allow.decision == "review" with input as tx(5000, "DE", "gambling")
	agentic.allow.decision == "allow" with input as tx(4999, "DE", "gambling")
}

test_detector_score_at_its_deny_threshold_denies if {
	doc := with_findings(tx(1, "DE", "groceries"), [{"detector": "card_testing", "score": 0.9, "reason": "r"}])
	agentic.allow == {"decision": "deny", "reasons": ["risk_card_testing"]} with input as doc
}

test_detector_score_above_review_threshold_reviews if {
	doc := with_findings(tx(1, "DE", "groceries"), [{"detector": "structuring", "score": 0.7, "reason": "r"}])
	agentic.allow == {"decision": "review", "reasons": ["risk_structuring"]} with input as doc
}

test_deny_outranks_review if {
	doc := with_findings(tx(20000, "IR", "groceries"), [])
	agentic.allow == {"decision": "deny", "reasons": ["sanctioned_country"]} with input as doc
}

test_pii_in_description_reviews_only_when_configured if {
	doc := object.union(tx(5, "DE", "groceries"), {"pii": {"description_kinds": ["email"]}})
	agentic.allow.decision == "allow" with input as doc
	agentic.allow == {"decision": "review", "reasons": ["pii_in_description"]} with input as doc
		with data.agentic_config.review_on_pii_in_description as true
}

test_malformed_input_is_undefined if {
	not agentic.allow with input as {"transaction": {"id": 5}}
	not agentic.allow with input as tx(-3, "DE", "groceries")
	not agentic.allow with input as "nonsense"
}

test_limits_are_in_euros_whatever_the_currency if {
	# 25,000 JPY and 2,000,000 KRW are everyday sums, not high-value payments.
	agentic.allow == {"decision": "allow", "reasons": []} with input as tx_in(25000, "JPY", "JP", "restaurants")
	agentic.allow == {"decision": "allow", "reasons": []} with input as tx_in(2000000, "KRW", "KR", "electronics")
	agentic.allow == {"decision": "allow", "reasons": []} with input as tx_in(10500, "USD", "US", "groceries")
	agentic.allow == {"decision": "review", "reasons": ["high_value"]} with input as tx_in(11000, "USD", "US", "groceries")
	agentic.allow == {"decision": "review", "reasons": ["high_value"]} with input as tx_in(9000, "GBP", "GB", "groceries")
	d := agentic.allow with input as tx_in(900000, "GBP", "GB", "groceries")
	d.decision == "deny"
	"amount_over_hard_limit" in d.reasons
	agentic.allow.decision == "review" with input as tx_in(5000, "CHF", "CH", "gambling")
	agentic.allow.decision == "allow" with input as tx_in(4700, "CHF", "CH", "gambling")
}

test_a_currency_without_a_rate_is_reviewed if {
	agentic.allow == {"decision": "review", "reasons": ["no_fx_rate"]} with input as tx_in(5, "XAU", "DE", "groceries")
	no_currency := json.remove(tx(5, "DE", "groceries"), ["transaction/currency"])
	agentic.allow == {"decision": "review", "reasons": ["no_fx_rate"]} with input as no_currency
	# A rate table edited without a rebuild takes effect at once.
	agentic.allow == {"decision": "allow", "reasons": []} with input as tx_in(5, "XAU", "DE", "groceries")
		with data.agentic_config.fx_to_eur.XAU as 0.5
}

test_every_rate_is_a_positive_number if {
	every currency, rate in data.agentic_config.fx_to_eur {
		count(currency) == 3
		is_number(rate)
		rate > 0
	}
}
