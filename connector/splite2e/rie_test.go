//go:build unix

package splite2e

import (
	"strings"
	"testing"

	"github.com/wagate/wagate/connector/internal/apitest"
	"github.com/wagate/wagate/core"
)

// TestSplitRealBootstraps runs every function as its real bootstrap binary under the
// AWS Lambda Runtime Interface Emulator, each in its own process: a session links by
// QR (the image is a binary answer), sends, receives a reply, and the events function
// delivers the events to the webhook. Each function's own log lines show that it
// served its routes.
func TestSplitRealBootstraps(t *testing.T) {
	s := newStack(t, true)
	alice, bob := s.phone(t, alicePhone, "Alice"), s.phone(t, bobPhone, "Bob")
	s.startConnector(t, "conn-a")
	const hook = "ok/desk"

	var health struct {
		Status string `json:"status"`
	}
	s.api.MustJSON(t, "GET", "/v1/health", nil, 200, &health)
	var report core.Report
	apitest.Eventually(t, eventTimeout, "the connector's diagnostics report", func() (bool, string) {
		r := s.api.Do(t, "GET", "/v1/diagnostics", nil)
		if r.Status == 200 {
			r.Decode(t, &report)
		}
		return r.Status == 200 && len(report.Checks) > 0, r.String()
	})
	if r := newClient(s.api.Base, "").Do(t, "GET", "/v1/sessions", nil); r.Status != 401 {
		t.Errorf("no token: %s, want 401", r)
	}
	s.api.createSession(t, "desk", s.hook.url(hook))
	s.api.MustJSON(t, "POST", "/v1/sessions/desk/connect", nil, 202, nil)
	code := s.api.qrCode(t, "desk").Code
	img := s.api.Do(t, "GET", "/v1/sessions/desk/qr", nil, "Accept", "image/png")
	if img.Status != 200 || img.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("QR as image: %d %s", img.Status, img.Header.Get("Content-Type"))
	}
	if got := apitest.DecodeQR(t, img.Body); got != code && got != s.api.qrCode(t, "desk").Code {
		t.Errorf("the PNG encodes %q, which was never the session's code", got)
	}
	dev, err := s.sim.Control.Scan(ctx(t), alice, s.api.qrCode(t, "desk").Code)
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	if linked := s.api.waitStatus(t, "desk", core.StatusConnected, linkTimeout); linked.JID != dev.JID {
		t.Fatalf("linked as %q, want %q", linked.JID, dev.JID)
	}

	sent := s.api.Send(t, "desk", bob, "through the real bootstraps")
	waitPhoneHas(t, s, bob, sent.ID, "through the real bootstraps", alice)
	replyID, err := s.sim.Control.SendMessage(ctx(t), bob, alice, "got it")
	if err != nil {
		t.Fatalf("Bob replies: %v", err)
	}
	s.hook.waitFor(t, hook, 0, "message.in of the reply", messageEvent(core.EventMessageIn, replyID, ""))
	apitest.Eventually(t, eventTimeout, "the reply in the inbox", func() (bool, string) {
		in := s.api.Messages(t, "desk", core.DirectionIn)
		return len(in) == 1 && in[0].ID == replyID, describeMessages(in)
	})
	s.hook.checkEachOnce(t, hook)

	// The functions' own log lines (devapi's carry component=devapi).
	for _, fn := range []string{"api-sessions", "api-qr", "api-messages", "api-diagnostics", "events-consumer"} {
		if len(s.devapi.Lines(func(l logLine) bool { return l.Str("function") == fn && l.Str("component") == "" })) == 0 {
			t.Errorf("function %s logged nothing: it did not run", fn)
		}
	}
	if n := strings.Count(s.devapi.Output(), "START RequestId:"); n == 0 {
		t.Errorf("the emulator reported no invocations")
	}
}

// describeMessages lists ids and texts, for failure messages.
func describeMessages(ms []core.Message) string {
	out := ""
	for _, m := range ms {
		out += m.ID + "=" + m.Text + " "
	}
	return out
}
