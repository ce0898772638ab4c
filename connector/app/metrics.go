package app

import (
	"io"
	"os"
	"time"

	"github.com/wagate/wagate/core/metrics"
)

// metricsFlushInterval is how often a process writes its EMF metric lines: often
// enough for one-minute alarms (the heartbeat's own interval is 10 s).
const metricsFlushInterval = 10 * time.Second

// newMetrics returns the EMF emitter Config.Metrics asks for, writing to w (standard
// output when nil), or nil when metrics are off.
func newMetrics(cfg Config, w io.Writer) *metrics.EMF {
	if cfg.Metrics != metrics.ModeEMF {
		return nil
	}
	if w == nil {
		w = os.Stdout
	}
	return metrics.NewEMF(w, nil)
}

// emitter returns e as a metrics.Emitter: Nop when e is nil (never a nil pointer in
// an interface).
func emitter(e *metrics.EMF) metrics.Emitter {
	if e == nil {
		return metrics.Nop{}
	}
	return e
}
