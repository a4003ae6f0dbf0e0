-- Production schema (PostgreSQL). Mirrors migrations/sqlite; see docs/ARCHITECTURE.md.

-- Every transaction_id ever committed, with the digest of its content: tells a replay
-- (same content) from an id reuse (different content, a duplicate_id dead letter).
CREATE TABLE record_ids (
    transaction_id TEXT PRIMARY KEY,
    digest         TEXT NOT NULL,
    outcome        TEXT NOT NULL CHECK (outcome IN ('transaction', 'quarantine'))
);

CREATE TABLE transactions (
    transaction_id     TEXT PRIMARY KEY,
    account_id         TEXT NOT NULL,
    ts                 TIMESTAMPTZ NOT NULL,
    amount             NUMERIC(17,4) NOT NULL,
    currency           TEXT NOT NULL,
    merchant           TEXT NOT NULL,
    mcc                TEXT NOT NULL,
    country            TEXT NOT NULL,
    channel            TEXT NOT NULL,
    category           TEXT NOT NULL,
    description        TEXT,
    customer_name_enc  TEXT,
    customer_email_enc TEXT,
    card_number_enc    TEXT,
    iban_enc           TEXT,
    key_id             TEXT,
    extra              JSONB NOT NULL,
    risk_score         DOUBLE PRECISION NOT NULL,
    findings           JSONB NOT NULL,
    decision           TEXT NOT NULL CHECK (decision IN ('allow', 'review')),
    reasons            JSONB NOT NULL,
    policy_version     TEXT NOT NULL,
    source             TEXT NOT NULL,
    source_partition   INTEGER NOT NULL,
    source_offset      BIGINT NOT NULL,
    committed_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX transactions_account_ts ON transactions (account_id, ts);

CREATE TABLE quarantine (
    transaction_id     TEXT PRIMARY KEY,
    account_id         TEXT NOT NULL,
    ts                 TIMESTAMPTZ NOT NULL,
    amount             NUMERIC(17,4) NOT NULL,
    currency           TEXT NOT NULL,
    merchant           TEXT NOT NULL,
    mcc                TEXT NOT NULL,
    country            TEXT NOT NULL,
    channel            TEXT NOT NULL,
    category           TEXT NOT NULL,
    description        TEXT,
    customer_name_enc  TEXT,
    customer_email_enc TEXT,
    card_number_enc    TEXT,
    iban_enc           TEXT,
    key_id             TEXT,
    extra              JSONB NOT NULL,
    risk_score         DOUBLE PRECISION NOT NULL,
    findings           JSONB NOT NULL,
    decision           TEXT NOT NULL CHECK (decision = 'deny'),
    reasons            JSONB NOT NULL,
    policy_version     TEXT NOT NULL,
    source             TEXT NOT NULL,
    source_partition   INTEGER NOT NULL,
    source_offset      BIGINT NOT NULL,
    committed_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX quarantine_account_ts ON quarantine (account_id, ts);

CREATE TABLE dead_letters (
    source           TEXT NOT NULL,
    source_partition INTEGER NOT NULL,
    source_offset    BIGINT NOT NULL,
    transaction_id   TEXT,
    reason           TEXT NOT NULL,
    detail           TEXT NOT NULL,
    payload          TEXT NOT NULL,
    received_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, source_partition, source_offset)
);

-- Append-only, hash-chained audit evidence: one row per governance decision.
CREATE TABLE decision_log (
    seq            BIGINT PRIMARY KEY,
    transaction_id TEXT NOT NULL,
    account_id     TEXT NOT NULL,
    policy_path    TEXT NOT NULL,
    policy_version TEXT NOT NULL,
    result         TEXT NOT NULL CHECK (result IN ('allow', 'review', 'deny')),
    reasons        TEXT NOT NULL,
    findings       TEXT NOT NULL,
    decided_at     TIMESTAMPTZ NOT NULL,
    prev_hash      TEXT NOT NULL,
    row_hash       TEXT NOT NULL
);
CREATE INDEX decision_log_txn ON decision_log (transaction_id);
CREATE FUNCTION decision_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'decision_log is append-only';
END;
$$;
CREATE TRIGGER decision_log_no_update BEFORE UPDATE OR DELETE OR TRUNCATE ON decision_log
    FOR EACH STATEMENT EXECUTE FUNCTION decision_log_append_only();

-- The chain's head, written in the same transaction as the rows it covers, so removing
-- the newest rows is detected too.
CREATE TABLE audit_chain_head (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    last_seq BIGINT NOT NULL,
    last_hash TEXT NOT NULL
);
INSERT INTO audit_chain_head (id, last_seq, last_hash) VALUES (1, 0, 'genesis');

CREATE TABLE source_offsets (
    source           TEXT NOT NULL,
    source_partition INTEGER NOT NULL,
    next_offset      BIGINT NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, source_partition)
);

CREATE TABLE detector_state (
    account_id TEXT PRIMARY KEY,
    state      TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE data_keys (
    account_id TEXT PRIMARY KEY,
    key_id     TEXT NOT NULL UNIQUE,
    kek_id     TEXT NOT NULL,
    wrapped    BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
