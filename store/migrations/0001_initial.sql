-- Migration 1: the schema of the first release. Each table is owned by a
-- part of the program, named in its comment. A later change is a new file
-- (0002_what.sql, ...); never edit a file that has been released.

-- versions holds the version of every published calendar component and
-- document: the fingerprint of its content and its SEQUENCE. Owned by feed.
CREATE TABLE IF NOT EXISTS versions (
	key         TEXT PRIMARY KEY,
	fingerprint TEXT NOT NULL,
	sequence    INTEGER NOT NULL,
	created     INTEGER NOT NULL,
	modified    INTEGER NOT NULL
) WITHOUT ROWID;

-- outbox holds one row per message the mailer owes someone: a
-- reminder per (occurrence, offset, recipient), and the "moved" and
-- "cancelled" notices. Owned by the reminders work; see mailer/.
--
-- Instants are Unix milliseconds. ident is what makes a row unique (the
-- mailer derives the Message-ID from it), so a row is never planned
-- twice and a re-plan updates rows in place.
CREATE TABLE IF NOT EXISTS outbox (
	id          INTEGER PRIMARY KEY,
	ident       TEXT NOT NULL UNIQUE,
	kind        TEXT NOT NULL,
	occurrence  TEXT NOT NULL,
	offset_ms   INTEGER NOT NULL,
	recipient   TEXT NOT NULL,
	zone        TEXT NOT NULL,
	unsubscribe TEXT NOT NULL DEFAULT '',
	title       TEXT NOT NULL,
	starts      INTEGER NOT NULL,
	prev_starts INTEGER NOT NULL DEFAULT 0,
	due         INTEGER NOT NULL,
	next_try    INTEGER NOT NULL,
	state       TEXT NOT NULL,
	attempts    INTEGER NOT NULL DEFAULT 0,
	last_error  TEXT NOT NULL DEFAULT '',
	sent_at     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS outbox_next ON outbox (state, next_try);
CREATE INDEX IF NOT EXISTS outbox_starts ON outbox (starts);

-- subscribers holds the people who signed up on the web page, and
-- the secrets that sign their links. Owned by the web work; see web/.
--
-- A row exists from the first sign-up on; confirmed turns 1 when the
-- confirmation link is followed. pending names the open confirmation
-- (NULL when none) and carries the zone and series it will apply, so that
-- a known address can change its choices only through its mailbox. key
-- names the subscriber in unsubscribe links. mails and mail_window count
-- the confirmation mails sent to the address, for its rate limit.
CREATE TABLE IF NOT EXISTS subscribers (
	id              INTEGER PRIMARY KEY,
	email           TEXT NOT NULL UNIQUE COLLATE NOCASE,
	zone            TEXT NOT NULL,
	series          TEXT NOT NULL DEFAULT '',
	confirmed       INTEGER NOT NULL DEFAULT 0,
	created         INTEGER NOT NULL,
	key             TEXT NOT NULL UNIQUE,
	pending         TEXT UNIQUE,
	pending_zone    TEXT NOT NULL DEFAULT '',
	pending_series  TEXT NOT NULL DEFAULT '',
	pending_expires INTEGER NOT NULL DEFAULT 0,
	mails           INTEGER NOT NULL DEFAULT 0,
	mail_window     INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS secrets (
	name  TEXT PRIMARY KEY,
	value BLOB NOT NULL
) WITHOUT ROWID;
