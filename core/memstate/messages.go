package memstate

import (
	"context"
	"sort"

	"github.com/wagate/wagate/core"
)

func messageNotFound(id string) error {
	return core.Errorf(core.CodeNotFound, "message %q not found", id)
}

// PutMessage stores a new message; CodeConflict if that id exists in the session.
func (s *State) PutMessage(ctx context.Context, m core.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if m.ID == "" {
		return core.Errorf(core.CodeInvalid, "message id must not be empty")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := m.Key()
	box := s.messages[key]
	if box == nil {
		box = make(map[string]core.Message)
		s.messages[key] = box
	}
	if _, ok := box[m.ID]; ok {
		return core.Errorf(core.CodeConflict, "message %q already exists", m.ID)
	}
	box[m.ID] = m
	return nil
}

// GetMessage returns one message; CodeNotFound if the session has no such message.
func (s *State) GetMessage(ctx context.Context, key core.SessionKey, id string) (core.Message, error) {
	if err := ctx.Err(); err != nil {
		return core.Message{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.messages[key][id]
	if !ok {
		return core.Message{}, messageNotFound(id)
	}
	return m, nil
}

// UpdateMessage applies fn to the stored message and writes it atomically. fn runs
// under the store's lock, so it must not call the store. The message's id, tenant and
// session cannot change.
func (s *State) UpdateMessage(ctx context.Context, key core.SessionKey, id string, fn func(*core.Message) error) (core.Message, error) {
	if err := ctx.Err(); err != nil {
		return core.Message{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.messages[key][id]
	if !ok {
		return core.Message{}, messageNotFound(id)
	}
	if err := fn(&m); err != nil {
		return core.Message{}, err
	}
	m.ID, m.Tenant, m.SessionID = id, key.Tenant, key.ID
	s.messages[key][id] = m
	return m, nil
}

// ListMessages returns a page of messages, newest first (by CreatedAt, then id);
// CodeInvalid for a bad cursor or limit.
func (s *State) ListMessages(ctx context.Context, key core.SessionKey, q core.MessageQuery) (core.MessagePage, error) {
	if err := ctx.Err(); err != nil {
		return core.MessagePage{}, err
	}
	limit, err := pageLimit(q.Limit)
	if err != nil {
		return core.MessagePage{}, err
	}
	var after *core.Position
	if q.Cursor != "" {
		p, err := core.ParseCursor(q.Cursor)
		if err != nil {
			return core.MessagePage{}, err
		}
		after = &p
	}
	if q.Direction != "" && q.Direction != core.DirectionIn && q.Direction != core.DirectionOut {
		return core.MessagePage{}, core.Errorf(core.CodeInvalid, "direction must be in or out")
	}
	s.mu.Lock()
	all := make([]core.Message, 0, len(s.messages[key]))
	for _, m := range s.messages[key] {
		if q.Direction != "" && m.Direction != q.Direction {
			continue
		}
		if after != nil && !after.NewerThan(core.PositionOf(m)) {
			continue
		}
		all = append(all, m)
	}
	s.mu.Unlock()
	sort.Slice(all, func(i, j int) bool { return core.PositionOf(all[i]).NewerThan(core.PositionOf(all[j])) })
	page := core.MessagePage{Messages: all}
	if len(all) > limit {
		page.Messages = all[:limit]
		page.NextCursor = core.PositionOf(all[limit-1]).Cursor()
	}
	return page, nil
}

func pageLimit(n int) (int, error) {
	switch {
	case n == 0:
		return core.DefaultPageSize, nil
	case n < 0 || n > core.MaxPageSize:
		return 0, core.Errorf(core.CodeInvalid, "limit must be between 1 and %d", core.MaxPageSize)
	}
	return n, nil
}
