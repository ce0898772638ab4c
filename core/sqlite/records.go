package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/wagate/wagate/core"
)

// PutIdempotency stores rec unless a live record with the same tenant and key
// exists, in which case it returns that record and false. A record is live until its
// ExpiresAt; expired records are deleted on the way.
func (db *DB) PutIdempotency(ctx context.Context, rec core.IdempotencyRecord) (core.IdempotencyRecord, bool, error) {
	if rec.ExpiresAt.IsZero() {
		return core.IdempotencyRecord{}, false, core.Errorf(core.CodeInvalid, "idempotency record needs an expiry")
	}
	var out core.IdempotencyRecord
	var stored bool
	err := db.write(ctx, func(tx runner) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM idempotency WHERE expires_at <= ?`, nanos(db.now())); err != nil {
			return internal(err, "delete expired idempotency records")
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO idempotency (tenant, key, request_hash, status_code, body, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant, key) DO NOTHING`,
			rec.Tenant, rec.Key, rec.RequestHash, rec.StatusCode, rec.Body, nanos(rec.CreatedAt), nanos(rec.ExpiresAt))
		if err != nil {
			return internal(err, "insert idempotency record")
		}
		if n, err := res.RowsAffected(); err != nil {
			return internal(err, "insert idempotency record")
		} else if n == 1 {
			out, stored = rec, true
			return nil
		}
		var created, expires int64
		out = core.IdempotencyRecord{Tenant: rec.Tenant, Key: rec.Key}
		err = tx.QueryRowContext(ctx, `SELECT request_hash, status_code, body, created_at, expires_at FROM idempotency
			WHERE tenant = ? AND key = ?`, rec.Tenant, rec.Key).Scan(&out.RequestHash, &out.StatusCode, &out.Body, &created, &expires)
		if err != nil {
			return internal(err, "read idempotency record")
		}
		out.CreatedAt, out.ExpiresAt = fromNanos(created), fromNanos(expires)
		return nil
	})
	if err != nil {
		return core.IdempotencyRecord{}, false, err
	}
	return out, stored, nil
}

// DeleteIdempotency forgets a record; forgetting none is not an error.
func (db *DB) DeleteIdempotency(ctx context.Context, tenant, key string) error {
	return db.exec(ctx, "delete idempotency record", `DELETE FROM idempotency WHERE tenant = ? AND key = ?`, tenant, key)
}

// exec runs one write statement.
func (db *DB) exec(ctx context.Context, what, query string, args ...any) error {
	return db.write(ctx, func(tx runner) error {
		if _, err := tx.ExecContext(ctx, query, args...); err != nil {
			return internal(err, what)
		}
		return nil
	})
}

// PutResult stores a command's result, replacing an earlier one for that command.
func (db *DB) PutResult(ctx context.Context, r core.CommandResult) error {
	var errInfo sql.NullString
	if r.Error != nil {
		b, err := json.Marshal(r.Error)
		if err != nil {
			return internal(err, "encode result error")
		}
		errInfo = sql.NullString{String: string(b), Valid: true}
	}
	return db.exec(ctx, "put result", `INSERT OR REPLACE INTO results (tenant, command_id, session_id, type, data, error, at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, r.Tenant, r.CommandID, r.SessionID, string(r.Type), []byte(r.Data), errInfo, nanos(r.At))
}

// GetResult returns the result of a command; CodeNotFound while there is none.
func (db *DB) GetResult(ctx context.Context, tenant, commandID string) (core.CommandResult, error) {
	r := core.CommandResult{Tenant: tenant, CommandID: commandID}
	var typ string
	var data []byte
	var errInfo sql.NullString
	var at int64
	err := db.read().QueryRowContext(ctx, `SELECT session_id, type, data, error, at FROM results WHERE tenant = ? AND command_id = ?`,
		tenant, commandID).Scan(&r.SessionID, &typ, &data, &errInfo, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return core.CommandResult{}, core.Errorf(core.CodeNotFound, "no result for command %q yet", commandID)
	}
	if err != nil {
		return core.CommandResult{}, internal(err, "read result")
	}
	r.Type, r.At = core.CommandType(typ), fromNanos(at)
	if len(data) > 0 {
		r.Data = json.RawMessage(data)
	}
	if errInfo.Valid {
		r.Error = new(core.ErrorInfo)
		if err := json.Unmarshal([]byte(errInfo.String), r.Error); err != nil {
			return core.CommandResult{}, internal(err, "decode result error")
		}
		r.Error.At = r.Error.At.UTC()
	}
	return r, nil
}

// PutReport stores r as the latest report.
func (db *DB) PutReport(ctx context.Context, r core.Report) error {
	b, err := json.Marshal(r)
	if err != nil {
		return internal(err, "encode report")
	}
	return db.exec(ctx, "put report", `INSERT OR REPLACE INTO diagnostics (slot, report) VALUES (1, ?)`, string(b))
}

// LatestReport returns the latest report; CodeNotFound when none ran yet.
func (db *DB) LatestReport(ctx context.Context) (core.Report, error) {
	var b string
	err := db.read().QueryRowContext(ctx, `SELECT report FROM diagnostics WHERE slot = 1`).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return core.Report{}, core.Errorf(core.CodeNotFound, "no diagnostics report yet")
	}
	if err != nil {
		return core.Report{}, internal(err, "read report")
	}
	var r core.Report
	if err := json.Unmarshal([]byte(b), &r); err != nil {
		return core.Report{}, internal(err, "decode report")
	}
	r.StartedAt, r.FinishedAt = r.StartedAt.UTC(), r.FinishedAt.UTC()
	return r, nil
}

// PutHeartbeat records that a connector is alive, replacing its previous heartbeat.
func (db *DB) PutHeartbeat(ctx context.Context, h core.Heartbeat) error {
	var ok sql.NullBool
	if h.DiagnosticsOK != nil {
		ok = sql.NullBool{Bool: *h.DiagnosticsOK, Valid: true}
	}
	return db.exec(ctx, "put heartbeat", `INSERT OR REPLACE INTO heartbeats (connector_id, version, sessions, started_at, at, diagnostics_ok)
		VALUES (?, ?, ?, ?, ?, ?)`, h.ConnectorID, h.Version, h.Sessions, nanos(h.StartedAt), nanos(h.At), ok)
}

// ListHeartbeats returns each connector's latest heartbeat if its At is not before
// since, ordered by connector id.
func (db *DB) ListHeartbeats(ctx context.Context, since time.Time) ([]core.Heartbeat, error) {
	rows, err := db.read().QueryContext(ctx, `SELECT connector_id, version, sessions, started_at, at, diagnostics_ok
		FROM heartbeats WHERE at >= ? ORDER BY connector_id`, nanos(since))
	if err != nil {
		return nil, internal(err, "list heartbeats")
	}
	defer rows.Close()
	out := []core.Heartbeat{}
	for rows.Next() {
		var h core.Heartbeat
		var started, at int64
		var ok sql.NullBool
		if err := rows.Scan(&h.ConnectorID, &h.Version, &h.Sessions, &started, &at, &ok); err != nil {
			return nil, internal(err, "read heartbeat")
		}
		h.StartedAt, h.At = fromNanos(started), fromNanos(at)
		if ok.Valid {
			h.DiagnosticsOK = &ok.Bool
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, internal(err, "list heartbeats")
	}
	return out, nil
}
