package app_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wagate/wagate/connector/app"
	"github.com/wagate/wagate/core/metrics"
)

func TestFromEnvMetricsMode(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"off_outside_aws", map[string]string{}, ""},
		{"explicit_emf", map[string]string{"WAGATE_METRICS": "emf"}, metrics.ModeEMF},
		{"emf_on_ecs", map[string]string{"ECS_CONTAINER_METADATA_URI_V4": "http://169.254.170.2/v4/task"}, metrics.ModeEMF},
		{"off_on_ecs_when_asked", map[string]string{"WAGATE_METRICS": "off", "ECS_CONTAINER_METADATA_URI_V4": "http://169.254.170.2/v4/task"}, metrics.ModeOff},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := app.FromEnv(lookup(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Metrics != tt.want {
				t.Errorf("Metrics = %q, want %q", cfg.Metrics, tt.want)
			}
		})
	}
	if _, err := app.FromEnv(lookup(map[string]string{"WAGATE_METRICS": "statsd"})); err == nil || !strings.Contains(err.Error(), "WAGATE_METRICS") {
		t.Errorf("FromEnv with WAGATE_METRICS=statsd: %v, want an error naming the variable", err)
	}
}

func TestMainWritesEMFWhenAsked(t *testing.T) {
	rec := &metrics.Recorder{}
	m := app.NewMain()
	m.Config.Addr = "127.0.0.1:0"
	m.Config.DataDir = t.TempDir()
	m.Config.Metrics = metrics.ModeEMF
	// The start diagnostics stay on loopback: a closed port fails fast.
	m.Config.DiagHosts, m.Config.DiagPort, m.Config.DiagWSURL = []string{"127.0.0.1"}, "1", "ws://127.0.0.1:1/ws/chat"
	m.MetricsOut = rec
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := m.Run(ctx); err != nil {
		t.Fatal(err)
	}
	// Wait for the start diagnostics' report, as the admin page would read it.
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, m.URL()+"/v1/diagnostics", nil)
		req.Header.Set("Authorization", "Bearer "+m.Token())
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no diagnostics report within 30s: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := rec.Err(); err != nil {
		t.Fatal(err)
	}
	if got := rec.Sum(metrics.Heartbeats); got < 1 {
		t.Errorf("heartbeats %v, want at least the one at start", got)
	}
	if _, ok := rec.Last(metrics.Sessions, metrics.D(metrics.DimStatus, "connected")); !ok {
		t.Error("no sessions-by-status gauge")
	}
	if got := rec.Sum(metrics.DiagnosticsRuns, metrics.D(metrics.DimOutcome, "fail")); got != 1 {
		t.Errorf("failed diagnostics runs %v, want the start run (port 1 is closed)", got)
	}
}
