package session

import (
	"sync"
)

// mailbox is the supervisor loop's inbox: requests, whatsmeow events, results of
// background work and timer expiries, handled one at a time in arrival order. The
// loop runs on a goroutine that exists only while the mailbox has something in it:
// an idle session (connected, or stopped) costs no goroutine of its own. Ownership
// of the loop's state passes from one such goroutine to the next through mu, so at
// most one runs at a time and each sees what the previous one did.
type mailbox struct {
	mu       sync.Mutex
	items    []any // FIFO; nil while empty
	running  bool  // a loop goroutine runs (or, in tests, the test drives the loop)
	finished bool  // the loop ended for good: nothing is accepted any more
}

// stopRequest asks the loop to end (Close with write, Abort without).
type stopRequest struct{ write bool }

// post hands e to the loop, starting its goroutine if none runs; false once the
// loop has ended for good (e is dropped). It never blocks, so whatsmeow's goroutines
// and timers may call it at any time.
func (s *Supervisor) post(e any) bool {
	s.mailbox.mu.Lock()
	defer s.mailbox.mu.Unlock()
	if s.mailbox.finished {
		return false
	}
	s.mailbox.items = append(s.mailbox.items, e)
	if !s.mailbox.running {
		s.mailbox.running = true
		go s.run()
	}
	return true
}

// take returns the next item, or false (and the goroutine ends) when there is none.
func (s *Supervisor) take() (any, bool) {
	s.mailbox.mu.Lock()
	defer s.mailbox.mu.Unlock()
	if len(s.mailbox.items) == 0 {
		s.mailbox.items, s.mailbox.running = nil, false
		return nil, false
	}
	e := s.mailbox.items[0]
	s.mailbox.items[0] = nil
	s.mailbox.items = s.mailbox.items[1:]
	return e, true
}

// finish ends the loop for good: requests still waiting are answered ErrClosed and
// Done is closed.
func (s *Supervisor) finish() {
	s.mailbox.mu.Lock()
	left := s.mailbox.items
	s.mailbox.items, s.mailbox.finished = nil, true
	s.mailbox.mu.Unlock()
	for _, e := range left {
		if r, ok := e.(*request); ok {
			r.answer("", ErrClosed)
		}
	}
	close(s.done)
}
