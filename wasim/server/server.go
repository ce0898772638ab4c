package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.mau.fi/whatsmeow/types"

	"github.com/wagate/wagate/wasim/wire"
)

// Server is one simulated WhatsApp: accounts with fake phones, linked devices and
// their connections, and the control API. Create it with New, serve it with Serve (or
// mount Handler on your own http.Server) and stop it with Close.
type Server struct {
	cfg config
	log *slog.Logger
	id  *wire.Identity

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	conns  sync.WaitGroup // connection and background goroutines
	closed atomic.Bool

	accounts sync.Map // phone number → *account
	lids     sync.Map // lid user → *account

	regMu      sync.Mutex
	regsByRef  map[string]*registration
	regsByLink map[string]*registration // phone number → registration waiting for its code

	violMu     sync.Mutex
	violations []Violation

	reqCounter atomic.Uint64

	httpMu  sync.Mutex // guards httpSrv, and closed against new tracked goroutines
	httpSrv []*http.Server
}

// New creates a server. It generates a random identity unless WithIdentity is given.
func New(opts ...Option) (*Server, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.identity == nil {
		id, err := wire.NewIdentity()
		if err != nil {
			return nil, fmt.Errorf("create identity: %w", err)
		}
		cfg.identity = id
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{
		cfg:        cfg,
		log:        cfg.log,
		id:         cfg.identity,
		ctx:        ctx,
		cancel:     cancel,
		regsByRef:  make(map[string]*registration),
		regsByLink: make(map[string]*registration),
	}, nil
}

// RootKey is the root public key clients must pin (whatsmeow.WACertPubKey).
func (s *Server) RootKey() [32]byte { return s.id.RootPublicKey() }

// Strict reports whether strict mode is on.
func (s *Server) Strict() bool { return s.cfg.strict }

type rawConnKey struct{}

// Serve accepts connections on ln until Close is called or ln fails. It serves the
// chat websocket and the control API on the same listener. It returns nil after Close.
func (s *Server) Serve(ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, rawConnKey{}, c)
		},
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	s.httpMu.Lock()
	if s.closed.Load() {
		s.httpMu.Unlock()
		return ErrClosed
	}
	s.httpSrv = append(s.httpSrv, hs)
	s.httpMu.Unlock()
	err := hs.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("serve: %w", err)
}

// Handler serves the chat websocket on every path outside /_sim/ and the control API
// under /_sim/. When mounted on a server that Serve did not create, the drop fault
// closes the websocket without reaching the TCP connection.
func (s *Server) Handler() http.Handler {
	control := s.controlHandler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/_sim/") || r.URL.Path == "/_sim" {
			control.ServeHTTP(w, r)
			return
		}
		s.serveChat(w, r)
	})
}

// Close stops the listeners, closes every connection and waits for the server's
// goroutines to finish.
func (s *Server) Close() error {
	s.httpMu.Lock()
	if s.closed.Load() {
		s.httpMu.Unlock()
		return nil
	}
	s.closed.Store(true)
	servers := s.httpSrv
	s.httpSrv = nil
	s.httpMu.Unlock()
	s.cancel()
	var errs []error
	for _, hs := range servers {
		if err := hs.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	s.conns.Wait()
	return errors.Join(errs...)
}

// track counts a goroutine Close must wait for. It reports false once the server is
// closed; the caller must then not start the work (and must not call untrack).
func (s *Server) track() bool {
	s.httpMu.Lock()
	defer s.httpMu.Unlock()
	if s.closed.Load() {
		return false
	}
	s.conns.Add(1)
	return true
}

func (s *Server) untrack() { s.conns.Done() }

// goBackground runs fn on a goroutine the server waits for in Close. After Close it
// does nothing.
func (s *Server) goBackground(fn func()) {
	if !s.track() {
		return
	}
	go func() {
		defer s.untrack()
		fn()
	}()
}

func (s *Server) now() time.Time { return s.cfg.now() }

// nextRequestID returns an id for a server-initiated iq. It cannot collide with
// whatsmeow's own request ids, which contain a dot and a dash.
func (s *Server) nextRequestID() string {
	return strconv.FormatUint(s.reqCounter.Add(1), 10)
}

// account looks an account up by phone number.
func (s *Server) account(number string) *account {
	v, ok := s.accounts.Load(number)
	if !ok {
		return nil
	}
	return v.(*account)
}

// accountFor resolves a JID (PN or LID, any device) to its account.
func (s *Server) accountFor(jid types.JID) *account {
	switch jid.Server {
	case types.DefaultUserServer:
		return s.account(jid.User)
	case types.HiddenUserServer:
		v, ok := s.lids.Load(jid.User)
		if !ok {
			return nil
		}
		return v.(*account)
	}
	return nil
}

// deviceFor resolves an AD JID to a companion device. Device 0 (the phone) and
// unknown devices give nil.
func (s *Server) deviceFor(jid types.JID) *device {
	a := s.accountFor(jid)
	if a == nil || jid.Device == 0 {
		return nil
	}
	return a.companion(jid.Device)
}

// deviceByLogin finds the device a login payload names.
func (s *Server) deviceByLogin(username uint64, devID uint32) *device {
	if devID == 0 || devID > 0xffff {
		return nil
	}
	a := s.account(strconv.FormatUint(username, 10))
	if a == nil {
		return nil
	}
	return a.companion(uint16(devID))
}
