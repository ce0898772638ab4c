package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// healthStatus is the body of GET /healthz.
type healthStatus struct {
	Status    string `json:"status"` // ok or stopping
	Connector string `json:"connector,omitempty"`
	Sessions  int    `json:"sessions"` // sessions this connector holds
}

// newHealthServer serves the connector's local health endpoint: GET /healthz is 200
// while the connector runs and 503 once it is shutting down, so the container
// orchestrator stops routing work to it and does not restart it mid-shutdown.
func newHealthServer(c *Connector) *http.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		st, code := healthStatus{Status: "ok", Connector: c.mgr.ConnectorID(), Sessions: len(c.mgr.Held())}, http.StatusOK
		if c.stopping.Load() {
			st.Status, code = "stopping", http.StatusServiceUnavailable
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(st)
	})
	return &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
	}
}

// ConnectorHealthcheck asks the connector whose health endpoint is at addr
// (WAGATE_HEALTH_ADDR) for GET /healthz and returns nil when it answers 200. A
// wildcard listen address is checked on loopback. It is the container health check
// of the connector image (`connector healthcheck`).
func ConnectorHealthcheck(ctx context.Context, addr string) error {
	resp, url, err := getLocal(ctx, "WAGATE_HEALTH_ADDR", addr, "/healthz")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %s", url, resp.Status)
	}
	return nil
}
