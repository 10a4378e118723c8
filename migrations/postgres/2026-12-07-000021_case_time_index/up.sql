-- Lists of a chain's cases, newest first (the REST API's, an inbox of many stores): walk
-- the cases by time and stop after a page, instead of sorting every case of every store.
-- The open cases have an index of their own: most cases are resolved.
CREATE INDEX cases_created ON cases (created_at, id);
CREATE INDEX cases_open_created ON cases (created_at, id)
    WHERE resolved_at IS NULL AND merged_into IS NULL;
