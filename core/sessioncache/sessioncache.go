// Package sessioncache serves the session reads of a state store from memory, for a
// process that is the store's only writer: the local binary, which locks its data
// folder so that no other process opens its SQLite state.
//
// Every message sent reads its session two or three times (the API checks its
// status, webhook delivery reads its settings for each event), while sessions change
// a few times a day. Only the sessions read since their last write are kept.
package sessioncache

import (
	"context"
	"sync"

	"github.com/wagate/wagate/core"
)

// State is a core.State whose GetSession answers from memory after the first read
// of a session. Session writes go to the store first and then drop the session from
// memory. Everything else goes straight to the store.
//
// It is correct only while every write to the store's sessions goes through it.
type State struct {
	core.State

	mu       sync.Mutex
	sessions map[core.SessionKey]core.Session
	// writes counts session writes: a read that raced with one is not kept.
	writes uint64
}

// New returns a State that caches the sessions of st.
func New(st core.State) *State {
	return &State{State: st, sessions: make(map[core.SessionKey]core.Session)}
}

// GetSession returns the session from memory, or reads it from the store and keeps
// it unless a session write happened meanwhile.
func (c *State) GetSession(ctx context.Context, key core.SessionKey) (core.Session, error) {
	c.mu.Lock()
	if s, ok := c.sessions[key]; ok {
		c.mu.Unlock()
		return s.Clone(), nil
	}
	before := c.writes
	c.mu.Unlock()

	s, err := c.State.GetSession(ctx, key)
	if err != nil {
		return s, err
	}
	c.mu.Lock()
	if c.writes == before {
		c.sessions[key] = s.Clone()
	}
	c.mu.Unlock()
	return s, nil
}

// CreateSession stores s.
func (c *State) CreateSession(ctx context.Context, s core.Session) error {
	defer c.written(s.Key())
	return c.State.CreateSession(ctx, s)
}

// UpdateSession updates the stored session.
func (c *State) UpdateSession(ctx context.Context, key core.SessionKey, fn func(*core.Session) error) (core.Session, error) {
	defer c.written(key)
	return c.State.UpdateSession(ctx, key, fn)
}

// DeleteSession deletes the stored session.
func (c *State) DeleteSession(ctx context.Context, key core.SessionKey) error {
	defer c.written(key)
	return c.State.DeleteSession(ctx, key)
}

// written forgets key after a write to it (whether or not the write succeeded: a
// failed write may still have changed the store) and stops reads that started
// before it from being kept.
func (c *State) written(key core.SessionKey) {
	c.mu.Lock()
	delete(c.sessions, key)
	c.writes++
	c.mu.Unlock()
}
