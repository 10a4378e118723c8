-- Full-text search over cases (reference, complaint, notes, updates, what was done).
-- The text is broken into words by Mend before it is stored: Latin-script words whole,
-- Korean, Japanese and Chinese runs as overlapping two-character pieces (the usual way
-- to index scripts without spaces between words), so FTS5's unicode61 tokenizer only
-- has to split on spaces. A case's row number here is fixed (an explicit INTEGER PRIMARY
-- KEY survives VACUUM, the implicit rowid of `cases` would not).
CREATE TABLE case_search_rows (
    id INTEGER PRIMARY KEY,
    case_id TEXT NOT NULL UNIQUE REFERENCES cases(id)
);
CREATE VIRTUAL TABLE case_search USING fts5(
    terms,
    tokenize = 'unicode61 remove_diacritics 0'
);
