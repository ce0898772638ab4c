//go:build unix

package awse2e

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wagate/wagate/connector/app"
	keystore "github.com/wagate/wagate/connector/dynamo"
	"github.com/wagate/wagate/connector/internal/apitest"
	"github.com/wagate/wagate/core"
	statedb "github.com/wagate/wagate/core/dynamo"
	"github.com/wagate/wagate/wasim/server"
)

// Workload of BenchmarkDynamoDBCost.
const (
	costMessages   = 50               // sent, and received, per phase
	costReconnects = 3                // dropped sockets
	costIdle       = 60 * time.Second // idle window with the production lease (30 s)
)

// usage is the DynamoDB usage of one phase, per side.
type usage struct {
	keys, state, api keystore.Stats
}

// meter reads the counters of the connector (key table, state table) and of the API
// handlers (state table).
type meter struct {
	conn *app.Connector
	api  *app.CallCounter
}

func (m meter) now() usage {
	k, s := m.conn.DynamoDBUsage()
	return usage{keys: k, state: s, api: m.api.Stats()}
}

func (u usage) sub(prev usage) usage {
	return usage{keys: u.keys.Sub(prev.keys), state: u.state.Sub(prev.state), api: u.api.Sub(prev.api)}
}

// units returns the read and write request units of every side together.
func (u usage) units() (reads, writes float64) {
	for _, st := range []keystore.Stats{u.keys, u.state, u.api} {
		for _, op := range st {
			reads += op.ReadUnits
			writes += op.WriteUnits
		}
	}
	return reads, writes
}

// calls renders the calls per operation of each side, divided by n.
func (u usage) calls(n float64) string {
	var parts []string
	for _, side := range []struct {
		name string
		st   keystore.Stats
	}{{"keys", u.keys}, {"state", u.state}, {"api", u.api}} {
		for _, op := range side.st.Names() {
			o := side.st[op]
			parts = append(parts, fmt.Sprintf("%s.%s %.2g (%.3gR %.3gW)", side.name, op, float64(o.Calls)/n, o.ReadUnits/n, o.WriteUnits/n))
		}
	}
	return strings.Join(parts, ", ")
}

// BenchmarkDynamoDBCost counts the DynamoDB calls and request units of a linked
// session, per operation: linking by QR, a sent message, its delivered and read
// receipts, a received message, a reconnect after a dropped socket, an idle hour and
// a connector restart. The connector runs in this process (to read its counters per
// phase) on DynamoDB Local, with the API handlers of the Lambda functions counted
// separately; the counts come from the adapters (connector/dynamo's Stats and
// app.CallCounter), with the capacity DynamoDB Local reports. It prints a monthly
// cost for 100 sessions × 1,000 messages a day at on-demand prices.
func BenchmarkDynamoDBCost(b *testing.B) {
	for range b.N {
		runCostScenario(b)
	}
}

func runCostScenario(b *testing.B) {
	s := newStack(b)
	setAWSEnv(b, s)
	apiCalls := app.NewCallCounter(s.ddb)
	api := s.serveAPI(b, statedb.New(apiCalls, s.stateTable))
	alice, bob := createPhone(b, s, alicePhone, "Alice"), createPhone(b, s, bobPhone, "Bob")

	var logs syncBuffer
	conn := startInProcess(b, s, &logs)
	m := meter{conn: conn, api: apiCalls}
	report := &costReport{}
	start := m.now()
	report.add("connector start (no sessions)", 1, start)

	// Link by QR: what the admin page and the connector do, once.
	before := m.now()
	api.createSession(b, "desk")
	api.MustJSON(b, "POST", "/v1/sessions/desk/connect", nil, 202, nil)
	s.waitStatus(b, "desk", core.StatusQR, linkTimeout)
	dev, err := s.sim.Control.Scan(ctx(b), alice, api.qrCode(b, "desk"))
	if err != nil {
		b.Fatalf("scan: %v", err)
	}
	s.waitStatus(b, "desk", core.StatusConnected, linkTimeout)
	report.add("QR link (1 GET /qr)", 1, m.settle(b).sub(before))

	before = m.now()
	ids := make([]string, 0, costMessages)
	for i := range costMessages {
		ids = append(ids, api.Send(b, "desk", bob, fmt.Sprintf("cost probe %d", i)).ID)
	}
	waitReceived(b, s, bob, ids)
	for _, id := range ids {
		s.waitMessage(b, "desk", id, core.MessageSent)
	}
	report.add("sent message", costMessages, m.settle(b).sub(before))

	before = m.now()
	for _, id := range ids {
		for _, typ := range []string{"delivered", "read"} {
			if err := s.sim.Control.Receipt(ctx(b), bob, id, typ); err != nil {
				b.Fatalf("receipt: %v", err)
			}
		}
	}
	for _, id := range ids {
		s.waitMessage(b, "desk", id, core.MessageRead)
	}
	report.add("receipt (delivered or read)", 2*costMessages, m.settle(b).sub(before))

	before = m.now()
	for i := range costMessages {
		if _, err := s.sim.Control.SendMessage(ctx(b), bob, alice, fmt.Sprintf("cost reply %d", i)); err != nil {
			b.Fatalf("Bob sends: %v", err)
		}
	}
	apitest.Eventually(b, eventTimeout, "every received message in the state table", func() (bool, string) {
		page, err := s.state.ListMessages(ctx(b), core.SessionKey{Tenant: tenant, ID: "desk"}, core.MessageQuery{Direction: core.DirectionIn, Limit: 100})
		if err != nil {
			return false, err.Error()
		}
		return len(page.Messages) == costMessages, itoa(len(page.Messages))
	})
	report.add("received message", costMessages, m.settle(b).sub(before))

	before = m.now()
	for range costReconnects {
		logins := s.logins.count(dev.JID)
		if err := s.sim.Control.Fault(ctx(b), dev.JID, server.Fault{Kind: server.FaultDrop}); err != nil {
			b.Fatalf("drop: %v", err)
		}
		apitest.Eventually(b, linkTimeout, "a reconnect", func() (bool, string) {
			sess := s.session(b, "desk")
			return s.logins.count(dev.JID) > logins && sess.Status == core.StatusConnected, apitest.Describe(sess)
		})
		m.settle(b)
	}
	report.add("reconnect (dropped socket)", costReconnects, m.now().sub(before))

	before = m.now()
	time.Sleep(costIdle)
	report.add("idle hour, 1 session (lease 30 s, heartbeat 10 s)", costIdle.Hours(), m.now().sub(before))

	if err := conn.Close(); err != nil {
		b.Fatalf("close: %v", err)
	}
	restarted := strings.Count(logs.String(), `"msg":"session_restored"`)
	m.conn = startInProcess(b, s, &logs)
	apitest.Eventually(b, linkTimeout, "the restored session", func() (bool, string) {
		return strings.Count(logs.String(), `"msg":"session_restored"`) > restarted, "not yet"
	})
	s.waitStatus(b, "desk", core.StatusConnected, linkTimeout)
	u := m.settle(b) // a new process: its counters start at zero; the API made no call
	report.add("connector restart, 1 session", 1, usage{keys: u.keys, state: u.state})

	// Benchmark logs are cut after a few lines: the tables go to stdout.
	fmt.Printf("\n%s\n%s\n%s\n", report, itemSizes(b, s), report.monthly())
}

// startInProcess runs the connector in this process on the stack.
func startInProcess(b *testing.B, s *stack, logs *syncBuffer) *app.Connector {
	b.Helper()
	cfg := app.DefaultConfig()
	cfg.Store, cfg.StateTable = "dynamodb:"+s.keyTable, s.stateTable
	cfg.CommandsQueueURL, cfg.EventsQueueURL = s.commandsURL, s.eventsURL
	cfg.WADial, cfg.HealthAddr, cfg.SendInterval = s.sim.Addr, "127.0.0.1:0", 0
	cfg.ConnectorID, cfg.DataDir, cfg.LogFormat = "bench", b.TempDir(), app.LogJSON
	c := app.NewConnector()
	c.Config, c.Logger = cfg, slog.New(slog.NewJSONHandler(logs, nil))
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	if err := c.Run(ctx); err != nil {
		b.Fatalf("run connector: %v", err)
	}
	b.Cleanup(func() { _ = c.Close() })
	return c
}

// settle waits until the counters stop moving for a second (prekey uploads, Signal
// session writes and status updates finish after the visible outcome) and returns
// them.
func (m meter) settle(tb testing.TB) usage {
	tb.Helper()
	last, still := m.now(), time.Now()
	deadline := time.Now().Add(eventTimeout)
	for time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		cur := m.now()
		r1, w1 := cur.units()
		r0, w0 := last.units()
		if r1 != r0 || w1 != w0 || callCount(cur) != callCount(last) {
			last, still = cur, time.Now()
			continue
		}
		if time.Since(still) >= time.Second {
			return cur
		}
	}
	return last
}

func callCount(u usage) int64 { return u.keys.Calls() + u.state.Calls() + u.api.Calls() }

// waitReceived waits until the phone received every message id.
func waitReceived(tb testing.TB, s *stack, phone string, ids []string) {
	tb.Helper()
	apitest.Eventually(tb, eventTimeout, "every message at the phone", func() (bool, string) {
		got, err := s.sim.Control.Messages(ctx(tb), phone)
		if err != nil {
			return false, err.Error()
		}
		seen := map[string]bool{}
		for _, m := range got {
			seen[m.ID] = true
		}
		n := 0
		for _, id := range ids {
			if seen[id] {
				n++
			}
		}
		return n == len(ids), itoa(n) + " of " + itoa(len(ids))
	})
}

// waitMessage waits until a message reached status st (or a later one).
func (s *stack) waitMessage(tb testing.TB, id, msgID string, st core.MessageStatus) {
	tb.Helper()
	apitest.Eventually(tb, eventTimeout, "message "+msgID+" to be "+string(st), func() (bool, string) {
		m, err := s.state.GetMessage(ctx(tb), core.SessionKey{Tenant: tenant, ID: id}, msgID)
		if err != nil {
			return false, err.Error()
		}
		if m.Status == core.MessageFailed {
			tb.Fatalf("message %s failed: %s", msgID, m.Error)
		}
		return !m.Status.Advances(st), string(m.Status)
	})
}

// costReport collects the per-operation usage.
type costReport struct {
	rows []costRow
}

type costRow struct {
	what   string
	n      float64
	u      usage
	rr, wr float64 // request units per operation
}

func (r *costReport) add(what string, n float64, u usage) {
	rd, wr := u.units()
	r.rows = append(r.rows, costRow{what: what, n: n, u: u, rr: rd / n, wr: wr / n})
}

func (r *costReport) row(what string) costRow {
	for _, x := range r.rows {
		if strings.HasPrefix(x.what, what) {
			return x
		}
	}
	return costRow{}
}

// String renders the table of request units and calls per operation.
func (r *costReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-50s %9s %9s  calls per operation (side.operation count (read units, write units))\n", "operation", "read RU", "write RU")
	for _, x := range r.rows {
		fmt.Fprintf(&b, "%-50s %9.2f %9.2f  %s\n", x.what, x.rr, x.wr, x.u.calls(x.n))
	}
	return b.String()
}

// On-demand prices assumed (us-east-1, standard table class).
const (
	pricePerMillionWrites = 1.25
	pricePerMillionReads  = 0.25
)

// monthly prices 100 sessions × 1,000 messages a day (500 sent with a delivered and
// a read receipt each, 500 received), 10 reconnects a session a day, 30 days, and
// one connector: lease renewals (UpdateItem in the idle window) are per session, the
// heartbeat (PutItem in the idle window) is per connector.
func (r *costReport) monthly() string {
	const sessions, connectors, days, hours = 100.0, 1.0, 30.0, 720.0
	sent, recv, receipt, reconn, idle := r.row("sent"), r.row("received"), r.row("receipt"), r.row("reconnect"), r.row("idle")
	traffic := func(sel func(costRow) float64) float64 {
		return sessions * days * (500*sel(sent) + 500*sel(recv) + 1000*sel(receipt) + 10*sel(reconn))
	}
	reads := traffic(func(x costRow) float64 { return x.rr })
	writes := traffic(func(x costRow) float64 { return x.wr })
	renew := idle.u.state["UpdateItem"].WriteUnits / idle.n
	heartbeat := idle.u.state["PutItem"].WriteUnits / idle.n
	idleWrites := sessions*hours*renew + connectors*hours*heartbeat
	price := func(r, w float64) float64 { return r/1e6*pricePerMillionReads + w/1e6*pricePerMillionWrites }
	return fmt.Sprintf("monthly, 100 sessions x 1,000 messages/day (500 out with 1,000 receipts, 500 in), 10 reconnects/session/day, 1 connector, 30 days:\n"+
		"  traffic: %.1f M read RU + %.1f M write RU = $%.2f\n"+
		"  idle:    lease renewals %.0f write RU/session-hour, heartbeat %.0f write RU/connector-hour: %.1f M write RU = $%.2f\n"+
		"  total:   $%.2f a month at $%.2f per million write RU and $%.2f per million read RU",
		reads/1e6, writes/1e6, price(reads, writes), renew, heartbeat, idleWrites/1e6, price(0, idleWrites),
		price(reads, writes+idleWrites), pricePerMillionWrites, pricePerMillionReads)
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
