package metrics_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wagate/wagate/core/metrics"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func fixedClock() time.Time { return t0 }

func TestEMFWritesTheSpecifiedShape(t *testing.T) {
	var buf bytes.Buffer
	e := metrics.NewEMF(&buf, fixedClock)
	e.Count(metrics.ReconnectAttempts, 1, metrics.D("Kind", "transient"))
	if err := e.Flush(); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`{"_aws":{"Timestamp":%d,"CloudWatchMetrics":[{"Namespace":"Wagate","Dimensions":[["Kind"]],`+
		`"Metrics":[{"Name":"ReconnectAttempts","Unit":"Count"}]}]},"Kind":"transient","ReconnectAttempts":1}`+"\n", t0.UnixMilli())
	if got := buf.String(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestEMFGroupsByDimensionValues(t *testing.T) {
	rec := &metrics.Recorder{}
	e := metrics.NewEMF(rec, fixedClock)
	e.Count(metrics.FatalEvents, 1, metrics.D(metrics.DimReason, "outdated"))
	e.Count(metrics.FatalEvents, 1, metrics.D(metrics.DimReason, "replaced"))
	e.Count(metrics.FatalEvents, 1, metrics.D(metrics.DimReason, "outdated"))
	e.Count(metrics.MessagesSent, 1)
	e.Duration(metrics.SendLatency, 1500*time.Microsecond)
	if err := e.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := rec.Err(); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.Lines()); n != 3 {
		t.Errorf("%d lines, want one per combination of dimension values (3):\n%s", n, bytes.Join(rec.Lines(), nil))
	}
	if got := rec.Values(metrics.FatalEvents, metrics.D(metrics.DimReason, "outdated")); len(got) != 2 {
		t.Errorf("outdated values %v, want two", got)
	}
	if got := rec.Sum(metrics.FatalEvents, metrics.D(metrics.DimReason, "replaced")); got != 1 {
		t.Errorf("replaced sum %v, want 1", got)
	}
	lat := rec.Values(metrics.SendLatency)
	if len(lat) != 1 || lat[0] != 1.5 {
		t.Errorf("send latency %v, want [1.5] ms", lat)
	}
	for _, s := range rec.Samples() {
		if s.Name == metrics.SendLatency && s.Unit != metrics.UnitMilliseconds {
			t.Errorf("send latency unit %q", s.Unit)
		}
	}
	// A metric without dimensions has one empty dimension set.
	for _, line := range rec.Lines() {
		if bytes.Contains(line, []byte(`"MessagesSent":1`)) && !bytes.Contains(line, []byte(`"Dimensions":[[]]`)) {
			t.Errorf("metric without dimensions: %s", line)
		}
	}
}

func TestEMFSplitsAtTheFormatLimits(t *testing.T) {
	rec := &metrics.Recorder{}
	e := metrics.NewEMF(rec, fixedClock)
	for i := range 150 {
		e.Count(fmt.Sprintf("M%03d", i), float64(i))
	}
	for i := range 250 {
		e.Count("Many", float64(i))
	}
	if err := e.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := rec.Err(); err != nil {
		t.Fatal(err)
	}
	for _, line := range rec.Lines() {
		if n := strings.Count(string(line), `"Name":`); n > metrics.MaxMetricsPerDirective {
			t.Errorf("a directive with %d metrics", n)
		}
	}
	many := rec.Values("Many")
	if len(many) != 250 {
		t.Fatalf("%d values of Many, want 250", len(many))
	}
	for i, v := range many {
		if v != float64(i) {
			t.Fatalf("value %d is %v: order lost", i, v)
		}
	}
	if names := rec.Names(); len(names) != 151 {
		t.Errorf("%d names, want 151", len(names))
	}
}

func TestEMFDropsWhatCloudWatchWouldReject(t *testing.T) {
	tooMany := make([]metrics.Dim, metrics.MaxDimensions+1)
	for i := range tooMany {
		tooMany[i] = metrics.D(fmt.Sprintf("K%d", i), "v")
	}
	tests := []struct {
		name   string
		metric string
		value  float64
		dims   []metrics.Dim
	}{
		{"empty_name", "", 1, nil},
		{"metadata_key", "_aws", 1, nil},
		{"nan", metrics.Connects, math.NaN(), nil},
		{"infinity", metrics.Connects, math.Inf(1), nil},
		{"empty_dimension_value", metrics.FatalEvents, 1, []metrics.Dim{metrics.D(metrics.DimReason, "")}},
		{"non_ascii_dimension_value", metrics.FatalEvents, 1, []metrics.Dim{metrics.D(metrics.DimReason, "bañned")}},
		{"dimension_named_like_the_metric", metrics.Connects, 1, []metrics.Dim{metrics.D(metrics.Connects, "x")}},
		{"dimension_twice", metrics.FatalEvents, 1, []metrics.Dim{metrics.D("A", "1"), metrics.D("A", "2")}},
		{"too_many_dimensions", metrics.Connects, 1, tooMany},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			e := metrics.NewEMF(&buf, fixedClock)
			e.Count(tt.metric, tt.value, tt.dims...)
			if err := e.Flush(); err != nil {
				t.Fatal(err)
			}
			if buf.Len() != 0 || e.Dropped() != 1 {
				t.Errorf("wrote %q, dropped %d; want nothing written and one drop", buf.String(), e.Dropped())
			}
		})
	}
}

func TestEMFFlushForgetsWhatItWrote(t *testing.T) {
	rec := &metrics.Recorder{}
	e := metrics.NewEMF(rec, fixedClock)
	e.Count(metrics.Heartbeats, 1)
	_ = e.Flush()
	_ = e.Flush()
	if got := rec.Sum(metrics.Heartbeats); got != 1 {
		t.Errorf("heartbeats %v after two flushes, want 1", got)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestEMFFlushReportsWriteErrors(t *testing.T) {
	e := metrics.NewEMF(failingWriter{}, fixedClock)
	e.Count(metrics.Heartbeats, 1)
	if err := e.Flush(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("flush: %v, want the write error", err)
	}
}

func TestEMFIsSafeForConcurrentUse(t *testing.T) {
	rec := &metrics.Recorder{}
	e := metrics.NewEMF(rec, nil)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				e.Count(metrics.MessagesReceived, 1)
				e.Duration(metrics.CommandAge, time.Duration(i)*time.Millisecond, metrics.D(metrics.DimCommand, fmt.Sprint("c", g%2)))
				if i%50 == 0 {
					_ = e.Flush()
				}
			}
		})
	}
	wg.Wait()
	_ = e.Flush()
	if err := rec.Err(); err != nil {
		t.Fatal(err)
	}
	if got := rec.Sum(metrics.MessagesReceived); got != 1600 {
		t.Errorf("received %v, want 1600", got)
	}
	if n := len(rec.Values(metrics.CommandAge, metrics.D(metrics.DimCommand, "c0"))); n != 800 {
		t.Errorf("%d command ages of c0, want 800", n)
	}
}

func TestEMFRunFlushesPeriodicallyAndAtTheEnd(t *testing.T) {
	rec := &metrics.Recorder{}
	e := metrics.NewEMF(rec, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx, 10*time.Millisecond) }()
	e.Count(metrics.Heartbeats, 1)
	deadline := time.Now().Add(10 * time.Second)
	for rec.Sum(metrics.Heartbeats) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("no periodic flush within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	e.Count(metrics.Heartbeats, 1)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := rec.Sum(metrics.Heartbeats); got != 2 {
		t.Errorf("heartbeats %v after Run ended, want 2 (final flush)", got)
	}
	if err := e.Run(context.Background(), 0); err == nil {
		t.Error("Run accepted a zero interval")
	}
}

func TestNopAndOr(t *testing.T) {
	var e metrics.Emitter = metrics.Or(nil)
	e.Count(metrics.Connects, 1)
	e.Duration(metrics.SendLatency, time.Second)
	if _, ok := e.(metrics.Nop); !ok {
		t.Errorf("Or(nil) = %T, want Nop", e)
	}
	emf := metrics.NewEMF(&bytes.Buffer{}, nil)
	if metrics.Or(emf) != metrics.Emitter(emf) {
		t.Error("Or(e) did not return e")
	}
}
