package sqlite

// migrations are applied in order; schema_version holds how many ran. Never edit
// one that shipped: append a new one. Times are UTC unix nanoseconds
// (-9223372036854775808 for the zero time).
var migrations = []string{
	`
CREATE TABLE sessions (
	tenant       TEXT    NOT NULL,
	id           TEXT    NOT NULL,
	display_name TEXT    NOT NULL,
	status       TEXT    NOT NULL,
	jid          TEXT    NOT NULL,
	push_name    TEXT    NOT NULL,
	settings     TEXT    NOT NULL, -- JSON core.Settings
	last_error   TEXT,             -- JSON core.ErrorInfo
	retry_at     INTEGER,
	connected_at INTEGER,
	created_at   INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL,
	desired      INTEGER NOT NULL,
	version      INTEGER NOT NULL,
	fence        INTEGER NOT NULL,
	PRIMARY KEY (tenant, id)
) WITHOUT ROWID;

CREATE TABLE qr (
	tenant     TEXT    NOT NULL,
	session_id TEXT    NOT NULL,
	code       TEXT    NOT NULL,
	expires_at INTEGER NOT NULL,
	PRIMARY KEY (tenant, session_id)
) WITHOUT ROWID;

CREATE TABLE messages (
	tenant     TEXT    NOT NULL,
	session_id TEXT    NOT NULL,
	id         TEXT    NOT NULL,
	direction  TEXT    NOT NULL,
	chat       TEXT    NOT NULL,
	from_jid   TEXT    NOT NULL,
	to_jid     TEXT    NOT NULL,
	text       TEXT    NOT NULL,
	status     TEXT    NOT NULL,
	error      TEXT    NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (tenant, session_id, id)
) WITHOUT ROWID;
CREATE INDEX messages_newest ON messages (tenant, session_id, created_at DESC, id DESC);
CREATE INDEX messages_newest_by_direction ON messages (tenant, session_id, direction, created_at DESC, id DESC);

CREATE TABLE idempotency (
	tenant       TEXT    NOT NULL,
	key          TEXT    NOT NULL,
	request_hash TEXT    NOT NULL,
	status_code  INTEGER NOT NULL,
	body         BLOB,
	created_at   INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL,
	PRIMARY KEY (tenant, key)
) WITHOUT ROWID;
CREATE INDEX idempotency_expiry ON idempotency (expires_at);

CREATE TABLE results (
	tenant     TEXT    NOT NULL,
	command_id TEXT    NOT NULL,
	session_id TEXT    NOT NULL,
	type       TEXT    NOT NULL,
	data       BLOB,
	error      TEXT, -- JSON core.ErrorInfo
	at         INTEGER NOT NULL,
	PRIMARY KEY (tenant, command_id)
) WITHOUT ROWID;
CREATE INDEX results_by_session ON results (tenant, session_id);

CREATE TABLE diagnostics (
	slot   INTEGER PRIMARY KEY CHECK (slot = 1), -- only the latest report is kept
	report TEXT NOT NULL                        -- JSON core.Report
);

CREATE TABLE heartbeats (
	connector_id   TEXT    NOT NULL PRIMARY KEY,
	version        TEXT    NOT NULL,
	sessions       INTEGER NOT NULL,
	started_at     INTEGER NOT NULL,
	at             INTEGER NOT NULL,
	diagnostics_ok INTEGER
) WITHOUT ROWID;
CREATE INDEX heartbeats_at ON heartbeats (at);

CREATE TABLE leases (
	tenant      TEXT    NOT NULL,
	session_id  TEXT    NOT NULL,
	owner       TEXT    NOT NULL,
	fence       INTEGER NOT NULL,
	version     INTEGER NOT NULL,
	until       INTEGER NOT NULL,
	duration_ns INTEGER NOT NULL,
	PRIMARY KEY (tenant, session_id)
) WITHOUT ROWID;
`,
}
