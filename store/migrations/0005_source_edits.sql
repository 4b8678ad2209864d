-- Migration 5: an edit of events.toml is kept as what it changed, not as
-- the whole text again (30 MB at 100,000 sessions). source_edit holds,
-- in order (seq from 1), each edit since source.data was written whole:
-- how many bytes of the text before it it keeps from the start (prefix)
-- and from the end (suffix), the bytes between (middle), and when it
-- loaded; seq 0 holds, as middle, a random id written with the whole
-- text, so that an edit is recorded only on the text it edits. The row
-- in source is not touched, nor read, by an edit: SQLite would write
-- or read its whole text again. Owned by reload/.
CREATE TABLE IF NOT EXISTS source_edit (
	name   TEXT NOT NULL,
	seq    INTEGER NOT NULL,
	prefix INTEGER NOT NULL,
	suffix INTEGER NOT NULL,
	middle BLOB NOT NULL,
	loaded INTEGER NOT NULL,
	PRIMARY KEY (name, seq)
) WITHOUT ROWID;
