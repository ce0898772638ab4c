package core

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"time"
)

// CommandVersion is the envelope version written in Command.V.
const CommandVersion = 1

// CommandType names what the connector is asked to do.
type CommandType string

// The command types sent from the API to the connector.
const (
	CmdConnect     CommandType = "session.connect"
	CmdDisconnect  CommandType = "session.disconnect"
	CmdLogout      CommandType = "session.logout"
	CmdDelete      CommandType = "session.delete"
	CmdSettings    CommandType = "session.settings"
	CmdPairCode    CommandType = "session.pairCode"
	CmdSendMessage CommandType = "message.send"
	CmdDiagnostics CommandType = "diagnostics.run"
)

// Command is the envelope of a command on the commands queue. On SQS FIFO the message
// group id is the session key ("tenant/session") and the deduplication id is ID.
type Command struct {
	V         int             `json:"v"`
	ID        string          `json:"id"`
	Type      CommandType     `json:"type"`
	Tenant    string          `json:"tenant"`
	SessionID string          `json:"sessionId,omitempty"`
	At        time.Time       `json:"at"`
	Payload   json.RawMessage `json:"payload,omitempty"`
}

// Key returns the key of the session the command is about.
func (c Command) Key() SessionKey { return SessionKey{Tenant: c.Tenant, ID: c.SessionID} }

// GroupID is the ordering group: commands of one session are applied in order.
// Diagnostics, which belong to no session, share one group per tenant.
func (c Command) GroupID() string {
	if c.SessionID == "" {
		return c.Tenant + "/-"
	}
	return c.Key().String()
}

// NewCommand builds a command envelope with a fresh id and payload v (nil for none).
func NewCommand(typ CommandType, key SessionKey, at time.Time, v any) (Command, error) {
	c := Command{V: CommandVersion, ID: NewID(), Type: typ, Tenant: key.Tenant, SessionID: key.ID, At: at.UTC()}
	if v != nil {
		data, err := json.Marshal(v)
		if err != nil {
			return Command{}, WrapError(CodeInternal, err, "encode command payload")
		}
		c.Payload = data
	}
	return c, nil
}

// DecodePayload unmarshals the payload into v, rejecting unknown fields.
func (c Command) DecodePayload(v any) error {
	if err := decodeStrict(c.Payload, v); err != nil {
		return WrapError(CodeInvalid, err, "bad payload for "+string(c.Type))
	}
	return nil
}

// SendPayload is the payload of message.send: the message was stored as queued when
// the API accepted it; the connector sends it with exactly this WhatsApp id.
type SendPayload struct {
	MessageID string `json:"messageId"`
	To        string `json:"to"`
	Text      string `json:"text"`
}

// PairCodePayload is the payload of session.pairCode.
type PairCodePayload struct {
	Phone string `json:"phone"`
}

// SettingsPayload is the payload of session.settings.
type SettingsPayload struct {
	Settings Settings `json:"settings"`
}

// CommandResult is what the connector writes back for commands a caller waits for
// (pair code, diagnostics), keyed by the command id.
type CommandResult struct {
	CommandID string          `json:"commandId"`
	Tenant    string          `json:"tenant"`
	SessionID string          `json:"sessionId,omitempty"`
	Type      CommandType     `json:"type"`
	Data      json.RawMessage `json:"data,omitempty"`
	Error     *ErrorInfo      `json:"error,omitempty"`
	At        time.Time       `json:"at"`
}

// PairCodeResult is the data of a session.pairCode result.
type PairCodeResult struct {
	Code string `json:"code"`
}

// NewID returns a random 128-bit id in hex, for commands and events.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails: crypto/rand.Read documents that it always fills b
	return hex.EncodeToString(b[:])
}
