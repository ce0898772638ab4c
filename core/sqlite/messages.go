package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"slices"

	"github.com/wagate/wagate/core"
)

const messageColumns = `tenant, session_id, id, direction, chat, from_jid, to_jid, text, status, error, created_at, updated_at`

func messageNotFound(id string) error {
	return core.Errorf(core.CodeNotFound, "message %q not found", id)
}

func messageArgs(m core.Message) []any {
	return []any{m.Tenant, m.SessionID, m.ID, string(m.Direction), m.Chat, m.From, m.To, m.Text, string(m.Status), m.Error,
		nanos(m.CreatedAt), nanos(m.UpdatedAt)}
}

func scanMessage(row scanner) (core.Message, error) {
	var m core.Message
	var dir, status string
	var createdAt, updatedAt int64
	if err := row.Scan(&m.Tenant, &m.SessionID, &m.ID, &dir, &m.Chat, &m.From, &m.To, &m.Text, &status, &m.Error,
		&createdAt, &updatedAt); err != nil {
		return core.Message{}, err
	}
	m.Direction, m.Status = core.Direction(dir), core.MessageStatus(status)
	m.CreatedAt, m.UpdatedAt = fromNanos(createdAt), fromNanos(updatedAt)
	return m, nil
}

// PutMessage stores a new message; CodeConflict if that id exists in the session.
func (db *DB) PutMessage(ctx context.Context, m core.Message) error {
	if m.ID == "" {
		return core.Errorf(core.CodeInvalid, "message id must not be empty")
	}
	return db.write(ctx, func(tx runner) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO messages (`+messageColumns+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`, messageArgs(m)...)
		if isUnique(err) {
			return core.Errorf(core.CodeConflict, "message %q already exists", m.ID)
		}
		if err != nil {
			return internal(err, "insert message")
		}
		return nil
	})
}

// GetMessage returns one message; CodeNotFound if the session has no such message.
func (db *DB) GetMessage(ctx context.Context, key core.SessionKey, id string) (core.Message, error) {
	return getMessage(ctx, db.read().QueryRowContext, key, id)
}

type queryRowFunc = func(ctx context.Context, query string, args ...any) *sql.Row

func getMessage(ctx context.Context, queryRow queryRowFunc, key core.SessionKey, id string) (core.Message, error) {
	m, err := scanMessage(queryRow(ctx, `SELECT `+messageColumns+` FROM messages WHERE tenant = ? AND session_id = ? AND id = ?`,
		key.Tenant, key.ID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return core.Message{}, messageNotFound(id)
	}
	if err != nil {
		return core.Message{}, internal(err, "read message")
	}
	return m, nil
}

// UpdateMessage applies fn to the stored message and writes it in one transaction.
// fn runs while this process's writes wait, so it must not call the store. The
// message's id, tenant and session cannot change.
func (db *DB) UpdateMessage(ctx context.Context, key core.SessionKey, id string, fn func(*core.Message) error) (core.Message, error) {
	var out core.Message
	err := db.write(ctx, func(tx runner) error {
		m, err := getMessage(ctx, tx.QueryRowContext, key, id)
		if err != nil {
			return err
		}
		before := m
		if err := fn(&m); err != nil {
			return err
		}
		m.ID, m.Tenant, m.SessionID = id, key.Tenant, key.ID
		if m.Direction == before.Direction && m.CreatedAt.Equal(before.CreatedAt) {
			// A status change (the usual update) leaves the columns the indexes
			// order by as they are: not setting them spares rewriting both indexes.
			_, err = tx.ExecContext(ctx, `UPDATE messages SET chat = ?, from_jid = ?, to_jid = ?, text = ?,
				status = ?, error = ?, updated_at = ? WHERE tenant = ? AND session_id = ? AND id = ?`,
				m.Chat, m.From, m.To, m.Text, string(m.Status), m.Error, nanos(m.UpdatedAt), key.Tenant, key.ID, id)
		} else {
			args := messageArgs(m)
			_, err = tx.ExecContext(ctx, `UPDATE messages SET direction = ?, chat = ?, from_jid = ?, to_jid = ?, text = ?,
				status = ?, error = ?, created_at = ?, updated_at = ? WHERE tenant = ? AND session_id = ? AND id = ?`,
				slices.Concat(args[3:], []any{key.Tenant, key.ID, id})...)
		}
		if err != nil {
			return internal(err, "update message")
		}
		out = m
		return nil
	})
	if err != nil {
		return core.Message{}, err
	}
	return out, nil
}

// ListMessages returns a page of messages, newest first (by CreatedAt, then id);
// CodeInvalid for a bad cursor, limit or direction.
func (db *DB) ListMessages(ctx context.Context, key core.SessionKey, q core.MessageQuery) (core.MessagePage, error) {
	limit := q.Limit
	switch {
	case limit == 0:
		limit = core.DefaultPageSize
	case limit < 0 || limit > core.MaxPageSize:
		return core.MessagePage{}, core.Errorf(core.CodeInvalid, "limit must be between 1 and %d", core.MaxPageSize)
	}
	query := `SELECT ` + messageColumns + ` FROM messages WHERE tenant = ? AND session_id = ?`
	args := []any{key.Tenant, key.ID}
	switch q.Direction {
	case "":
	case core.DirectionIn, core.DirectionOut:
		query += ` AND direction = ?`
		args = append(args, string(q.Direction))
	default:
		return core.MessagePage{}, core.Errorf(core.CodeInvalid, "direction must be in or out")
	}
	if q.Cursor != "" {
		p, err := core.ParseCursor(q.Cursor)
		if err != nil {
			return core.MessagePage{}, err
		}
		query += ` AND (created_at, id) < (?, ?)`
		args = append(args, p.At, p.ID)
	}
	query += ` ORDER BY created_at DESC, id DESC LIMIT ?`
	args = append(args, limit+1)
	rows, err := db.read().QueryContext(ctx, query, args...)
	if err != nil {
		return core.MessagePage{}, internal(err, "list messages")
	}
	defer rows.Close()
	page := core.MessagePage{Messages: []core.Message{}}
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return core.MessagePage{}, internal(err, "read message")
		}
		page.Messages = append(page.Messages, m)
	}
	if err := rows.Err(); err != nil {
		return core.MessagePage{}, internal(err, "list messages")
	}
	if len(page.Messages) > limit {
		page.Messages = page.Messages[:limit]
		last := page.Messages[limit-1]
		page.NextCursor = core.Position{At: nanos(last.CreatedAt), ID: last.ID}.Cursor()
	}
	return page, nil
}
