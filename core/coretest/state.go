package coretest

import (
	"errors"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/wagate/wagate/core"
)

// NewStateFunc returns the core.State under test. It may return the same store to
// every test (a shared table): the tests use fresh tenants and sessions.
type NewStateFunc func(t *testing.T) core.State

// RunState runs the conformance suite of core.State against the store newState
// returns.
func RunState(t *testing.T, newState NewStateFunc) {
	t.Run("sessions", func(t *testing.T) { runSessions(t, newState) })
	t.Run("qr", func(t *testing.T) { runQR(t, newState) })
	t.Run("messages", func(t *testing.T) { runMessages(t, newState) })
	t.Run("idempotency", func(t *testing.T) { runIdempotency(t, newState) })
	t.Run("results", func(t *testing.T) { runResults(t, newState) })
	t.Run("diagnostics", func(t *testing.T) { runDiagnostics(t, newState) })
	t.Run("heartbeats", func(t *testing.T) { runHeartbeats(t, newState) })
}

// sampleSession returns a session with every field set.
func sampleSession(tenant, id string) core.Session {
	at := now()
	retry, connected := at.Add(time.Hour), at.Add(-time.Minute)
	return core.Session{
		ID: id, Tenant: tenant, DisplayName: "Front desk", Status: core.StatusBanned,
		JID: "15550001111:12@s.whatsapp.net", PushName: "Alice",
		Settings:    core.Settings{DisplayName: "Front desk", PreferIPv4: true, ProxyURL: "socks5://127.0.0.1:1080", WebhookURL: "https://example.com/hook", AutoConnect: true},
		LastError:   &core.ErrorInfo{Code: "temp_ban", Message: "banned for an hour", At: at},
		RetryAt:     &retry,
		ConnectedAt: &connected,
		CreatedAt:   at.Add(-time.Hour),
		UpdatedAt:   at,
		Desired:     true,
		Fence:       3,
	}
}

func runSessions(t *testing.T, newState NewStateFunc) {
	t.Run("create_get_round_trip", func(t *testing.T) {
		st, ctx := newState(t), testContext(t)
		want := sampleSession(uniqueID("t"), uniqueID("s"))
		noErr(t, st.CreateSession(ctx, want), "create")
		got, err := st.GetSession(ctx, want.Key())
		noErr(t, err, "get")
		if got.Version == 0 {
			t.Fatal("a stored session must have a non-zero Version")
		}
		want.Version = got.Version
		same(t, want, got, "session read back")
	})
	t.Run("create_twice_conflicts", func(t *testing.T) {
		st, ctx := newState(t), testContext(t)
		s := core.Session{ID: uniqueID("s"), Tenant: uniqueID("t"), Status: core.StatusNew}
		noErr(t, st.CreateSession(ctx, s), "create")
		wantCode(t, st.CreateSession(ctx, s), core.CodeConflict, "second create")
	})
	t.Run("missing_is_not_found", func(t *testing.T) {
		st, ctx := newState(t), testContext(t)
		key := core.SessionKey{Tenant: uniqueID("t"), ID: uniqueID("s")}
		_, err := st.GetSession(ctx, key)
		wantCode(t, err, core.CodeNotFound, "get")
		_, err = st.UpdateSession(ctx, key, func(*core.Session) error { return nil })
		wantCode(t, err, core.CodeNotFound, "update")
		wantCode(t, st.DeleteSession(ctx, key), core.CodeNotFound, "delete")
	})
	t.Run("tenant_isolation", func(t *testing.T) { testTenantIsolation(t, newState(t)) })
	t.Run("update", func(t *testing.T) { testUpdate(t, newState(t)) })
	t.Run("concurrent_updates_all_apply", func(t *testing.T) { testConcurrentUpdates(t, newState(t)) })
	t.Run("fence", func(t *testing.T) { testFence(t, newState(t)) })
	t.Run("delete_removes_everything", func(t *testing.T) { testDelete(t, newState(t)) })
}

func testTenantIsolation(t *testing.T, st core.State) {
	ctx := testContext(t)
	a, b := uniqueID("ta"), uniqueID("tb")
	ids := []string{uniqueID("s2"), uniqueID("s0"), uniqueID("s1")}
	for _, id := range ids {
		noErr(t, st.CreateSession(ctx, core.Session{ID: id, Tenant: a, Status: core.StatusNew}), "create")
	}
	other := core.SessionKey{Tenant: b, ID: ids[0]}
	_, err := st.GetSession(ctx, other)
	wantCode(t, err, core.CodeNotFound, "another tenant's get")
	_, err = st.UpdateSession(ctx, other, func(s *core.Session) error { s.Status = core.StatusFailed; return nil })
	wantCode(t, err, core.CodeNotFound, "another tenant's update")
	wantCode(t, st.DeleteSession(ctx, other), core.CodeNotFound, "another tenant's delete")

	list, err := st.ListSessions(ctx, b)
	noErr(t, err, "list other tenant")
	if len(list) != 0 {
		t.Fatalf("tenant %s sees %d sessions of another tenant", b, len(list))
	}
	noErr(t, st.CreateSession(ctx, core.Session{ID: ids[0], Tenant: b, Status: core.StatusConnected}), "same id, other tenant")
	list, err = st.ListSessions(ctx, a)
	noErr(t, err, "list")
	sorted := slices.Sorted(slices.Values(ids))
	var got []string
	for _, s := range list {
		if s.Tenant != a {
			t.Fatalf("listing tenant %s returned a session of %s", a, s.Tenant)
		}
		if s.Status != core.StatusNew {
			t.Fatalf("session %s has status %s: the other tenant's write leaked", s.ID, s.Status)
		}
		got = append(got, s.ID)
	}
	if !slices.Equal(got, sorted) {
		t.Fatalf("ListSessions = %v, want %v (ordered by id)", got, sorted)
	}

	all, err := st.ListAllSessions(ctx)
	noErr(t, err, "list all")
	seen := map[core.SessionKey]bool{}
	for _, s := range all {
		seen[s.Key()] = true
	}
	for _, k := range []core.SessionKey{{Tenant: a, ID: ids[0]}, {Tenant: a, ID: ids[1]}, {Tenant: a, ID: ids[2]}, other} {
		if !seen[k] {
			t.Fatalf("ListAllSessions misses %s", k)
		}
	}
}

func testUpdate(t *testing.T, st core.State) {
	ctx := testContext(t)
	s := sampleSession(uniqueID("t"), uniqueID("s"))
	noErr(t, st.CreateSession(ctx, s), "create")
	before, err := st.GetSession(ctx, s.Key())
	noErr(t, err, "get")

	at := now().Add(time.Minute)
	updated, err := st.UpdateSession(ctx, s.Key(), func(s *core.Session) error {
		s.Status = core.StatusConnected
		s.LastError, s.RetryAt = nil, nil
		s.UpdatedAt = at
		return nil
	})
	noErr(t, err, "update")
	if updated.Version == before.Version {
		t.Fatal("UpdateSession did not change Version")
	}
	got, err := st.GetSession(ctx, s.Key())
	noErr(t, err, "get after update")
	same(t, updated, got, "stored session vs UpdateSession result")
	if got.Status != core.StatusConnected || got.LastError != nil || got.RetryAt != nil || !got.UpdatedAt.Equal(at) {
		t.Fatalf("update not stored: %+v", got)
	}

	errStop := errors.New("stop")
	_, err = st.UpdateSession(ctx, s.Key(), func(s *core.Session) error { s.Status = core.StatusFailed; return errStop })
	if !errors.Is(err, errStop) {
		t.Fatalf("UpdateSession returned %v, want fn's error", err)
	}
	after, err := st.GetSession(ctx, s.Key())
	noErr(t, err, "get after aborted update")
	same(t, got, after, "session after an aborted update")
}

func testConcurrentUpdates(t *testing.T, st core.State) {
	ctx := testContext(t)
	const n = 20
	key := core.SessionKey{Tenant: uniqueID("t"), ID: uniqueID("s")}
	noErr(t, st.CreateSession(ctx, core.Session{ID: key.ID, Tenant: key.Tenant, Status: core.StatusNew, DisplayName: "0"}), "create")
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := st.UpdateSession(ctx, key, func(s *core.Session) error {
				c, err := strconv.Atoi(s.DisplayName)
				if err != nil {
					return err
				}
				s.DisplayName = strconv.Itoa(c + 1)
				return nil
			})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		noErr(t, err, "concurrent update")
	}
	got, err := st.GetSession(ctx, key)
	noErr(t, err, "get")
	if got.DisplayName != strconv.Itoa(n) {
		t.Fatalf("after %d concurrent increments the counter is %s: updates were lost", n, got.DisplayName)
	}
}

func testFence(t *testing.T, st core.State) {
	ctx := testContext(t)
	key := core.SessionKey{Tenant: uniqueID("t"), ID: uniqueID("s")}
	noErr(t, st.CreateSession(ctx, core.Session{ID: key.ID, Tenant: key.Tenant, Status: core.StatusNew}), "create")
	setFence := func(fence int64, status core.Status) error {
		_, err := st.UpdateSession(ctx, key, func(s *core.Session) error { s.Fence, s.Status = fence, status; return nil })
		return err
	}
	noErr(t, setFence(5, core.StatusConnecting), "write with fence 5")
	wantCode(t, setFence(4, core.StatusFailed), core.CodeConflict, "write with a stale fence 4")
	got, err := st.GetSession(ctx, key)
	noErr(t, err, "get")
	if got.Fence != 5 || got.Status != core.StatusConnecting {
		t.Fatalf("a stale holder overwrote the session: fence %d status %s", got.Fence, got.Status)
	}
	_, err = st.UpdateSession(ctx, key, func(s *core.Session) error { s.DisplayName = "kept fence"; return nil })
	noErr(t, err, "write keeping the stored fence")
	noErr(t, setFence(6, core.StatusConnected), "write with a newer fence")
}

func testDelete(t *testing.T, st core.State) {
	ctx := testContext(t)
	tenant := uniqueID("t")
	gone, kept := core.SessionKey{Tenant: tenant, ID: uniqueID("s")}, core.SessionKey{Tenant: tenant, ID: uniqueID("s")}
	for _, k := range []core.SessionKey{gone, kept} {
		noErr(t, st.CreateSession(ctx, core.Session{ID: k.ID, Tenant: k.Tenant, Status: core.StatusQR}), "create")
		noErr(t, st.PutQR(ctx, k, core.QR{Code: "2@" + k.ID, ExpiresAt: now().Add(time.Hour)}), "put qr")
		noErr(t, st.PutMessage(ctx, sampleMessage(k, "M"+k.ID, core.DirectionIn, now())), "put message")
		noErr(t, st.PutResult(ctx, core.CommandResult{CommandID: "c" + k.ID, Tenant: tenant, SessionID: k.ID, Type: core.CmdPairCode, At: now()}), "put result")
	}
	noErr(t, st.DeleteSession(ctx, gone), "delete")
	_, err := st.GetSession(ctx, gone)
	wantCode(t, err, core.CodeNotFound, "get deleted session")
	_, err = st.GetQR(ctx, gone)
	wantCode(t, err, core.CodeNotFound, "QR of a deleted session")
	_, err = st.GetMessage(ctx, gone, "M"+gone.ID)
	wantCode(t, err, core.CodeNotFound, "message of a deleted session")
	page, err := st.ListMessages(ctx, gone, core.MessageQuery{})
	noErr(t, err, "list messages of a deleted session")
	if len(page.Messages) != 0 {
		t.Fatalf("a deleted session still lists %d messages", len(page.Messages))
	}
	_, err = st.GetResult(ctx, tenant, "c"+gone.ID)
	wantCode(t, err, core.CodeNotFound, "result of a deleted session")

	_, err = st.GetSession(ctx, kept)
	noErr(t, err, "other session survives")
	_, err = st.GetQR(ctx, kept)
	noErr(t, err, "other session's QR survives")
	_, err = st.GetMessage(ctx, kept, "M"+kept.ID)
	noErr(t, err, "other session's message survives")
	_, err = st.GetResult(ctx, tenant, "c"+kept.ID)
	noErr(t, err, "other session's result survives")
}

func runQR(t *testing.T, newState NewStateFunc) {
	st, ctx := newState(t), testContext(t)
	key := core.SessionKey{Tenant: uniqueID("t"), ID: uniqueID("s")}
	noErr(t, st.CreateSession(ctx, core.Session{ID: key.ID, Tenant: key.Tenant, Status: core.StatusQR}), "create")
	_, err := st.GetQR(ctx, key)
	wantCode(t, err, core.CodeNotFound, "QR before any")

	first := core.QR{Code: "2@first", ExpiresAt: now().Add(time.Minute)}
	noErr(t, st.PutQR(ctx, key, first), "put")
	got, err := st.GetQR(ctx, key)
	noErr(t, err, "get")
	same(t, first, got, "QR read back")

	second := core.QR{Code: "2@second", ExpiresAt: now().Add(2 * time.Minute)}
	noErr(t, st.PutQR(ctx, key, second), "put replacement")
	got, err = st.GetQR(ctx, key)
	noErr(t, err, "get replacement")
	same(t, second, got, "replaced QR")

	_, err = st.GetQR(ctx, core.SessionKey{Tenant: uniqueID("t"), ID: key.ID})
	wantCode(t, err, core.CodeNotFound, "another tenant's QR")

	noErr(t, st.PutQR(ctx, key, core.QR{Code: "2@expired", ExpiresAt: now().Add(-time.Second)}), "put expired")
	_, err = st.GetQR(ctx, key)
	wantCode(t, err, core.CodeNotFound, "expired QR")

	noErr(t, st.PutQR(ctx, key, second), "put again")
	noErr(t, st.DeleteQR(ctx, key), "delete")
	_, err = st.GetQR(ctx, key)
	wantCode(t, err, core.CodeNotFound, "deleted QR")
	noErr(t, st.DeleteQR(ctx, key), "delete when there is none")
}
