-- GDPR erasure by crypto-shredding: `pipeline erase` deletes the account's data key (every
-- ciphertext under it, in the database, the lake and the topics, becomes unreadable) and
-- records the erasure here. Running replicas read this table to drop cached keys.
CREATE TABLE erasures (
    id         BIGSERIAL PRIMARY KEY,
    account_id TEXT NOT NULL,
    key_id     TEXT,
    erased_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX erasures_account ON erasures (account_id);
