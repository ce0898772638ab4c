//go:build unix

package awse2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wagate/wagate/connector/internal/apitest"
	"github.com/wagate/wagate/connector/internal/proctest"
	"github.com/wagate/wagate/core"
)

// handoverBound is the generous bound on a handover: the lease, the first reconnect
// backoff step (1 s plus 20 % jitter), and slack for a loaded machine and race-enabled
// binaries. The measured times are logged.
const handoverBound = testLease + 1200*time.Millisecond + 6*time.Second

// TestOneHolderAcrossConnectorProcesses runs two connector processes on the same
// tables at every moment and moves the session between them by stopping the holder
// (SIGTERM), killing it (SIGKILL) and pausing it (SIGSTOP, then SIGCONT). The
// simulator is sampled throughout: never two connections of the account at once,
// and a handover never replaces a live connection, except the frozen one of the
// paused process, which on resuming gives up instead of fighting: its writes are
// fenced and the session stays with the new holder.
func TestOneHolderAcrossConnectorProcesses(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	alice, bob := createPhone(t, s, alicePhone, "Alice"), createPhone(t, s, bobPhone, "Bob")
	a := startConnector(t, s, "conn-a")
	dev := s.link(t, "desk", alice)
	w := watchDevices(t, s, alice)

	// 1. The holder stops: it releases the lease and the standby takes it at once.
	b := startStandby(t, s, "conn-b")
	took := handover(t, s, a, b, syscall.SIGTERM, "")
	if code := a.WaitExit(t, proctest.StopTimeout); code != 0 {
		t.Errorf("conn-a exit code %d after SIGTERM, want 0", code)
	}
	t.Logf("handover after SIGTERM: %s", took)

	// 2. The holder is killed: its lease is taken once it stopped being renewed for a
	// whole lease duration.
	c := startStandby(t, s, "conn-c")
	took = handover(t, s, b, c, syscall.SIGKILL, "conn-b")
	if took < testLease/2 {
		t.Errorf("conn-c took the killed holder's lease after %s, before it could have expired (lease %s)", took, testLease)
	}
	t.Logf("handover after SIGKILL: %s", took)

	// 3. The holder is paused: the standby takes over; the paused process, resumed,
	// finds its lease and its writes refused and disconnects without fighting.
	d := startStandby(t, s, "conn-d")
	took = handover(t, s, c, d, syscall.SIGSTOP, "conn-c")
	t.Logf("handover after SIGSTOP: %s", took)
	held := s.session(t, "desk")
	loginsBefore := s.logins.count(dev.JID)
	resumed := time.Now()
	c.Signal(t, syscall.SIGCONT)
	c.WaitLog(t, eventTimeout, "session_lease_lost", sessionLog("desk"))
	apitest.Never(t, 2*testLease, "the session to leave the new holder", func() (bool, string) {
		sess, l := s.session(t, "desk"), s.lease(t, "desk")
		if sess.Status != core.StatusConnected || sess.Fence != held.Fence || l.Owner != "conn-d" {
			return true, fmt.Sprintf("session %s fence %d (want %d), lease owner %q", apitest.Describe(sess), sess.Fence, held.Fence, l.Owner)
		}
		if n := s.logins.count(dev.JID); n != loginsBefore {
			return true, fmt.Sprintf("the device logged in %d more times", n-loginsBefore)
		}
		return false, ""
	})
	if replaced(d) {
		t.Errorf("the new holder was replaced by the resumed process:\n%s", d.Output())
	}
	for _, e := range s.events.all(t, s) {
		if statusEvent("desk", core.StatusReplaced)(e) {
			t.Errorf("a session.status replaced event was published: %+v", e)
		}
	}
	// The resumed process is a standby now: it leaves the commands to the holder.
	c.WaitLog(t, eventTimeout, "commands_paused", loggedAfter(resumed))
	resumedAt := len(c.Find("command_done", nil))
	for i := range 3 {
		sendAndReceive(t, s, alice, bob, fmt.Sprintf("after the handovers (%d)", i))
	}
	if n := len(c.Find("command_done", nil)); n != resumedAt {
		t.Errorf("the resumed standby handled %d commands of the session held by conn-d", n-resumedAt)
	}

	samples, most := w.stop()
	t.Logf("simulator sampled %d times; most connections of the account at once: %d", samples, most)
	if most > 1 {
		t.Errorf("the account had %d connections at once, want at most 1", most)
	}
	for _, p := range []*proc{a, b} {
		if replaced(p) {
			t.Errorf("%s was replaced by another connection while it held the session:\n%s", p.Name, p.Output())
		}
	}
}

// startStandby starts a connector while another one holds the session: it finds the
// session to restore and waits for the lease.
func startStandby(t *testing.T, s *stack, id string) *proc {
	t.Helper()
	p := startConnector(t, s, id)
	p.WaitLog(t, readyTimeout, "lease_waiting", sessionLog("desk"))
	p.WaitLog(t, readyTimeout, "commands_paused", nil)
	if got := s.lease(t, "desk").Owner; got == id {
		t.Fatalf("the standby %s took the lease of a running holder", id)
	}
	return p
}

// handover signals the holder and waits for the standby to connect the session; it
// returns the time from the signal to the standby's session_connected line, and
// fails beyond handoverBound. prevOwner, when set, is the lease owner the standby
// must have taken over from.
func handover(t *testing.T, s *stack, holder, standby *proc, sig syscall.Signal, prevOwner string) time.Duration {
	t.Helper()
	if got := s.lease(t, "desk").Owner; got != holder.Name {
		t.Fatalf("lease owner %q before the handover, want %s", got, holder.Name)
	}
	start := time.Now()
	holder.Signal(t, sig)
	line := standby.WaitLog(t, linkTimeout, "session_connected", sessionLog("desk"))
	at, err := time.Parse(time.RFC3339Nano, line.Str("time"))
	if err != nil {
		t.Fatalf("session_connected line without a time: %v", line)
	}
	took := at.Sub(start).Round(time.Millisecond)
	if took > handoverBound {
		t.Errorf("handover after %s took %s, want at most %s", sig, took, handoverBound)
	}
	s.waitStatus(t, "desk", core.StatusConnected, eventTimeout)
	if l := s.lease(t, "desk"); l.Owner != standby.Name {
		t.Errorf("lease owner %q after the handover, want %s", l.Owner, standby.Name)
	}
	if prevOwner != "" && len(standby.Find("lease_taking_over", func(l logLine) bool { return l.Str("holder") == prevOwner })) == 0 {
		t.Errorf("%s took the session without waiting out %s's lease", standby.Name, prevOwner)
	}
	return took
}

// loggedAfter matches log lines written after t.
func loggedAfter(t time.Time) func(logLine) bool {
	return func(l logLine) bool {
		at, err := time.Parse(time.RFC3339Nano, l.Str("time"))
		return err == nil && at.After(t)
	}
}

// replaced reports whether a process's connection was replaced by another one.
func replaced(p *proc) bool { return strings.Contains(p.Output(), "stream_replaced") }

// deviceWatch samples the simulator's devices of one account.
type deviceWatch struct {
	done    chan struct{}
	stopped chan struct{}
	mu      sync.Mutex
	samples int
	most    int
	errs    int
}

// watchDevices samples the simulator every 20 ms until stop (or the test's end): the
// most connected devices of the phone's account seen at once.
func watchDevices(t *testing.T, s *stack, phone string) *deviceWatch {
	t.Helper()
	w := &deviceWatch{done: make(chan struct{}), stopped: make(chan struct{})}
	go func() {
		defer close(w.stopped)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-w.done:
				return
			case <-tick.C:
			}
			c, cancel := context.WithTimeout(context.Background(), opTimeout)
			devices, err := s.sim.Control.Devices(c)
			cancel()
			n := 0
			for _, d := range devices {
				if d.Phone == phone && d.Connected {
					n++
				}
			}
			w.mu.Lock()
			if err != nil {
				w.errs++
			} else {
				w.samples++
				w.most = max(w.most, n)
			}
			w.mu.Unlock()
		}
	}()
	t.Cleanup(func() { w.stop() })
	return w
}

// stop ends the sampling and returns the number of samples and the most connected
// devices seen at once.
func (w *deviceWatch) stop() (samples, most int) {
	select {
	case <-w.done:
	default:
		close(w.done)
	}
	<-w.stopped
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.samples, w.most
}
