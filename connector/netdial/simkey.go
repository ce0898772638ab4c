package netdial

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// maxSimKeyResponse bounds the simulator's certificate answer.
const maxSimKeyResponse = 4 << 10

// FetchSimulatorKey reads the simulator's root public key from
// GET http://<override>/_sim/cert ({"publicKey":"<base64 of 32 bytes>"}). The process
// trusts it (whatsmeow.WACertPubKey) once at start when WAGATE_WA_DIAL is set.
// The request is bounded by ctx.
func FetchSimulatorKey(ctx context.Context, override string) ([32]byte, error) {
	var key [32]byte
	if err := validHostPort(override); err != nil {
		return key, fmt.Errorf("netdial: override %q: %w", override, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+override+"/_sim/cert", nil)
	if err != nil {
		return key, fmt.Errorf("netdial: simulator key request: %w", err)
	}
	// A client of its own: proxy environment variables must not divert a loopback request.
	client := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return key, fmt.Errorf("netdial: fetch simulator key: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxSimKeyResponse))
	if err != nil {
		return key, fmt.Errorf("netdial: read simulator key: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return key, fmt.Errorf("netdial: fetch simulator key: %s answered %s", override, resp.Status)
	}
	var doc struct {
		PublicKey string `json:"publicKey"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return key, fmt.Errorf("netdial: decode simulator key: %w", err)
	}
	raw, err := base64.StdEncoding.DecodeString(doc.PublicKey)
	if err != nil {
		return key, fmt.Errorf("netdial: simulator publicKey is not base64: %w", err)
	}
	if len(raw) != len(key) {
		return key, fmt.Errorf("netdial: simulator publicKey has %d bytes, want %d", len(raw), len(key))
	}
	copy(key[:], raw)
	return key, nil
}
