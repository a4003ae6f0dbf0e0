-- Batches are written with COPY (decision 0007), which leaves committed_at to its default:
-- now(), the committing transaction's start, the value the INSERT path wrote.
ALTER TABLE transactions ALTER COLUMN committed_at SET DEFAULT now();
ALTER TABLE quarantine ALTER COLUMN committed_at SET DEFAULT now();
