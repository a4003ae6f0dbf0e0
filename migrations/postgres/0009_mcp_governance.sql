-- The MCP governance server (`pipeline mcp`, docs/decisions/0010-mcp-server.md).

-- Every tool call, audited: who called which tool, a SHA-256 digest of its arguments (not
-- the arguments: they may name accounts), when, and how it ended. Append-only, like
-- decision_log.
CREATE TABLE mcp_audit (
    id          BIGSERIAL PRIMARY KEY,
    called_at   TIMESTAMPTZ NOT NULL,
    caller      TEXT NOT NULL,
    tool        TEXT NOT NULL,
    args_sha256 TEXT NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('ok', 'error')),
    error       TEXT,
    duration_ms DOUBLE PRECISION NOT NULL
);
CREATE FUNCTION mcp_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'mcp_audit is append-only';
END;
$$;
CREATE TRIGGER mcp_audit_no_update BEFORE UPDATE OR DELETE OR TRUNCATE ON mcp_audit
    FOR EACH STATEMENT EXECUTE FUNCTION mcp_audit_append_only();

-- search_decisions filters by account and pages by seq (keyset): one index serves both.
CREATE INDEX decision_log_account_seq ON decision_log (account_id, seq);
-- explain_decision finds a record's dead letters by id.
CREATE INDEX dead_letters_txn ON dead_letters (transaction_id) WHERE transaction_id IS NOT NULL;
