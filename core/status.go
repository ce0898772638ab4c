package core

// Status is where a session stands. The values are part of the API contract.
type Status string

// The session statuses, in the order a session usually walks through them.
const (
	StatusNew          Status = "new"          // created, never connected
	StatusConnecting   Status = "connecting"   // dialing WhatsApp
	StatusQR           Status = "qr"           // waiting for a QR scan
	StatusPairing      Status = "pairing"      // waiting for a pairing code to be entered on the phone
	StatusConnected    Status = "connected"    // logged in, messages flow
	StatusReconnecting Status = "reconnecting" // lost the link, retrying with backoff
	StatusDisconnected Status = "disconnected" // stopped on request (or QR timeout); the link is kept
	StatusLoggedOut    Status = "logged_out"   // the phone unlinked the device: a new QR is needed
	StatusReplaced     Status = "replaced"     // another client took over the session
	StatusBanned       Status = "banned"       // temporarily banned until retryAt
	StatusOutdated     Status = "outdated"     // WhatsApp rejected the client version (405)
	StatusFailed       Status = "failed"       // an unknown connect failure; not retried
)

// Statuses lists every status, for documentation and validation.
func Statuses() []Status {
	return []Status{
		StatusNew, StatusConnecting, StatusQR, StatusPairing, StatusConnected, StatusReconnecting,
		StatusDisconnected, StatusLoggedOut, StatusReplaced, StatusBanned, StatusOutdated, StatusFailed,
	}
}

// Valid reports whether s is one of the defined statuses.
func (s Status) Valid() bool {
	for _, v := range Statuses() {
		if s == v {
			return true
		}
	}
	return false
}

// Fatal reports whether the status ends automatic reconnection: the connector does
// not retry until a user acts (banned retries only after retryAt).
func (s Status) Fatal() bool {
	switch s {
	case StatusLoggedOut, StatusReplaced, StatusBanned, StatusOutdated, StatusFailed:
		return true
	}
	return false
}

// Active reports whether the connector is (or should be) holding a socket for the
// session: connecting, showing a QR, pairing, connected or reconnecting.
func (s Status) Active() bool {
	switch s {
	case StatusConnecting, StatusQR, StatusPairing, StatusConnected, StatusReconnecting:
		return true
	}
	return false
}
