// Package memstate keeps wagate's state and leases in memory: core.State and
// core.LeaseStore behind one mutex. It is for tests and for local runs that need no
// persistence; everything is lost when the process exits.
package memstate

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/wagate/wagate/core"
)

// maxUpdateAttempts bounds the optimistic-concurrency retries of one update.
const maxUpdateAttempts = 1000

// State is an in-memory core.State and core.LeaseStore. It is safe for concurrent
// use. The zero value is not usable: call New.
type State struct {
	// Now returns the current time; it decides QR, idempotency and lease expiry.
	// Set it before first use (tests inject a fake clock).
	Now func() time.Time

	mu         sync.Mutex
	sessions   map[core.SessionKey]core.Session
	qrs        map[core.SessionKey]core.QR
	messages   map[core.SessionKey]map[string]core.Message
	idem       map[idemKey]core.IdempotencyRecord
	results    map[resultKey]core.CommandResult
	report     *core.Report
	heartbeats map[string]core.Heartbeat
	leases     map[core.SessionKey]core.Lease
}

type idemKey struct{ tenant, key string }

type resultKey struct{ tenant, commandID string }

// Compile-time checks that State implements the ports.
var (
	_ core.State      = (*State)(nil)
	_ core.LeaseStore = (*State)(nil)
)

// New returns an empty state using the wall clock.
func New() *State {
	return &State{
		Now:        time.Now,
		sessions:   make(map[core.SessionKey]core.Session),
		qrs:        make(map[core.SessionKey]core.QR),
		messages:   make(map[core.SessionKey]map[string]core.Message),
		idem:       make(map[idemKey]core.IdempotencyRecord),
		results:    make(map[resultKey]core.CommandResult),
		heartbeats: make(map[string]core.Heartbeat),
		leases:     make(map[core.SessionKey]core.Lease),
	}
}

// now reads the clock in UTC without a monotonic reading, so stored times compare equal.
func (s *State) now() time.Time { return s.Now().UTC() }

func sessionNotFound(key core.SessionKey) error {
	return core.Errorf(core.CodeNotFound, "session %q not found", key.ID)
}

// CreateSession stores a new session with Version 1; CodeConflict if one exists.
func (s *State) CreateSession(ctx context.Context, sess core.Session) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := sess.Key()
	if _, ok := s.sessions[key]; ok {
		return core.Errorf(core.CodeConflict, "session %q already exists", key.ID)
	}
	sess.Version = 1
	s.sessions[key] = sess.Clone()
	return nil
}

// GetSession returns one session; CodeNotFound if the tenant has no such session.
func (s *State) GetSession(ctx context.Context, key core.SessionKey) (core.Session, error) {
	if err := ctx.Err(); err != nil {
		return core.Session{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[key]
	if !ok {
		return core.Session{}, sessionNotFound(key)
	}
	return sess.Clone(), nil
}

// ListSessions returns a tenant's sessions ordered by id.
func (s *State) ListSessions(ctx context.Context, tenant string) ([]core.Session, error) {
	return s.list(ctx, func(k core.SessionKey) bool { return k.Tenant == tenant })
}

// ListAllSessions returns every tenant's sessions ordered by tenant, then id.
func (s *State) ListAllSessions(ctx context.Context) ([]core.Session, error) {
	return s.list(ctx, func(core.SessionKey) bool { return true })
}

func (s *State) list(ctx context.Context, keep func(core.SessionKey) bool) ([]core.Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	out := make([]core.Session, 0, len(s.sessions))
	for k, sess := range s.sessions {
		if keep(k) {
			out = append(out, sess.Clone())
		}
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Tenant != out[j].Tenant {
			return out[i].Tenant < out[j].Tenant
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// UpdateSession applies fn to a copy of the stored session and writes it if the
// stored version did not move meanwhile, retrying otherwise. fn runs without the
// lock held, so it may call the store. The tenant and id cannot change; a result
// whose Fence is below the stored Fence is rejected with CodeConflict.
func (s *State) UpdateSession(ctx context.Context, key core.SessionKey, fn func(*core.Session) error) (core.Session, error) {
	for attempt := 0; attempt < maxUpdateAttempts; attempt++ {
		cur, err := s.GetSession(ctx, key)
		if err != nil {
			return core.Session{}, err
		}
		next := cur.Clone()
		if err := fn(&next); err != nil {
			return core.Session{}, err
		}
		next.Tenant, next.ID = key.Tenant, key.ID
		if next.Fence < cur.Fence {
			return core.Session{}, core.Errorf(core.CodeConflict, "session %q is held by a newer lease (fence %d > %d)", key.ID, cur.Fence, next.Fence)
		}
		s.mu.Lock()
		stored, ok := s.sessions[key]
		switch {
		case !ok:
			s.mu.Unlock()
			return core.Session{}, sessionNotFound(key)
		case stored.Version != cur.Version:
			s.mu.Unlock()
			continue
		}
		next.Version = cur.Version + 1
		s.sessions[key] = next.Clone()
		s.mu.Unlock()
		return next, nil
	}
	return core.Session{}, core.Errorf(core.CodeConflict, "session %q changed too often to update", key.ID)
}

// DeleteSession removes the session with its QR, messages and results.
func (s *State) DeleteSession(ctx context.Context, key core.SessionKey) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.sessions[key]; !ok {
		return sessionNotFound(key)
	}
	delete(s.sessions, key)
	delete(s.qrs, key)
	delete(s.messages, key)
	for k, r := range s.results {
		if r.Tenant == key.Tenant && r.SessionID == key.ID {
			delete(s.results, k)
		}
	}
	return nil
}

// PutQR replaces the session's current code.
func (s *State) PutQR(ctx context.Context, key core.SessionKey, qr core.QR) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	qr.PNG = ""
	s.qrs[key] = qr
	return nil
}

// GetQR returns the current code; CodeNotFound if there is none or it expired.
func (s *State) GetQR(ctx context.Context, key core.SessionKey) (core.QR, error) {
	if err := ctx.Err(); err != nil {
		return core.QR{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	qr, ok := s.qrs[key]
	if !ok || !s.now().Before(qr.ExpiresAt) {
		return core.QR{}, core.Errorf(core.CodeNotFound, "session %q has no current QR code", key.ID)
	}
	return qr, nil
}

// DeleteQR removes the code; deleting none is not an error.
func (s *State) DeleteQR(ctx context.Context, key core.SessionKey) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.qrs, key)
	return nil
}
