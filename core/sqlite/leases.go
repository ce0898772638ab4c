package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/wagate/wagate/core"
)

func readLease(ctx context.Context, queryRow queryRowFunc, key core.SessionKey) (core.Lease, bool, error) {
	l := core.Lease{Key: key}
	var until, duration int64
	err := queryRow(ctx, `SELECT owner, fence, version, until, duration_ns FROM leases WHERE tenant = ? AND session_id = ?`,
		key.Tenant, key.ID).Scan(&l.Owner, &l.Fence, &l.Version, &until, &duration)
	if errors.Is(err, sql.ErrNoRows) {
		return core.Lease{}, false, nil
	}
	if err != nil {
		return core.Lease{}, false, internal(err, "read lease")
	}
	l.Until, l.Duration = fromNanos(until), time.Duration(duration)
	return l, true, nil
}

// ReadLease returns the current lease record of a session; CodeNotFound if there is
// none. A released lease is a record with an empty Owner.
func (db *DB) ReadLease(ctx context.Context, key core.SessionKey) (core.Lease, error) {
	l, ok, err := readLease(ctx, db.read().QueryRowContext, key)
	if err != nil {
		return core.Lease{}, err
	}
	if !ok {
		return core.Lease{}, core.Errorf(core.CodeNotFound, "session %q has no lease", key.ID)
	}
	return l, nil
}

// TakeLease makes owner the holder if the record's Version still equals
// expectVersion (0: no record exists), incrementing Fence and Version.
func (db *DB) TakeLease(ctx context.Context, key core.SessionKey, owner string, d time.Duration, expectVersion int64) (core.Lease, error) {
	if owner == "" || d <= 0 {
		return core.Lease{}, core.Errorf(core.CodeInvalid, "a lease needs an owner and a positive duration")
	}
	var out core.Lease
	err := db.write(ctx, func(tx runner) error {
		cur, ok, err := readLease(ctx, tx.QueryRowContext, key)
		if err != nil {
			return err
		}
		if (!ok && expectVersion != 0) || (ok && cur.Version != expectVersion) {
			return core.Errorf(core.CodeConflict, "lease of session %q changed", key.ID)
		}
		out = core.Lease{Key: key, Owner: owner, Fence: cur.Fence + 1, Version: cur.Version + 1, Until: db.now().Add(d), Duration: d}
		return putLease(ctx, tx, out)
	})
	if err != nil {
		return core.Lease{}, err
	}
	return out, nil
}

func putLease(ctx context.Context, tx runner, l core.Lease) error {
	_, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO leases (tenant, session_id, owner, fence, version, until, duration_ns)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, l.Key.Tenant, l.Key.ID, l.Owner, l.Fence, l.Version, nanos(l.Until), int64(l.Duration))
	if err != nil {
		return internal(err, "write lease")
	}
	return nil
}

// RenewLease extends l by d from now if owner and fence are unchanged; CodeConflict
// otherwise.
func (db *DB) RenewLease(ctx context.Context, l core.Lease, d time.Duration) (core.Lease, error) {
	if d <= 0 {
		return core.Lease{}, core.Errorf(core.CodeInvalid, "a lease needs a positive duration")
	}
	var out core.Lease
	err := db.write(ctx, func(tx runner) error {
		cur, err := held(ctx, tx, l)
		if err != nil {
			return err
		}
		cur.Version++
		cur.Until, cur.Duration = db.now().Add(d), d
		out = cur
		return putLease(ctx, tx, cur)
	})
	if err != nil {
		return core.Lease{}, err
	}
	return out, nil
}

// ReleaseLease gives l up if owner and fence are unchanged, so another connector can
// take it at once; CodeConflict otherwise. The record stays, with an empty Owner, so
// the fence keeps increasing.
func (db *DB) ReleaseLease(ctx context.Context, l core.Lease) error {
	return db.write(ctx, func(tx runner) error {
		cur, err := held(ctx, tx, l)
		if err != nil {
			return err
		}
		cur.Version++
		cur.Owner, cur.Until, cur.Duration = "", time.Time{}, 0
		return putLease(ctx, tx, cur)
	})
}

// held returns the stored lease if l's owner still holds it with l's fence.
func held(ctx context.Context, tx runner, l core.Lease) (core.Lease, error) {
	cur, ok, err := readLease(ctx, tx.QueryRowContext, l.Key)
	if err != nil {
		return core.Lease{}, err
	}
	if !ok || l.Owner == "" || cur.Owner != l.Owner || cur.Fence != l.Fence {
		return core.Lease{}, core.Errorf(core.CodeConflict, "lease of session %q is no longer held by %q", l.Key.ID, l.Owner)
	}
	return cur, nil
}
