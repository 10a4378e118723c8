-- Full-text search over cases (reference, complaint, notes, updates, what was done).
-- The text is broken into words by Mend before it is stored: Latin-script words whole,
-- Korean, Japanese and Chinese runs as overlapping two-character pieces (the usual way
-- to index scripts without spaces between words); the 'simple' configuration then only
-- splits on spaces and keeps positions, so a piece sequence is found as a phrase.
-- created_at is the case's, so the newest matches come first without a sort of them all.
CREATE TABLE case_search (
    case_id TEXT PRIMARY KEY REFERENCES cases(id),
    created_at TIMESTAMP NOT NULL,
    terms TSVECTOR NOT NULL
);
CREATE INDEX case_search_terms ON case_search USING GIN (terms);
CREATE INDEX case_search_newest ON case_search (created_at DESC);
