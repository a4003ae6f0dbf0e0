-- When a relay marked a message as sent (database clock). Another relay only checks a
-- message's delivery once it is older than any send can take, so it never resends what a
-- relay that lost its lease is still delivering.
ALTER TABLE outbox ADD COLUMN sent_at TIMESTAMPTZ;
