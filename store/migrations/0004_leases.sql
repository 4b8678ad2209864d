-- Migration 4: outbox leases, so that several serve processes can share
-- one outbox. A row being sent ("sending") is claimed by one store:
-- claimed_by names it (host/pid/random), and lease_until (Unix
-- milliseconds) is when another may take the row over, its sender having
-- died mid-send. claimed_by stays after the send, to tell who sent it.
ALTER TABLE outbox ADD COLUMN claimed_by TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;
