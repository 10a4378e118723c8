-- Surveys after resolution: when each is due, whom it goes to, and what the case looked
-- like when it was answered (for exports).
ALTER TABLE surveys ADD COLUMN kind TEXT NOT NULL DEFAULT 'satisfaction' CHECK (kind IN ('satisfaction', 'follow_up'));
-- NULL: the customer left no email and answers on their status page.
ALTER TABLE surveys ADD COLUMN recipient TEXT;
ALTER TABLE surveys ADD COLUMN language TEXT NOT NULL DEFAULT 'en';
ALTER TABLE surveys ADD COLUMN due_at TIMESTAMP;
ALTER TABLE surveys ADD COLUMN reminded_at TIMESTAMP;
-- The follow-up's answer: is everything still working?
ALTER TABLE surveys ADD COLUMN still_working BOOLEAN;
ALTER TABLE surveys ADD COLUMN location_id TEXT;
ALTER TABLE surveys ADD COLUMN touchpoint_id TEXT;
ALTER TABLE surveys ADD COLUMN category TEXT;
ALTER TABLE surveys ADD COLUMN root_cause TEXT;
ALTER TABLE surveys ADD COLUMN compensation_type TEXT;
ALTER TABLE surveys ADD COLUMN compensation_minor INTEGER;
ALTER TABLE surveys ADD COLUMN compensation_currency TEXT;
CREATE INDEX surveys_due ON surveys (due_at);
CREATE INDEX surveys_recipient ON surveys (recipient, created_at);

-- Per location: when the survey goes out, when the follow-up, and what an unhappy answer does.
ALTER TABLE locations ADD COLUMN survey_delay_minutes INTEGER NOT NULL DEFAULT 60 CHECK (survey_delay_minutes >= 0);
ALTER TABLE locations ADD COLUMN follow_up_days INTEGER NOT NULL DEFAULT 7 CHECK (follow_up_days > 0);
ALTER TABLE locations ADD COLUMN unhappy_reopens BOOLEAN NOT NULL DEFAULT TRUE;

-- Customers who asked for no more mail.
CREATE TABLE mail_opt_outs (
    email      TEXT PRIMARY KEY NOT NULL,
    created_at TIMESTAMP NOT NULL
);
