package app

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"

	"github.com/wagate/wagate/connector/manager"
	"github.com/wagate/wagate/core/membus"
	"github.com/wagate/wagate/core/memstate"
)

// noDevices is a key store without devices; the health endpoint never reaches it.
type noDevices struct{}

func (noDevices) NewDevice() *store.Device { return &store.Device{} }
func (noDevices) GetDevice(context.Context, types.JID) (*store.Device, error) {
	return nil, nil
}

func TestHealthAnswers503WhileStopping(t *testing.T) {
	state := memstate.New()
	cfg := manager.DefaultConfig()
	cfg.ConnectorID = "conn-health"
	mgr, err := manager.New(cfg, manager.Deps{
		State: state, Leases: state, Events: membus.New(nil), Devices: noDevices{},
		HTTPClient: manager.HTTPClients(""),
	})
	if err != nil {
		t.Fatal(err)
	}
	c := &Connector{mgr: mgr}
	srv := httptest.NewServer(newHealthServer(c).Handler)
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")

	get := func() (int, healthStatus) {
		t.Helper()
		resp, err := http.Get(srv.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var st healthStatus
		if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
			t.Fatalf("decode health: %v", err)
		}
		return resp.StatusCode, st
	}
	if code, st := get(); code != http.StatusOK || st.Status != "ok" || st.Connector != "conn-health" {
		t.Errorf("running: %d %+v, want 200 ok for conn-health", code, st)
	}
	if err := ConnectorHealthcheck(context.Background(), addr); err != nil {
		t.Errorf("healthcheck of a running connector: %v", err)
	}
	if resp, err := http.Post(srv.URL+"/healthz", "text/plain", nil); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /healthz: %v %v, want 405", resp, err)
	} else {
		resp.Body.Close()
	}

	c.stopping.Store(true)
	if code, st := get(); code != http.StatusServiceUnavailable || st.Status != "stopping" {
		t.Errorf("stopping: %d %+v, want 503 stopping", code, st)
	}
	if err := ConnectorHealthcheck(context.Background(), addr); err == nil {
		t.Errorf("healthcheck of a stopping connector passed")
	}
}
