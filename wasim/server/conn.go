package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	waBinary "go.mau.fi/whatsmeow/binary"

	"github.com/wagate/wagate/wasim/wire"
)

// writeTimeout bounds one batch write; a client that does not read for this long is
// disconnected.
const writeTimeout = 30 * time.Second

// Connection states.
const (
	stateHandshake int32 = iota
	stateRegistration
	stateLoggedIn
	stateClosing
)

// outItem is one frame waiting for the writer, or a flush marker.
type outItem struct {
	node    waBinary.Node
	at      time.Time
	flushed chan struct{} // marker: closed when the writer reaches it
}

// conn is one client connection after the Noise handshake. One goroutine reads
// (run), one writes (writeLoop); send may be called from anywhere.
type conn struct {
	srv    *Server
	wc     *wire.Conn
	ctx    context.Context
	cancel context.CancelFunc

	state atomic.Int32
	dev   atomic.Pointer[device]
	reg   atomic.Pointer[registration]

	outMu  sync.Mutex
	out    []outItem
	outSig chan struct{}

	stallUntil atomic.Int64 // unix nanos; the writer holds frames until then

	waitMu  sync.Mutex
	waiters map[string]chan *waBinary.Node

	closeOnce  sync.Once
	writerDone chan struct{}
	readerDone chan struct{}
}

// serveChat upgrades the request to a websocket, runs the Noise handshake and serves
// the connection until it ends.
func (s *Server) serveChat(w http.ResponseWriter, r *http.Request) {
	if s.closed.Load() {
		http.Error(w, "server closed", http.StatusServiceUnavailable)
		return
	}
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		OriginPatterns:  []string{"web.whatsapp.com", "*.whatsapp.com", "localhost", "127.0.0.1"},
		CompressionMode: websocket.CompressionDisabled,
	})
	if err != nil {
		s.log.Debug("websocket_accept_failed", "error", err)
		return
	}
	raw, _ := r.Context().Value(rawConnKey{}).(net.Conn)
	if !s.track() {
		_ = ws.CloseNow()
		return
	}
	defer s.untrack()
	wc, err := wire.Accept(s.ctx, ws, raw, s.id)
	if err != nil {
		s.log.Debug("handshake_failed", "error", err)
		return
	}
	ctx, cancel := context.WithCancel(s.ctx)
	c := &conn{
		srv:        s,
		wc:         wc,
		ctx:        ctx,
		cancel:     cancel,
		outSig:     make(chan struct{}, 1),
		waiters:    make(map[string]chan *waBinary.Node),
		writerDone: make(chan struct{}),
		readerDone: make(chan struct{}),
	}
	c.run()
}

// who names the connection in logs and violations.
func (c *conn) who() string {
	if d := c.dev.Load(); d != nil {
		return d.jid.String()
	}
	return "registration"
}

func (c *conn) loggedIn() bool { return c.state.Load() == stateLoggedIn }

// run serves the connection: registration or login, then the read loop.
func (c *conn) run() {
	go c.writeLoop()
	defer c.finish()
	p := c.wc.Payload()
	if p.GetDevicePairingData() != nil {
		if !c.srv.startRegistration(c, p) {
			return
		}
	} else if !c.srv.login(c, p) {
		return
	}
	c.readLoop()
}

func (c *conn) readLoop() {
	defer close(c.readerDone)
	for {
		n, err := c.wc.ReadNode(c.ctx)
		if err != nil {
			if errors.Is(err, wire.ErrDecrypt) || errors.Is(err, wire.ErrDecode) || errors.Is(err, wire.ErrBadFrame) {
				c.srv.violation(c.who(), fmt.Sprintf("unreadable frame: %v", err), nil)
				continue
			}
			c.srv.log.Debug("connection_read_ended", "device", c.who(), "error", err)
			return
		}
		c.srv.handleNode(c, n)
	}
}

// finish tears the connection down once the reader has stopped.
func (c *conn) finish() {
	c.state.Store(stateClosing)
	c.cancel()
	_ = c.wc.Close()
	<-c.writerDone
	if d := c.dev.Load(); d != nil {
		d.mu.Lock()
		if d.conn == c {
			d.conn = nil
		}
		d.mu.Unlock()
	}
	if r := c.reg.Load(); r != nil {
		c.srv.dropRegistration(r)
	}
	c.waitMu.Lock()
	for id, ch := range c.waiters {
		close(ch)
		delete(c.waiters, id)
	}
	c.waitMu.Unlock()
}

// send queues a node for the writer. Nodes are written in the order they are queued.
func (c *conn) send(n waBinary.Node) {
	if c.state.Load() == stateClosing {
		return
	}
	c.push(outItem{node: n, at: time.Now()})
}

func (c *conn) push(it outItem) {
	c.outMu.Lock()
	c.out = append(c.out, it)
	c.outMu.Unlock()
	select {
	case c.outSig <- struct{}{}:
	default:
	}
}

// flush waits until everything queued so far has been written, the connection ends
// or timeout passes.
func (c *conn) flush(timeout time.Duration) {
	marker := make(chan struct{})
	c.push(outItem{flushed: marker})
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-marker:
	case <-c.ctx.Done():
	case <-t.C:
	}
}

// maxBatch bounds how many queued nodes the writer sends in one WriteNodes call.
const maxBatch = 256

// writeLoop sends what is queued. Everything queued at once goes out in one
// websocket message (several frames), so a busy connection pays one write and one
// timeout per batch rather than per stanza.
func (c *conn) writeLoop() {
	defer close(c.writerDone)
	var (
		items []outItem
		batch []waBinary.Node
	)
	for {
		select {
		case <-c.outSig:
		case <-c.ctx.Done():
			return
		}
		c.outMu.Lock()
		items, c.out = c.out, items[:0]
		c.outMu.Unlock()
		var ok bool
		batch, ok = c.writeItems(items, batch)
		clear(items)
		if cap(items) > 4*maxBatch {
			items = nil // a burst (a login with a long offline queue) is over
		}
		if !ok {
			return
		}
	}
}

// writeItems writes queued items in order, batching nodes in batch (returned for
// reuse). A flush marker is closed once everything before it is written; a stall or
// injected latency holds the nodes after it, and what came before goes out first. It
// reports false when the connection ended.
func (c *conn) writeItems(items []outItem, batch []waBinary.Node) ([]waBinary.Node, bool) {
	batch = batch[:0]
	defer func() { clear(batch[:cap(batch)]) }() // written nodes are garbage now
	for _, it := range items {
		if it.flushed != nil {
			if !c.writeBatch(batch) {
				return batch, false
			}
			batch = batch[:0]
			close(it.flushed)
			continue
		}
		if c.holdFor(it.at) > 0 || len(batch) == maxBatch {
			if !c.writeBatch(batch) {
				return batch, false
			}
			batch = batch[:0]
			if !c.holdFrame(it.at) {
				return batch, false
			}
		}
		batch = append(batch, it.node)
	}
	return batch, c.writeBatch(batch)
}

// writeBatch sends nodes in one websocket message, with one write timeout for all.
// It reports false (and ends the connection) when the write fails.
func (c *conn) writeBatch(nodes []waBinary.Node) bool {
	if len(nodes) == 0 {
		return true
	}
	wctx, cancel := context.WithTimeout(c.ctx, writeTimeout)
	err := c.wc.WriteNodes(wctx, nodes)
	cancel()
	if err != nil {
		c.srv.log.Debug("connection_write_failed", "device", c.who(), "error", err)
		c.cancel()
		return false
	}
	return true
}

// holdFor is how much longer a frame queued at queuedAt must wait: while a stall is
// active, and until the device's injected latency has passed since it was queued.
func (c *conn) holdFor(queuedAt time.Time) time.Duration {
	stall := c.stallUntil.Load()
	d := c.dev.Load()
	if stall == 0 && (d == nil || !d.latencySet.Load()) {
		return 0
	}
	wait := time.Until(time.Unix(0, stall))
	if d != nil {
		if lat := d.currentLatency(c.srv.now()); lat > 0 {
			wait = max(wait, time.Until(queuedAt.Add(lat)))
		}
	}
	return wait
}

// holdFrame delays a frame while a stall is active and by the device's injected
// latency. It reports false when the connection ends meanwhile.
func (c *conn) holdFrame(queuedAt time.Time) bool {
	for {
		wait := c.holdFor(queuedAt)
		if wait <= 0 {
			return true
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-c.ctx.Done():
			t.Stop()
			return false
		}
	}
}

// closeWith sends nodes (a stream error or a login failure), waits for them to be
// written plus the close grace (or until the client hangs up), then closes.
func (c *conn) closeWith(nodes ...waBinary.Node) {
	for _, n := range nodes {
		c.send(n)
	}
	c.flush(5 * time.Second)
	t := time.NewTimer(c.srv.cfg.closeGrace)
	defer t.Stop()
	select {
	case <-t.C:
	case <-c.readerDone:
	case <-c.ctx.Done():
	}
	c.close()
}

// close closes the websocket with a close frame; the reader then ends and finish
// cleans up.
func (c *conn) close() {
	c.closeOnce.Do(func() {
		c.state.Store(stateClosing)
		_ = c.wc.Close()
		c.cancel()
	})
}

// drop cuts the TCP connection without a websocket close, like a lost network.
func (c *conn) drop() {
	c.closeOnce.Do(func() {
		c.state.Store(stateClosing)
		c.wc.Drop()
		c.cancel()
	})
}

// request sends a server-initiated iq and waits for the client's result or error.
func (c *conn) request(ctx context.Context, n waBinary.Node) (*waBinary.Node, error) {
	id := c.srv.nextRequestID()
	n.Attrs["id"] = id
	ch := make(chan *waBinary.Node, 1)
	c.waitMu.Lock()
	if c.state.Load() == stateClosing {
		c.waitMu.Unlock()
		return nil, fmt.Errorf("send %s: %w", n.Tag, net.ErrClosed)
	}
	c.waiters[id] = ch
	c.waitMu.Unlock()
	defer func() {
		c.waitMu.Lock()
		delete(c.waiters, id)
		c.waitMu.Unlock()
	}()
	c.send(n)
	select {
	case resp, ok := <-ch:
		if !ok {
			return nil, fmt.Errorf("connection closed before the client answered: %w", net.ErrClosed)
		}
		return resp, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.ctx.Done():
		return nil, fmt.Errorf("connection closed before the client answered: %w", net.ErrClosed)
	}
}

// answerWaiter hands an iq result or error to the request waiting for it. It
// reports whether one was waiting.
func (c *conn) answerWaiter(n *waBinary.Node) bool {
	id := attrString(n.Attrs["id"])
	c.waitMu.Lock()
	ch, ok := c.waiters[id]
	if ok {
		delete(c.waiters, id)
	}
	c.waitMu.Unlock()
	if ok {
		ch <- n
	}
	return ok
}
