// Package sqlite keeps wagate's state and leases in an embedded SQLite database
// (core.State and core.LeaseStore), for the local binary and for a connector on a
// single host. It uses the pure-Go modernc.org/sqlite driver, so builds need no cgo.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/wagate/wagate/core"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// busyTimeout is how long a statement waits for another process's write lock.
const busyTimeout = 10 * time.Second

// maxUpdateAttempts bounds the optimistic-concurrency retries of one update.
const maxUpdateAttempts = 1000

// DB is a SQLite-backed core.State and core.LeaseStore. It is safe for concurrent
// use: reads run in parallel (WAL), writes of this process are serialized in Go so
// they never fail with SQLITE_BUSY (writes that arrive together share one commit,
// see write), and writes of other processes are waited for.
type DB struct {
	// Now returns the current time; it decides QR, idempotency and lease expiry.
	// Set it before first use (tests inject a fake clock).
	Now func() time.Time

	db      *sql.DB
	wmu     sync.Mutex  // guards writes and writing
	writes  []*writeReq // writes waiting for the next transaction
	writing bool        // a writer is running a transaction
	stmts   stmtCache
}

// Compile-time checks that DB implements the ports.
var (
	_ core.State      = (*DB)(nil)
	_ core.LeaseStore = (*DB)(nil)
)

// Open opens (creating it if needed) the database file at path and migrates its
// schema to the current version.
//
// The database uses WAL journaling with synchronous=NORMAL: a commit is not synced
// to disk by itself (the WAL is synced when it is checkpointed), so a crash of the
// process loses nothing, but a power cut or a crash of the machine may roll back
// the last commits. What that can undo here is recent and recoverable: a session
// status (rewritten on the next transition), a lease renewal (renewed again), an
// accepted message or its status. The one a user may notice: a message whose
// "sent" was rolled back is still queued after the restart and is sent again.
// FULL would close that window at the price of an fsync per commit, two per sent
// message; the whatsmeow key store, whose state cannot be rebuilt, keeps FULL.
//
// Each connection's page cache is capped at 512 KiB (SQLite's default is 2 MB): what
// is hot here is small (the sessions, the newest messages and their indexes), a miss
// is read from the operating system's file cache, and the process is meant to hold
// hundreds of sessions on a small machine. With 100 idle sessions that took 4-7 MB
// off the resident memory in the memory benchmark (BENCHMARKS.md).
func Open(ctx context.Context, path string) (*DB, error) {
	if path == "" || strings.ContainsRune(path, '?') || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("open sqlite: %q is not a plain file path", path)
	}
	dsn := fmt.Sprintf("%s?_txlock=immediate&_pragma=busy_timeout(%d)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_pragma=cache_size(-512)",
		path, busyTimeout.Milliseconds())
	sqldb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	sqldb.SetMaxIdleConns(4)
	db := &DB{Now: time.Now, db: sqldb}
	if err := db.migrate(ctx); err != nil {
		_ = sqldb.Close()
		return nil, err
	}
	return db, nil
}

// Close closes the database.
func (db *DB) Close() error {
	db.stmts.close()
	if err := db.db.Close(); err != nil {
		return fmt.Errorf("close sqlite: %w", err)
	}
	return nil
}

// migrate applies the migrations the database has not seen yet, in one transaction.
func (db *DB) migrate(ctx context.Context) error {
	return db.write(ctx, func(tx runner) error {
		if _, err := tx.Tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
			return fmt.Errorf("create schema_version: %w", err)
		}
		var version int
		err := tx.Tx.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&version)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if _, err := tx.Tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (0)`); err != nil {
				return fmt.Errorf("init schema_version: %w", err)
			}
		case err != nil:
			return fmt.Errorf("read schema version: %w", err)
		}
		if version > len(migrations) {
			return fmt.Errorf("database schema version %d is newer than this program knows (%d)", version, len(migrations))
		}
		for i := version; i < len(migrations); i++ {
			if _, err := tx.Tx.ExecContext(ctx, migrations[i]); err != nil {
				return fmt.Errorf("apply migration %d: %w", i+1, err)
			}
		}
		if _, err := tx.Tx.ExecContext(ctx, `UPDATE schema_version SET version = ?`, len(migrations)); err != nil {
			return fmt.Errorf("set schema version: %w", err)
		}
		return nil
	})
}

// internal wraps a database error that callers cannot act on.
func internal(err error, what string) error {
	var ce *core.Error
	if errors.As(err, &ce) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return core.WrapError(core.CodeInternal, err, "sqlite: "+what)
}

// now reads the clock in UTC.
func (db *DB) now() time.Time { return db.Now().UTC() }

// zeroNanos stands for the zero time.Time, which UnixNano cannot represent.
const zeroNanos = math.MinInt64

// nanos encodes t as UTC unix nanoseconds, the form every time column uses.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return zeroNanos
	}
	return t.UnixNano()
}

// fromNanos decodes a time column.
func fromNanos(n int64) time.Time {
	if n == zeroNanos {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// optNanos encodes an optional time as a nullable column.
func optNanos(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: nanos(*t), Valid: true}
}

// fromOptNanos decodes a nullable time column.
func fromOptNanos(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromNanos(n.Int64)
	return &t
}
