//go:build unix

package awse2e

import (
	"encoding/json"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wagate/wagate/connector/internal/apitest"
	"github.com/wagate/wagate/connector/internal/proctest"
	"github.com/wagate/wagate/core"
)

// TestSplitConnectorOnDynamoDB runs the connector process on the DynamoDB key store
// and state table with commands and events over SQS: a session links by QR, sends and
// receives, survives a restart of the process without a new QR code, and a logout
// leaves nothing of the device in the key table.
func TestSplitConnectorOnDynamoDB(t *testing.T) {
	t.Parallel()
	t0 := time.Now()
	s := newStack(t)
	t.Logf("stack ready (%s)", time.Since(t0))
	alice, bob := createPhone(t, s, alicePhone, "Alice"), createPhone(t, s, bobPhone, "Bob")
	a := startConnector(t, s, "conn-a")
	checkHealth(t, a, http.StatusOK)
	if code := healthcheck(t, s, a); code != 0 {
		t.Errorf("connector healthcheck of a running connector: exit %d, want 0", code)
	}

	// Link by QR through the API handlers: commands over SQS, QR in the state table.
	dev := s.link(t, "desk", alice)
	s.events.waitFor(t, s, "session.status qr", statusEvent("desk", core.StatusQR))
	s.events.waitFor(t, s, "session.status connected", statusEvent("desk", core.StatusConnected))
	if !s.storedDevice(t, dev.JID) || s.deviceItems(t, dev.JID) == 0 {
		t.Fatalf("the key table holds no device %s and no key material for it", dev.JID)
	}

	t.Logf("linked %s (%s)", dev.JID, time.Since(t0))
	sendAndReceive(t, s, alice, bob, "before the restart")
	t.Logf("messages flow both ways (%s)", time.Since(t0))

	// Restart the process: a clean stop releases the lease, a new process on the
	// same tables reconnects the session with the stored keys.
	stopped := time.Now()
	a.Signal(t, syscall.SIGTERM)
	if code := a.WaitExit(t, proctest.StopTimeout); code != 0 {
		t.Errorf("connector exit code %d after SIGTERM, want 0", code)
	}
	stopTook := time.Since(stopped)
	if stopTook > 25*time.Second {
		t.Errorf("shutdown took %s, want at most 25s", stopTook)
	}
	if l := s.lease(t, "desk"); l.Owner != "" {
		t.Errorf("lease after a clean stop: owner %q, want released", l.Owner)
	}
	logins := s.logins.count(dev.JID)
	b := startConnector(t, s, "conn-b")
	b.WaitLog(t, linkTimeout, "session_connected", sessionLog("desk"))
	after := s.waitStatus(t, "desk", core.StatusConnected, linkTimeout)
	if after.JID != dev.JID {
		t.Errorf("after the restart the session is %q, want the same device %q", after.JID, dev.JID)
	}
	if qr := b.Find("session_qr", sessionLog("desk")); len(qr) > 0 {
		t.Errorf("the restarted connector showed %d QR codes, want none", len(qr))
	}
	if got := s.logins.count(dev.JID); got != logins+1 {
		t.Errorf("the device logged in %d times after the restart, want once", got-logins)
	}
	if l := s.lease(t, "desk"); l.Owner != "conn-b" {
		t.Errorf("lease owner %q after the restart, want conn-b", l.Owner)
	}
	t.Logf("restarted: stop took %s, reconnected without QR (%s)", stopTook.Round(time.Millisecond), time.Since(t0))
	sendAndReceive(t, s, alice, bob, "after the restart")
	t.Logf("messages flow both ways after the restart (%s)", time.Since(t0))

	// Logout unlinks the device and wipes its partition of the key table.
	s.api.MustJSON(t, "POST", "/v1/sessions/desk/logout", nil, 202, nil)
	s.waitStatus(t, "desk", core.StatusLoggedOut, eventTimeout)
	apitest.Eventually(t, eventTimeout, "the device's items to leave the key table", func() (bool, string) {
		n, stored := s.deviceItems(t, dev.JID), s.storedDevice(t, dev.JID)
		return n == 0 && !stored, "items left: " + itoa(n) + ", device listed: " + boolStr(stored)
	})
	devices, err := s.sim.Control.Devices(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range devices {
		if d.JID == dev.JID {
			t.Errorf("the simulator still lists the logged-out device: %+v", d)
		}
	}
	t.Logf("logged out: the key table holds nothing of the device (%s)", time.Since(t0))
}

// sendAndReceive sends a text from the session to Bob and has Bob reply: the
// message reaches Bob's phone and is marked sent; the reply lands in the inbox and
// on the events queue.
func sendAndReceive(t *testing.T, s *stack, alice, bob, when string) {
	t.Helper()
	text := "hello Bob " + when + " " + core.NewID()[:8]
	start := time.Now()
	sent := s.api.Send(t, "desk", bob, text)
	apitest.Eventually(t, eventTimeout, "Bob to receive the message "+when, func() (bool, string) {
		got, err := s.sim.Control.Messages(ctx(t), bob)
		if err != nil {
			return false, err.Error()
		}
		for _, m := range got {
			if m.ID == sent.ID {
				if m.Text != text || m.From != alice {
					t.Fatalf("Bob received %q from %s, want %q from %s", m.Text, m.From, text, alice)
				}
				return true, ""
			}
		}
		return false, itoa(len(got)) + " messages"
	})
	// SQS hides a command that a stopped process's receive took for the visibility
	// timeout (30 s): a stopping connector must hand such commands back at once.
	if took := time.Since(start); took > maxSendLatency {
		t.Errorf("the message %s took %s to reach Bob, want less than %s", when, took.Round(time.Millisecond), maxSendLatency)
	}
	apitest.Eventually(t, eventTimeout, "the message to be marked sent "+when, func() (bool, string) {
		m := s.api.Message(t, "desk", sent.ID)
		return m.Status == core.MessageSent || m.Status == core.MessageDelivered, string(m.Status)
	})

	reply := "hi Alice " + when + " " + core.NewID()[:8]
	replyID, err := s.sim.Control.SendMessage(ctx(t), bob, alice, reply)
	if err != nil {
		t.Fatalf("Bob replies: %v", err)
	}
	apitest.Eventually(t, eventTimeout, "the reply in the inbox "+when, func() (bool, string) {
		for _, m := range s.api.inbox(t, "desk") {
			if m.ID == replyID {
				if m.Text != reply {
					t.Fatalf("inbox has %q, want %q", m.Text, reply)
				}
				return true, ""
			}
		}
		return false, "not yet"
	})
	ev := s.events.waitFor(t, s, "message.in "+when, func(e core.Event) bool {
		var m core.Message
		return e.Type == core.EventMessageIn && json.Unmarshal(e.Data, &m) == nil && m.ID == replyID
	})
	if ev.Tenant != tenant || ev.SessionID != "desk" {
		t.Errorf("message.in event for %s/%s, want %s/desk", ev.Tenant, ev.SessionID, tenant)
	}
}

// createPhone creates a fake phone on the simulator.
func createPhone(t testing.TB, s *stack, phone, name string) string {
	t.Helper()
	if _, err := s.sim.Control.CreatePhone(ctx(t), phone, name); err != nil {
		t.Fatalf("create phone %s: %v", name, err)
	}
	return phone
}

// checkHealth asks the process's health endpoint and checks the status code.
func checkHealth(t testing.TB, p *proc, want int) {
	t.Helper()
	resp, err := http.Get("http://" + p.health + "/healthz")
	if err != nil {
		t.Fatalf("health of %s: %v", p.Name, err)
	}
	defer resp.Body.Close()
	var body struct {
		Status    string `json:"status"`
		Connector string `json:"connector"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != want || (want == http.StatusOK && (body.Status != "ok" || body.Connector != p.Name)) {
		t.Errorf("health of %s: %d %+v, want %d", p.Name, resp.StatusCode, body, want)
	}
}

// healthcheck runs `connector healthcheck` against the process and returns its exit code.
func healthcheck(t testing.TB, s *stack, p *proc) int {
	t.Helper()
	cmd := exec.Command(connectorBin, "healthcheck")
	cmd.Env = append(s.awsEnv, "WAGATE_HEALTH_ADDR="+p.health)
	out, err := cmd.CombinedOutput()
	if exit, ok := err.(*exec.ExitError); ok {
		return exit.ExitCode()
	} else if err != nil {
		t.Fatalf("run healthcheck: %v: %s", err, out)
	}
	if strings.TrimSpace(string(out)) != "" {
		t.Logf("healthcheck said: %s", out)
	}
	return 0
}

func itoa(n int) string { return strconv.Itoa(n) }

func boolStr(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
