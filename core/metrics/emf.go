package metrics

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"sync"
	"time"
)

// Limits of the Embedded Metric Format that EMF respects.
const (
	// MaxMetricsPerDirective is how many metric definitions one directive may hold.
	MaxMetricsPerDirective = 100
	// MaxDimensions is how many dimension keys one dimension set may hold.
	MaxDimensions = 30
	// MaxValues is how many values one metric may carry in one document.
	MaxValues = 100
	// maxNameLen bounds metric names and dimension keys.
	maxNameLen = 255
	// maxDimValueLen bounds dimension values.
	maxDimValueLen = 1024
)

// maxBuffered bounds the values an EMF keeps between flushes; more are dropped and
// counted (see Dropped) rather than growing without limit.
const maxBuffered = 10000

// EMF is an Emitter that buffers values and writes them, on Flush, as Embedded
// Metric Format documents: one JSON line per combination of dimension values, all
// metrics recorded with those dimensions in one directive (split every
// MaxMetricsPerDirective metrics and MaxValues values). On AWS the writer is
// standard output: Lambda and the ECS log driver hand the lines to CloudWatch Logs,
// which extracts the metrics.
//
// An EMF is safe for concurrent use. A value with an invalid name or dimension is
// dropped (see Dropped), never written as a document CloudWatch would reject.
type EMF struct {
	w   io.Writer
	now func() time.Time

	mu       sync.Mutex
	groups   map[string]*group
	order    []string // group keys in first-use order, for stable output
	buffered int
	dropped  int
	flushMu  sync.Mutex // one Flush writes at a time, so lines never interleave
}

// group is the buffered values of one combination of dimension values.
type group struct {
	dims    []Dim // sorted by key
	at      time.Time
	series  map[string]*series
	ordered []string // metric names in first-use order
}

type series struct {
	unit   Unit
	values []float64
}

// NewEMF returns an EMF writing to w. now is the clock of the documents' Timestamp;
// nil means time.Now.
func NewEMF(w io.Writer, now func() time.Time) *EMF {
	if now == nil {
		now = time.Now
	}
	return &EMF{w: w, now: now, groups: make(map[string]*group)}
}

// Count records value of the metric name, with the unit its Definition declares
// (Count for names not declared).
func (e *EMF) Count(name string, value float64, dims ...Dim) {
	unit := UnitCount
	if d, ok := Lookup(name); ok {
		unit = d.Unit
	}
	e.record(name, unit, value, dims)
}

// Duration records d in milliseconds (microsecond precision).
func (e *EMF) Duration(name string, d time.Duration, dims ...Dim) {
	e.record(name, UnitMilliseconds, float64(d.Microseconds())/1000, dims)
}

// Dropped returns how many values were refused so far: invalid names or
// dimensions, non-finite values, or a full buffer.
func (e *EMF) Dropped() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.dropped
}

func (e *EMF) record(name string, unit Unit, value float64, dims []Dim) {
	sorted, key, err := normalize(name, dims)
	e.mu.Lock()
	defer e.mu.Unlock()
	if err != nil || math.IsNaN(value) || math.IsInf(value, 0) || e.buffered >= maxBuffered {
		e.dropped++
		return
	}
	g := e.groups[key]
	if g == nil {
		g = &group{dims: sorted, at: e.now(), series: make(map[string]*series)}
		e.groups[key] = g
		e.order = append(e.order, key)
	}
	s := g.series[name]
	if s == nil {
		s = &series{unit: unit}
		g.series[name] = s
		g.ordered = append(g.ordered, name)
	}
	s.values = append(s.values, value)
	e.buffered++
}

// normalize checks a metric's name and dimensions and returns the dimensions sorted
// by key with the key of their group.
func normalize(name string, dims []Dim) ([]Dim, string, error) {
	if err := checkName(name); err != nil {
		return nil, "", err
	}
	if len(dims) > MaxDimensions {
		return nil, "", fmt.Errorf("metric %s: %d dimensions, at most %d", name, len(dims), MaxDimensions)
	}
	sorted := slices.Clone(dims)
	slices.SortFunc(sorted, func(a, b Dim) int { return strings.Compare(a.Key, b.Key) })
	var key strings.Builder
	for i, d := range sorted {
		if err := checkName(d.Key); err != nil {
			return nil, "", fmt.Errorf("dimension of %s: %w", name, err)
		}
		if d.Key == name || (i > 0 && sorted[i-1].Key == d.Key) {
			return nil, "", fmt.Errorf("metric %s: dimension key %s used twice", name, d.Key)
		}
		if err := checkDimValue(d.Value); err != nil {
			return nil, "", fmt.Errorf("dimension %s of %s: %w", d.Key, name, err)
		}
		key.WriteString(d.Key)
		key.WriteByte(0)
		key.WriteString(d.Value)
		key.WriteByte(0)
	}
	return sorted, key.String(), nil
}

// checkName accepts a metric name or dimension key: 1 to 255 printable ASCII
// characters, not the metadata key.
func checkName(s string) error {
	if s == "" || len(s) > maxNameLen || s == "_aws" || !printableASCII(s) {
		return fmt.Errorf("name %q: want 1 to %d printable ASCII characters, not _aws", s, maxNameLen)
	}
	return nil
}

// checkDimValue accepts a dimension value: 1 to 1024 printable ASCII characters
// with at least one that is not a space.
func checkDimValue(s string) error {
	if s == "" || len(s) > maxDimValueLen || !printableASCII(s) || strings.TrimSpace(s) == "" {
		return fmt.Errorf("value %q: want 1 to %d printable ASCII characters", s, maxDimValueLen)
	}
	return nil
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// Flush writes everything recorded since the last Flush, one document per line and
// one Write per line, and forgets it (also when writing fails). It returns the
// first write error.
func (e *EMF) Flush() error {
	e.flushMu.Lock()
	defer e.flushMu.Unlock()
	e.mu.Lock()
	groups := make([]*group, 0, len(e.order))
	for _, k := range e.order {
		groups = append(groups, e.groups[k])
	}
	e.groups, e.order, e.buffered = make(map[string]*group), nil, 0
	e.mu.Unlock()

	var first error
	for _, g := range groups {
		for _, line := range g.documents() {
			if _, err := e.w.Write(line); err != nil && first == nil {
				first = fmt.Errorf("write metrics: %w", err)
			}
		}
	}
	return first
}

// Run flushes every interval until ctx is done, then flushes once more. It returns
// the first write error it met (it keeps flushing after one).
func (e *EMF) Run(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		return errors.New("metrics flush interval must be positive")
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	var first error
	keep := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	for {
		select {
		case <-ctx.Done():
			keep(e.Flush())
			return first
		case <-t.C:
			keep(e.Flush())
		}
	}
}

// documents renders a group as EMF lines: each holds at most MaxMetricsPerDirective
// metrics with at most MaxValues values each; longer series continue in further
// documents.
func (g *group) documents() [][]byte {
	var lines [][]byte
	for offset := 0; ; offset += MaxValues {
		var names []string
		for _, n := range g.ordered {
			if len(g.series[n].values) > offset {
				names = append(names, n)
			}
		}
		if len(names) == 0 {
			return lines
		}
		for chunk := range slices.Chunk(names, MaxMetricsPerDirective) {
			lines = append(lines, g.render(chunk, offset))
		}
	}
}

// render writes one document: the metadata first, then the dimension values, then
// each metric's values from offset on (a single number, or an array of them).
func (g *group) render(names []string, offset int) []byte {
	dimKeys := make([]string, len(g.dims))
	for i, d := range g.dims {
		dimKeys[i] = d.Key
	}
	defs := make([]metricDef, len(names))
	for i, n := range names {
		defs[i] = metricDef{Name: n, Unit: g.series[n].unit}
	}
	meta := metadata{
		Timestamp: g.at.UnixMilli(),
		CloudWatchMetrics: []directive{{
			Namespace: Namespace, Dimensions: [][]string{dimKeys}, Metrics: defs,
		}},
	}
	var b bytes.Buffer
	b.WriteString(`{"_aws":`)
	writeJSON(&b, meta)
	for _, d := range g.dims {
		b.WriteByte(',')
		writeJSON(&b, d.Key)
		b.WriteByte(':')
		writeJSON(&b, d.Value)
	}
	for _, n := range names {
		vals := g.series[n].values[offset:]
		vals = vals[:min(len(vals), MaxValues)]
		b.WriteByte(',')
		writeJSON(&b, n)
		b.WriteByte(':')
		if len(vals) == 1 {
			writeJSON(&b, vals[0])
		} else {
			writeJSON(&b, vals)
		}
	}
	b.WriteString("}\n")
	return b.Bytes()
}

// metadata is the _aws member of a document.
type metadata struct {
	Timestamp         int64       `json:"Timestamp"`
	CloudWatchMetrics []directive `json:"CloudWatchMetrics"`
}

// directive is a MetricDirective.
type directive struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []metricDef `json:"Metrics"`
}

// metricDef is a MetricDefinition.
type metricDef struct {
	Name string `json:"Name"`
	Unit Unit   `json:"Unit,omitempty"`
}

// writeJSON appends v's JSON; the values written here (strings, finite numbers,
// plain structs) always encode.
func writeJSON(b *bytes.Buffer, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("metrics: encode %T: %v", v, err))
	}
	b.Write(data)
}
