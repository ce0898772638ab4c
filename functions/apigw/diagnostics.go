package apigw

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/wagate/wagate/core"
)

// health is the answer of GET /v1/health.
type health struct {
	// Status is "ok" when a connector sent a recent heartbeat, else "degraded".
	Status     string            `json:"status"`
	Connectors []connectorHealth `json:"connectors"`
	Time       time.Time         `json:"time"`
}

// connectorHealth is one live connector's latest heartbeat.
type connectorHealth struct {
	ConnectorID string    `json:"connectorId"`
	Version     string    `json:"version"`
	Sessions    int       `json:"sessions"`
	StartedAt   time.Time `json:"startedAt"`
	At          time.Time `json:"at"`
	// DiagnosticsOK is the outcome of the connector's latest diagnostics run; absent
	// until one ran.
	DiagnosticsOK *bool `json:"diagnosticsOk,omitempty"`
}

// health answers 200 whenever the API itself serves, with the live connectors.
// A store error is logged and reported as degraded.
func (s *Server) health(w http.ResponseWriter, r *http.Request) error {
	h := health{Status: "degraded", Connectors: []connectorHealth{}, Time: s.Now().UTC()}
	hbs, err := s.liveHeartbeats(r.Context())
	if err != nil {
		s.log(r.Context()).Error("health_heartbeats_failed", "event", "health_heartbeats_failed", "outcome", "fail", "error", err.Error())
	}
	for _, hb := range hbs {
		h.Connectors = append(h.Connectors, connectorHealth{
			ConnectorID: hb.ConnectorID, Version: hb.Version, Sessions: hb.Sessions,
			StartedAt: hb.StartedAt.UTC(), At: hb.At.UTC(), DiagnosticsOK: hb.DiagnosticsOK,
		})
	}
	if len(h.Connectors) > 0 {
		h.Status = "ok"
	}
	s.writeJSON(w, r, http.StatusOK, h)
	return nil
}

// diagnosticsPending is the 202 answer of POST /v1/diagnostics.
type diagnosticsPending struct {
	CommandID string `json:"commandId"`
	Poll      string `json:"poll"`
}

func (s *Server) getDiagnostics(w http.ResponseWriter, r *http.Request) error {
	rep, err := s.State.LatestReport(r.Context())
	if err != nil {
		return notFoundAs(err, "no diagnostics report yet; POST /v1/diagnostics to run one")
	}
	s.writeJSON(w, r, http.StatusOK, rep)
	return nil
}

// runDiagnostics asks the connector to run the network diagnostics. With
// LocalDiagnostics it waits up to ResultWait and answers 200 with the report;
// otherwise, or when the wait ends first, 202 with where to read the report.
func (s *Server) runDiagnostics(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if err := s.requireConnector(ctx); err != nil {
		return err
	}
	key := core.SessionKey{Tenant: tenantOf(r)}
	cmd, err := s.sendCommand(ctx, core.CmdDiagnostics, key, nil)
	if err != nil {
		return err
	}
	if s.Options.LocalDiagnostics {
		res, err := s.waitResult(ctx, key.Tenant, cmd.ID, s.Options.ResultWait)
		switch {
		case err == nil:
			return s.writeReport(w, r, res)
		case !core.IsCode(err, core.CodeNotFound):
			return err
		}
	}
	w.Header().Set("Location", "/v1/diagnostics")
	s.writeJSON(w, r, http.StatusAccepted, diagnosticsPending{CommandID: cmd.ID, Poll: "/v1/diagnostics"})
	return nil
}

// writeReport answers the report of a diagnostics result: the result's data when
// the connector put the report there, else the latest stored report.
func (s *Server) writeReport(w http.ResponseWriter, r *http.Request, res core.CommandResult) error {
	if err := resultError(res); err != nil {
		return err
	}
	var rep core.Report
	if len(res.Data) > 0 {
		if err := json.Unmarshal(res.Data, &rep); err != nil {
			return core.WrapError(core.CodeInternal, err, "decode diagnostics result")
		}
	} else {
		var err error
		if rep, err = s.State.LatestReport(r.Context()); err != nil {
			return core.WrapError(core.CodeInternal, err, "read the report of a finished diagnostics run")
		}
	}
	s.writeJSON(w, r, http.StatusOK, rep)
	return nil
}
