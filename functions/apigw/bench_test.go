package apigw_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/core/membus"
	"github.com/wagate/wagate/core/memstate"
	"github.com/wagate/wagate/functions/apigw"
)

// BenchmarkHandlers measures handler latency with the in-memory adapters: the cost
// of the API itself, without network or AWS calls.
func BenchmarkHandlers(b *testing.B) {
	state := memstate.New()
	bus := membus.New(nil)
	b.Cleanup(func() { _ = bus.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { // drain the commands like a connector would
		defer close(done)
		_ = bus.ConsumeCommands(ctx, func(context.Context, core.Command) error { return nil })
	}()
	b.Cleanup(func() { cancel(); <-done })

	auth, err := apigw.ParseTokens(tokenA + "=" + tenantA)
	if err != nil {
		b.Fatal(err)
	}
	s, err := apigw.New(apigw.Server{State: state, Commands: bus, Auth: auth, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	h := s.Handler()
	now := time.Now()
	if err := state.CreateSession(ctx, core.Session{ID: "s1", Tenant: tenantA, Status: core.StatusConnected,
		Settings: core.DefaultSettings(), CreatedAt: now, UpdatedAt: now}); err != nil {
		b.Fatal(err)
	}
	// The heartbeat stays fresh for the benchmark's length.
	if err := state.PutHeartbeat(ctx, core.Heartbeat{ConnectorID: "bench", At: now.Add(time.Hour)}); err != nil {
		b.Fatal(err)
	}
	serve := func(b *testing.B, method, path, body string, header map[string]string, want int) {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+tokenA)
		r.Header.Set("Content-Type", "application/json")
		for k, v := range header {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != want {
			b.Fatalf("%s %s: %d %s", method, path, w.Code, w.Body)
		}
	}

	b.Run("GetSession", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			serve(b, "GET", "/v1/sessions/s1", "", nil, http.StatusOK)
		}
	})
	b.Run("PostMessage", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			serve(b, "POST", "/v1/sessions/s1/messages", `{"to":"15551234567","text":"hello"}`, nil, http.StatusAccepted)
		}
	})
	b.Run("PostMessageIdempotent", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			serve(b, "POST", "/v1/sessions/s1/messages", `{"to":"15551234567","text":"hello"}`,
				map[string]string{"Idempotency-Key": "k" + strconv.Itoa(i)}, http.StatusAccepted)
		}
	})
}
