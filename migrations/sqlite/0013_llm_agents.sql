-- The LLM-backed agents: see migrations/postgres/0013_llm_agents.sql. SQLite cannot alter a
-- CHECK constraint, so investigation_cases is rebuilt with the wider one (nothing refers to
-- it); its rows keep their values and become `deterministic`.
CREATE TABLE investigation_cases_0013 (
    workflow_id     TEXT PRIMARY KEY,
    transaction_id  TEXT NOT NULL UNIQUE,
    account_id      TEXT NOT NULL,
    decision        TEXT NOT NULL CHECK (decision IN ('escalate', 'clear', 'needs_human')),
    score           REAL NOT NULL,
    factors         TEXT NOT NULL,
    note            TEXT NOT NULL,
    decided_at      TEXT NOT NULL,
    decided_by      TEXT NOT NULL DEFAULT 'deterministic'
        CHECK (decided_by IN ('deterministic', 'llm', 'governance')),
    proposed_action TEXT,
    rationale       TEXT,
    cited_findings  TEXT,
    fallback        TEXT,
    governance      TEXT
);
INSERT INTO investigation_cases_0013
    (workflow_id, transaction_id, account_id, decision, score, factors, note, decided_at)
SELECT workflow_id, transaction_id, account_id, decision, score, factors, note, decided_at
FROM investigation_cases;
DROP TABLE investigation_cases;
ALTER TABLE investigation_cases_0013 RENAME TO investigation_cases;
CREATE INDEX investigation_cases_account ON investigation_cases (account_id);

CREATE TABLE audit_reports (
    workflow_id  TEXT PRIMARY KEY,
    window_start TEXT NOT NULL,
    window_end   TEXT NOT NULL,
    narrative    TEXT NOT NULL,
    narrated_by  TEXT NOT NULL CHECK (narrated_by IN ('llm', 'deterministic')),
    fallback     TEXT,
    statistics   TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX audit_reports_window ON audit_reports (window_start);
