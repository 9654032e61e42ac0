-- memlm SQLite schema, version 3: superseded facts keep their row.
-- A fact the user has contradicted is not erased: it gets valid_to (when it stopped being
-- true, UTC) and superseded_by (the memory that replaced it, if any), stays in history and
-- export, and is hidden from recall unless asked for. NULL valid_to: current.
ALTER TABLE memories ADD COLUMN valid_to TEXT;
ALTER TABLE memories ADD COLUMN superseded_by TEXT;
