package apitest

import (
	"fmt"
	"testing"
	"time"

	"github.com/wagate/wagate/core"
)

// Eventually calls cond until it reports true, failing the test with cond's last
// detail after timeout. Polls start fast and slow down to 250 ms.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	wait := 10 * time.Millisecond
	for {
		ok, detail := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s; last: %s", timeout, what, detail)
		}
		time.Sleep(wait)
		wait = min(wait*2, 250*time.Millisecond)
	}
}

// Never calls cond for the whole window and fails the test if it ever reports true.
func Never(t testing.TB, window time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(window)
	for time.Now().Before(deadline) {
		if ok, detail := cond(); ok {
			t.Fatalf("%s: %s", what, detail)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Describe renders the parts of a session a failing poll should show.
func Describe(s core.Session) string {
	out := fmt.Sprintf("status=%s jid=%s", s.Status, s.JID)
	if s.LastError != nil {
		out += fmt.Sprintf(" lastError=%s (%s)", s.LastError.Code, s.LastError.Message)
	}
	if s.RetryAt != nil {
		out += " retryAt=" + s.RetryAt.Format(time.RFC3339)
	}
	return out
}
