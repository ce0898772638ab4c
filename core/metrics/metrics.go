package metrics

import "time"

// Emitter records metrics. Implementations are safe for concurrent use and never
// block on I/O: recording is cheap enough for any code path, and a failure to
// deliver a metric never fails the work it measures.
type Emitter interface {
	// Count records value (a count, or a gauge reading) of the metric name.
	Count(name string, value float64, dims ...Dim)
	// Duration records d in milliseconds.
	Duration(name string, d time.Duration, dims ...Dim)
}

// Dim is one dimension of a metric: a key from names.go and a value from a small
// fixed set (never an id).
type Dim struct {
	Key   string
	Value string
}

// D returns the dimension key=value.
func D(key, value string) Dim { return Dim{Key: key, Value: value} }

// Nop is an Emitter that discards everything: the default wherever no emitter is
// configured.
type Nop struct{}

// Count discards the value.
func (Nop) Count(string, float64, ...Dim) {}

// Duration discards the value.
func (Nop) Duration(string, time.Duration, ...Dim) {}

// Or returns e, or Nop when e is nil, so callers can leave the emitter unset.
func Or(e Emitter) Emitter {
	if e == nil {
		return Nop{}
	}
	return e
}

var (
	_ Emitter = Nop{}
	_ Emitter = (*EMF)(nil)
)
