-- memlm PostgreSQL schema, version 2 (as sqlite_0004): Chinese is segmented into words in the
-- lexical index. tsv is to_tsvector('english', base.lexical_text): Chinese runs split into
-- space-separated words, each a lexeme. No table changes: the Python step (migrate.STEPS:
-- pg_sql.reindex) rebuilds the tsvector of every existing row whose text has Chinese in it.
SELECT 1;
