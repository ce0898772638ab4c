package main

import (
	"io"
	"strings"
	"testing"
)

func TestParseConfig(t *testing.T) {
	base := map[string]string{
		"WAGATE_STATE_TABLE":        "wagate-state",
		"WAGATE_COMMANDS_QUEUE_URL": "http://sqs.us-east-1.localhost:4566/000000000000/wagate-commands.fifo",
		"WAGATE_EVENTS_QUEUE_URL":   "http://sqs.us-east-1.localhost:4566/000000000000/wagate-events",
		"WAGATE_WEBHOOK_SECRET":     "0123456789abcdef",
	}
	with := func(extra map[string]string) func(string) string {
		return func(k string) string {
			if v, ok := extra[k]; ok {
				return v
			}
			return base[k]
		}
	}
	c, err := ParseConfig(nil, with(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8080" || c.TenantClaim != "sub" || c.RIE != "" || c.EventPollers != 2 {
		t.Errorf("defaults: %+v", c)
	}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string // part of the error
	}{
		{"public_address", map[string]string{"WAGATE_ADDR": "0.0.0.0:8080"}, nil, "loopback"},
		{"no_table", map[string]string{"WAGATE_STATE_TABLE": ""}, nil, "WAGATE_STATE_TABLE"},
		{"standard_commands_queue", map[string]string{"WAGATE_COMMANDS_QUEUE_URL": "http://h/1/wagate-commands"}, nil, "FIFO"},
		{"events_without_secret", map[string]string{"WAGATE_WEBHOOK_SECRET": "short"}, nil, "WAGATE_WEBHOOK_SECRET"},
		{"bad_tokens", map[string]string{"WAGATE_TOKENS": "no-tenant"}, nil, "WAGATE_TOKENS"},
		{"rie_without_bootstraps", nil, []string{"-rie", "aws-lambda-rie"}, "-bootstraps"},
		{"retry_base_with_rie", nil, []string{"-rie", "x", "-bootstraps", "y", "-webhook-retry-base", "1s"}, "in-process"},
		{"create_with_odd_names", map[string]string{"WAGATE_CREATE_RESOURCES": "1",
			"WAGATE_EVENTS_QUEUE_URL": "http://h/1/other-events"}, nil, "wagate-events"},
		{"stray_argument", nil, []string{"serve"}, "unexpected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig(tt.args, with(tt.env), io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one naming %q", err, tt.want)
			}
		})
	}
}
