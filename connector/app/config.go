package app

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/wagate/wagate/core/metrics"
	"github.com/wagate/wagate/functions/apigw"
	"github.com/wagate/wagate/functions/webhook"
)

// Log formats of WAGATE_LOG_FORMAT.
const (
	LogText = "text"
	LogJSON = "json"
)

// Store kinds of WAGATE_STORE.
const (
	StoreSQLite   = "sqlite"
	StoreDynamoDB = "dynamodb"
)

// maxSendInterval bounds WAGATE_SEND_INTERVAL: a longer pause is a typo, not pacing.
const maxSendInterval = time.Hour

// Config is everything the local binary reads from its environment. Start from
// DefaultConfig (or FromEnv) and override fields; Validate reports every problem at
// once.
type Config struct {
	// Addr is the listen address of the API and the admin page (WAGATE_ADDR). Port 0
	// picks a free port (tests).
	Addr string
	// DataDir holds the state database, the whatsmeow store and the generated token
	// (WAGATE_DATA). It is created with mode 0700.
	DataDir string
	// Store is where the whatsmeow key material lives (WAGATE_STORE):
	// "sqlite:<path>" or "dynamodb:<table>". Empty means sqlite:<DataDir>/whatsmeow.db.
	Store string
	// Tokens are the API tokens, "tokenA=tenantA,tokenB=tenantB" (WAGATE_TOKENS).
	// Empty means one token for tenant "default", generated once and kept in
	// <DataDir>/token.
	Tokens string
	// LogFormat is LogText (default) or LogJSON (WAGATE_LOG_FORMAT).
	LogFormat string
	// LogLevel is debug, info (default), warn or error (WAGATE_LOG_LEVEL).
	LogLevel string
	// WADial sends every WhatsApp connection to this host:port and trusts the root key
	// the simulator serves there (WAGATE_WA_DIAL). Tests and demos only.
	WADial string
	// SendInterval is the pause between two messages of one session
	// (WAGATE_SEND_INTERVAL); 0 turns pacing off.
	SendInterval time.Duration
	// AllowInsecureWebhooks accepts http:// webhook URLs (WAGATE_ALLOW_INSECURE_WEBHOOKS).
	AllowInsecureWebhooks bool
	// WebhookSecret keys the X-Wagate-Signature of webhook deliveries
	// (WAGATE_WEBHOOK_SECRET, at least 16 bytes). Empty means a secret generated once
	// and kept in <DataDir>/webhook-secret.
	WebhookSecret string
	// WebhookAllowPrivate permits webhook targets on loopback, private and other
	// non-public addresses (WAGATE_WEBHOOK_ALLOW_PRIVATE); for receivers on this
	// machine or network only.
	WebhookAllowPrivate bool
	// DiagHosts are the hosts the diagnostics resolve and connect to (WAGATE_DIAG_HOSTS,
	// comma separated). Empty means WhatsApp's hosts, or the simulator with WADial.
	DiagHosts []string
	// DiagPort is the TCP port of the diagnostics' TCP and TLS checks (WAGATE_DIAG_PORT).
	// Empty means 443, or the simulator's port with WADial.
	DiagPort string
	// DiagWSURL is the WebSocket the diagnostics upgrade (WAGATE_DIAG_WS_URL). Empty
	// means wss://web.whatsapp.com/ws/chat, or ws://<WADial>/ws/chat.
	DiagWSURL string
	// ConnectorID names this process in leases and heartbeats (WAGATE_CONNECTOR_ID).
	// Empty means the host name with a random suffix.
	ConnectorID string
	// ShutdownTimeout bounds Close: the HTTP server, the sessions and the stores.
	ShutdownTimeout time.Duration

	// StateTable keeps sessions, messages, results, heartbeats and leases in this
	// DynamoDB table instead of SQLite in DataDir (WAGATE_STATE_TABLE).
	StateTable string
	// CommandsQueueURL is the SQS FIFO queue commands arrive on, instead of the
	// in-process bus (WAGATE_COMMANDS_QUEUE_URL); set together with EventsQueueURL.
	CommandsQueueURL string
	// EventsQueueURL is the SQS queue events are published to (WAGATE_EVENTS_QUEUE_URL).
	EventsQueueURL string
	// CreateResources creates missing tables and queues with the schema of
	// template.yaml (WAGATE_CREATE_RESOURCES=1). Development and tests only.
	CreateResources bool
	// LeaseDuration is the length of session leases (WAGATE_LEASE_DURATION); 0 means
	// the connector's default.
	LeaseDuration time.Duration
	// HealthAddr is where the connector process answers GET /healthz
	// (WAGATE_HEALTH_ADDR); the all-in-one process serves /v1/health on Addr instead.
	HealthAddr string
	// Metrics is "emf" to write CloudWatch EMF metric lines to standard output, or
	// "off" (WAGATE_METRICS). Empty is off; FromEnv picks emf on AWS (ECS, Lambda)
	// when WAGATE_METRICS is not set.
	Metrics string
}

// DefaultConfig returns the settings of a local run: the API on 127.0.0.1:8080, data
// in ./data, SQLite, text logs, one message per second per session.
func DefaultConfig() Config {
	return Config{
		Addr:            "127.0.0.1:8080",
		DataDir:         "data",
		LogFormat:       LogText,
		LogLevel:        "info",
		SendInterval:    time.Second,
		ShutdownTimeout: 25 * time.Second,
		HealthAddr:      "127.0.0.1:8081",
	}
}

// StatePath returns the path of the state database (sessions, messages, leases).
func (c Config) StatePath() string { return filepath.Join(c.DataDir, "state.db") }

// TokenPath returns the path of the generated API token.
func (c Config) TokenPath() string { return filepath.Join(c.DataDir, "token") }

// StoreKind returns StoreSQLite or StoreDynamoDB and the path or table of Store.
// It assumes a valid Config.
func (c Config) StoreKind() (kind, target string) {
	if c.Store == "" {
		return StoreSQLite, filepath.Join(c.DataDir, "whatsmeow.db")
	}
	kind, target, _ = strings.Cut(c.Store, ":")
	return kind, target
}

// Validate reports every problem of c in one error, each naming its variable.
func (c Config) Validate() error {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
	}
	if err := checkHostPort(c.Addr, true); err != nil {
		bad("WAGATE_ADDR", "%q: %v", c.Addr, err)
	}
	if strings.TrimSpace(c.DataDir) == "" {
		bad("WAGATE_DATA", "must name a folder")
	}
	if c.Metrics != "" && c.Metrics != metrics.ModeEMF && c.Metrics != metrics.ModeOff {
		bad("WAGATE_METRICS", "%q: want emf or off", c.Metrics)
	}
	if c.Store != "" {
		kind, target, ok := strings.Cut(c.Store, ":")
		switch {
		case !ok || (kind != StoreSQLite && kind != StoreDynamoDB):
			bad("WAGATE_STORE", "%q: want sqlite:<path> or dynamodb:<table>", c.Store)
		case strings.TrimSpace(target) == "":
			bad("WAGATE_STORE", "%q: the %s store needs a path or table after the colon", c.Store, kind)
		}
	}
	if c.Tokens != "" {
		if _, err := apigw.ParseTokens(c.Tokens); err != nil {
			bad("WAGATE_TOKENS", "%v", err)
		}
	}
	if c.LogFormat != LogText && c.LogFormat != LogJSON {
		bad("WAGATE_LOG_FORMAT", "%q: want text or json", c.LogFormat)
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		bad("WAGATE_LOG_LEVEL", "%v", err)
	}
	if c.WADial != "" {
		if err := checkHostPort(c.WADial, false); err != nil {
			bad("WAGATE_WA_DIAL", "%q: %v", c.WADial, err)
		}
	}
	if c.SendInterval < 0 || c.SendInterval > maxSendInterval {
		bad("WAGATE_SEND_INTERVAL", "%s: want 0 (no pacing) up to %s", c.SendInterval, maxSendInterval)
	}
	for _, h := range c.DiagHosts {
		if h == "" || strings.ContainsAny(h, "/:@ ") {
			bad("WAGATE_DIAG_HOSTS", "%q: want host names or addresses separated by commas", h)
		}
	}
	if c.DiagPort != "" {
		if n, err := strconv.Atoi(c.DiagPort); err != nil || n < 1 || n > 65535 {
			bad("WAGATE_DIAG_PORT", "%q: want a port number", c.DiagPort)
		}
	}
	if c.DiagWSURL != "" {
		if u, err := url.Parse(c.DiagWSURL); err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
			bad("WAGATE_DIAG_WS_URL", "%q: want a ws:// or wss:// URL", c.DiagWSURL)
		}
	}
	if c.WebhookSecret != "" && len(c.WebhookSecret) < webhook.MinSecretLen {
		bad("WAGATE_WEBHOOK_SECRET", "must be at least %d bytes", webhook.MinSecretLen)
	}
	if c.ShutdownTimeout <= 0 {
		bad("shutdown timeout", "must be positive, got %s", c.ShutdownTimeout)
	}
	errs = append(errs, c.validateAWS()...)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	return nil
}

// checkHostPort checks host:port; zeroPort allows port 0 (pick a free one).
func checkHostPort(s string, zeroPort bool) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return errors.New("want host:port")
	}
	if strings.ContainsAny(host, "/ ") {
		return errors.New("want host:port with a plain host name or address")
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 || (n == 0 && !zeroPort) {
		return errors.New("want host:port with a port number")
	}
	return nil
}
