package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/core/memstate"
)

// BenchmarkLambdaHandler measures an API function's handler as Lambda runs it: a real
// API Gateway HTTP API (payload 2.0) event with JWT claims, as JSON, through the
// wrapper lambda.Start uses, to the JSON answer, over the in-memory state and bus
// (no AWS calls, no network). It reports the median and 99th percentile per route.
func BenchmarkLambdaHandler(b *testing.B) {
	tmpl := loadRepoTemplate(b)
	state := memstate.New()
	handlers := memHandlers(b, tmpl, state)
	ctx := context.Background()
	now := time.Now()
	key := core.SessionKey{Tenant: testTenant, ID: "s1"}
	// s1 holds 50 messages to list; the sends go to s2.
	for _, id := range []string{"s1", "s2"} {
		if err := state.CreateSession(ctx, core.Session{ID: id, Tenant: key.Tenant, Status: core.StatusConnected,
			Settings: core.DefaultSettings(), CreatedAt: now, UpdatedAt: now}); err != nil {
			b.Fatal(err)
		}
	}
	for i := range 50 {
		m := core.Message{ID: fmt.Sprintf("m%03d", i), Tenant: key.Tenant, SessionID: key.ID, Direction: core.DirectionIn, Chat: "15550002222@s.whatsapp.net",
			Text: "hello", Status: core.MessageDelivered, CreatedAt: now.Add(time.Duration(i) * time.Second), UpdatedAt: now}
		if err := state.PutMessage(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
	claims := map[string]string{"sub": testTenant}
	cases := []struct {
		name, method, path, body string
		want                     int
	}{
		{"get_session", "GET", "/v1/sessions/s1", "", 200},
		{"put_session", "PUT", "/v1/sessions/s1", `{"displayName":"Front desk"}`, 200},
		{"send_message", "POST", "/v1/sessions/s2/messages", `{"to":"15550002222","text":"hi %d"}`, 202},
		{"list_messages", "GET", "/v1/sessions/s1/messages?limit=50", "", 200},
		{"health", "GET", "/v1/health", "", 200},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			route, params, ok := Match(tmpl.Routes, c.method, strings.Split(c.path, "?")[0])
			if !ok {
				b.Fatalf("no route for %s %s", c.method, c.path)
			}
			h := handlers[route.Function]() // one instance, invoked one at a time as in Lambda
			lc := lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: "bench"})
			durations := make([]time.Duration, 0, b.N)
			i := 0
			for b.Loop() {
				body := c.body
				if strings.Contains(body, "%d") {
					body = fmt.Sprintf(body, i)
				}
				i++
				r := httptest.NewRequest(c.method, c.path, strings.NewReader(body))
				r.Header.Set("Content-Type", "application/json")
				var cl map[string]string
				if !route.Public {
					cl = claims
				}
				payload, err := json.Marshal(NewRequestEvent(r, []byte(body), route, params, cl, "bench", now))
				if err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				out, err := h.Invoke(lc, payload)
				durations = append(durations, time.Since(start))
				if err != nil {
					b.Fatal(err)
				}
				var resp events.APIGatewayV2HTTPResponse
				if err := json.Unmarshal(out, &resp); err != nil || resp.StatusCode != c.want {
					b.Fatalf("%s %s: %d %s (%v), want %d", c.method, c.path, resp.StatusCode, resp.Body, err, c.want)
				}
			}
			slices.Sort(durations)
			b.ReportMetric(float64(durations[len(durations)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(durations[len(durations)*99/100].Microseconds()), "p99-µs")
		})
	}
}
