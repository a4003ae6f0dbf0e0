-- Durable outbox for Kafka publication (see migrations/postgres/0005_outbox.sql).
CREATE TABLE outbox (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    topic          TEXT NOT NULL,
    message_key    TEXT NOT NULL,
    payload        TEXT NOT NULL,
    headers        TEXT NOT NULL,
    out_partition  INTEGER,
    floor_offset   INTEGER,
    created_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
