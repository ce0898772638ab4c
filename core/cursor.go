package core

import (
	"encoding/base64"
	"strconv"
	"strings"
)

// Position is a message's place in the newest-first order of a session's messages:
// CreatedAt in Unix nanoseconds, then the id. Stores render it as the opaque
// MessageQuery.Cursor; it names a place in the order, not an item, so a cursor stays
// valid when its message is deleted.
type Position struct {
	At int64
	ID string
}

// PositionOf returns m's position.
func PositionOf(m Message) Position { return Position{At: m.CreatedAt.UnixNano(), ID: m.ID} }

// NewerThan reports whether p comes before q in newest-first order.
func (p Position) NewerThan(q Position) bool {
	if p.At != q.At {
		return p.At > q.At
	}
	return p.ID > q.ID
}

// Cursor renders p as an opaque cursor: base64url of "<unix nanos>:<id>".
func (p Position) Cursor() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(p.At, 10) + ":" + p.ID))
}

// ParseCursor reads a cursor made by Position.Cursor; anything else is CodeInvalid.
func ParseCursor(c string) (Position, error) {
	bad := Errorf(CodeInvalid, "cursor is not one this server returned")
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return Position{}, bad
	}
	at, id, ok := strings.Cut(string(raw), ":")
	if !ok || id == "" {
		return Position{}, bad
	}
	n, err := strconv.ParseInt(at, 10, 64)
	if err != nil {
		return Position{}, bad
	}
	return Position{At: n, ID: id}, nil
}
