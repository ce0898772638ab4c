package memstate

import (
	"context"
	"sort"
	"time"

	"github.com/wagate/wagate/core"
)

// PutIdempotency stores rec unless a live record with the same tenant and key
// exists, in which case it returns that record and false. A record is live until its
// ExpiresAt; an expired one is replaced.
func (s *State) PutIdempotency(ctx context.Context, rec core.IdempotencyRecord) (core.IdempotencyRecord, bool, error) {
	if err := ctx.Err(); err != nil {
		return core.IdempotencyRecord{}, false, err
	}
	if rec.ExpiresAt.IsZero() {
		return core.IdempotencyRecord{}, false, core.Errorf(core.CodeInvalid, "idempotency record needs an expiry")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := idemKey{rec.Tenant, rec.Key}
	if old, ok := s.idem[k]; ok && s.now().Before(old.ExpiresAt) {
		return cloneRecord(old), false, nil
	}
	s.idem[k] = cloneRecord(rec)
	return cloneRecord(rec), true, nil
}

// DeleteIdempotency forgets a record; forgetting none is not an error.
func (s *State) DeleteIdempotency(ctx context.Context, tenant, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.idem, idemKey{tenant, key})
	return nil
}

// PutResult stores a command's result, replacing an earlier one for that command.
func (s *State) PutResult(ctx context.Context, r core.CommandResult) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.results[resultKey{r.Tenant, r.CommandID}] = cloneResult(r)
	return nil
}

// GetResult returns the result of a command; CodeNotFound while there is none.
func (s *State) GetResult(ctx context.Context, tenant, commandID string) (core.CommandResult, error) {
	if err := ctx.Err(); err != nil {
		return core.CommandResult{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.results[resultKey{tenant, commandID}]
	if !ok {
		return core.CommandResult{}, core.Errorf(core.CodeNotFound, "no result for command %q yet", commandID)
	}
	return cloneResult(r), nil
}

// PutReport stores r as the latest report.
func (s *State) PutReport(ctx context.Context, r core.Report) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := cloneReport(r)
	s.report = &c
	return nil
}

// LatestReport returns the latest report; CodeNotFound when none ran yet.
func (s *State) LatestReport(ctx context.Context) (core.Report, error) {
	if err := ctx.Err(); err != nil {
		return core.Report{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.report == nil {
		return core.Report{}, core.Errorf(core.CodeNotFound, "no diagnostics report yet")
	}
	return cloneReport(*s.report), nil
}

// PutHeartbeat records that a connector is alive, replacing its previous heartbeat.
func (s *State) PutHeartbeat(ctx context.Context, h core.Heartbeat) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.heartbeats[h.ConnectorID] = cloneHeartbeat(h)
	return nil
}

// ListHeartbeats returns each connector's latest heartbeat if its At is not before
// since, ordered by connector id.
func (s *State) ListHeartbeats(ctx context.Context, since time.Time) ([]core.Heartbeat, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	out := []core.Heartbeat{}
	for _, h := range s.heartbeats {
		if !h.At.Before(since) {
			out = append(out, cloneHeartbeat(h))
		}
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ConnectorID < out[j].ConnectorID })
	return out, nil
}
