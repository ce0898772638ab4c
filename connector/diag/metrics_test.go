package diag_test

import (
	"crypto/tls"
	"testing"

	"github.com/wagate/wagate/connector/diag"
	"github.com/wagate/wagate/connector/netdial/netdialtest"
	"github.com/wagate/wagate/core/metrics"
)

func TestRunRecordsMetricsPerCheck(t *testing.T) {
	t.Run("resolver_fails", func(t *testing.T) {
		rec := &metrics.Recorder{}
		emf := metrics.NewEMF(rec, nil)
		r := &diag.Runner{
			Targets:  diag.Targets{Hosts: testHosts, Port: "443", WebSocketURL: "wss://chat.wagate.test/ws/chat"},
			Resolver: netdialtest.NoNetworkResolver(t),
			Metrics:  emf,
		}
		run(t, r)
		if err := emf.Flush(); err != nil {
			t.Fatal(err)
		}
		if err := rec.Err(); err != nil {
			t.Fatal(err)
		}
		if got := rec.Sum(metrics.DiagnosticsRuns, metrics.D(metrics.DimOutcome, "fail")); got != 1 {
			t.Errorf("failed runs = %v, want 1", got)
		}
		if got := rec.Sum(metrics.DiagnosticsCheckFailures, metrics.D(metrics.DimCheck, "dns_a")); got != float64(len(testHosts)) {
			t.Errorf("dns_a failures = %v, want one per host (%d)", got, len(testHosts))
		}
		if got := rec.Sum(metrics.DiagnosticsCheckFailures, metrics.D(metrics.DimCheck, "websocket")); got != 1 {
			t.Errorf("websocket failures = %v, want 1", got)
		}
		if got := rec.Values(metrics.DiagnosticsCheckFailures, metrics.D(metrics.DimCheck, "tls")); got != nil {
			t.Errorf("tls failures %v: a skipped check is not a failure", got)
		}
	})
	t.Run("all_pass", func(t *testing.T) {
		srv := startWAServer(t, true)
		rec := &metrics.Recorder{}
		emf := metrics.NewEMF(rec, nil)
		r := &diag.Runner{
			Targets:   diag.Targets{Hosts: testHosts, Port: srv.port, WebSocketURL: "wss://web.wagate.test:" + srv.port + "/ws/chat"},
			Resolver:  dualDNS(t).Resolver(),
			TLSConfig: &tls.Config{RootCAs: srv.roots},
			Metrics:   emf,
		}
		run(t, r)
		_ = emf.Flush()
		if got := rec.Sum(metrics.DiagnosticsRuns, metrics.D(metrics.DimOutcome, "ok")); got != 1 {
			t.Errorf("ok runs = %v, want 1", got)
		}
		for _, s := range rec.Samples() {
			if s.Name == metrics.DiagnosticsCheckFailures {
				t.Errorf("a check failure recorded on a clean run: %+v", s)
			}
		}
	})
}
