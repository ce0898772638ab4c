package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/wagate/wagate/core"
)

const sessionColumns = `tenant, id, display_name, status, jid, push_name, settings, last_error,
	retry_at, connected_at, created_at, updated_at, desired, version, fence`

func sessionNotFound(key core.SessionKey) error {
	return core.Errorf(core.CodeNotFound, "session %q not found", key.ID)
}

// isUnique reports whether err is a violated primary key or unique constraint.
func isUnique(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// sessionArgs returns the column values of s, in sessionColumns order.
func sessionArgs(s core.Session) ([]any, error) {
	settings, err := json.Marshal(s.Settings)
	if err != nil {
		return nil, internal(err, "encode settings")
	}
	var lastErr sql.NullString
	if s.LastError != nil {
		b, err := json.Marshal(s.LastError)
		if err != nil {
			return nil, internal(err, "encode last error")
		}
		lastErr = sql.NullString{String: string(b), Valid: true}
	}
	return []any{s.Tenant, s.ID, s.DisplayName, string(s.Status), s.JID, s.PushName, string(settings), lastErr,
		optNanos(s.RetryAt), optNanos(s.ConnectedAt), nanos(s.CreatedAt), nanos(s.UpdatedAt), s.Desired, s.Version, s.Fence}, nil
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

func scanSession(row scanner) (core.Session, error) {
	var s core.Session
	var status, settings string
	var lastErr sql.NullString
	var retryAt, connectedAt sql.NullInt64
	var createdAt, updatedAt int64
	err := row.Scan(&s.Tenant, &s.ID, &s.DisplayName, &status, &s.JID, &s.PushName, &settings, &lastErr,
		&retryAt, &connectedAt, &createdAt, &updatedAt, &s.Desired, &s.Version, &s.Fence)
	if err != nil {
		return core.Session{}, err
	}
	s.Status = core.Status(status)
	if err := json.Unmarshal([]byte(settings), &s.Settings); err != nil {
		return core.Session{}, internal(err, "decode settings")
	}
	if lastErr.Valid {
		s.LastError = new(core.ErrorInfo)
		if err := json.Unmarshal([]byte(lastErr.String), s.LastError); err != nil {
			return core.Session{}, internal(err, "decode last error")
		}
		s.LastError.At = s.LastError.At.UTC()
	}
	s.RetryAt, s.ConnectedAt = fromOptNanos(retryAt), fromOptNanos(connectedAt)
	s.CreatedAt, s.UpdatedAt = fromNanos(createdAt), fromNanos(updatedAt)
	return s, nil
}

// CreateSession stores a new session with Version 1; CodeConflict if one exists.
func (db *DB) CreateSession(ctx context.Context, s core.Session) error {
	s.Version = 1
	args, err := sessionArgs(s)
	if err != nil {
		return err
	}
	return db.write(ctx, func(tx runner) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (`+sessionColumns+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`, args...)
		if isUnique(err) {
			return core.Errorf(core.CodeConflict, "session %q already exists", s.ID)
		}
		if err != nil {
			return internal(err, "insert session")
		}
		return nil
	})
}

// GetSession returns one session; CodeNotFound if the tenant has no such session.
func (db *DB) GetSession(ctx context.Context, key core.SessionKey) (core.Session, error) {
	row := db.read().QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE tenant = ? AND id = ?`, key.Tenant, key.ID)
	s, err := scanSession(row)
	if errors.Is(err, sql.ErrNoRows) {
		return core.Session{}, sessionNotFound(key)
	}
	if err != nil {
		return core.Session{}, internal(err, "read session")
	}
	return s, nil
}

// ListSessions returns a tenant's sessions ordered by id.
func (db *DB) ListSessions(ctx context.Context, tenant string) ([]core.Session, error) {
	return db.listSessions(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE tenant = ? ORDER BY id`, tenant)
}

// ListAllSessions returns every tenant's sessions ordered by tenant, then id.
func (db *DB) ListAllSessions(ctx context.Context) ([]core.Session, error) {
	return db.listSessions(ctx, `SELECT `+sessionColumns+` FROM sessions ORDER BY tenant, id`)
}

func (db *DB) listSessions(ctx context.Context, query string, args ...any) ([]core.Session, error) {
	rows, err := db.read().QueryContext(ctx, query, args...)
	if err != nil {
		return nil, internal(err, "list sessions")
	}
	defer rows.Close()
	out := []core.Session{}
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, internal(err, "read session")
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, internal(err, "list sessions")
	}
	return out, nil
}

// UpdateSession applies fn to the stored session and writes the result if the
// stored Version did not move meanwhile, retrying otherwise. fn runs outside any
// transaction, so it may call the store. The tenant and id cannot change; a result
// whose Fence is below the stored Fence is rejected with CodeConflict.
func (db *DB) UpdateSession(ctx context.Context, key core.SessionKey, fn func(*core.Session) error) (core.Session, error) {
	for attempt := 0; attempt < maxUpdateAttempts; attempt++ {
		cur, err := db.GetSession(ctx, key)
		if err != nil {
			return core.Session{}, err
		}
		next := cur
		if cur.LastError != nil {
			e := *cur.LastError
			next.LastError = &e
		}
		if err := fn(&next); err != nil {
			return core.Session{}, err
		}
		next.Tenant, next.ID = key.Tenant, key.ID
		if next.Fence < cur.Fence {
			return core.Session{}, core.Errorf(core.CodeConflict, "session %q is held by a newer lease (fence %d > %d)", key.ID, cur.Fence, next.Fence)
		}
		next.Version = cur.Version + 1
		args, err := sessionArgs(next)
		if err != nil {
			return core.Session{}, err
		}
		var updated bool
		err = db.write(ctx, func(tx runner) error {
			res, err := tx.ExecContext(ctx, `UPDATE sessions SET display_name = ?, status = ?, jid = ?, push_name = ?,
				settings = ?, last_error = ?, retry_at = ?, connected_at = ?, created_at = ?, updated_at = ?,
				desired = ?, version = ?, fence = ?
				WHERE tenant = ? AND id = ? AND version = ? AND fence <= ?`,
				slices.Concat(args[2:], []any{key.Tenant, key.ID, cur.Version, next.Fence})...)
			if err != nil {
				return internal(err, "update session")
			}
			n, err := res.RowsAffected()
			updated = n == 1
			return err
		})
		if err != nil {
			return core.Session{}, err
		}
		if updated {
			return next, nil
		}
	}
	return core.Session{}, core.Errorf(core.CodeConflict, "session %q changed too often to update", key.ID)
}

// DeleteSession removes the session with its QR, messages and results.
func (db *DB) DeleteSession(ctx context.Context, key core.SessionKey) error {
	return db.write(ctx, func(tx runner) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE tenant = ? AND id = ?`, key.Tenant, key.ID)
		if err != nil {
			return internal(err, "delete session")
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return sessionNotFound(key)
		}
		for _, table := range []string{"qr", "messages", "results"} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE tenant = ? AND session_id = ?`, key.Tenant, key.ID); err != nil {
				return internal(err, fmt.Sprintf("delete session %s", table))
			}
		}
		return nil
	})
}

// PutQR replaces the session's current code.
func (db *DB) PutQR(ctx context.Context, key core.SessionKey, qr core.QR) error {
	return db.write(ctx, func(tx runner) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO qr (tenant, session_id, code, expires_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (tenant, session_id) DO UPDATE SET code = excluded.code, expires_at = excluded.expires_at`,
			key.Tenant, key.ID, qr.Code, nanos(qr.ExpiresAt))
		if err != nil {
			return internal(err, "put qr")
		}
		return nil
	})
}

// GetQR returns the current code; CodeNotFound if there is none or it expired.
func (db *DB) GetQR(ctx context.Context, key core.SessionKey) (core.QR, error) {
	var qr core.QR
	var expires int64
	err := db.read().QueryRowContext(ctx, `SELECT code, expires_at FROM qr WHERE tenant = ? AND session_id = ? AND expires_at > ?`,
		key.Tenant, key.ID, nanos(db.now())).Scan(&qr.Code, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return core.QR{}, core.Errorf(core.CodeNotFound, "session %q has no current QR code", key.ID)
	}
	if err != nil {
		return core.QR{}, internal(err, "read qr")
	}
	qr.ExpiresAt = fromNanos(expires)
	return qr, nil
}

// DeleteQR removes the code; deleting none is not an error.
func (db *DB) DeleteQR(ctx context.Context, key core.SessionKey) error {
	return db.write(ctx, func(tx runner) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM qr WHERE tenant = ? AND session_id = ?`, key.Tenant, key.ID); err != nil {
			return internal(err, "delete qr")
		}
		return nil
	})
}
