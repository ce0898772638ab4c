//go:build unix

package splite2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/wagate/wagate/connector/internal/apitest"
	"github.com/wagate/wagate/core"
)

// client calls the HTTP API through devapi, as the admin back office calls API
// Gateway.
type client struct{ *apitest.Client }

func newClient(base, token string) *client { return &client{apitest.New(base, token)} }

// createSession creates a session whose events go to webhook ("" for none).
func (c *client) createSession(t testing.TB, id, webhook string) core.Session {
	t.Helper()
	var s core.Session
	c.MustJSON(t, "PUT", "/v1/sessions/"+id, map[string]any{"displayName": "Desk " + id, "webhookURL": webhook}, 201, &s)
	return s
}

// waitStatus polls the session until its status is want.
func (c *client) waitStatus(t testing.TB, id string, want core.Status, timeout time.Duration) core.Session {
	t.Helper()
	var s core.Session
	apitest.Eventually(t, timeout, fmt.Sprintf("session %s to be %s", id, want), func() (bool, string) {
		s = c.Session(t, id)
		return s.Status == want, apitest.Describe(s)
	})
	return s
}

// qrCode waits for the session's QR code and returns it.
func (c *client) qrCode(t testing.TB, id string) core.QR {
	t.Helper()
	var qr core.QR
	apitest.Eventually(t, linkTimeout, "a QR code for "+id, func() (bool, string) {
		r := c.Do(t, "GET", "/v1/sessions/"+id+"/qr", nil, "Accept", "application/json")
		if r.Status != 200 {
			return false, r.String()
		}
		r.Decode(t, &qr)
		return qr.Code != "", r.String()
	})
	return qr
}

// waitMessage polls a message until its status is want.
func (c *client) waitMessage(t testing.TB, id, msgID string, want core.MessageStatus) core.Message {
	t.Helper()
	var m core.Message
	apitest.Eventually(t, eventTimeout, "message "+msgID+" to be "+string(want), func() (bool, string) {
		m = c.Message(t, id, msgID)
		return m.Status == want, string(m.Status) + " " + m.Error
	})
	return m
}

// ctx returns a context for one call to the simulator or an emulator.
func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), opTimeout)
	t.Cleanup(cancel)
	return c
}
