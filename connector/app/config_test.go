package app_test

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wagate/wagate/connector/app"
)

// lookup returns an env lookup over vars.
func lookup(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

func TestFromEnvDefaults(t *testing.T) {
	cfg, err := app.FromEnv(lookup(nil))
	if err != nil {
		t.Fatalf("FromEnv with nothing set: %v", err)
	}
	if cfg.Addr != "127.0.0.1:8080" || cfg.DataDir != "data" || cfg.LogFormat != app.LogText ||
		cfg.SendInterval != time.Second || cfg.Tokens != "" || cfg.WADial != "" {
		t.Errorf("defaults: %+v", cfg)
	}
	if kind, target := cfg.StoreKind(); kind != app.StoreSQLite || target != filepath.Join("data", "whatsmeow.db") {
		t.Errorf("default store: %s:%s, want sqlite in the data folder", kind, target)
	}
	if cfg.StatePath() != filepath.Join("data", "state.db") || cfg.TokenPath() != filepath.Join("data", "token") {
		t.Errorf("paths: %s %s", cfg.StatePath(), cfg.TokenPath())
	}
}

func TestFromEnvReadsEveryVariable(t *testing.T) {
	cfg, err := app.FromEnv(lookup(map[string]string{
		"WAGATE_ADDR":                    "0.0.0.0:9090",
		"WAGATE_DATA":                    "/srv/wagate",
		"WAGATE_STORE":                   "sqlite:/srv/keys.db",
		"WAGATE_TOKENS":                  "tok-a=acme, tok-b=globex",
		"WAGATE_LOG_FORMAT":              "JSON",
		"WAGATE_LOG_LEVEL":               "warn",
		"WAGATE_WA_DIAL":                 "127.0.0.1:7070",
		"WAGATE_SEND_INTERVAL":           "250ms",
		"WAGATE_ALLOW_INSECURE_WEBHOOKS": "true",
		"WAGATE_DIAG_HOSTS":              "a.example, b.example",
		"WAGATE_DIAG_PORT":               "8443",
		"WAGATE_DIAG_WS_URL":             "wss://a.example/ws/chat",
		"WAGATE_CONNECTOR_ID":            "vps-1",
		"WAGATE_STATE_TABLE":             "wagate-state",
		"WAGATE_COMMANDS_QUEUE_URL":      "https://sqs.eu-west-1.amazonaws.com/1/w-commands.fifo",
		"WAGATE_EVENTS_QUEUE_URL":        "https://sqs.eu-west-1.amazonaws.com/1/w-events",
		"WAGATE_CREATE_RESOURCES":        "1",
		"WAGATE_LEASE_DURATION":          "5s",
		"WAGATE_HEALTH_ADDR":             "127.0.0.1:9091",
	}))
	if err != nil {
		t.Fatalf("FromEnv: %v", err)
	}
	want := app.Config{
		Addr: "0.0.0.0:9090", DataDir: "/srv/wagate", Store: "sqlite:/srv/keys.db", Tokens: "tok-a=acme, tok-b=globex",
		LogFormat: app.LogJSON, LogLevel: "warn", WADial: "127.0.0.1:7070", SendInterval: 250 * time.Millisecond,
		AllowInsecureWebhooks: true, DiagHosts: []string{"a.example", "b.example"}, DiagPort: "8443",
		DiagWSURL: "wss://a.example/ws/chat", ConnectorID: "vps-1", ShutdownTimeout: 25 * time.Second,
		StateTable:       "wagate-state",
		CommandsQueueURL: "https://sqs.eu-west-1.amazonaws.com/1/w-commands.fifo",
		EventsQueueURL:   "https://sqs.eu-west-1.amazonaws.com/1/w-events",
		CreateResources:  true, LeaseDuration: 5 * time.Second, HealthAddr: "127.0.0.1:9091",
	}
	if got, w := strings.Join(cfg.DiagHosts, ","), strings.Join(want.DiagHosts, ","); got != w {
		t.Errorf("DiagHosts %q, want %q", got, w)
	}
	cfg.DiagHosts, want.DiagHosts = nil, nil
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("config:\n got %+v\nwant %+v", cfg, want)
	}
	if kind, target := cfg.StoreKind(); kind != app.StoreSQLite || target != "/srv/keys.db" {
		t.Errorf("store: %s:%s", kind, target)
	}
}

func TestFromEnvSendInterval(t *testing.T) {
	tests := []struct {
		name, value string
		want        time.Duration
	}{
		{name: "duration", value: "1.5s", want: 1500 * time.Millisecond},
		{name: "plain_seconds", value: "2", want: 2 * time.Second},
		{name: "zero_turns_pacing_off", value: "0", want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := app.FromEnv(lookup(map[string]string{"WAGATE_SEND_INTERVAL": tt.value}))
			if err != nil || cfg.SendInterval != tt.want {
				t.Errorf("WAGATE_SEND_INTERVAL=%s: %s, %v; want %s", tt.value, cfg.SendInterval, err, tt.want)
			}
		})
	}
}

func TestFromEnvNamesEveryBadVariable(t *testing.T) {
	tests := []struct {
		name, variable, value string
	}{
		{"addr_without_port", "WAGATE_ADDR", "localhost"},
		{"addr_bad_port", "WAGATE_ADDR", "127.0.0.1:99999"},
		{"store_unknown_kind", "WAGATE_STORE", "postgres:wagate"},
		{"store_without_target", "WAGATE_STORE", "sqlite:"},
		{"tokens_without_tenant", "WAGATE_TOKENS", "just-a-token"},
		{"tokens_repeated", "WAGATE_TOKENS", "t1=a,t1=b"},
		{"log_format", "WAGATE_LOG_FORMAT", "xml"},
		{"log_level", "WAGATE_LOG_LEVEL", "loud"},
		{"wa_dial_without_port", "WAGATE_WA_DIAL", "127.0.0.1"},
		{"wa_dial_port_zero", "WAGATE_WA_DIAL", "127.0.0.1:0"},
		{"send_interval_words", "WAGATE_SEND_INTERVAL", "fast"},
		{"send_interval_negative", "WAGATE_SEND_INTERVAL", "-1s"},
		{"send_interval_huge", "WAGATE_SEND_INTERVAL", "48h"},
		{"send_interval_nan", "WAGATE_SEND_INTERVAL", "NaN"},
		{"insecure_webhooks", "WAGATE_ALLOW_INSECURE_WEBHOOKS", "yes please"},
		{"diag_hosts_url", "WAGATE_DIAG_HOSTS", "https://web.whatsapp.com"},
		{"diag_port", "WAGATE_DIAG_PORT", "https"},
		{"diag_ws_url", "WAGATE_DIAG_WS_URL", "http://web.whatsapp.com/ws/chat"},
		{"state_table_name", "WAGATE_STATE_TABLE", "wagate state"},
		{"commands_queue_name", "WAGATE_COMMANDS_QUEUE_URL", "wagate-commands.fifo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := app.FromEnv(lookup(map[string]string{tt.variable: tt.value}))
			if err == nil {
				t.Fatalf("%s=%q accepted", tt.variable, tt.value)
			}
			if !strings.Contains(err.Error(), tt.variable+":") {
				t.Errorf("%s=%q: error %q does not name the variable", tt.variable, tt.value, err)
			}
		})
	}
}

func TestFromEnvListsEveryProblemAtOnce(t *testing.T) {
	_, err := app.FromEnv(lookup(map[string]string{
		"WAGATE_ADDR": "nope", "WAGATE_LOG_FORMAT": "xml", "WAGATE_SEND_INTERVAL": "fast", "WAGATE_TOKENS": "secret-token",
	}))
	if err == nil {
		t.Fatal("bad configuration accepted")
	}
	for _, name := range []string{"WAGATE_ADDR", "WAGATE_LOG_FORMAT", "WAGATE_SEND_INTERVAL", "WAGATE_TOKENS"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not mention %s: %v", name, err)
		}
	}
	if strings.Contains(err.Error(), "secret-token") {
		t.Errorf("the error repeats a token: %v", err)
	}
}

func TestValidateChecksConfigSetInCode(t *testing.T) {
	cfg := app.DefaultConfig()
	cfg.Addr = "127.0.0.1:0" // tests pick a free port
	if err := cfg.Validate(); err != nil {
		t.Fatalf("port 0: %v", err)
	}
	cfg.DataDir, cfg.ShutdownTimeout = " ", 0
	err := cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), "WAGATE_DATA") || !strings.Contains(err.Error(), "shutdown timeout") {
		t.Errorf("blank data folder and zero shutdown timeout: %v", err)
	}
}
