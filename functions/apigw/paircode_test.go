package apigw_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/functions/apigw"
)

func TestPairCodeAnswersWhenTheConnectorDoes(t *testing.T) {
	e := newEnv(t)
	c := e.startConnector(t)
	e.createSession(tokenA, "s1")
	e.setStatus(tenantA, "s1", core.StatusQR, "")

	r := e.do(req{method: "POST", path: "/v1/sessions/s1/pair-code", token: tokenA, body: `{"phone":"+1 (555) 123-4567"}`})
	expect(t, r, http.StatusOK, "")
	var code struct{ Code string }
	r.json(t, &code)
	if code.Code != "ABCD-EFGH" {
		t.Fatalf("code %q", code.Code)
	}
	cmds := c.commands(core.CmdPairCode)
	var p core.PairCodePayload
	if len(cmds) != 1 || cmds[0].DecodePayload(&p) != nil || p.Phone != "15551234567" {
		t.Fatalf("pair-code commands %+v (phone %q)", cmds, p.Phone)
	}

	// An error result of the connector is answered with its code and message.
	r = e.do(req{method: "POST", path: "/v1/sessions/s1/pair-code", token: tokenA, body: `{"phone":"15550009999"}`})
	expect(t, r, http.StatusTooManyRequests, "rate_limited")
	if r.header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}

	// A linked session cannot pair again.
	e.setStatus(tenantA, "s1", core.StatusConnected, "15551234567@s.whatsapp.net")
	expect(t, e.do(req{method: "POST", path: "/v1/sessions/s1/pair-code", token: tokenA, body: `{"phone":"15551234567"}`}),
		http.StatusConflict, "wrong_state")
}

func TestPairCodePendingThenPoll(t *testing.T) {
	e := newEnv(t, func(s *apigw.Server) { s.Options.ResultWait = 50 * time.Millisecond })
	c := e.startConnector(t)
	c.holdPairCode = make(chan struct{})
	e.createSession(tokenA, "s1")
	e.setStatus(tenantA, "s1", core.StatusQR, "")

	r := e.do(req{method: "POST", path: "/v1/sessions/s1/pair-code", token: tokenA, body: `{"phone":"15551234567"}`})
	expect(t, r, http.StatusAccepted, "")
	var pend struct{ CommandID, Status, Poll string }
	r.json(t, &pend)
	if pend.Status != "pending" || pend.Poll != "/v1/sessions/s1/pair-code/"+pend.CommandID || r.header.Get("Location") != pend.Poll {
		t.Fatalf("pending answer %s (Location %q)", r.body, r.header.Get("Location"))
	}

	// Still pending while the connector holds the result; another tenant sees nothing.
	expect(t, e.do(req{method: "GET", path: pend.Poll, token: tokenA}), http.StatusAccepted, "")
	expect(t, e.do(req{method: "GET", path: pend.Poll, token: tokenB}), http.StatusNotFound, "not_found")

	close(c.holdPairCode)
	poll(t, "the pair code", func() bool {
		r = e.do(req{method: "GET", path: pend.Poll, token: tokenA})
		return r.status == http.StatusOK
	})
	var code struct{ Code string }
	r.json(t, &code)
	if code.Code != "ABCD-EFGH" {
		t.Fatalf("polled code %q", code.Code)
	}

	// The result of this command is not readable through another session's path.
	e.createSession(tokenA, "s2")
	expect(t, e.do(req{method: "GET", path: "/v1/sessions/s2/pair-code/" + pend.CommandID, token: tokenA}), http.StatusNotFound, "not_found")
}
