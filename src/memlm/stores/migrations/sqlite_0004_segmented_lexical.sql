-- memlm SQLite schema, version 4: Chinese is segmented into words in the full-text index.
-- The FTS5 body column holds base.lexical_text (Chinese runs split into space-separated words,
-- so unicode61 makes a token of each word). No table changes: the Python step
-- (migrate.STEPS: sqlite_lexical.reindex) re-indexes every existing row whose text has Chinese
-- in it; rows without Chinese index the same text as before and are left alone.
SELECT 1;
