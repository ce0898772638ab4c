package coretest

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/wagate/wagate/core"
)

func runIdempotency(t *testing.T, newState NewStateFunc) {
	t.Run("concurrent_puts_one_winner", func(t *testing.T) {
		st, ctx := newState(t), testContext(t)
		tenant, key := uniqueID("t"), uniqueID("s")+"/key-1"
		const n = 16
		type outcome struct {
			rec core.IdempotencyRecord
			won bool
			err error
		}
		results := make(chan outcome, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rec := sampleRecord(tenant, key, i, now().Add(time.Hour))
				got, won, err := st.PutIdempotency(ctx, rec)
				results <- outcome{got, won, err}
			}()
		}
		wg.Wait()
		close(results)
		var winners []core.IdempotencyRecord
		var losers []core.IdempotencyRecord
		for o := range results {
			noErr(t, o.err, "concurrent put")
			if o.won {
				winners = append(winners, o.rec)
			} else {
				losers = append(losers, o.rec)
			}
		}
		if len(winners) != 1 {
			t.Fatalf("%d of %d concurrent puts of one key won, want exactly 1", len(winners), n)
		}
		for _, l := range losers {
			same(t, winners[0], l, "record returned to a losing put")
		}
	})
	t.Run("expired_record_is_replaced", func(t *testing.T) {
		st, ctx := newState(t), testContext(t)
		tenant, key := uniqueID("t"), uniqueID("k")
		old := sampleRecord(tenant, key, 1, now().Add(-time.Second))
		_, won, err := st.PutIdempotency(ctx, old)
		noErr(t, err, "put expired")
		if !won {
			t.Fatal("first put did not store its record")
		}
		fresh := sampleRecord(tenant, key, 2, now().Add(time.Hour))
		got, won, err := st.PutIdempotency(ctx, fresh)
		noErr(t, err, "put over an expired record")
		if !won {
			t.Fatal("a put over an expired record did not replace it")
		}
		same(t, fresh, got, "record returned to the winning put")
		got, won, err = st.PutIdempotency(ctx, sampleRecord(tenant, key, 3, now().Add(time.Hour)))
		noErr(t, err, "put over a live record")
		if won {
			t.Fatal("a put over a live record replaced it")
		}
		same(t, fresh, got, "live record returned")

		_, won, err = st.PutIdempotency(ctx, sampleRecord(uniqueID("t"), key, 4, now().Add(time.Hour)))
		noErr(t, err, "put for another tenant")
		if !won {
			t.Fatal("another tenant's record with the same key was refused")
		}
		noErr(t, st.DeleteIdempotency(ctx, tenant, key), "delete")
		_, won, err = st.PutIdempotency(ctx, sampleRecord(tenant, key, 5, now().Add(time.Hour)))
		noErr(t, err, "put after delete")
		if !won {
			t.Fatal("a put after DeleteIdempotency was refused")
		}
		noErr(t, st.DeleteIdempotency(ctx, tenant, uniqueID("k")), "delete of a missing record")
	})
}

func sampleRecord(tenant, key string, i int, expires time.Time) core.IdempotencyRecord {
	body, _ := json.Marshal(map[string]int{"attempt": i}) // a map of ints always encodes
	return core.IdempotencyRecord{
		Tenant: tenant, Key: key, RequestHash: "hash-" + string(rune('a'+i)), StatusCode: 202,
		Body: body, CreatedAt: now(), ExpiresAt: expires,
	}
}

func runResults(t *testing.T, newState NewStateFunc) {
	st, ctx := newState(t), testContext(t)
	tenant := uniqueID("t")
	r := core.CommandResult{
		CommandID: core.NewID(), Tenant: tenant, SessionID: uniqueID("s"), Type: core.CmdPairCode,
		Data: json.RawMessage(`{"code":"ABCD-EFGH"}`), At: now(),
	}
	_, err := st.GetResult(ctx, tenant, r.CommandID)
	wantCode(t, err, core.CodeNotFound, "result before it is written")
	noErr(t, st.PutResult(ctx, r), "put")
	got, err := st.GetResult(ctx, tenant, r.CommandID)
	noErr(t, err, "get")
	same(t, r, got, "result read back")
	_, err = st.GetResult(ctx, uniqueID("t"), r.CommandID)
	wantCode(t, err, core.CodeNotFound, "another tenant's result")

	failed := core.CommandResult{
		CommandID: core.NewID(), Tenant: tenant, Type: core.CmdDiagnostics,
		Error: &core.ErrorInfo{Code: "timeout", Message: "no answer", At: now()}, At: now(),
	}
	noErr(t, st.PutResult(ctx, failed), "put failed result")
	got, err = st.GetResult(ctx, tenant, failed.CommandID)
	noErr(t, err, "get failed result")
	same(t, failed, got, "failed result read back")
}

func runDiagnostics(t *testing.T, newState NewStateFunc) {
	st, ctx := newState(t), testContext(t)
	// A shared store may hold another run's report; a fresh one has none.
	if _, err := st.LatestReport(ctx); err != nil {
		wantCode(t, err, core.CodeNotFound, "latest report of a store without one")
	}
	first := sampleReport(false)
	second := sampleReport(true)
	noErr(t, st.PutReport(ctx, first), "put first")
	noErr(t, st.PutReport(ctx, second), "put second")
	got, err := st.LatestReport(ctx)
	noErr(t, err, "latest")
	same(t, second, got, "latest report")
}

func sampleReport(ok bool) core.Report {
	at := now()
	outcome := core.OutcomeFail
	if ok {
		outcome = core.OutcomeOK
	}
	return core.Report{
		ID: core.NewID(), Connector: uniqueID("c"), Reason: "request", StartedAt: at, FinishedAt: at.Add(1500 * time.Millisecond), OK: ok,
		Checks: []core.Check{
			{Kind: core.CheckDNSA, Target: "web.whatsapp.com", Outcome: core.OutcomeOK, Address: "157.240.0.1", DurationMS: 12.5},
			{Kind: core.CheckTCP6, Target: "web.whatsapp.com:443", Outcome: outcome, DurationMS: 5000, Error: "timeout", Advice: "check IPv6"},
		},
	}
}

func runHeartbeats(t *testing.T, newState NewStateFunc) {
	st, ctx := newState(t), testContext(t)
	at := now()
	yes := true
	stale := core.Heartbeat{ConnectorID: uniqueID("c"), Version: "1.0.0", Sessions: 2, StartedAt: at.Add(-time.Hour), At: at.Add(-10 * time.Minute)}
	live := core.Heartbeat{ConnectorID: uniqueID("c"), Version: "1.0.1", Sessions: 5, StartedAt: at.Add(-time.Minute), At: at, DiagnosticsOK: &yes}
	noErr(t, st.PutHeartbeat(ctx, stale), "put stale")
	noErr(t, st.PutHeartbeat(ctx, live), "put live")
	mine := func() map[string]core.Heartbeat {
		list, err := st.ListHeartbeats(ctx, at.Add(-time.Minute))
		noErr(t, err, "list")
		out := map[string]core.Heartbeat{}
		for _, h := range list {
			if h.ConnectorID == stale.ConnectorID || h.ConnectorID == live.ConnectorID {
				out[h.ConnectorID] = h
			}
		}
		return out
	}
	got := mine()
	if _, ok := got[stale.ConnectorID]; ok || len(got) != 1 {
		t.Fatalf("heartbeats since a minute ago = %v, want only %s", got, live.ConnectorID)
	}
	same(t, live, got[live.ConnectorID], "heartbeat read back")

	stale.At, stale.Sessions = at, 3
	noErr(t, st.PutHeartbeat(ctx, stale), "put again")
	got = mine()
	if len(got) != 2 {
		t.Fatalf("after a fresh heartbeat, %d of 2 connectors are listed", len(got))
	}
	same(t, stale, got[stale.ConnectorID], "replaced heartbeat")
}
