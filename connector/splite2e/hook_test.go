//go:build unix

package splite2e

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/functions/webhook"
)

// webhookSecret keys the signatures of the devapi's events function.
const webhookSecret = "splite2e-webhook-secret-0123456789"

// receiver is an https webhook receiver on loopback. Deliveries to a path under
// /ok/ are answered 200, under /fail/ 500. Its certificate is written to a PEM file
// that devapi trusts through SSL_CERT_FILE.
type receiver struct {
	srv      *httptest.Server
	certFile string

	mu         sync.Mutex
	deliveries []delivery
	notify     chan struct{}
}

// delivery is one POST the receiver got.
type delivery struct {
	path      string
	event     core.Event
	id        string // X-Wagate-Delivery
	signedOK  bool   // X-Wagate-Signature verifies with webhookSecret
	decodeErr error
	at        time.Time
}

func newReceiver(t testing.TB, dir string) *receiver {
	t.Helper()
	r := &receiver{notify: make(chan struct{})}
	r.srv = httptest.NewTLSServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	r.certFile = filepath.Join(dir, "webhook-ca.pem")
	block := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: r.srv.Certificate().Raw})
	if err := os.WriteFile(r.certFile, block, 0o600); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	d := delivery{path: req.URL.Path, id: req.Header.Get(webhook.HeaderDelivery), at: time.Now(),
		signedOK: err == nil && webhook.Verify([]byte(webhookSecret), body, req.Header.Get(webhook.HeaderSignature))}
	d.decodeErr = json.Unmarshal(body, &d.event)
	r.mu.Lock()
	r.deliveries = append(r.deliveries, d)
	close(r.notify)
	r.notify = make(chan struct{})
	r.mu.Unlock()
	if strings.HasPrefix(req.URL.Path, "/fail/") {
		http.Error(w, "receiver down", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// url returns the webhook URL of a receiver path: "ok/<name>" or "fail/<name>".
func (r *receiver) url(path string) string { return r.srv.URL + "/" + path }

// at returns the deliveries to path so far.
func (r *receiver) at(path string) []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []delivery
	for _, d := range r.deliveries {
		if d.path == "/"+path {
			out = append(out, d)
		}
	}
	return out
}

// waitFor returns the first delivery to path from the from-th on whose event
// matches, failing the test after timeout.
func (r *receiver) waitFor(t testing.TB, path string, from int, what string, match func(core.Event) bool) delivery {
	t.Helper()
	deadline := time.NewTimer(eventTimeout)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		ch := r.notify
		r.mu.Unlock()
		for i, d := range r.at(path) {
			if i >= from && d.decodeErr == nil && match(d.event) {
				return d
			}
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("timed out after %s waiting for the webhook %s at /%s; got %d deliveries", eventTimeout, what, path, len(r.at(path)))
		}
	}
}

// checkEachOnce checks every delivery to path: signed, decodable, and each event
// delivered exactly once.
func (r *receiver) checkEachOnce(t testing.TB, path string) {
	t.Helper()
	seen := map[string]int{}
	for _, d := range r.at(path) {
		if !d.signedOK {
			t.Errorf("delivery %s to /%s: the signature does not verify", d.id, path)
		}
		if d.decodeErr != nil {
			t.Errorf("delivery %s to /%s: %v", d.id, path, d.decodeErr)
			continue
		}
		if d.id != d.event.ID {
			t.Errorf("delivery header %q for event %s", d.id, d.event.ID)
		}
		seen[d.event.ID]++
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("event %s reached /%s %d times, want once", id, path, n)
		}
	}
}

// sessionStatus matches a session.status event of session id with status st.
func sessionStatus(id string, st core.Status) func(core.Event) bool {
	return func(e core.Event) bool {
		s, ok := sessionOf(e, id)
		return ok && s.Status == st
	}
}

// sessionOf decodes the session of a session.status event of session id.
func sessionOf(e core.Event, id string) (core.Session, bool) {
	var s core.Session
	if e.Type != core.EventSessionStatus || e.SessionID != id || json.Unmarshal(e.Data, &s) != nil {
		return core.Session{}, false
	}
	return s, true
}

// messageEvent matches a message event of type typ for message id (with status st
// unless st is empty).
func messageEvent(typ core.EventType, id string, st core.MessageStatus) func(core.Event) bool {
	return func(e core.Event) bool {
		var m core.Message
		return e.Type == typ && json.Unmarshal(e.Data, &m) == nil && m.ID == id && (st == "" || m.Status == st)
	}
}

// describeDeliveries lists event types and ids, for failure messages.
func describeDeliveries(ds []delivery) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = fmt.Sprintf("%s:%s", d.event.Type, d.event.ID)
	}
	return strings.Join(parts, " ")
}
