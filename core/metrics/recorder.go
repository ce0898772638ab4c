package metrics

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"sync"
)

// Recorder is an io.Writer for tests: give it to NewEMF, and it parses every line
// written with Parse, keeping the samples of valid lines and an error for each
// invalid one. It is safe for concurrent use.
type Recorder struct {
	mu      sync.Mutex
	partial []byte
	lines   [][]byte
	samples []Sample
	errs    []error
}

// Write takes EMF lines; a line may arrive in several writes.
func (r *Recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.partial = append(r.partial, p...)
	for {
		i := bytes.IndexByte(r.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := slices.Clone(r.partial[:i])
		r.partial = r.partial[i+1:]
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		r.lines = append(r.lines, line)
		s, err := Parse(line)
		if err != nil {
			r.errs = append(r.errs, fmt.Errorf("line %d %s: %w", len(r.lines), line, err))
			continue
		}
		r.samples = append(r.samples, s...)
	}
}

// Err returns the problems of every invalid line written so far, or nil.
func (r *Recorder) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.errs) == 0 {
		return nil
	}
	return fmt.Errorf("%d invalid EMF lines, first: %w", len(r.errs), r.errs[0])
}

// Lines returns the lines written so far.
func (r *Recorder) Lines() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.lines)
}

// Samples returns the samples of every valid line so far, in order.
func (r *Recorder) Samples() []Sample {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.samples)
}

// Values returns the values recorded for name whose dimensions are exactly dims,
// in the order they were written.
func (r *Recorder) Values(name string, dims ...Dim) []float64 {
	want := make(map[string]string, len(dims))
	for _, d := range dims {
		want[d.Key] = d.Value
	}
	var out []float64
	for _, s := range r.Samples() {
		if s.Name == name && maps.Equal(s.Dims, want) {
			out = append(out, s.Values...)
		}
	}
	return out
}

// Sum returns the sum of Values(name, dims...).
func (r *Recorder) Sum(name string, dims ...Dim) float64 {
	var sum float64
	for _, v := range r.Values(name, dims...) {
		sum += v
	}
	return sum
}

// Last returns the latest of Values(name, dims...) (a gauge's current reading) and
// whether there was one.
func (r *Recorder) Last(name string, dims ...Dim) (float64, bool) {
	v := r.Values(name, dims...)
	if len(v) == 0 {
		return 0, false
	}
	return v[len(v)-1], true
}

// Names returns the distinct metric names recorded so far, sorted.
func (r *Recorder) Names() []string {
	seen := map[string]bool{}
	for _, s := range r.Samples() {
		seen[s.Name] = true
	}
	return slices.Sorted(maps.Keys(seen))
}
