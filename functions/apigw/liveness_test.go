package apigw_test

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/core/memstate"
	"github.com/wagate/wagate/functions/apigw"
)

// countingState counts heartbeat reads: each one is a store round trip (a DynamoDB
// query in AWS) on the path of every message sent.
type countingState struct {
	*memstate.State
	reads atomic.Int64
}

func (c *countingState) ListHeartbeats(ctx context.Context, since time.Time) ([]core.Heartbeat, error) {
	c.reads.Add(1)
	return c.State.ListHeartbeats(ctx, since)
}

// TestConnectorLivenessFollowsHeartbeats: sends are accepted while the newest
// heartbeat is younger than HeartbeatMaxAge and refused with 503 once it is older,
// even after a run of accepted sends; a new heartbeat brings them back. Within one
// heartbeat's life the store is read once, not once per message.
func TestConnectorLivenessFollowsHeartbeats(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	var counted *countingState
	e := newEnv(t, func(s *apigw.Server) {
		counted = &countingState{State: s.State.(*memstate.State)}
		s.State = counted
		s.Now = clock
		s.Options.HeartbeatMaxAge = 30 * time.Second
	})
	e.createSession(tokenA, "s1")
	e.setStatus(tenantA, "s1", core.StatusConnected, "15550001111@s.whatsapp.net")
	send := req{method: "POST", path: "/v1/sessions/s1/messages", token: tokenA, body: `{"to":"15551234567","text":"hi"}`}

	e.heartbeat(clock())
	before := counted.reads.Load()
	for range 5 {
		expect(t, e.do(send), http.StatusAccepted, "")
		advance(5 * time.Second)
	}
	if n := counted.reads.Load() - before; n != 1 {
		t.Errorf("5 sends within one heartbeat's life read the heartbeats %d times, want 1", n)
	}

	advance(6 * time.Second) // 31 s after the heartbeat
	expect(t, e.do(send), http.StatusServiceUnavailable, "connector_unavailable")

	e.heartbeat(clock())
	expect(t, e.do(send), http.StatusAccepted, "")
	if got := len(e.sent.ofType(core.CmdSendMessage)); got != 6 {
		t.Fatalf("%d message.send commands, want 6", got)
	}
}
