package dynamo_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/core/dynamo"
)

func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// TestPageOverOneMegabyte checks that a page whose messages exceed what one Query
// returns (1 MB) is still complete and in order.
func TestPageOverOneMegabyte(t *testing.T) {
	client, table := newTable(t)
	cc := &counting{Client: client}
	st := dynamo.New(cc, table)
	ctx := context.Background()
	key := core.SessionKey{Tenant: "big", ID: "s"}
	text := strings.Repeat("👋", core.MaxTextChars) // 16 KB per message
	base := time.Now().UTC().Add(-time.Hour)
	const total = 120
	var want []string // newest first
	for i := range total {
		m := core.Message{
			ID: fmt.Sprintf("M%03d", i), Tenant: key.Tenant, SessionID: key.ID, Direction: core.DirectionIn,
			Text: text, Status: core.MessageDelivered, CreatedAt: base.Add(time.Duration(i) * time.Second),
		}
		must(t, st.PutMessage(ctx, m), "put")
		want = append([]string{m.ID}, want...)
	}
	cc.take()
	page, err := st.ListMessages(ctx, key, core.MessageQuery{Limit: core.MaxPageSize})
	must(t, err, "list")
	queries := cc.take()["Query"]
	var got []string
	for _, m := range page.Messages {
		got = append(got, m.ID)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") || page.NextCursor != "" {
		t.Fatalf("one page of up to %d over %d large messages listed %d (cursor %q), want all, newest first",
			core.MaxPageSize, total, len(got), page.NextCursor)
	}
	if queries < 2 {
		t.Fatalf("%d messages of 16 KB came back from %d Query call(s): the 1 MB page limit was not exercised", total, queries)
	}
}

// TestTenantKeysCannotCollide checks that tenants containing the key separator
// cannot reach another tenant's items.
func TestTenantKeysCannotCollide(t *testing.T) {
	client, table := newTable(t)
	st := dynamo.New(client, table)
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	for _, rec := range []core.IdempotencyRecord{
		{Tenant: "a#i#b", Key: "c", RequestHash: "first", ExpiresAt: exp},
		{Tenant: "a", Key: "b#i#c", RequestHash: "second", ExpiresAt: exp},
		{Tenant: "a%23i%23b", Key: "c", RequestHash: "third", ExpiresAt: exp},
	} {
		got, won, err := st.PutIdempotency(ctx, rec)
		must(t, err, "put idempotency")
		if !won {
			t.Fatalf("record of tenant %q key %q collided with %+v", rec.Tenant, rec.Key, got)
		}
	}
	must(t, st.PutResult(ctx, core.CommandResult{CommandID: "b#r#c", Tenant: "a", Type: core.CmdDiagnostics}), "put result")
	if _, err := st.GetResult(ctx, "a#r#b", "c"); !core.IsCode(err, core.CodeNotFound) {
		t.Fatalf("tenant a#r#b reads tenant a's result: %v", err)
	}
	must(t, st.CreateSession(ctx, core.Session{Tenant: "x", ID: "s"}), "create")
	list, err := st.ListSessions(ctx, "x#s#s")
	must(t, err, "list")
	if len(list) != 0 {
		t.Fatalf("tenant x#s#s lists %d sessions of tenant x", len(list))
	}
}

// TestClock checks that expiry and lease times follow the injected clock.
func TestClock(t *testing.T) {
	client, table := newTable(t)
	st := dynamo.New(client, table)
	ctx := context.Background()
	clock := time.Date(2035, 1, 2, 3, 4, 5, 6, time.UTC)
	st.Now = func() time.Time { return clock }
	key := core.SessionKey{Tenant: "clock", ID: "s"}

	must(t, st.PutQR(ctx, key, core.QR{Code: "2@x", ExpiresAt: clock.Add(time.Minute)}), "put qr")
	_, err := st.GetQR(ctx, key)
	must(t, err, "QR valid for another minute")
	rec := core.IdempotencyRecord{Tenant: "clock", Key: "k", RequestHash: "a", ExpiresAt: clock.Add(time.Minute)}
	if _, won, err := st.PutIdempotency(ctx, rec); err != nil || !won {
		t.Fatalf("first put: won=%v err=%v", won, err)
	}
	rec.RequestHash = "b"
	if got, won, err := st.PutIdempotency(ctx, rec); err != nil || won || got.RequestHash != "a" {
		t.Fatalf("put before expiry: won=%v hash=%s err=%v", won, got.RequestHash, err)
	}
	l, err := st.TakeLease(ctx, key, "a", time.Minute, 0)
	must(t, err, "take")
	if !l.Until.Equal(clock.Add(time.Minute)) {
		t.Fatalf("lease until %s, want a minute after the injected clock", l.Until)
	}

	clock = clock.Add(time.Minute)
	if _, err := st.GetQR(ctx, key); !core.IsCode(err, core.CodeNotFound) {
		t.Fatalf("QR at its expiry: want not_found, got %v", err)
	}
	if got, won, err := st.PutIdempotency(ctx, rec); err != nil || !won || got.RequestHash != "b" {
		t.Fatalf("put at the old record's expiry: won=%v hash=%s err=%v", won, got.RequestHash, err)
	}
}

// TestDeleteSessionEmptiesPartition deletes a session with more items than one
// batch holds and checks nothing of it is left in the table, while its lease record
// stays so fences keep increasing.
func TestDeleteSessionEmptiesPartition(t *testing.T) {
	client, table := newTable(t)
	st := dynamo.New(client, table)
	ctx := context.Background()
	key := core.SessionKey{Tenant: "del", ID: "s"}
	at := time.Now().UTC()
	must(t, st.CreateSession(ctx, core.Session{ID: key.ID, Tenant: key.Tenant}), "create")
	must(t, st.PutQR(ctx, key, core.QR{Code: "2@x", ExpiresAt: at.Add(time.Minute)}), "put qr")
	for i := range 60 {
		must(t, st.PutMessage(ctx, core.Message{ID: fmt.Sprint("M", i), Tenant: key.Tenant, SessionID: key.ID, Direction: core.DirectionOut, CreatedAt: at}), "put message")
	}
	for i := range 3 {
		must(t, st.PutResult(ctx, core.CommandResult{CommandID: fmt.Sprint("c", i), Tenant: key.Tenant, SessionID: key.ID, At: at}), "put result")
	}
	l, err := st.TakeLease(ctx, key, "a", time.Minute, 0)
	must(t, err, "take")

	must(t, st.DeleteSession(ctx, key), "delete")
	out, err := client.Scan(ctx, &dynamodb.ScanInput{
		TableName:                 aws.String(table),
		FilterExpression:          aws.String("contains(pk, :s)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":s": &types.AttributeValueMemberS{Value: "t#del"}},
	})
	must(t, err, "scan")
	for _, item := range out.Items {
		pk := item["pk"].(*types.AttributeValueMemberS).Value
		sk := item["sk"].(*types.AttributeValueMemberS).Value
		if sk != "lease" {
			t.Errorf("item %s / %s survived DeleteSession", pk, sk)
		}
	}
	cur, err := st.ReadLease(ctx, key)
	must(t, err, "read lease after delete")
	must(t, st.CreateSession(ctx, core.Session{ID: key.ID, Tenant: key.Tenant}), "create again")
	l2, err := st.TakeLease(ctx, key, "b", time.Minute, cur.Version)
	must(t, err, "take after re-create")
	if l2.Fence <= l.Fence {
		t.Fatalf("fence after delete and re-create is %d, was %d: a stale holder could write", l2.Fence, l.Fence)
	}
	if err := st.DeleteSession(ctx, key); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteSession(ctx, key); !core.IsCode(err, core.CodeNotFound) {
		t.Fatalf("second delete: want not_found, got %v", err)
	}
}

// TestLeaseRaceGuardsSessionWrites races 8 connectors for a lease twice and checks
// that exactly one wins each round and that the loser of the lease can no longer
// write the session.
func TestLeaseRaceGuardsSessionWrites(t *testing.T) {
	client, table := newTable(t)
	st := dynamo.New(client, table)
	ctx := context.Background()
	key := core.SessionKey{Tenant: "race", ID: "s"}
	must(t, st.CreateSession(ctx, core.Session{ID: key.ID, Tenant: key.Tenant, Status: core.StatusNew}), "create")

	race := func(expect int64) core.Lease {
		var wg sync.WaitGroup
		wins := make(chan core.Lease, 8)
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				l, err := st.TakeLease(ctx, key, fmt.Sprint("connector-", i), time.Minute, expect)
				switch {
				case err == nil:
					wins <- l
				case !core.IsCode(err, core.CodeConflict):
					t.Errorf("losing take: want conflict, got %v", err)
				}
			}()
		}
		wg.Wait()
		close(wins)
		if len(wins) != 1 {
			t.Fatalf("%d of 8 racing connectors took the lease, want 1", len(wins))
		}
		return <-wins
	}
	write := func(l core.Lease, status core.Status) error {
		_, err := st.UpdateSession(ctx, key, func(s *core.Session) error { s.Fence, s.Status = l.Fence, status; return nil })
		return err
	}

	first := race(0)
	must(t, write(first, core.StatusConnected), "first holder writes")
	second := race(first.Version)
	if second.Fence <= first.Fence {
		t.Fatalf("second holder got fence %d after %d", second.Fence, first.Fence)
	}
	must(t, write(second, core.StatusConnecting), "second holder writes")
	if err := write(first, core.StatusDisconnected); !core.IsCode(err, core.CodeConflict) {
		t.Fatalf("write by the previous holder: want conflict, got %v", err)
	}
	got, err := st.GetSession(ctx, key)
	must(t, err, "get")
	if got.Status != core.StatusConnecting || got.Fence != second.Fence {
		t.Fatalf("session is %s with fence %d, want the second holder's write", got.Status, got.Fence)
	}
}
