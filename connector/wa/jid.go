package wa

import (
	"fmt"
	"strings"

	"go.mau.fi/whatsmeow/types"
)

// ParseRecipient parses the JID of a message recipient as core.NormalizeRecipient
// produces it ("digits@s.whatsapp.net" or "digits@lid"). It returns the non-AD JID.
func ParseRecipient(s string) (types.JID, error) {
	jid, err := types.ParseJID(s)
	if err != nil {
		return types.JID{}, fmt.Errorf("parse recipient: %w", err)
	}
	if jid.User == "" || (jid.Server != types.DefaultUserServer && jid.Server != types.HiddenUserServer) {
		return types.JID{}, fmt.Errorf("parse recipient: %q is not a user JID", Redact(s))
	}
	return jid.ToNonAD(), nil
}

// ParseDeviceJID parses the device JID a session stores ("user:device@server"), as
// returned by MakeDeviceJID.
func ParseDeviceJID(s string) (types.JID, error) {
	jid, err := types.ParseJID(s)
	if err != nil {
		return types.JID{}, fmt.Errorf("parse device JID: %w", err)
	}
	if jid.User == "" {
		return types.JID{}, fmt.Errorf("parse device JID: no user in %q", Redact(s))
	}
	return jid, nil
}

// MakeDeviceJID renders a linked device's JID for the session record: the phone
// number, the device number and the server ("15551234567:3@s.whatsapp.net").
func MakeDeviceJID(jid types.JID) string {
	if jid.IsEmpty() {
		return ""
	}
	return jid.String()
}

// MakeUserJID renders the sender or chat of a message without its device part.
func MakeUserJID(jid types.JID) string {
	if jid.IsEmpty() {
		return ""
	}
	return jid.ToNonAD().String()
}

// MaskJID renders a JID or phone number for logs: the user part is reduced to its
// last 4 digits, the server kept ("***1111@s.whatsapp.net").
func MaskJID(s string) string {
	user, server, hasServer := strings.Cut(s, "@")
	user, _, _ = strings.Cut(user, ":")
	if len(user) > 4 {
		user = "***" + user[len(user)-4:]
	}
	if hasServer {
		return user + "@" + server
	}
	return user
}
