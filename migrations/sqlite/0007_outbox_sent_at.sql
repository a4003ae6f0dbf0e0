-- See migrations/postgres/0007_outbox_sent_at.sql. A julian day number (julianday('now')).
ALTER TABLE outbox ADD COLUMN sent_at REAL;
