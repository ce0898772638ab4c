package core

import (
	"context"
	"time"
)

// SessionStore keeps sessions. Methods return an error with CodeNotFound for a
// session that does not exist for that tenant.
type SessionStore interface {
	// CreateSession stores a new session; CodeConflict if one exists with that key.
	CreateSession(ctx context.Context, s Session) error
	// GetSession returns one session.
	GetSession(ctx context.Context, key SessionKey) (Session, error)
	// ListSessions returns a tenant's sessions ordered by id.
	ListSessions(ctx context.Context, tenant string) ([]Session, error)
	// ListAllSessions returns every tenant's sessions (connector restore at start).
	ListAllSessions(ctx context.Context) ([]Session, error)
	// UpdateSession applies fn to the stored session and writes the result atomically
	// (optimistic concurrency on Version, retried on conflict). fn may be called more
	// than once; an error from fn aborts without writing. A result whose Fence is lower
	// than the stored Fence is rejected with CodeConflict (a stale lease holder).
	UpdateSession(ctx context.Context, key SessionKey, fn func(*Session) error) (Session, error)
	// DeleteSession removes the session with its QR, messages and results.
	DeleteSession(ctx context.Context, key SessionKey) error
}

// QRStore keeps the current QR code of sessions in status qr.
type QRStore interface {
	// PutQR replaces the session's current code.
	PutQR(ctx context.Context, key SessionKey, qr QR) error
	// GetQR returns the current code; CodeNotFound if none or expired.
	GetQR(ctx context.Context, key SessionKey) (QR, error)
	// DeleteQR removes the code (after pairing or timeout). Deleting none is not an error.
	DeleteQR(ctx context.Context, key SessionKey) error
}

// MessageStore keeps a session's messages.
type MessageStore interface {
	// PutMessage stores a new message; CodeConflict if that id exists in the session.
	PutMessage(ctx context.Context, m Message) error
	// GetMessage returns one message.
	GetMessage(ctx context.Context, key SessionKey, id string) (Message, error)
	// UpdateMessage applies fn to the stored message and writes it atomically.
	UpdateMessage(ctx context.Context, key SessionKey, id string, fn func(*Message) error) (Message, error)
	// ListMessages returns a page of messages, newest first; CodeInvalid for a bad cursor.
	ListMessages(ctx context.Context, key SessionKey, q MessageQuery) (MessagePage, error)
}

// IdempotencyRecord remembers the response to a request made with an Idempotency-Key.
type IdempotencyRecord struct {
	Tenant      string
	Key         string // the session id and the header value, as the handler scopes it
	RequestHash string // hash of method, path and body
	StatusCode  int
	Body        []byte
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// IdempotencyStore keeps idempotency records until they expire.
type IdempotencyStore interface {
	// PutIdempotency stores rec unless a live record with the same tenant and key exists,
	// in which case it returns that record and false. Atomic: of concurrent callers
	// exactly one gets true.
	PutIdempotency(ctx context.Context, rec IdempotencyRecord) (IdempotencyRecord, bool, error)
	// DeleteIdempotency forgets a record (when the request it guarded failed).
	DeleteIdempotency(ctx context.Context, tenant, key string) error
}

// ResultStore keeps results of commands a caller waits for (pair codes, diagnostics).
type ResultStore interface {
	// PutResult stores a command's result.
	PutResult(ctx context.Context, r CommandResult) error
	// GetResult returns the result of a command; CodeNotFound while there is none.
	GetResult(ctx context.Context, tenant, commandID string) (CommandResult, error)
}

// DiagnosticsStore keeps the latest diagnostics report.
type DiagnosticsStore interface {
	// PutReport stores r as the latest report.
	PutReport(ctx context.Context, r Report) error
	// LatestReport returns the latest report; CodeNotFound when none ran yet.
	LatestReport(ctx context.Context) (Report, error)
}

// HeartbeatStore keeps connector heartbeats.
type HeartbeatStore interface {
	// PutHeartbeat records that a connector is alive.
	PutHeartbeat(ctx context.Context, h Heartbeat) error
	// ListHeartbeats returns the heartbeats written since the given time.
	ListHeartbeats(ctx context.Context, since time.Time) ([]Heartbeat, error)
}

// State is everything the API handlers and the connector keep in the state store
// (the state table in AWS, SQLite locally). Adapters implement all of it.
type State interface {
	SessionStore
	QRStore
	MessageStore
	IdempotencyStore
	ResultStore
	DiagnosticsStore
	HeartbeatStore
}

// CommandSender puts commands on the commands bus (the API side).
type CommandSender interface {
	// SendCommand enqueues c; commands of one session are delivered in order, and a
	// command id sent twice is delivered once (within the bus's dedup window).
	SendCommand(ctx context.Context, c Command) error
}

// CommandHandler applies one command. Returning nil acknowledges it (the bus deletes
// it); an error leaves it for redelivery, and the bus moves a command that keeps
// failing to its dead-letter queue.
type CommandHandler func(ctx context.Context, c Command) error

// CommandConsumer delivers commands to a handler (the connector side).
type CommandConsumer interface {
	// ConsumeCommands calls h for each command until ctx is done. Commands of one
	// session are handled one at a time, in order; different sessions in parallel.
	ConsumeCommands(ctx context.Context, h CommandHandler) error
}

// EventPublisher publishes events (connector → events queue / SSE / webhooks).
type EventPublisher interface {
	// PublishEvent publishes e. It may block briefly; it never drops e silently.
	PublishEvent(ctx context.Context, e Event) error
}

// Lease is one connector's claim on a session: only the owner may connect it.
type Lease struct {
	Key   SessionKey
	Owner string
	// Fence increases on every take; writes guarded by it fail for an old holder.
	Fence int64
	// Version changes on every write (take, renew, release). A waiting connector takes
	// an expired lease only after seeing the same Version for a full lease duration on
	// its own monotonic clock, so clock skew between hosts never yields two holders.
	Version int64
	// Until is the owner's claimed expiry (informational: wall clocks are not trusted).
	Until time.Time
	// Duration is the lease length the owner claimed.
	Duration time.Duration
}

// LeaseStore keeps session leases. Errors: CodeNotFound from ReadLease when there is
// no lease record, CodeConflict when a conditional write loses.
type LeaseStore interface {
	// ReadLease returns the current lease record of a session.
	ReadLease(ctx context.Context, key SessionKey) (Lease, error)
	// TakeLease makes owner the holder if the record's version still equals
	// expectVersion (0: no record exists), incrementing Fence.
	TakeLease(ctx context.Context, key SessionKey, owner string, d time.Duration, expectVersion int64) (Lease, error)
	// RenewLease extends l if owner and fence are unchanged.
	RenewLease(ctx context.Context, l Lease, d time.Duration) (Lease, error)
	// ReleaseLease gives l up if owner and fence are unchanged, so another connector
	// can take it at once.
	ReleaseLease(ctx context.Context, l Lease) error
}
