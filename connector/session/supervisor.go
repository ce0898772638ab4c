package session

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/store"

	"github.com/wagate/wagate/connector/backoff"
	"github.com/wagate/wagate/connector/wa"
	"github.com/wagate/wagate/core"
)

// storeTimeout bounds one state-store call of the supervisor.
const storeTimeout = 10 * time.Second

// Supervisor runs one session. Its methods are safe for concurrent use; they hand
// requests to the supervisor's loop, which owns all session state.
type Supervisor struct {
	key   core.SessionKey
	cfg   Config
	deps  Deps
	log   *slog.Logger
	waLog *wa.Logger
	fence atomic.Int64

	ctx    context.Context // lifetime: cancelled once the loop has exited
	cancel context.CancelFunc
	stopMu sync.Once
	done   chan struct{} // closed when the loop exited for good
	wg     sync.WaitGroup
	live   liveState

	mailbox

	sendState

	loopState
}

// loopState is owned by the supervisor's loop (one goroutine at a time, see mailbox).
type loopState struct {
	sess            core.Session
	device          *store.Device
	cli             *whatsmeow.Client
	gen, prevGen    uint64
	cancelAttempt   context.CancelFunc
	connectReturned chan struct{} // closed when the attempt's ConnectContext returned
	teardowns       sync.WaitGroup
	bo              *backoff.Backoff
	reconnect       timer
	connectTO       timer
	qrShown         bool
	qrUntil         time.Time
	pendingPairs    []*request
	pairBusy        *request // the pair-code request WhatsApp is being asked for
	logoutReq       *request
	logoutBusy      bool
	resumed         bool // queued messages left by an earlier run were re-enqueued
	exit            bool // the loop ends after this iteration (deleted or gone)
}

// New loads the session and returns its supervisor idle: the session is not
// connected until Connect (or PairPhone). fence is the lease fence
// written with every status update. Errors: CodeNotFound when the session does not
// exist, CodeInvalid for a bad Config or missing dependency.
func New(ctx context.Context, key core.SessionKey, fence int64, cfg Config, deps Deps) (*Supervisor, error) {
	return newSupervisor(ctx, key, fence, cfg, deps)
}

// newSupervisor builds a supervisor without starting its goroutines.
func newSupervisor(ctx context.Context, key core.SessionKey, fence int64, cfg Config, deps Deps) (*Supervisor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, core.WrapError(core.CodeInvalid, err, "invalid session configuration")
	}
	if err := deps.check(); err != nil {
		return nil, core.WrapError(core.CodeInvalid, err, "invalid session dependencies")
	}
	sess, err := deps.Sessions.GetSession(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("load session: %w", err)
	}
	log := deps.Log.With("tenant", key.Tenant, "session", key.ID)
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s := &Supervisor{
		key: key, cfg: cfg, deps: deps, log: log,
		waLog:  wa.NewLogger(log.With("component", "whatsmeow"), cfg.WhatsmeowDebug),
		ctx:    lctx,
		cancel: cancel,
		done:   make(chan struct{}),
	}
	s.reconnect = timer{kind: timerReconnect, post: s.post}
	s.connectTO = timer{kind: timerConnect, post: s.post}
	s.fence.Store(fence)
	s.sess = sess
	s.bo = backoff.New(deps.Rand)
	s.live.init(sess.Status)
	return s, nil
}

// Key returns the session's key.
func (s *Supervisor) Key() core.SessionKey { return s.key }

// SetFence changes the fence written with status updates (after the lease was taken again).
func (s *Supervisor) SetFence(fence int64) { s.fence.Store(fence) }

// Status returns the session's current status as the supervisor last wrote it.
func (s *Supervisor) Status() core.Status { st, _, _ := s.live.snapshot(); return st }

// Done is closed when the supervisor stopped (Close, Abort, Delete, or the session
// was deleted underneath it).
func (s *Supervisor) Done() <-chan struct{} { return s.done }

// Connect starts connecting the session (status connecting, then qr or connected)
// and marks it as desired. It returns once the transition is recorded; a session
// that is already connecting or connected is left as it is, and a banned session
// connects only once its retryAt has passed.
func (s *Supervisor) Connect(ctx context.Context) error {
	_, err := s.call(ctx, &request{kind: reqConnect})
	return err
}

// Disconnect closes the session's socket and keeps the link (status disconnected);
// the session is no longer restored at start.
func (s *Supervisor) Disconnect(ctx context.Context) error {
	_, err := s.call(ctx, &request{kind: reqDisconnect})
	return err
}

// Logout unlinks the device from the phone (connecting first if needed), forgets its
// keys and sets status logged_out with lastError logout_requested. If WhatsApp cannot
// be told, the device is forgotten locally anyway.
func (s *Supervisor) Logout(ctx context.Context) error {
	_, err := s.call(ctx, &request{kind: reqLogout})
	return err
}

// Delete logs the session out if it is linked (ignoring failures), forgets its keys,
// deletes the session with its QR and messages, and stops the supervisor.
func (s *Supervisor) Delete(ctx context.Context) error {
	_, err := s.call(ctx, &request{kind: reqDelete})
	return err
}

// PairPhone asks WhatsApp for a pairing code for phone (digits with country code),
// connecting the session first if needed, and returns the code ("ABCD-EFGH") to
// enter on that phone. Status moves to pairing. ErrLinked if the session is linked.
func (s *Supervisor) PairPhone(ctx context.Context, phone string) (string, error) {
	return s.call(ctx, &request{kind: reqPair, phone: phone})
}

// ApplySettings takes new settings; a change of preferIPv4 or proxyURL reconnects
// an active session through the new network path.
func (s *Supervisor) ApplySettings(ctx context.Context, settings core.Settings) error {
	_, err := s.call(ctx, &request{kind: reqSettings, settings: settings})
	return err
}

// WaitSettled waits until the session is no longer in status connecting: connected,
// showing a QR, reconnecting after a failed attempt, or stopped.
func (s *Supervisor) WaitSettled(ctx context.Context) error {
	for {
		st, _, changed := s.live.snapshot()
		if st != core.StatusConnecting {
			return nil
		}
		select {
		case <-changed:
		case <-s.done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Close disconnects the session cleanly and stops the supervisor, recording status
// disconnected with lastError connector_shutdown for an active session (it stays
// desired, so the next holder reconnects it). It waits for every goroutine of the
// supervisor or until ctx is done.
func (s *Supervisor) Close(ctx context.Context) error { return s.stop(ctx, true) }

// Abort disconnects the session and stops the supervisor without writing the session:
// for a holder that lost its lease, whose writes would be refused.
func (s *Supervisor) Abort(ctx context.Context) error { return s.stop(ctx, false) }

func (s *Supervisor) stop(ctx context.Context, write bool) error {
	s.stopMu.Do(func() { s.post(stopRequest{write: write}) })
	select {
	case <-s.done:
	case <-ctx.Done():
		return fmt.Errorf("stop session: %w", ctx.Err())
	}
	s.closeSends()
	s.cancel()
	waited := make(chan struct{})
	go func() { s.wg.Wait(); close(waited) }()
	select {
	case <-waited:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop session: %w", ctx.Err())
	}
}

// call hands r to the loop and waits for its reply. A request whose ctx ended
// before the loop took it is not carried out.
func (s *Supervisor) call(ctx context.Context, r *request) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	r.ctx, r.reply = ctx, make(chan reply, 1)
	if !s.post(r) {
		return "", ErrClosed
	}
	select {
	case rep := <-r.reply:
		return rep.code, rep.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func (s *Supervisor) now() time.Time { return s.deps.Now() }

// storeCtx returns a context for one store call.
func (s *Supervisor) storeCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(s.ctx, storeTimeout)
}
