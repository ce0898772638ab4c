package core

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"time"
)

// Direction says whether a message was received (in) or sent (out).
type Direction string

// The message directions.
const (
	DirectionIn  Direction = "in"
	DirectionOut Direction = "out"
)

// MessageStatus is the delivery state of a message.
type MessageStatus string

// The message statuses. Outgoing messages move forward only: queued → sent →
// delivered → read; failed is terminal. Incoming messages are stored as delivered.
const (
	MessageQueued    MessageStatus = "queued"
	MessageSent      MessageStatus = "sent"
	MessageDelivered MessageStatus = "delivered"
	MessageRead      MessageStatus = "read"
	MessageFailed    MessageStatus = "failed"
)

// rank orders statuses so that receipts arriving out of order never move a message back.
func (s MessageStatus) rank() int {
	switch s {
	case MessageQueued:
		return 1
	case MessageSent:
		return 2
	case MessageDelivered:
		return 3
	case MessageRead:
		return 4
	case MessageFailed:
		return 5
	}
	return 0
}

// Advances reports whether moving from s to next is progress. A read receipt after a
// failure does not resurrect the message; a late "sent" never undoes "delivered".
func (s MessageStatus) Advances(next MessageStatus) bool {
	if s == MessageFailed {
		return false
	}
	if next == MessageFailed {
		return s == MessageQueued
	}
	return next.rank() > s.rank()
}

// Message is one text message in a session's inbox (in) or outbox (out).
type Message struct {
	// ID is the WhatsApp message id; for outgoing messages it is decided when the
	// request is accepted, so a retried send never becomes a second message.
	ID        string        `json:"id"`
	Tenant    string        `json:"tenant,omitempty"`
	SessionID string        `json:"sessionId"`
	Direction Direction     `json:"direction"`
	Chat      string        `json:"chat,omitempty"`
	From      string        `json:"from,omitempty"`
	To        string        `json:"to,omitempty"`
	Text      string        `json:"text"`
	Status    MessageStatus `json:"status"`
	Error     string        `json:"error,omitempty"`
	CreatedAt time.Time     `json:"createdAt"`
	UpdatedAt time.Time     `json:"updatedAt"`
}

// Key returns the key of the session the message belongs to.
func (m Message) Key() SessionKey { return SessionKey{Tenant: m.Tenant, ID: m.SessionID} }

// MessageQuery selects a page of a session's messages, newest first.
type MessageQuery struct {
	Direction Direction // "" for both
	Limit     int       // 1..MaxPageSize; 0 means DefaultPageSize
	Cursor    string    // opaque; from a previous page's NextCursor
}

// MessagePage is one page of messages, newest first. NextCursor is empty on the last page.
type MessagePage struct {
	Messages   []Message `json:"messages"`
	NextCursor string    `json:"nextCursor"`
}

// Page sizes for message listing.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
)

// NewMessageID returns a fresh id in WhatsApp's own format ("3EB0" and 18 uppercase
// hex digits), so a message id chosen by the API is indistinguishable from one chosen
// by a WhatsApp client.
func NewMessageID() string {
	var b [9]byte
	_, _ = rand.Read(b[:]) // never fails: crypto/rand.Read documents that it always fills b
	return "3EB0" + strings.ToUpper(hex.EncodeToString(b[:]))
}
