-- GDPR erasure by crypto-shredding: see migrations/postgres/0006_erasures.sql.
CREATE TABLE erasures (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id TEXT NOT NULL,
    key_id     TEXT,
    erased_at  TEXT NOT NULL
);
CREATE INDEX erasures_account ON erasures (account_id);
