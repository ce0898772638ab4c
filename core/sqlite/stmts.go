package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache keeps one prepared statement per query text. Preparing (parsing and
// planning) a statement costs more than running most of this package's queries, and
// the driver does not cache them; database/sql prepares a cached statement once per
// connection and reuses it there, also inside transactions.
type stmtCache struct {
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

// get returns the prepared statement for query, or nil if it cannot be prepared (the
// caller then runs the query unprepared, which reports the error).
func (c *stmtCache) get(ctx context.Context, db *sql.DB, query string) *sql.Stmt {
	c.mu.Lock()
	st := c.m[query]
	c.mu.Unlock()
	if st != nil {
		return st
	}
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev := c.m[query]; prev != nil {
		_ = st.Close()
		return prev
	}
	if c.m == nil {
		c.m = make(map[string]*sql.Stmt)
	}
	c.m[query] = st
	return st
}

// close closes every cached statement.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.m {
		_ = st.Close()
		delete(c.m, q)
	}
}

// runner runs queries through the statement cache, in the transaction Tx, or on the
// database when Tx is nil. Its methods have the signatures of *sql.Tx's; the
// embedded Tx's own methods run a statement unprepared (migrations, run once).
type runner struct {
	*sql.Tx
	db *DB
}

// stmt returns the cached statement for query bound to the runner's transaction, or
// nil when it could not be prepared.
func (r runner) stmt(ctx context.Context, query string) *sql.Stmt {
	st := r.db.stmts.get(ctx, r.db.db, query)
	if st == nil || r.Tx == nil {
		return st
	}
	return r.Tx.StmtContext(ctx, st)
}

// ExecContext runs a statement that returns no rows.
func (r runner) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := r.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	if r.Tx == nil {
		return r.db.db.ExecContext(ctx, query, args...)
	}
	return r.Tx.ExecContext(ctx, query, args...)
}

// QueryRowContext runs a query that returns at most one row.
func (r runner) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := r.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	if r.Tx == nil {
		return r.db.db.QueryRowContext(ctx, query, args...)
	}
	return r.Tx.QueryRowContext(ctx, query, args...)
}

// QueryContext runs a query that returns rows.
func (r runner) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := r.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	if r.Tx == nil {
		return r.db.db.QueryContext(ctx, query, args...)
	}
	return r.Tx.QueryContext(ctx, query, args...)
}

// read returns a runner for queries outside a transaction.
func (db *DB) read() runner { return runner{db: db} }
