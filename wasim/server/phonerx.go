package server

import (
	"time"

	waBinary "go.mau.fi/whatsmeow/binary"
)

const (
	// maxPhoneRx bounds the message copies queued for one fake phone to decrypt. A
	// connection whose message would pass it waits, so a phone that cannot keep up
	// slows its senders down rather than growing a queue.
	maxPhoneRx = 256

	// settleTimeout bounds how long a reader of a phone's state (its inbox, the
	// violations) waits for the decryptions queued before the read.
	settleTimeout = 10 * time.Second
)

// phoneRx is a message copy a fake phone still has to decrypt, or a marker (done not
// nil) closed once everything queued before it has been processed.
type phoneRx struct {
	who    string // the sending connection, for violations
	sender *device
	id     string
	enc    waBinary.Node
	at     time.Time
	done   chan struct{}
}

// phoneRxQueue holds an account's phone decryptions in the order the messages
// arrived, so a sender's messages are decrypted in order (a msg after the pkmsg that
// set its session up). A worker goroutine drains it while it is not empty.
type phoneRxQueue struct {
	items []phoneRx
	busy  bool // a worker owns the queue: it drains it before clearing busy
}

// queuePhoneRx queues a copy for a's phone to decrypt and starts a worker when none
// is running. It waits while the queue is full.
func (s *Server) queuePhoneRx(a *account, rx phoneRx) {
	a.rxMu.Lock()
	for len(a.rx.items) >= maxPhoneRx {
		a.rxSpace.Wait()
	}
	a.rx.items = append(a.rx.items, rx)
	start := !a.rx.busy
	a.rx.busy = true
	a.rxMu.Unlock()
	if !start {
		return
	}
	if !s.track() {
		// Closing: no new goroutines, decrypt here.
		s.drainPhoneRx(a)
		return
	}
	go func() {
		defer s.untrack()
		s.drainPhoneRx(a)
	}()
}

// drainPhoneRx decrypts queued copies until the queue is empty, then gives it up.
func (s *Server) drainPhoneRx(a *account) {
	var batch []phoneRx
	for {
		a.rxMu.Lock()
		if len(a.rx.items) == 0 {
			a.rx.busy = false
			a.rxMu.Unlock()
			return
		}
		batch, a.rx.items = a.rx.items, batch[:0]
		a.rxSpace.Broadcast()
		a.rxMu.Unlock()
		for i, rx := range batch {
			if rx.done != nil {
				close(rx.done)
			} else {
				s.phoneDecrypt(a, rx)
			}
			batch[i] = phoneRx{}
		}
	}
}

// settlePhone waits until a's phone has processed every copy queued before the call
// (or settleTimeout passes), so what the phone received is visible to the caller.
func (s *Server) settlePhone(a *account) {
	a.rxMu.Lock()
	if !a.rx.busy {
		a.rxMu.Unlock()
		return
	}
	done := make(chan struct{})
	a.rx.items = append(a.rx.items, phoneRx{done: done})
	a.rxMu.Unlock()
	t := time.NewTimer(settleTimeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		s.log.Warn("phone_decrypt_backlog", "phone", redact(a.number))
	}
}

// settlePhones is settlePhone for every account.
func (s *Server) settlePhones() {
	s.accounts.Range(func(_, v any) bool {
		s.settlePhone(v.(*account))
		return true
	})
}
