package memstate

import (
	"context"
	"time"

	"github.com/wagate/wagate/core"
)

// ReadLease returns the current lease record of a session; CodeNotFound if there is
// none. A released lease is a record with an empty Owner.
func (s *State) ReadLease(ctx context.Context, key core.SessionKey) (core.Lease, error) {
	if err := ctx.Err(); err != nil {
		return core.Lease{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.leases[key]
	if !ok {
		return core.Lease{}, core.Errorf(core.CodeNotFound, "session %q has no lease", key.ID)
	}
	return l, nil
}

// TakeLease makes owner the holder if the record's Version still equals
// expectVersion (0: no record exists), incrementing Fence and Version.
func (s *State) TakeLease(ctx context.Context, key core.SessionKey, owner string, d time.Duration, expectVersion int64) (core.Lease, error) {
	if err := ctx.Err(); err != nil {
		return core.Lease{}, err
	}
	if owner == "" || d <= 0 {
		return core.Lease{}, core.Errorf(core.CodeInvalid, "a lease needs an owner and a positive duration")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.leases[key]
	if (!ok && expectVersion != 0) || (ok && cur.Version != expectVersion) {
		return core.Lease{}, core.Errorf(core.CodeConflict, "lease of session %q changed", key.ID)
	}
	l := core.Lease{
		Key: key, Owner: owner, Fence: cur.Fence + 1, Version: cur.Version + 1,
		Until: s.now().Add(d), Duration: d,
	}
	s.leases[key] = l
	return l, nil
}

// RenewLease extends l by d from now if owner and fence are unchanged; CodeConflict
// otherwise.
func (s *State) RenewLease(ctx context.Context, l core.Lease, d time.Duration) (core.Lease, error) {
	if err := ctx.Err(); err != nil {
		return core.Lease{}, err
	}
	if d <= 0 {
		return core.Lease{}, core.Errorf(core.CodeInvalid, "a lease needs a positive duration")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, err := s.held(l)
	if err != nil {
		return core.Lease{}, err
	}
	cur.Version++
	cur.Until = s.now().Add(d)
	cur.Duration = d
	s.leases[l.Key] = cur
	return cur, nil
}

// ReleaseLease gives l up if owner and fence are unchanged, so another connector can
// take it at once; CodeConflict otherwise. The record stays, with an empty Owner, so
// the fence keeps increasing.
func (s *State) ReleaseLease(ctx context.Context, l core.Lease) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, err := s.held(l)
	if err != nil {
		return err
	}
	cur.Version++
	cur.Owner = ""
	cur.Until = time.Time{}
	cur.Duration = 0
	s.leases[l.Key] = cur
	return nil
}

// held returns the stored lease if l's owner still holds it with l's fence.
func (s *State) held(l core.Lease) (core.Lease, error) {
	cur, ok := s.leases[l.Key]
	if !ok || l.Owner == "" || cur.Owner != l.Owner || cur.Fence != l.Fence {
		return core.Lease{}, core.Errorf(core.CodeConflict, "lease of session %q is no longer held by %q", l.Key.ID, l.Owner)
	}
	return cur, nil
}
