package sessioncache_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/core/coretest"
	"github.com/wagate/wagate/core/memstate"
	"github.com/wagate/wagate/core/sessioncache"
	"github.com/wagate/wagate/core/sqlite"
)

// The cache in front of the SQLite state (what the local binary runs) still
// behaves as the port says, reads after writes included.
func TestStateOnSQLite(t *testing.T) {
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	st := sessioncache.New(db)
	coretest.RunState(t, func(*testing.T) core.State { return st })
}

// gatedState lets a test hold a session read after it has read the store, until the
// test releases it.
type gatedState struct {
	*memstate.State
	read    chan struct{} // receives when a gated read has its value
	release chan struct{}
	gate    bool
}

func (g *gatedState) GetSession(ctx context.Context, key core.SessionKey) (core.Session, error) {
	s, err := g.State.GetSession(ctx, key)
	if g.gate {
		g.read <- struct{}{}
		<-g.release
	}
	return s, err
}

// TestReadRacingAWriteIsNotKept: a read that got the old session from the store
// while an update was written returns the old one, but does not keep it: the next
// read sees the update.
func TestReadRacingAWriteIsNotKept(t *testing.T) {
	ctx := context.Background()
	key := core.SessionKey{Tenant: "t", ID: "s"}
	base := &gatedState{State: memstate.New(), read: make(chan struct{}), release: make(chan struct{})}
	if err := base.CreateSession(ctx, core.Session{ID: key.ID, Tenant: key.Tenant, Status: core.StatusDisconnected}); err != nil {
		t.Fatal(err)
	}
	c := sessioncache.New(base)

	base.gate = true
	var wg sync.WaitGroup
	var raced core.Session
	wg.Go(func() {
		var err error
		if raced, err = c.GetSession(ctx, key); err != nil {
			t.Error(err)
		}
	})
	<-base.read // the reader has the old session from the store
	if _, err := c.UpdateSession(ctx, key, func(s *core.Session) error {
		s.Status = core.StatusConnected
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	close(base.release)
	wg.Wait()
	base.gate = false
	if raced.Status != core.StatusDisconnected {
		t.Fatalf("the racing read returned %s, want the value it read", raced.Status)
	}
	got, err := c.GetSession(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != core.StatusConnected {
		t.Fatalf("read after the update returned %s, want connected", got.Status)
	}
}

// TestReadsAreCopies: a caller changing what it read changes neither the cache nor
// what the next caller reads.
func TestReadsAreCopies(t *testing.T) {
	ctx := context.Background()
	key := core.SessionKey{Tenant: "t", ID: "s"}
	c := sessioncache.New(memstate.New())
	if err := c.CreateSession(ctx, core.Session{ID: key.ID, Tenant: key.Tenant, Status: core.StatusFailed,
		LastError: &core.ErrorInfo{Code: "x", Message: "first"}}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		s, err := c.GetSession(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if s.LastError == nil || s.LastError.Message != "first" {
			t.Fatalf("lastError %+v, want the stored one", s.LastError)
		}
		s.LastError.Message = "changed by a caller"
		s.Status = core.StatusConnected
	}
}

// TestDeleteIsSeen: after a delete, the session is gone, not served from memory.
func TestDeleteIsSeen(t *testing.T) {
	ctx := context.Background()
	key := core.SessionKey{Tenant: "t", ID: "s"}
	c := sessioncache.New(memstate.New())
	if err := c.CreateSession(ctx, core.Session{ID: key.ID, Tenant: key.Tenant, Status: core.StatusDisconnected}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetSession(ctx, key); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteSession(ctx, key); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetSession(ctx, key); !core.IsCode(err, core.CodeNotFound) {
		t.Fatalf("read after delete: %v, want not_found", err)
	}
}
