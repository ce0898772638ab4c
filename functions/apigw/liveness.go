package apigw

import (
	"sync/atomic"
	"time"
)

// liveUntil remembers until when a connector is known to be alive: the newest
// heartbeat seen plus HeartbeatMaxAge, as Unix nanoseconds (0: not known).
type liveUntil struct{ until atomic.Int64 }

// liveAt reports whether now is before the remembered time.
func (l *liveUntil) liveAt(now time.Time) bool {
	return now.UnixNano() < l.until.Load()
}

// extend moves the remembered time to t if t is later.
func (l *liveUntil) extend(t time.Time) {
	n := t.UnixNano()
	for {
		cur := l.until.Load()
		if n <= cur || l.until.CompareAndSwap(cur, n) {
			return
		}
	}
}
