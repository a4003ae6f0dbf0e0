-- Durable outbox for Kafka publication: written in the batch's transaction, relayed by one
-- replica at a time (advisory lock), deleted once the broker acknowledged the message.
CREATE TABLE outbox (
    id             BIGSERIAL PRIMARY KEY,
    topic          TEXT NOT NULL,
    message_key    TEXT NOT NULL,
    payload        TEXT NOT NULL,
    headers        TEXT NOT NULL,
    -- Set before the first send: the partition, and its end offset then. A delivered copy of
    -- the message is at or after that offset, which is where an in-doubt check looks.
    out_partition  INTEGER,
    floor_offset   BIGINT,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
