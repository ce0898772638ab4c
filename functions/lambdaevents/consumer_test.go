package lambdaevents_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/core/memstate"
	"github.com/wagate/wagate/functions/lambdaevents"
	"github.com/wagate/wagate/functions/webhook"
)

var secret = []byte("whsec-0123456789abcdef")

// hosts resolves every name to 127.0.0.1 without DNS.
type hosts struct{}

func (hosts) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
}

// hook is an https webhook receiver whose answer a test can change.
type hook struct {
	mu     sync.Mutex
	bodies [][]byte
	sigs   []string
	status int
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.bodies = append(h.bodies, body)
	h.sigs = append(h.sigs, r.Header.Get(webhook.HeaderSignature))
	if h.status != 0 {
		w.WriteHeader(h.status)
	}
}

func (h *hook) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.bodies)
}

// visibility records ChangeMessageVisibility calls.
type visibility struct {
	mu    sync.Mutex
	calls []sqs.ChangeMessageVisibilityInput
}

func (v *visibility) ChangeMessageVisibility(_ context.Context, in *sqs.ChangeMessageVisibilityInput, _ ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.calls = append(v.calls, *in)
	return &sqs.ChangeMessageVisibilityOutput{}, nil
}

type fixture struct {
	state    *memstate.State
	ok, fail *hook
	vis      *visibility
	logs     *bytes.Buffer
	consumer *lambdaevents.Consumer
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{state: memstate.New(), ok: &hook{}, fail: &hook{status: http.StatusBadGateway}, vis: &visibility{}, logs: &bytes.Buffer{}}
	pool := x509.NewCertPool()
	urls := map[string]string{}
	for name, h := range map[string]*hook{"ok": f.ok, "fail": f.fail} {
		srv := httptest.NewTLSServer(h)
		t.Cleanup(srv.Close)
		pool.AddCert(srv.Certificate())
		u, _ := url.Parse(srv.URL)
		urls[name] = "https://example.com:" + u.Port() + "/hooks/wa?key=url-secret"
	}
	now := time.Now().UTC()
	for id, target := range map[string]string{"ok": urls["ok"], "fail": urls["fail"], "quiet": ""} {
		s := core.Session{ID: id, Tenant: "acme", Status: core.StatusConnected, CreatedAt: now, UpdatedAt: now,
			Settings: core.Settings{WebhookURL: target}}
		if err := f.state.CreateSession(context.Background(), s); err != nil {
			t.Fatal(err)
		}
	}
	// 127.0.0.1 stands in for a public address here: the address policy itself is
	// tested in package webhook.
	d, err := webhook.New(webhook.Options{Secret: secret, AllowPrivate: true, Resolver: hosts{},
		TLSConfig: &tls.Config{RootCAs: pool}, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	f.consumer = &lambdaevents.Consumer{
		Notifier:   &webhook.Notifier{Sessions: f.state, Sender: d},
		Visibility: f.vis,
		QueueURL:   "https://sqs.eu-west-1.amazonaws.com/123456789012/wagate-events",
		Logger:     slog.New(slog.NewJSONHandler(f.logs, nil)),
	}
	return f
}

func message(t *testing.T, id, session string, receives int) events.SQSMessage {
	t.Helper()
	e, err := core.NewEvent(core.EventMessageIn, core.SessionKey{Tenant: "acme", ID: session}, time.Now(),
		map[string]string{"text": "hi from " + session})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(e)
	return events.SQSMessage{MessageId: id, ReceiptHandle: "rh-" + id, Body: string(body),
		Attributes: map[string]string{"ApproximateReceiveCount": string(rune('0' + receives))}}
}

func failedIDs(resp events.SQSEventResponse) []string {
	var ids []string
	for _, f := range resp.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	return ids
}

func TestBatchDeliversAndReportsFailures(t *testing.T) {
	f := newFixture(t)
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "inv-42"})
	batch := events.SQSEvent{Records: []events.SQSMessage{
		message(t, "m-ok", "ok", 1),
		message(t, "m-fail", "fail", 3),
		message(t, "m-quiet", "quiet", 1),
		message(t, "m-gone", "deleted-session", 1),
		{MessageId: "m-junk", Body: "not json", Attributes: map[string]string{"ApproximateReceiveCount": "1"}},
	}}
	resp, err := f.consumer.Handle(ctx, batch)
	if err != nil {
		t.Fatalf("Handle failed the whole batch: %v", err)
	}
	got := failedIDs(resp)
	if len(got) != 2 || !slices.Contains(got, "m-fail") || !slices.Contains(got, "m-junk") {
		t.Errorf("batch item failures %v, want m-fail and m-junk", got)
	}

	if f.ok.count() != 1 {
		t.Fatalf("the ok webhook got %d deliveries, want 1", f.ok.count())
	}
	if !webhook.Verify(secret, f.ok.bodies[0], f.ok.sigs[0]) {
		t.Errorf("signature %q does not verify", f.ok.sigs[0])
	}
	var e core.Event
	if err := json.Unmarshal(f.ok.bodies[0], &e); err != nil || e.SessionID != "ok" || e.Tenant != "acme" || !strings.Contains(string(e.Data), "hi from ok") {
		t.Errorf("delivered %s (%v)", f.ok.bodies[0], err)
	}
	if f.fail.count() != 1 {
		t.Errorf("the failing webhook got %d attempts, want 1", f.fail.count())
	}

	if len(f.vis.calls) != 1 || *f.vis.calls[0].ReceiptHandle != "rh-m-fail" || f.vis.calls[0].VisibilityTimeout != 120 {
		t.Errorf("visibility changes %+v, want one for m-fail of 120 s (third receive)", f.vis.calls)
	}
	logs := f.logs.String()
	for _, want := range []string{`"request_id":"inv-42"`, `"webhook_failed"`, `"event_invalid"`, `"result":"no_webhook"`, `"result":"no_session"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s:\n%s", want, logs)
		}
	}
	for _, secretText := range []string{string(secret), "url-secret", "/hooks/wa"} {
		if strings.Contains(logs, secretText) {
			t.Errorf("logs contain %q:\n%s", secretText, logs)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		if !strings.Contains(line, `"request_id":"inv-42"`) {
			t.Errorf("log line without the request id: %s", line)
		}
	}
}

func TestRetryDeliversOnce(t *testing.T) {
	f := newFixture(t)
	f.fail.mu.Lock()
	f.fail.status = http.StatusServiceUnavailable
	f.fail.mu.Unlock()
	msg := message(t, "m1", "fail", 1)
	resp, _ := f.consumer.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{msg}})
	if ids := failedIDs(resp); len(ids) != 1 || ids[0] != "m1" {
		t.Fatalf("first attempt failures %v, want m1", ids)
	}
	f.fail.mu.Lock()
	f.fail.status = http.StatusOK
	f.fail.mu.Unlock()
	msg.Attributes["ApproximateReceiveCount"] = "2"
	resp, _ = f.consumer.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{msg}})
	if ids := failedIDs(resp); len(ids) != 0 {
		t.Fatalf("redelivery failures %v, want none", ids)
	}
	if n := f.fail.count(); n != 2 {
		t.Errorf("webhook got %d attempts, want 2 (one failed, one accepted)", n)
	}
	if len(f.vis.calls) != 1 || f.vis.calls[0].VisibilityTimeout != 30 {
		t.Errorf("visibility changes %+v, want one of 30 s after the first failure", f.vis.calls)
	}
}

func TestBackoff(t *testing.T) {
	cases := []struct {
		receives int
		want     time.Duration
	}{{0, 30 * time.Second}, {1, 30 * time.Second}, {2, time.Minute}, {3, 2 * time.Minute}, {5, 8 * time.Minute}, {6, 15 * time.Minute}, {60, 15 * time.Minute}}
	for _, c := range cases {
		if got := lambdaevents.Backoff(c.receives, 0, 0); got != c.want {
			t.Errorf("Backoff(%d) = %v, want %v", c.receives, got, c.want)
		}
	}
}
