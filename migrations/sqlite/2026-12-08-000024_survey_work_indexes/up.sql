-- The outbox worker asks every second which surveys are due to be sent and which need a
-- reminder. `surveys_due` held every survey ever made, so the first question walked all of
-- them (a demo year of 200 stores: 68,000 rows, tens of ms of CPU each second, the API
-- list's latency tail), and the second had no index at all. Like `escalations_pending`,
-- these hold only the surveys still waiting for that step.
DROP INDEX surveys_due;
CREATE INDEX surveys_due ON surveys (due_at) WHERE sent_at IS NULL;
CREATE INDEX surveys_reminder_due ON surveys (sent_at)
    WHERE answered_at IS NULL AND reminded_at IS NULL AND recipient IS NOT NULL;
