package metrics

// Namespace is the CloudWatch namespace of every wagate metric.
const Namespace = "Wagate"

// Unit is a CloudWatch metric unit.
type Unit string

// The units wagate uses.
const (
	UnitCount        Unit = "Count"
	UnitMilliseconds Unit = "Milliseconds"
)

// The metric names. Dashboards, alarms and saved queries refer to these strings.
const (
	// Heartbeats counts connector heartbeats (one per HeartbeatInterval). Its absence
	// means no connector is alive.
	Heartbeats = "Heartbeats"
	// Sessions is a gauge of the sessions a connector holds, by Status, recorded with
	// every heartbeat (zero for the statuses no session is in).
	Sessions = "Sessions"
	// Connects counts sessions that reached status connected.
	Connects = "Connects"
	// ReconnectAttempts counts reconnects scheduled after a transient failure, by
	// Reason (the lastError code, e.g. disconnected, keepalive_timeout, server_error).
	ReconnectAttempts = "ReconnectAttempts"
	// FatalEvents counts fatal outcomes, by Reason: the status the session stopped in
	// (logged_out, replaced, banned, outdated, failed).
	FatalEvents = "FatalEvents"
	// QRIssued counts QR codes shown for linking.
	QRIssued = "QRIssued"
	// QRScanned counts links completed by a phone (QR scan or pairing code).
	QRScanned = "QRScanned"
	// QRTimeouts counts linking attempts that ended because no code was scanned.
	QRTimeouts = "QRTimeouts"
	// MessagesSent counts outgoing messages WhatsApp accepted.
	MessagesSent = "MessagesSent"
	// MessagesReceived counts incoming text messages stored.
	MessagesReceived = "MessagesReceived"
	// MessagesFailed counts outgoing messages marked failed.
	MessagesFailed = "MessagesFailed"
	// SendLatency is how long WhatsApp took to accept an outgoing message.
	SendLatency = "SendLatency"
	// CommandAge is the age of a command when the connector picks it up, by Command
	// (the command type).
	CommandAge = "CommandAge"
	// LeaseTakeovers counts session leases taken over from a holder that stopped
	// renewing them (not released: a crashed or stuck connector).
	LeaseTakeovers = "LeaseTakeovers"
	// DiagnosticsRuns counts network diagnostics runs, by Outcome (ok or fail).
	DiagnosticsRuns = "DiagnosticsRuns"
	// DiagnosticsFailing is a gauge recorded with every heartbeat: 1 while the
	// connector's latest diagnostics run failed, 0 once one passed.
	DiagnosticsFailing = "DiagnosticsFailing"
	// DiagnosticsCheckFailures counts failed diagnostics checks, by Check (dns_a,
	// dns_aaaa, tcp4, tcp6, tls, websocket).
	DiagnosticsCheckFailures = "DiagnosticsCheckFailures"
	// WebhookDeliveries counts events delivered to a webhook.
	WebhookDeliveries = "WebhookDeliveries"
	// WebhookFailures counts webhook delivery attempts that failed.
	WebhookFailures = "WebhookFailures"
)

// The dimension keys. Their values come from small fixed sets.
const (
	// DimStatus is a session status (core.Status).
	DimStatus = "Status"
	// DimReason is why something happened: a lastError code or a fatal status.
	DimReason = "Reason"
	// DimCommand is a command type (core.CommandType).
	DimCommand = "Command"
	// DimCheck is a diagnostics check kind (core.CheckKind).
	DimCheck = "Check"
	// DimOutcome is ok or fail.
	DimOutcome = "Outcome"
)

// Definition describes one metric: its name, unit and dimension keys (in the order
// they are written). Dims is empty for a metric without dimensions.
type Definition struct {
	Name string
	Unit Unit
	Dims []string
}

// Definitions returns every metric wagate emits. A name not listed here is still
// emitted, but dashboards and alarms only use these.
func Definitions() []Definition {
	return []Definition{
		{Heartbeats, UnitCount, nil},
		{Sessions, UnitCount, []string{DimStatus}},
		{Connects, UnitCount, nil},
		{ReconnectAttempts, UnitCount, []string{DimReason}},
		{FatalEvents, UnitCount, []string{DimReason}},
		{QRIssued, UnitCount, nil},
		{QRScanned, UnitCount, nil},
		{QRTimeouts, UnitCount, nil},
		{MessagesSent, UnitCount, nil},
		{MessagesReceived, UnitCount, nil},
		{MessagesFailed, UnitCount, nil},
		{SendLatency, UnitMilliseconds, nil},
		{CommandAge, UnitMilliseconds, []string{DimCommand}},
		{LeaseTakeovers, UnitCount, nil},
		{DiagnosticsRuns, UnitCount, []string{DimOutcome}},
		{DiagnosticsFailing, UnitCount, nil},
		{DiagnosticsCheckFailures, UnitCount, []string{DimCheck}},
		{WebhookDeliveries, UnitCount, nil},
		{WebhookFailures, UnitCount, nil},
	}
}

// Lookup returns the definition of a metric name.
func Lookup(name string) (Definition, bool) {
	for _, d := range Definitions() {
		if d.Name == name {
			return d, true
		}
	}
	return Definition{}, false
}
