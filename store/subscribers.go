package store

// subscribersTable holds the people who signed up on the web page.
// Owned by the web work; see web/.
const subscribersTable = `CREATE TABLE IF NOT EXISTS subscribers (id INTEGER PRIMARY KEY)`
