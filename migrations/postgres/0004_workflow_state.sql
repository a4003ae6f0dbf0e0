-- State of the durable workflows started in 0003 (see docs/decisions/0003-durable-workflows.md).

-- One row per completed step: its output, written in the same transaction that advances
-- workflows.next_step, so a resumed workflow starts after the last checkpoint and reads the
-- earlier steps' outputs from here instead of recomputing them.
CREATE TABLE workflow_checkpoints (
    workflow_id TEXT NOT NULL REFERENCES workflows (workflow_id),
    step_index  INTEGER NOT NULL,
    step_name   TEXT NOT NULL,
    output      JSONB NOT NULL,
    worker_id   TEXT NOT NULL,
    attempt     INTEGER NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (workflow_id, step_index)
);

-- Every execution of a step body, started or finished: the evidence that a completed step
-- never ran again. A run that a crash interrupted keeps finished_at NULL.
CREATE TABLE workflow_step_runs (
    run_id      BIGSERIAL PRIMARY KEY,
    workflow_id TEXT NOT NULL REFERENCES workflows (workflow_id),
    step_index  INTEGER NOT NULL,
    step_name   TEXT NOT NULL,
    worker_id   TEXT NOT NULL,
    attempt     INTEGER NOT NULL,
    started_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    outcome     TEXT CHECK (outcome IN ('checkpointed', 'failed', 'lease_lost')),
    error       TEXT
);
CREATE INDEX workflow_step_runs_wf ON workflow_step_runs (workflow_id, step_index);
-- At most one successful run per step, whatever the engine does.
CREATE UNIQUE INDEX workflow_step_runs_once ON workflow_step_runs (workflow_id, step_index)
    WHERE outcome = 'checkpointed';

-- Side-effect journal: one row per effect, keyed by its idempotency key
-- (workflow_id/step_index/position-effect), written in the checkpoint's transaction.
CREATE TABLE workflow_effects (
    idempotency_key TEXT PRIMARY KEY,
    workflow_id     TEXT NOT NULL REFERENCES workflows (workflow_id),
    step_index      INTEGER NOT NULL,
    effect          TEXT NOT NULL,
    payload         JSONB NOT NULL,
    applied_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX workflow_effects_wf ON workflow_effects (workflow_id, step_index);

-- The outcome of an investigation: one case per workflow. Cases and findings are the
-- workflows' lasting results, so they are never pruned and do not depend on workflow rows.
CREATE TABLE investigation_cases (
    workflow_id    TEXT PRIMARY KEY,
    transaction_id TEXT NOT NULL UNIQUE,
    account_id     TEXT NOT NULL,
    decision       TEXT NOT NULL CHECK (decision IN ('escalate', 'clear')),
    score          DOUBLE PRECISION NOT NULL,
    factors        JSONB NOT NULL,
    note           TEXT NOT NULL,
    decided_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX investigation_cases_account ON investigation_cases (account_id);

-- What the audit agent found; finding_id = workflow_id/kind/subject, so a resumed audit
-- cannot record a finding twice.
CREATE TABLE audit_findings (
    finding_id   TEXT PRIMARY KEY,
    workflow_id  TEXT NOT NULL,
    window_start TIMESTAMPTZ NOT NULL,
    window_end   TIMESTAMPTZ NOT NULL,
    kind         TEXT NOT NULL,
    subject      TEXT NOT NULL,
    severity     TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high')),
    detail       JSONB NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX audit_findings_window ON audit_findings (window_start, kind);

-- The audit reads time windows of append-only tables. BRIN indexes fit rows that arrive in
-- time order and cost the batch commit almost nothing, unlike a B-tree.
CREATE INDEX decision_log_decided_at_brin ON decision_log USING brin (decided_at);
CREATE INDEX dead_letters_received_at_brin ON dead_letters USING brin (received_at);

-- The pruning job looks for old terminal workflows.
CREATE INDEX workflows_terminal ON workflows (completed_at) WHERE status <> 'runnable';
