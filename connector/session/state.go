package session

import (
	"context"
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
	ctx      context.Context // the caller's: a request it gave up on is not carried out
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

// timerKind names the loop's timers.
type timerKind int

const (
	timerReconnect timerKind = iota + 1
	timerConnect
)

// timerFired is posted to the loop when a timer expires.
type timerFired struct {
	kind timerKind
	seq  uint64
}

// timer is a stoppable one-shot timer of the loop: when it expires it posts a
// timerFired, which the loop applies only if the timer was not stopped or set
// again since (seq tells the expiries apart). It is used by the loop only.
type timer struct {
	kind timerKind
	post func(any) bool
	t    *time.Timer
	seq  uint64
}

// set arms the timer to expire after d, replacing an earlier setting.
func (t *timer) set(d time.Duration) {
	t.stop()
	e := timerFired{kind: t.kind, seq: t.seq}
	t.t = time.AfterFunc(d, func() { t.post(e) })
}

// stop disarms the timer; an expiry already posted is then ignored.
func (t *timer) stop() {
	if t.t != nil {
		t.t.Stop()
		t.t = nil
	}
	t.seq++
}

// armed reports whether the timer is set and has not expired yet (as the loop sees it).
func (t *timer) armed() bool { return t.t != nil }

// fired reports whether e is the expiry of the timer's current setting, and
// disarms it if so.
func (t *timer) fired(e timerFired) bool {
	if t.t == nil || e.seq != t.seq {
		return false
	}
	t.t = nil
	t.seq++
	return true
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
