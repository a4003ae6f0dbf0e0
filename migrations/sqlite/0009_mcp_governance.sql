-- The MCP governance server: see migrations/postgres/0009_mcp_governance.sql. (SQLite has
-- no 0008: that migration only changes PostgreSQL's COPY defaults.)
CREATE TABLE mcp_audit (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    called_at   TEXT NOT NULL,
    caller      TEXT NOT NULL,
    tool        TEXT NOT NULL,
    args_sha256 TEXT NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('ok', 'error')),
    error       TEXT,
    duration_ms REAL NOT NULL
);
CREATE TRIGGER mcp_audit_no_update BEFORE UPDATE ON mcp_audit
BEGIN SELECT RAISE(ABORT, 'mcp_audit is append-only'); END;
CREATE TRIGGER mcp_audit_no_delete BEFORE DELETE ON mcp_audit
BEGIN SELECT RAISE(ABORT, 'mcp_audit is append-only'); END;

CREATE INDEX decision_log_account_seq ON decision_log (account_id, seq);
CREATE INDEX dead_letters_txn ON dead_letters (transaction_id) WHERE transaction_id IS NOT NULL;
