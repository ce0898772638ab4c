package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
)

// Healthcheck asks the wagate serving at addr (WAGATE_ADDR) for GET /v1/health and
// returns nil when it answers 200 with status "ok" (a connector is alive). A wildcard
// listen address is checked on loopback. It is the container health check.
func Healthcheck(ctx context.Context, addr string) error {
	resp, url, err := getLocal(ctx, "WAGATE_ADDR", addr, "/v1/health")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %s", url, resp.Status)
	}
	if err := json.Unmarshal(data, &body); err != nil {
		return fmt.Errorf("healthcheck: decode health: %w", err)
	}
	if body.Status != "ok" {
		return fmt.Errorf("healthcheck: status %q: no connector heartbeat", body.Status)
	}
	return nil
}

// getLocal sends GET path to the listen address addr of this host (the setting
// named setting), on loopback when addr is a wildcard, without a proxy. It returns
// the response and the URL it asked.
func getLocal(ctx context.Context, setting, addr, path string) (*http.Response, string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, "", fmt.Errorf("healthcheck: %s %q: want host:port", setting, addr)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	url := "http://" + net.JoinHostPort(host, port) + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, url, fmt.Errorf("healthcheck: %w", err)
	}
	client := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return nil, url, fmt.Errorf("healthcheck: %w", err)
	}
	return resp, url, nil
}
