package app_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/wagate/wagate/connector/app"
)

func TestTextLogsShowOutcomesAsEmoji(t *testing.T) {
	var buf bytes.Buffer
	log, err := app.NewLogger(&buf, app.LogText, "info")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		log  func()
		want string
	}{
		{"outcome_ok", func() { log.Info("diagnostics check", "outcome", "ok") }, `msg="🔍 ✅ diagnostics check"`},
		{"outcome_fail", func() { log.Warn("diagnostics report", "outcome", "fail") }, `msg="🔍 ❌ diagnostics report"`},
		{"outcome_from_with", func() { log.With("outcome", "pending").Info("upload") }, `msg="⏳ upload"`},
		{"known_message", func() { log.Info("session_connected", "session", "desk") }, `msg="✅ session_connected"`},
		{"progress_message", func() { log.Warn("session_reconnecting") }, `msg="⏳ session_reconnecting"`},
		{"error_level", func() { log.Error("something_broke") }, `msg="❌ something_broke"`},
		{"plain", func() { log.Info("http_request") }, `msg=http_request`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf.Reset()
			tt.log()
			if !strings.Contains(buf.String(), tt.want) {
				t.Errorf("line %q lacks %s", buf.String(), tt.want)
			}
		})
	}
}

func TestJSONLogsAreUndecorated(t *testing.T) {
	var buf bytes.Buffer
	log, err := app.NewLogger(&buf, app.LogJSON, "debug")
	if err != nil {
		t.Fatal(err)
	}
	log.Info("session_connected", "outcome", "ok", "session", "desk", "tenant", "acme")
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("not a JSON line: %q", buf.String())
	}
	if line["msg"] != "session_connected" || line["session"] != "desk" || line["tenant"] != "acme" {
		t.Errorf("line %v", line)
	}
}

func TestNewLoggerRefusesUnknownSettings(t *testing.T) {
	if _, err := app.NewLogger(&bytes.Buffer{}, "xml", "info"); err == nil {
		t.Error("log format xml accepted")
	}
	if _, err := app.NewLogger(&bytes.Buffer{}, app.LogText, "loud"); err == nil {
		t.Error("log level loud accepted")
	}
}
