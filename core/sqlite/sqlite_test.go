package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/core/coretest"
	"github.com/wagate/wagate/core/sqlite"
)

// openDB opens a fresh database in the test's temporary folder.
func openDB(t testing.TB) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return db
}

func TestState(t *testing.T) {
	coretest.RunState(t, func(t *testing.T) core.State { return openDB(t) })
}

func TestLeases(t *testing.T) {
	coretest.RunLeases(t, func(t *testing.T) core.LeaseStore { return openDB(t) })
}

// TestReopen checks that data survives closing the database, that opening an
// up-to-date database again migrates nothing, and that a database from a newer
// program is refused.
func TestReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2030, 1, 2, 3, 4, 5, 123456789, time.UTC)
	want := core.Session{ID: "s", Tenant: "t", Status: core.StatusConnected, CreatedAt: at, UpdatedAt: at, Settings: core.DefaultSettings()}
	if err := db.CreateSession(ctx, want); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	got, err := db.GetSession(ctx, want.Key())
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != want.Status || !got.CreatedAt.Equal(at) || got.CreatedAt.Location() != time.UTC || got.Settings != want.Settings {
		t.Fatalf("after reopening: %+v, want %+v", got, want)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`UPDATE schema_version SET version = version + 1`); err != nil {
		t.Fatal(err)
	}
	if err := raw.Close(); err != nil {
		t.Fatal(err)
	}
	if db, err := sqlite.Open(ctx, path); err == nil {
		_ = db.Close()
		t.Fatal("opened a database whose schema is newer than this program")
	}
}

func TestOpenRejectsNonFilePaths(t *testing.T) {
	for _, p := range []string{"", ":memory:", "file:x.db", filepath.Join(t.TempDir(), "a?b.db")} {
		if db, err := sqlite.Open(context.Background(), p); err == nil {
			_ = db.Close()
			t.Fatalf("Open(%q) succeeded", p)
		}
	}
}

// TestTwoHandlesOneFile checks that two handles on one file (as two processes would
// have) do not lose updates or fail with "database is locked".
func TestTwoHandlesOneFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	var dbs [2]*sqlite.DB
	for i := range dbs {
		db, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		dbs[i] = db
	}
	key := core.SessionKey{Tenant: "t", ID: "s"}
	if err := dbs[0].CreateSession(ctx, core.Session{ID: key.ID, Tenant: key.Tenant, DisplayName: "0"}); err != nil {
		t.Fatal(err)
	}
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := dbs[i%2].UpdateSession(ctx, key, func(s *core.Session) error {
				c, err := strconv.Atoi(s.DisplayName)
				s.DisplayName = strconv.Itoa(c + 1)
				return err
			})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := dbs[1].GetSession(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if got.DisplayName != strconv.Itoa(n) {
		t.Fatalf("counter = %s after %d increments through two handles", got.DisplayName, n)
	}
}

// TestClock checks that expiry follows the injected clock.
func TestClock(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	clock := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	db.Now = func() time.Time { return clock }
	key := core.SessionKey{Tenant: "t", ID: "s"}
	if err := db.PutQR(ctx, key, core.QR{Code: "2@x", ExpiresAt: clock.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.GetQR(ctx, key); err != nil {
		t.Fatalf("QR valid for another minute: %v", err)
	}
	l, err := db.TakeLease(ctx, key, "a", time.Minute, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !l.Until.Equal(clock.Add(time.Minute)) {
		t.Fatalf("lease until %s, want a minute after the injected clock", l.Until)
	}
	clock = clock.Add(time.Minute)
	if _, err := db.GetQR(ctx, key); !core.IsCode(err, core.CodeNotFound) {
		t.Fatalf("QR at its expiry: want not_found, got %v", err)
	}
}
