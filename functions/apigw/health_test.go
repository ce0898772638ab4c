package apigw_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/wagate/wagate/core"
)

func TestHealthShowsEachConnectorsHeartbeat(t *testing.T) {
	e := newEnv(t)
	started := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	failing := false
	for _, hb := range []core.Heartbeat{
		{ConnectorID: "ecs-task-1", Version: "1.4.0", Sessions: 3, StartedAt: started, At: time.Now().UTC(), DiagnosticsOK: &failing},
		{ConnectorID: "vps-1", Version: "1.3.9", Sessions: 0, StartedAt: started, At: time.Now().UTC()},
	} {
		if err := e.state.PutHeartbeat(context.Background(), hb); err != nil {
			t.Fatal(err)
		}
	}
	var h struct {
		Status     string
		Connectors []struct {
			ConnectorID   string
			Version       string
			Sessions      int
			StartedAt     time.Time
			At            time.Time
			DiagnosticsOK *bool
		}
	}
	r := e.do(req{method: "GET", path: "/v1/health"})
	expect(t, r, http.StatusOK, "")
	r.json(t, &h)
	if h.Status != "ok" || len(h.Connectors) != 2 {
		t.Fatalf("health %s, want ok with two connectors", r.body)
	}
	for _, c := range h.Connectors {
		if !c.StartedAt.Equal(started) || c.At.IsZero() {
			t.Errorf("connector %s: startedAt %v at %v", c.ConnectorID, c.StartedAt, c.At)
		}
		switch c.ConnectorID {
		case "ecs-task-1":
			if c.DiagnosticsOK == nil || *c.DiagnosticsOK || c.Sessions != 3 || c.Version != "1.4.0" {
				t.Errorf("ecs-task-1 = %+v, want 3 sessions, version 1.4.0, diagnosticsOk false", c)
			}
		case "vps-1":
			if c.DiagnosticsOK != nil {
				t.Errorf("vps-1 diagnosticsOk %v, want absent before any run", *c.DiagnosticsOK)
			}
		}
	}
}
