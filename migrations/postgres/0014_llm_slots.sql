-- The cluster-wide LLM concurrency limit, LLM_CLUSTER_CONCURRENCY (decision 0015): one row
-- per slot, created up to the limit when a process starts. A call holds a slot while it
-- runs and renews its lease meanwhile; a holder that dies stops renewing, so its slot is
-- free again once lease_until has passed. holder is unique per call, which fences renewal
-- and release: a call that lost its slot cannot free someone else's.
CREATE TABLE llm_slots (
    slot        INTEGER PRIMARY KEY CHECK (slot >= 0),
    holder      TEXT,
    lease_until TIMESTAMPTZ
);
