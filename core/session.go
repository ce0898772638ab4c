package core

import "time"

// Settings are what an admin configures for a session (PUT /v1/sessions/{id}).
// Unknown fields are rejected when decoding.
type Settings struct {
	DisplayName string `json:"displayName,omitempty"`
	// PreferIPv4 makes the connector dial WhatsApp over IPv4 first. Defaults to true.
	PreferIPv4 bool `json:"preferIPv4"`
	// ProxyURL is an optional http(s):// or socks5:// proxy for this session's socket.
	ProxyURL string `json:"proxyURL,omitempty"`
	// WebhookURL receives this session's events (https; http only where allowed).
	WebhookURL string `json:"webhookURL,omitempty"`
	// AutoConnect makes the connector restore the session at start.
	AutoConnect bool `json:"autoConnect"`
}

// DefaultSettings returns the settings a new session starts from; fields absent from
// a PUT body keep these values.
func DefaultSettings() Settings {
	return Settings{PreferIPv4: true, AutoConnect: true}
}

// ErrorInfo says why a session is not connected: lastError in the API.
type ErrorInfo struct {
	Code    string    `json:"code"`
	Message string    `json:"message"`
	At      time.Time `json:"at"`
}

// Session is a WhatsApp link owned by a tenant.
type Session struct {
	ID          string     `json:"id"`
	Tenant      string     `json:"tenant"`
	DisplayName string     `json:"displayName,omitempty"`
	Status      Status     `json:"status"`
	JID         string     `json:"jid,omitempty"`
	PushName    string     `json:"pushName,omitempty"`
	Settings    Settings   `json:"settings"`
	LastError   *ErrorInfo `json:"lastError,omitempty"`
	RetryAt     *time.Time `json:"retryAt,omitempty"`
	ConnectedAt *time.Time `json:"connectedAt,omitempty"`
	CreatedAt   time.Time  `json:"createdAt"`
	UpdatedAt   time.Time  `json:"updatedAt"`

	// Desired is what a user last asked for: connected or not. The connector restores
	// sessions whose Desired is true at start. Not part of the API.
	Desired bool `json:"-"`
	// Version is the stored record's version for optimistic concurrency. Not part of the API.
	Version int64 `json:"-"`
	// Fence is the lease fence of the connector that last wrote the session's status.
	// Stores reject an update whose Fence is lower than the stored one, so a paused
	// ex-holder of the lease can never overwrite the new holder's state. The API never
	// changes it. Not part of the API.
	Fence int64 `json:"-"`
}

// Key returns the session's key.
func (s Session) Key() SessionKey { return SessionKey{Tenant: s.Tenant, ID: s.ID} }

// Clone returns a copy of s that shares no memory with it.
func (s Session) Clone() Session {
	if s.LastError != nil {
		e := *s.LastError
		s.LastError = &e
	}
	s.RetryAt = cloneTime(s.RetryAt)
	s.ConnectedAt = cloneTime(s.ConnectedAt)
	return s
}

func cloneTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	c := *t
	return &c
}

// SessionKey names a session: sessions belong to a tenant.
type SessionKey struct {
	Tenant string
	ID     string
}

// String renders the key as "tenant/id" (the SQS message group id).
func (k SessionKey) String() string { return k.Tenant + "/" + k.ID }

// QR is the current pairing code of a session in status qr.
type QR struct {
	Code      string    `json:"code"`
	ExpiresAt time.Time `json:"expiresAt"`
	// PNG is the base64 PNG of the code; filled by the API, not stored.
	PNG string `json:"png,omitempty"`
}
