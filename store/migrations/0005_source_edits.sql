-- Migration 5: an edit of events.toml is kept as what it changed, not as
-- the whole text again (30 MB at 100,000 sessions). source_edit holds,
-- in order, each edit since source.data was written whole: how many
-- bytes of the text before it it keeps from the start (prefix) and from
-- the end (suffix), and the bytes between (middle). source.edits counts
-- them, so that a writer that did not write the last one (another
-- replica) writes the text whole instead. Owned by reload/.
ALTER TABLE source ADD COLUMN edits INTEGER NOT NULL DEFAULT 0;
CREATE TABLE IF NOT EXISTS source_edit (
	name   TEXT NOT NULL,
	seq    INTEGER NOT NULL,
	prefix INTEGER NOT NULL,
	suffix INTEGER NOT NULL,
	middle BLOB NOT NULL,
	PRIMARY KEY (name, seq)
) WITHOUT ROWID;
