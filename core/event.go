package core

import (
	"encoding/json"
	"time"
)

// EventType names what happened.
type EventType string

// The event types delivered over SSE, the events queue and webhooks.
const (
	EventSessionStatus EventType = "session.status" // data: Session
	EventMessageIn     EventType = "message.in"     // data: Message
	EventMessageStatus EventType = "message.status" // data: Message
)

// Event is something that happened to a tenant's session, as published to the events
// queue, SSE subscribers and webhooks.
type Event struct {
	ID        string          `json:"id"`
	Type      EventType       `json:"type"`
	Tenant    string          `json:"tenant"`
	SessionID string          `json:"sessionId"`
	At        time.Time       `json:"at"`
	Data      json.RawMessage `json:"data"`
}

// NewEvent builds an event with a fresh id whose data is v marshalled as JSON.
func NewEvent(typ EventType, key SessionKey, at time.Time, v any) (Event, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return Event{}, WrapError(CodeInternal, err, "encode event data")
	}
	return Event{ID: NewID(), Type: typ, Tenant: key.Tenant, SessionID: key.ID, At: at.UTC(), Data: data}, nil
}
