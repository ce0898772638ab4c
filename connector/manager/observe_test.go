package manager_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/wagate/wagate/connector/manager"
	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/core/metrics"
	"github.com/wagate/wagate/wasim/simtest"
)

// observed is what an on-call engineer sees of one connector in CloudWatch: its
// JSON log lines and its EMF metric lines.
type observed struct {
	t    testing.TB
	logs *jsonLines
	rec  *metrics.Recorder
	emf  *metrics.EMF
	conn *connector
}

// observeOptions change the connector an observed test runs.
type observeOptions struct {
	// diagnose replaces the harness's always-passing diagnostics.
	diagnose func(ctx context.Context, m metrics.Emitter, log *slog.Logger) core.Report
	// httpClient replaces the harness's simulator dialer.
	httpClient func(core.Settings) (*http.Client, error)
}

// startObserved runs a connector (a Manager and a command consumer) whose logs are
// JSON lines and whose metrics are EMF lines, both captured. The logs are also
// written to the test log when WAGATE_TEST_LOG is set.
func (h *harness) startObserved(cfg manager.Config, opts observeOptions) *observed {
	h.t.Helper()
	o := &observed{t: h.t, logs: &jsonLines{}, rec: &metrics.Recorder{}}
	o.emf = metrics.NewEMF(o.rec, nil)
	var w io.Writer = o.logs
	if os.Getenv("WAGATE_TEST_LOG") != "" {
		w = teeWriter{o.logs, testWriter{h.t}}
	}
	log := slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
	httpClient := opts.httpClient
	if httpClient == nil {
		httpClient = func(core.Settings) (*http.Client, error) { return simtest.HTTPClient(h.sim.Addr), nil }
	}
	diagnose := func(context.Context) core.Report {
		return core.Report{ID: core.NewID(), OK: true, Checks: []core.Check{{Kind: core.CheckTCP4, Target: h.sim.Addr, Outcome: core.OutcomeOK}}}
	}
	if opts.diagnose != nil {
		diagnose = func(ctx context.Context) core.Report { return opts.diagnose(ctx, o.emf, log) }
	}
	mgr, err := manager.New(cfg, manager.Deps{
		State: h.state, Leases: h.state, Events: h.bus, Devices: h.devices,
		HTTPClient: httpClient, Diagnose: diagnose, Log: log, Metrics: o.emf,
	})
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &connector{mgr: mgr, cancel: cancel, done: make(chan error, 1)}
	consumed := make(chan struct{})
	go func() {
		defer close(consumed)
		_ = h.bus.ConsumeCommands(ctx, mgr.HandleCommand)
	}()
	go func() { c.done <- mgr.Run(ctx); <-consumed }()
	h.t.Cleanup(func() { h.stop(c) })
	o.conn = c
	return o
}

// flush writes the metrics recorded so far and fails the test on any line that is
// not valid EMF.
func (o *observed) flush() {
	o.t.Helper()
	if err := o.emf.Flush(); err != nil {
		o.t.Fatal(err)
	}
	if err := o.rec.Err(); err != nil {
		o.t.Fatal(err)
	}
}

// waitMetric flushes until the sum of name with dims reaches at least want.
func (o *observed) waitMetric(name string, want float64, dims ...metrics.Dim) float64 {
	o.t.Helper()
	var got float64
	eventually(o.t, fmt.Sprintf("%s%v >= %v", name, dims, want), func() string {
		o.flush()
		if got = o.rec.Sum(name, dims...); got < want {
			return fmt.Sprintf("%v", got)
		}
		return ""
	})
	return got
}

// waitGauge flushes until the latest reading of name with dims equals want.
func (o *observed) waitGauge(name string, want float64, dims ...metrics.Dim) {
	o.t.Helper()
	eventually(o.t, fmt.Sprintf("%s%v == %v", name, dims, want), func() string {
		o.flush()
		if got, ok := o.rec.Last(name, dims...); !ok || got != want {
			return fmt.Sprintf("%v (recorded: %v)", got, ok)
		}
		return ""
	})
}

// waitLog waits for a log line with the event name whose fields include want.
func (o *observed) waitLog(event string, want map[string]any) map[string]any {
	o.t.Helper()
	var line map[string]any
	eventually(o.t, "log event "+event, func() string {
		for _, l := range o.logs.lines(o.t) {
			if l["event"] == event && matches(l, want) {
				line = l
				return ""
			}
		}
		return "not logged"
	})
	return line
}

func matches(line, want map[string]any) bool {
	for k, v := range want {
		if fmt.Sprint(line[k]) != fmt.Sprint(v) {
			return false
		}
	}
	return true
}

// jsonLines collects JSON log lines.
type jsonLines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (j *jsonLines) Write(p []byte) (int, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.buf.Write(p)
}

// lines parses every complete line so far; a line that is not a JSON object fails
// the test (CloudWatch Logs Insights could not read its fields).
func (j *jsonLines) lines(t testing.TB) []map[string]any {
	t.Helper()
	j.mu.Lock()
	data := slices.Clone(j.buf.Bytes())
	j.mu.Unlock()
	var out []map[string]any
	for _, raw := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("log line is not JSON: %s: %v", raw, err)
		}
		out = append(out, m)
	}
	return out
}

type teeWriter struct{ a, b io.Writer }

func (w teeWriter) Write(p []byte) (int, error) {
	n, err := w.a.Write(p)
	_, _ = w.b.Write(p)
	return n, err
}

// walkthrough writes, when WAGATE_WALKTHROUGH names a folder, what on-call sees for
// one fault: the log lines of the given events (as CloudWatch shows them) and the
// metric values. The runbook's fault walk-through is copied from these files.
func (o *observed) walkthrough(name string, events []string, values map[string]float64) {
	o.t.Helper()
	dir := os.Getenv("WAGATE_WALKTHROUGH")
	if dir == "" {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "### %s\n\nLog lines:\n\n```json\n", name)
	for _, l := range o.logs.lines(o.t) {
		ev, _ := l["event"].(string)
		switch {
		case ev == "whatsmeow" && (l["level"] == "WARN" || l["level"] == "ERROR"):
		case ev == "diagnostics_check" && l["outcome"] != "fail":
			continue
		case !slices.Contains(events, ev):
			continue
		}
		delete(l, "time")
		data, err := json.Marshal(l)
		if err != nil {
			o.t.Fatal(err)
		}
		b.Write(data)
		b.WriteByte('\n')
	}
	b.WriteString("```\n\nMetrics:\n\n")
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "- `%s` = %v\n", k, values[k])
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		o.t.Fatal(err)
	}
	file := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".md")
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		o.t.Fatal(err)
	}
}

// sums returns the sums of several metrics for the walk-through, keyed
// "Name{Dim=value}".
func (o *observed) sums(specs ...metricSpec) map[string]float64 {
	o.flush()
	out := make(map[string]float64, len(specs))
	for _, s := range specs {
		label := s.name
		if len(s.dims) > 0 {
			var parts []string
			for _, d := range s.dims {
				parts = append(parts, d.Key+"="+d.Value)
			}
			label += "{" + strings.Join(parts, ",") + "}"
		}
		if s.gauge {
			v, _ := o.rec.Last(s.name, s.dims...)
			out[label+" (latest)"] = v
			continue
		}
		out[label] = o.rec.Sum(s.name, s.dims...)
	}
	return out
}

// metricSpec names one metric series.
type metricSpec struct {
	name  string
	dims  []metrics.Dim
	gauge bool
}

func sum(name string, dims ...metrics.Dim) metricSpec { return metricSpec{name: name, dims: dims} }

func gauge(name string, dims ...metrics.Dim) metricSpec {
	return metricSpec{name: name, dims: dims, gauge: true}
}
