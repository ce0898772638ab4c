package apigw_test

import (
	"net/http"
	"testing"

	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/functions/apigw"
)

func TestDiagnosticsLocal(t *testing.T) {
	e := newEnv(t, func(s *apigw.Server) { s.Options.LocalDiagnostics = true })
	expect(t, e.do(req{method: "GET", path: "/v1/diagnostics", token: tokenA}), http.StatusNotFound, "not_found")
	c := e.startConnector(t)

	r := e.do(req{method: "POST", path: "/v1/diagnostics", token: tokenA})
	expect(t, r, http.StatusOK, "")
	var rep core.Report
	r.json(t, &rep)
	cmds := c.commands(core.CmdDiagnostics)
	if len(cmds) != 1 || rep.ID != cmds[0].ID || !rep.OK || len(rep.Checks) != 1 || rep.Checks[0].Kind != core.CheckDNSA {
		t.Fatalf("report %s for commands %+v", r.body, cmds)
	}
	if cmds[0].Tenant != tenantA || cmds[0].SessionID != "" {
		t.Fatalf("diagnostics command for %q/%q", cmds[0].Tenant, cmds[0].SessionID)
	}

	r = e.do(req{method: "GET", path: "/v1/diagnostics", token: tokenA})
	expect(t, r, http.StatusOK, "")
	var latest core.Report
	r.json(t, &latest)
	if latest.ID != rep.ID {
		t.Fatalf("latest report %s, want %s", latest.ID, rep.ID)
	}
}

func TestDiagnosticsSplit(t *testing.T) {
	e := newEnv(t) // LocalDiagnostics off: the API Gateway deployment
	c := e.startConnector(t)
	r := e.do(req{method: "POST", path: "/v1/diagnostics", token: tokenA})
	expect(t, r, http.StatusAccepted, "")
	var pend struct{ CommandID, Poll string }
	r.json(t, &pend)
	if pend.Poll != "/v1/diagnostics" || pend.CommandID == "" {
		t.Fatalf("202 answer %s", r.body)
	}
	poll(t, "the report", func() bool {
		r = e.do(req{method: "GET", path: pend.Poll, token: tokenA})
		return r.status == http.StatusOK
	})
	var rep core.Report
	r.json(t, &rep)
	if rep.ID != pend.CommandID || len(c.commands(core.CmdDiagnostics)) != 1 {
		t.Fatalf("report %s for command %s", rep.ID, pend.CommandID)
	}
}
