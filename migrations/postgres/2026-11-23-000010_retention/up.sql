-- Privacy: a resolved case's customer contact and photos are erased this many days
-- after resolution; the case stays, anonymized (anonymized_at says when).
ALTER TABLE locations ADD COLUMN retention_days INTEGER NOT NULL DEFAULT 180;
ALTER TABLE cases ADD COLUMN anonymized_at TIMESTAMP;
