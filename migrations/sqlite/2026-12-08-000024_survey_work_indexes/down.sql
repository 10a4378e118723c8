DROP INDEX surveys_reminder_due;
DROP INDEX surveys_due;
CREATE INDEX surveys_due ON surveys (due_at);
