package session

import (
	"sync"
	"time"

	"go.mau.fi/whatsmeow"

	"github.com/wagate/wagate/core"
)

// reqKind names a request to the supervisor's loop.
type reqKind int

const (
	reqConnect reqKind = iota
	reqDisconnect
	reqLogout
	reqDelete
	reqPair
	reqSettings
)

// request is a call into the loop; reply is buffered so the loop never blocks on it.
type request struct {
	kind     reqKind
	phone    string
	settings core.Settings
	reply    chan reply
}

type reply struct {
	code string
	err  error
}

func (r *request) answer(code string, err error) {
	if r != nil {
		r.reply <- reply{code: code, err: err}
	}
}

// Events the loop receives from other goroutines, tagged with the connect attempt.
type (
	waEvent struct {
		gen uint64
		evt any
	}
	qrEvent struct {
		gen  uint64
		item whatsmeow.QRChannelItem
	}
	connectResult struct {
		gen uint64
		err error
	}
	pairResult struct {
		gen  uint64
		code string
		err  error
		req  *request
	}
	logoutResult struct {
		gen uint64
		err error
	}
)

// timer is a stoppable one-shot timer usable in a select: c is nil while stopped.
type timer struct {
	t *time.Timer
	c <-chan time.Time
}

func (t *timer) set(d time.Duration) {
	t.stop()
	t.t = time.NewTimer(d)
	t.c = t.t.C
}

func (t *timer) stop() {
	if t.t != nil {
		t.t.Stop()
	}
	t.t, t.c = nil, nil
}

// liveState is what other goroutines (the sender, WaitSettled) read of the loop's
// state: the status last written and the client while logged in.
type liveState struct {
	mu      sync.Mutex
	status  core.Status
	cli     *whatsmeow.Client
	changed chan struct{}
}

func (l *liveState) init(st core.Status) {
	l.status, l.changed = st, make(chan struct{})
}

func (l *liveState) update(fn func(*liveState)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fn(l)
	close(l.changed)
	l.changed = make(chan struct{})
}

func (l *liveState) setStatus(st core.Status) { l.update(func(l *liveState) { l.status = st }) }

func (l *liveState) setClient(cli *whatsmeow.Client) { l.update(func(l *liveState) { l.cli = cli }) }

// snapshot returns the status, the logged-in client (or nil) and a channel closed at
// the next change.
func (l *liveState) snapshot() (core.Status, *whatsmeow.Client, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.status, l.cli, l.changed
}
