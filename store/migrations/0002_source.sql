-- Migration 2: source keeps the text of the last events.toml that loaded
-- well, by the file's absolute path, so that a daemon started on a file
-- that does not load serves the last good schedule. Owned by reload/.
CREATE TABLE IF NOT EXISTS source (
	name   TEXT PRIMARY KEY,
	data   BLOB NOT NULL,
	loaded INTEGER NOT NULL
) WITHOUT ROWID;
