-- Migration 3: bounces. refused counts the reminders in a row whose
-- RCPT or DATA the subscriber's mail server answered with a permanent
-- (5xx) error, and last_reply keeps the last such answer; a delivered
-- reminder sets refused back to 0. At three, suspended holds when
-- (Unix seconds): no more mail goes to the address until it signs up and
-- confirms again or a maintainer adds it. Owned by mailer/ (bounces).
ALTER TABLE subscribers ADD COLUMN refused INTEGER NOT NULL DEFAULT 0;
ALTER TABLE subscribers ADD COLUMN last_reply TEXT NOT NULL DEFAULT '';
ALTER TABLE subscribers ADD COLUMN suspended INTEGER NOT NULL DEFAULT 0;
