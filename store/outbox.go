package store

// outboxTable holds one row per reminder: (occurrence, offset, recipient).
// Owned by the reminders work (mailer); see mailer/.
const outboxTable = `CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY)`
