package sqlite

import (
	"context"
)

// writeReq is one write waiting for its turn.
type writeReq struct {
	ctx context.Context
	fn  func(tx runner) error
	err error
	// turn receives true when this write's goroutine is to run the next
	// transaction, and false once its own write is done (err is set).
	turn chan bool
}

// write runs fn in a transaction, committing if fn returns nil; fn must not call the
// store. Writes of this process run one transaction at a time. Writes that arrive
// while a transaction runs wait and then share one transaction, each inside its own
// savepoint: a write whose fn fails is undone alone, and the others commit together,
// so a burst of small writes (message statuses, leases) costs one commit, not one
// each. A single write runs exactly as on its own. If the shared transaction itself
// fails (begin, savepoint, commit), every write in it fails with that error.
func (db *DB) write(ctx context.Context, fn func(tx runner) error) error {
	req := &writeReq{ctx: ctx, fn: fn, turn: make(chan bool, 1)}
	db.wmu.Lock()
	db.writes = append(db.writes, req)
	if !db.writing {
		db.writing = true
		req.turn <- true
	}
	db.wmu.Unlock()
	for <-req.turn {
		db.runWrites()
	}
	return req.err
}

// runWrites runs every waiting write in one transaction, then hands the next turn
// to the first write that arrived meanwhile, if any.
func (db *DB) runWrites() {
	db.wmu.Lock()
	batch := db.writes
	db.writes = nil
	db.wmu.Unlock()

	live := batch[:0:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err = err
			continue
		}
		live = append(live, r)
	}
	switch len(live) {
	case 0:
	case 1:
		live[0].err = db.runOne(live[0].ctx, live[0].fn)
	default:
		db.runShared(live)
	}

	db.wmu.Lock()
	if len(db.writes) > 0 {
		db.writes[0].turn <- true
	} else {
		db.writing = false
	}
	db.wmu.Unlock()
	for _, r := range batch {
		r.turn <- false
	}
}

// runOne runs fn in a transaction of its own.
func (db *DB) runOne(ctx context.Context, fn func(tx runner) error) error {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return internal(err, "begin transaction")
	}
	if err := fn(runner{Tx: tx, db: db}); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return internal(err, "commit")
	}
	return nil
}

// runShared runs several writes in one transaction, each in a savepoint, and sets
// each one's error.
func (db *DB) runShared(reqs []*writeReq) {
	// No one write's cancellation may roll back the others: each fn still runs its
	// statements with its own context.
	ctx := context.WithoutCancel(reqs[0].ctx)
	fail := func(err error) {
		for _, r := range reqs {
			if r.err == nil {
				r.err = err
			}
		}
	}
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		fail(internal(err, "begin transaction"))
		return
	}
	run := runner{Tx: tx, db: db}
	for _, r := range reqs {
		if err := savepoint(ctx, run, "SAVEPOINT w"); err != nil {
			_ = tx.Rollback()
			fail(internal(err, "savepoint"))
			return
		}
		if r.err = r.fn(run); r.err != nil {
			if err := savepoint(ctx, run, "ROLLBACK TO w"); err != nil {
				_ = tx.Rollback()
				fail(internal(err, "roll back to savepoint"))
				return
			}
		}
		if err := savepoint(ctx, run, "RELEASE w"); err != nil {
			_ = tx.Rollback()
			fail(internal(err, "release savepoint"))
			return
		}
	}
	if err := tx.Commit(); err != nil {
		fail(internal(err, "commit"))
	}
}

func savepoint(ctx context.Context, run runner, stmt string) error {
	_, err := run.ExecContext(ctx, stmt)
	return err
}
