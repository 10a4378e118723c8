DROP INDEX cases_open_created;
DROP INDEX cases_created;
