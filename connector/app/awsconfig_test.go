package app_test

import (
	"strings"
	"testing"

	"github.com/wagate/wagate/connector/app"
)

// split is a valid configuration of the connector process on DynamoDB and SQS.
func split() map[string]string {
	return map[string]string{
		"WAGATE_STORE":              "dynamodb:wagate-keys",
		"WAGATE_STATE_TABLE":        "wagate-state",
		"WAGATE_COMMANDS_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/wagate-commands.fifo",
		"WAGATE_EVENTS_QUEUE_URL":   "https://sqs.eu-west-1.amazonaws.com/123456789012/wagate-events",
		"WAGATE_LOG_FORMAT":         "json",
	}
}

func TestSplitConfigurationIsAccepted(t *testing.T) {
	cfg, err := app.FromEnv(lookup(split()))
	if err != nil {
		t.Fatalf("FromEnv: %v", err)
	}
	if err := cfg.ValidateConnector(); err != nil {
		t.Fatalf("ValidateConnector: %v", err)
	}
	if kind, table := cfg.StoreKind(); kind != app.StoreDynamoDB || table != "wagate-keys" || !cfg.UsesAWS() {
		t.Errorf("store %s:%s, uses AWS %v", kind, table, cfg.UsesAWS())
	}
	if cfg.HealthAddr != "127.0.0.1:8081" {
		t.Errorf("default health address %q", cfg.HealthAddr)
	}
}

// TestBadCombinationsNameTheSetting changes one setting of a valid split
// configuration at a time: each bad combination is refused with the variable to
// change named in the error.
func TestBadCombinationsNameTheSetting(t *testing.T) {
	tests := []struct {
		name     string
		set      map[string]string // "" deletes the variable
		variable string
	}{
		{"events_queue_missing", map[string]string{"WAGATE_EVENTS_QUEUE_URL": ""}, "WAGATE_EVENTS_QUEUE_URL"},
		{"commands_queue_missing", map[string]string{"WAGATE_COMMANDS_QUEUE_URL": ""}, "WAGATE_COMMANDS_QUEUE_URL"},
		{"queues_without_state_table", map[string]string{"WAGATE_STATE_TABLE": ""}, "WAGATE_STATE_TABLE"},
		{"keys_in_the_state_table", map[string]string{"WAGATE_STORE": "dynamodb:wagate-state"}, "WAGATE_STORE"},
		{"commands_queue_not_fifo", map[string]string{"WAGATE_COMMANDS_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/1/wagate-commands"}, "WAGATE_COMMANDS_QUEUE_URL"},
		{"events_queue_fifo", map[string]string{"WAGATE_EVENTS_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/1/wagate-events.fifo"}, "WAGATE_EVENTS_QUEUE_URL"},
		{"queue_arn", map[string]string{"WAGATE_EVENTS_QUEUE_URL": "arn:aws:sqs:eu-west-1:1:wagate-events"}, "WAGATE_EVENTS_QUEUE_URL"},
		{"table_name", map[string]string{"WAGATE_STATE_TABLE": "state table"}, "WAGATE_STATE_TABLE"},
		{"key_table_name", map[string]string{"WAGATE_STORE": "dynamodb:k"}, "WAGATE_STORE"},
		{"lease_too_short", map[string]string{"WAGATE_LEASE_DURATION": "100ms"}, "WAGATE_LEASE_DURATION"},
		{"lease_words", map[string]string{"WAGATE_LEASE_DURATION": "long"}, "WAGATE_LEASE_DURATION"},
		{"create_resources_words", map[string]string{"WAGATE_CREATE_RESOURCES": "please"}, "WAGATE_CREATE_RESOURCES"},
		{"health_addr", map[string]string{"WAGATE_HEALTH_ADDR": "8081"}, "WAGATE_HEALTH_ADDR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := split()
			for k, v := range tt.set {
				if v == "" {
					delete(env, k)
				} else {
					env[k] = v
				}
			}
			_, err := app.FromEnv(lookup(env))
			if err == nil {
				t.Fatalf("%v accepted", tt.set)
			}
			if !strings.Contains(err.Error(), tt.variable+":") {
				t.Errorf("%v: error %q does not name %s", tt.set, err, tt.variable)
			}
		})
	}
}

// TestConnectorNeedsStateTableAndQueues checks what the connector process adds to
// the all-in-one rules: with no API of its own it needs the state table and the
// queues, and says which binary runs without them.
func TestConnectorNeedsStateTableAndQueues(t *testing.T) {
	cfg, err := app.FromEnv(lookup(map[string]string{"WAGATE_STORE": "dynamodb:wagate-keys"}))
	if err != nil {
		t.Fatalf("a DynamoDB key store alone is a valid all-in-one configuration: %v", err)
	}
	err = cfg.ValidateConnector()
	for _, name := range []string{"WAGATE_STATE_TABLE:", "WAGATE_COMMANDS_QUEUE_URL:", "wagate"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("connector without state table and queues: %v, want %s named", err, name)
		}
	}
	_, err = app.FromEnv(lookup(map[string]string{"WAGATE_CREATE_RESOURCES": "1"}))
	if err == nil || !strings.Contains(err.Error(), "WAGATE_CREATE_RESOURCES:") {
		t.Errorf("creating resources with none configured: %v", err)
	}
}
