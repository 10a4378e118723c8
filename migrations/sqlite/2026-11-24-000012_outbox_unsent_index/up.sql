-- The outbox worker's claim takes the oldest due mails that are neither sent nor given up
-- on. Only those rows are in this index, in claim order, so a claim reads its batch off
-- the front instead of sorting every waiting mail (tens of thousands after a rush).
CREATE INDEX outbox_unsent ON outbox (next_attempt_at, id) WHERE sent_at IS NULL AND failed_at IS NULL;
