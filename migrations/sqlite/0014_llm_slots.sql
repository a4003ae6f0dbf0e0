-- The cluster-wide LLM concurrency limit (see migrations/postgres/0014_llm_slots.sql).
-- lease_until is RFC 3339 text, which compares in time order.
CREATE TABLE llm_slots (
    slot        INTEGER PRIMARY KEY CHECK (slot >= 0),
    holder      TEXT,
    lease_until TEXT
);
