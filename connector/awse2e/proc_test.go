//go:build unix

package awse2e

import (
	"testing"

	"github.com/wagate/wagate/connector/internal/proctest"
)

// proc is a connector process started from the binary TestMain built.
type proc struct {
	*proctest.Proc
	health string // host:port of GET /healthz
}

// logLine is one decoded JSON log line of a connector process.
type logLine = proctest.LogLine

// startConnector starts a connector process named id on the stack and waits until it
// is ready. The process group is killed at cleanup whatever state it is in.
func startConnector(t *testing.T, s *stack, id string, extraEnv ...string) *proc {
	t.Helper()
	p := &proc{Proc: proctest.Start(t, id, connectorBin, append(s.connectorEnv(id), extraEnv...))}
	ready := p.WaitLog(t, readyTimeout, "connector_ready", nil)
	p.health = ready.Str("health_addr")
	return p
}

// sessionLog matches log lines about one session.
func sessionLog(id string) func(logLine) bool {
	return func(l logLine) bool { return l.Str("session") == id }
}
