package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/store/sqlstore"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"

	"github.com/wagate/wagate/connector/app"
	"github.com/wagate/wagate/connector/wa"
	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/wasim/simtest"
)

// The benchmarks compare wagate with bare whatsmeow clients doing the same work in
// the same run, against one simulator. Both use the same SQLite key store
// (wa.OpenStore) and the same device properties; wagate's pacing is off
// (WAGATE_SEND_INTERVAL=0), since the benchmarks measure wagate, not its throttle.

// benchConfig turns wagate's pacing and debug logs off.
func benchConfig(c *app.Config) {
	c.SendInterval = 0
	c.LogLevel = "warn"
}

// pollEvery is the polling interval of the latency measurements: their resolution.
const pollEvery = time.Millisecond

// bareStore opens a whatsmeow key store for bare clients in the benchmark's folder.
func bareStore(tb testing.TB, path string) *sqlstore.Container {
	tb.Helper()
	c, err := wa.OpenStore(context.Background(), path, nil)
	if err != nil {
		tb.Fatalf("open bare store: %v", err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// newBare returns an unmodified whatsmeow client for dev that dials the simulator.
func newBare(sim *simtest.Sim, dev *store.Device, h *http.Client) *whatsmeow.Client {
	cli := whatsmeow.NewClient(dev, nil)
	cli.SetPreLoginHTTPClient(h)
	cli.SetWebsocketHTTPClient(h)
	return cli
}

// linkBare links a new bare client to phone by QR and returns it connected.
func linkBare(ctx context.Context, sim *simtest.Sim, c *sqlstore.Container, h *http.Client, phone string) (*whatsmeow.Client, error) {
	cli := newBare(sim, c.NewDevice(), h)
	connected := make(chan struct{}, 1)
	cli.AddEventHandler(func(evt any) {
		if _, ok := evt.(*events.Connected); ok {
			select {
			case connected <- struct{}{}:
			default:
			}
		}
	})
	qrs, err := cli.GetQRChannel(ctx)
	if err != nil {
		return nil, fmt.Errorf("qr channel: %w", err)
	}
	if err := cli.ConnectContext(ctx); err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	var code string
	for item := range qrs {
		if item.Event == whatsmeow.QRChannelEventCode {
			code = item.Code
			break
		}
	}
	if code == "" {
		cli.Disconnect()
		return nil, errors.New("no QR code")
	}
	if _, err := sim.Server.Scan(ctx, phone, code); err != nil {
		cli.Disconnect()
		return nil, fmt.Errorf("scan: %w", err)
	}
	go func() {
		for range qrs { // drain until the channel closes after pairing
		}
	}()
	select {
	case <-connected:
		return cli, nil
	case <-ctx.Done():
		cli.Disconnect()
		return nil, fmt.Errorf("wait for login: %w", ctx.Err())
	}
}

// bareSend sends a text from a bare client and returns once WhatsApp acked it.
func bareSend(ctx context.Context, cli *whatsmeow.Client, to, text string) (string, error) {
	jid := types.NewJID(to, types.DefaultUserServer)
	resp, err := cli.SendMessage(ctx, jid, &waE2E.Message{Conversation: proto.String(text)})
	return resp.ID, err
}

// inbox watches what simulator phones received, in process.
type inbox struct {
	sim *simtest.Sim
}

// count returns how many messages phone has received.
func (in inbox) count(tb testing.TB, phone string) int {
	msgs, err := in.sim.Server.Messages(phone)
	if err != nil {
		tb.Fatalf("messages of %s: %v", phone, err)
	}
	return len(msgs)
}

// waitCount polls until phone has at least n messages and returns when it saw it.
func (in inbox) waitCount(tb testing.TB, phone string, n int, timeout time.Duration) time.Time {
	deadline := time.Now().Add(timeout)
	for {
		if in.count(tb, phone) >= n {
			return time.Now()
		}
		if time.Now().After(deadline) {
			tb.Fatalf("phone %s: fewer than %d messages after %s", phone, n, timeout)
		}
		time.Sleep(pollEvery)
	}
}

// linkWagate links sessions ids[i] to phones[i] through the API, parallel at a time.
func (e *env) linkMany(tb testing.TB, ids, phones []string, parallel int) {
	tb.Helper()
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i := range ids {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			e.link(tb, ids[i], phones[i])
		})
	}
	wg.Wait()
}

// createPhones creates simulator phones numbered from base.
func createPhones(tb testing.TB, sim *simtest.Sim, base, n int) []string {
	tb.Helper()
	phones := make([]string, n)
	for i := range phones {
		phones[i] = fmt.Sprintf("1%010d", base+i)
		if _, _, err := sim.Server.CreatePhone(context.Background(), phones[i], "Phone "+phones[i][7:]); err != nil {
			tb.Fatalf("create phone: %v", err)
		}
	}
	return phones
}

// percentile returns the p-th percentile (0..1) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

// ms renders a duration in milliseconds.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// row renders one line of a results table.
func row(cells ...any) string {
	parts := make([]string, len(cells))
	for i, c := range cells {
		switch v := c.(type) {
		case float64:
			parts[i] = fmt.Sprintf("%.2f", v)
		default:
			parts[i] = fmt.Sprint(v)
		}
	}
	return "| " + strings.Join(parts, " | ") + " |"
}

// sessionIDs returns n session ids with a prefix.
func sessionIDs(prefix string, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-%04d", prefix, i)
	}
	return ids
}

// acceptedSend posts a message and retries while the session's queue is full.
func (c *client) acceptedSend(tb testing.TB, id, to, text string) core.Message {
	for {
		r, err := c.Try("POST", "/v1/sessions/"+id+"/messages", map[string]string{"to": to, "text": text})
		if err != nil {
			tb.Fatalf("send: %v", err)
		}
		if r.Status == 429 {
			time.Sleep(5 * time.Millisecond)
			continue
		}
		if r.Status != 202 {
			tb.Fatalf("send: %s", r)
		}
		var m core.Message
		r.Decode(tb, &m)
		return m
	}
}
