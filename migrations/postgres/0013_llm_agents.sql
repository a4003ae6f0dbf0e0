-- The LLM-backed agents (docs/decisions/0014-llm-agents.md). An investigation may now hand
-- its case to a person (`needs_human`), and the case records what the agent contributed:
-- who decided, what the model proposed and why (its rationale, scrubbed of PII, and the
-- findings it cites), why its proposal did not decide (`fallback`), and what the rule on
-- agent actions (policies/agent_actions.rego) answered. Cases decided before this
-- migration, and every case without LLM_URL, are `deterministic` with the rest NULL.
ALTER TABLE investigation_cases DROP CONSTRAINT investigation_cases_decision_check;
ALTER TABLE investigation_cases ADD CONSTRAINT investigation_cases_decision_check
    CHECK (decision IN ('escalate', 'clear', 'needs_human'));
ALTER TABLE investigation_cases
    ADD COLUMN decided_by      TEXT NOT NULL DEFAULT 'deterministic'
        CHECK (decided_by IN ('deterministic', 'llm', 'governance')),
    ADD COLUMN proposed_action TEXT,
    ADD COLUMN rationale       TEXT,
    ADD COLUMN cited_findings  JSONB,
    ADD COLUMN fallback        TEXT,
    ADD COLUMN governance      JSONB;

-- Each periodic audit's report for the compliance team: a narrative (written by the LLM,
-- or the deterministic one, and then `fallback` says why), and the statistics it narrates,
-- which stay the evidence. One per audit workflow.
CREATE TABLE audit_reports (
    workflow_id  TEXT PRIMARY KEY,
    window_start TIMESTAMPTZ NOT NULL,
    window_end   TIMESTAMPTZ NOT NULL,
    narrative    TEXT NOT NULL,
    narrated_by  TEXT NOT NULL CHECK (narrated_by IN ('llm', 'deterministic')),
    fallback     TEXT,
    statistics   JSONB NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX audit_reports_window ON audit_reports (window_start);
