package main

import (
	"bytes"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

func TestWithoutStateTableAndQueuesItRefusesToStart(t *testing.T) {
	for _, k := range []string{"WAGATE_STATE_TABLE", "WAGATE_COMMANDS_QUEUE_URL", "WAGATE_EVENTS_QUEUE_URL", "WAGATE_STORE"} {
		t.Setenv(k, "")
	}
	var stdout, stderr bytes.Buffer
	if code := run(nil, &stdout, &stderr); code != 2 {
		t.Fatalf("exit %d, want 2; stderr: %s", code, stderr.String())
	}
	for _, name := range []string{"WAGATE_STATE_TABLE:", "WAGATE_COMMANDS_QUEUE_URL:"} {
		if !strings.Contains(stderr.String(), name) {
			t.Errorf("stderr does not name %s: %s", name, stderr.String())
		}
	}
}

func TestBadCombinationStopsWithTheSettingNamed(t *testing.T) {
	t.Setenv("WAGATE_STORE", "dynamodb:wagate-keys")
	t.Setenv("WAGATE_STATE_TABLE", "wagate-state")
	t.Setenv("WAGATE_COMMANDS_QUEUE_URL", "https://sqs.eu-west-1.amazonaws.com/1/wagate-commands.fifo")
	t.Setenv("WAGATE_EVENTS_QUEUE_URL", "")
	var stdout, stderr bytes.Buffer
	if code := run(nil, &stdout, &stderr); code != 2 {
		t.Fatalf("exit %d, want 2; stderr: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "WAGATE_EVENTS_QUEUE_URL:") {
		t.Errorf("stderr does not name WAGATE_EVENTS_QUEUE_URL: %s", stderr.String())
	}
}

func TestHealthcheckExitCode(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var status atomic.Int32
	status.Store(http.StatusOK)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(int(status.Load()))
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	t.Setenv("WAGATE_HEALTH_ADDR", ln.Addr().String())

	var out bytes.Buffer
	if code := run([]string{"healthcheck"}, &out, &out); code != 0 {
		t.Errorf("healthy connector: exit %d: %s", code, out.String())
	}
	status.Store(http.StatusServiceUnavailable)
	if code := run([]string{"healthcheck"}, &out, &out); code != 1 {
		t.Errorf("stopping connector: exit %d, want 1", code)
	}
	_ = srv.Close()
	if code := run([]string{"healthcheck"}, &out, &out); code != 1 {
		t.Errorf("no connector: exit %d, want 1", code)
	}
	if code := run([]string{"bogus"}, &out, &out); code != 2 {
		t.Errorf("unknown subcommand: exit %d, want 2", code)
	}
}
