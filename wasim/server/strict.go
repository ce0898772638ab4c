package server

import (
	"fmt"
	"slices"
	"time"

	waBinary "go.mau.fi/whatsmeow/binary"
)

// Violation is something a client did that the simulator does not understand or
// could not process: an unknown node, a malformed request, a message a fake phone
// could not decrypt. In strict mode each one is recorded; tests fail on them.
type Violation struct {
	At     time.Time // when it happened
	Device string    // the device JID, or "registration" before pairing
	Reason string    // what went wrong
	XML    string    // the offending node, as XML, when there is one
}

// String renders the violation on one line plus its node.
func (v Violation) String() string {
	if v.XML == "" {
		return fmt.Sprintf("%s: %s", v.Device, v.Reason)
	}
	return fmt.Sprintf("%s: %s\n%s", v.Device, v.Reason, v.XML)
}

// Violations returns the strict-mode violations recorded so far, oldest first,
// including those of every message a fake phone was sent before the call (phones
// decrypt in the background; Violations waits for them).
func (s *Server) Violations() []Violation {
	s.settlePhones()
	s.violMu.Lock()
	defer s.violMu.Unlock()
	return slices.Clone(s.violations)
}

// TakeViolations returns the violations recorded so far and forgets them, for tests
// that provoke violations on purpose. Like Violations, it waits for the fake phones'
// pending decryptions first.
func (s *Server) TakeViolations() []Violation {
	s.settlePhones()
	s.violMu.Lock()
	defer s.violMu.Unlock()
	vs := s.violations
	s.violations = nil
	return vs
}

// violation records a strict-mode violation (and logs it in either mode).
func (s *Server) violation(who, reason string, node *waBinary.Node) {
	v := Violation{At: s.now(), Device: who, Reason: reason}
	if node != nil {
		v.XML = node.XMLString()
	}
	s.log.Warn("protocol_violation", "device", who, "reason", reason, "node", v.XML)
	if !s.cfg.strict {
		return
	}
	s.violMu.Lock()
	s.violations = append(s.violations, v)
	s.violMu.Unlock()
	if s.cfg.onViolation != nil {
		s.cfg.onViolation(v)
	}
}
