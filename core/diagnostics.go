package core

import "time"

// CheckKind is what one diagnostics check tests.
type CheckKind string

// The diagnostics checks, from the bottom of the network stack up.
const (
	CheckDNSA      CheckKind = "dns_a"     // A records of a host
	CheckDNSAAAA   CheckKind = "dns_aaaa"  // AAAA records of a host
	CheckTCP4      CheckKind = "tcp4"      // TCP connect over IPv4 to port 443
	CheckTCP6      CheckKind = "tcp6"      // TCP connect over IPv6 to port 443
	CheckTLS       CheckKind = "tls"       // TLS handshake
	CheckWebSocket CheckKind = "websocket" // WebSocket upgrade of the chat endpoint
)

// Outcome is the result of one check.
type Outcome string

// The outcomes of a check.
const (
	OutcomeOK      Outcome = "ok"
	OutcomeFail    Outcome = "fail"
	OutcomeSkipped Outcome = "skipped" // e.g. TLS when TCP failed
)

// Check is one diagnostics check with its result.
type Check struct {
	Kind       CheckKind `json:"kind"`
	Target     string    `json:"target"`
	Outcome    Outcome   `json:"outcome"`
	Address    string    `json:"address,omitempty"`
	DurationMS float64   `json:"durationMs"`
	Error      string    `json:"error,omitempty"`
	Advice     string    `json:"advice,omitempty"`
}

// Report is one run of the network diagnostics.
type Report struct {
	ID         string    `json:"id"`
	Connector  string    `json:"connector,omitempty"`
	Reason     string    `json:"reason,omitempty"` // "start" or "request"
	StartedAt  time.Time `json:"startedAt"`
	FinishedAt time.Time `json:"finishedAt"`
	OK         bool      `json:"ok"`
	Checks     []Check   `json:"checks"`
}

// Heartbeat is what a connector writes periodically so the API can tell whether any
// connector is alive (503 connector_unavailable otherwise).
type Heartbeat struct {
	ConnectorID string    `json:"connectorId"`
	Version     string    `json:"version"`
	Sessions    int       `json:"sessions"`
	StartedAt   time.Time `json:"startedAt"`
	At          time.Time `json:"at"`
	// DiagnosticsOK is the outcome of the connector's latest diagnostics run.
	DiagnosticsOK *bool `json:"diagnosticsOk,omitempty"`
}
