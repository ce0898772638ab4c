package dynamo_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
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

// counting is a dynamo.Client that counts calls by API name.
type counting struct {
	dynamo.Client
	mu    sync.Mutex
	n     map[string]int
	units float64 // capacity units the calls reported
}

func (c *counting) add(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[name]++
}

func (c *counting) capacity(cc ...types.ConsumedCapacity) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, u := range cc {
		c.units += aws.ToFloat64(u.CapacityUnits)
	}
}

// one turns an optional capacity report into a list.
func one(cc *types.ConsumedCapacity) []types.ConsumedCapacity {
	if cc == nil {
		return nil
	}
	return []types.ConsumedCapacity{*cc}
}

// take returns the counts so far and starts over.
func (c *counting) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.n
	c.n, c.units = nil, 0
	if n == nil {
		n = map[string]int{}
	}
	return n
}

func (c *counting) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.add("GetItem")
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := c.Client.GetItem(ctx, in, o...)
	if err == nil {
		c.capacity(one(out.ConsumedCapacity)...)
	}
	return out, err
}

func (c *counting) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	c.add("PutItem")
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := c.Client.PutItem(ctx, in, o...)
	if err == nil {
		c.capacity(one(out.ConsumedCapacity)...)
	}
	return out, err
}

func (c *counting) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	c.add("UpdateItem")
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := c.Client.UpdateItem(ctx, in, o...)
	if err == nil {
		c.capacity(one(out.ConsumedCapacity)...)
	}
	return out, err
}

func (c *counting) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	c.add("DeleteItem")
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := c.Client.DeleteItem(ctx, in, o...)
	if err == nil {
		c.capacity(one(out.ConsumedCapacity)...)
	}
	return out, err
}

func (c *counting) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	c.add("Query")
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := c.Client.Query(ctx, in, o...)
	if err == nil {
		c.capacity(one(out.ConsumedCapacity)...)
	}
	return out, err
}

func (c *counting) Scan(ctx context.Context, in *dynamodb.ScanInput, o ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	c.add("Scan")
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := c.Client.Scan(ctx, in, o...)
	if err == nil {
		c.capacity(one(out.ConsumedCapacity)...)
	}
	return out, err
}

func (c *counting) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	c.add("BatchWriteItem")
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := c.Client.BatchWriteItem(ctx, in, o...)
	if err == nil {
		c.capacity(out.ConsumedCapacity...)
	}
	return out, err
}

func (c *counting) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	c.add("TransactWriteItems")
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := c.Client.TransactWriteItems(ctx, in, o...)
	if err == nil {
		c.capacity(out.ConsumedCapacity...)
	}
	return out, err
}

func render(n map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(n)) {
		parts = append(parts, fmt.Sprintf("%s×%d", k, n[k]))
	}
	return strings.Join(parts, " ")
}

// TestCallsPerOperation pins the number of DynamoDB calls of each operation, as
// documented in the package comment: every call is latency and cost, so a change
// here must be deliberate.
func TestCallsPerOperation(t *testing.T) {
	client, table := newTable(t)
	cc := &counting{Client: client}
	st := dynamo.New(cc, table)
	ctx := context.Background()
	key := core.SessionKey{Tenant: "calls", ID: "s1"}
	at := time.Now().UTC()
	var lease core.Lease
	msg := core.Message{ID: "M1", Tenant: key.Tenant, SessionID: key.ID, Direction: core.DirectionOut, Text: "hi", Status: core.MessageQueued, CreatedAt: at}

	steps := []struct {
		name string
		op   func() error
		want string
	}{
		{"CreateSession", func() error { return st.CreateSession(ctx, core.Session{ID: key.ID, Tenant: key.Tenant}) }, "PutItem×1"},
		{"GetSession", func() error { _, err := st.GetSession(ctx, key); return err }, "GetItem×1"},
		{"ListSessions", func() error { _, err := st.ListSessions(ctx, key.Tenant); return err }, "Query×1"},
		{"ListAllSessions", func() error { _, err := st.ListAllSessions(ctx); return err }, "Scan×1"},
		{"UpdateSession", func() error {
			_, err := st.UpdateSession(ctx, key, func(s *core.Session) error { s.Status = core.StatusQR; return nil })
			return err
		}, "GetItem×1 PutItem×1"},
		{"PutQR", func() error { return st.PutQR(ctx, key, core.QR{Code: "2@x", ExpiresAt: at.Add(time.Minute)}) }, "PutItem×1"},
		{"GetQR", func() error { _, err := st.GetQR(ctx, key); return err }, "GetItem×1"},
		{"DeleteQR", func() error { return st.DeleteQR(ctx, key) }, "DeleteItem×1"},
		{"PutMessage", func() error { return st.PutMessage(ctx, msg) }, "PutItem×1"},
		{"GetMessage", func() error { _, err := st.GetMessage(ctx, key, msg.ID); return err }, "GetItem×1"},
		{"UpdateMessage", func() error {
			_, err := st.UpdateMessage(ctx, key, msg.ID, func(m *core.Message) error { m.Status = core.MessageSent; return nil })
			return err
		}, "GetItem×1 PutItem×1"},
		{"ListMessages", func() error { _, err := st.ListMessages(ctx, key, core.MessageQuery{}); return err }, "Query×1"},
		{"ListMessages_direction", func() error {
			_, err := st.ListMessages(ctx, key, core.MessageQuery{Direction: core.DirectionIn})
			return err
		}, "Query×1"},
		{"PutIdempotency_won", func() error { return putIdem(st, key.Tenant, "k", at.Add(time.Hour), true) }, "PutItem×1"},
		{"PutIdempotency_lost", func() error { return putIdem(st, key.Tenant, "k", at.Add(time.Hour), false) }, "PutItem×1"},
		{"DeleteIdempotency", func() error { return st.DeleteIdempotency(ctx, key.Tenant, "k") }, "DeleteItem×1"},
		{"PutResult_session", func() error {
			return st.PutResult(ctx, core.CommandResult{CommandID: "c1", Tenant: key.Tenant, SessionID: key.ID, Type: core.CmdPairCode, At: at})
		}, "TransactWriteItems×1"},
		{"PutResult_tenant", func() error {
			return st.PutResult(ctx, core.CommandResult{CommandID: "c2", Tenant: key.Tenant, Type: core.CmdDiagnostics, At: at})
		}, "PutItem×1"},
		{"GetResult", func() error { _, err := st.GetResult(ctx, key.Tenant, "c1"); return err }, "GetItem×1"},
		{"PutReport", func() error { return st.PutReport(ctx, core.Report{ID: "r", StartedAt: at, FinishedAt: at}) }, "PutItem×1"},
		{"LatestReport", func() error { _, err := st.LatestReport(ctx); return err }, "GetItem×1"},
		{"PutHeartbeat", func() error { return st.PutHeartbeat(ctx, core.Heartbeat{ConnectorID: "c", At: at}) }, "PutItem×1"},
		{"ListHeartbeats", func() error { _, err := st.ListHeartbeats(ctx, at.Add(-time.Minute)); return err }, "Query×1"},
		{"TakeLease", func() (err error) { lease, err = st.TakeLease(ctx, key, "a", time.Minute, 0); return err }, "UpdateItem×1"},
		{"ReadLease", func() error { _, err := st.ReadLease(ctx, key); return err }, "GetItem×1"},
		{"RenewLease", func() (err error) { lease, err = st.RenewLease(ctx, lease, time.Minute); return err }, "UpdateItem×1"},
		{"ReleaseLease", func() error { return st.ReleaseLease(ctx, lease) }, "UpdateItem×1"},
		{"DeleteSession", func() error { return st.DeleteSession(ctx, key) }, "BatchWriteItem×1 DeleteItem×1 GetItem×1 Query×1"},
	}
	for _, s := range steps {
		cc.take()
		if err := s.op(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		units := cc.units
		if got := render(cc.take()); got != s.want {
			t.Errorf("%s made %s, want %s", s.name, got, s.want)
		} else {
			t.Logf("%-24s %-50s %4.1f capacity units", s.name, got, units)
		}
	}
}

func putIdem(st *dynamo.Store, tenant, key string, exp time.Time, wantWon bool) error {
	_, won, err := st.PutIdempotency(context.Background(), core.IdempotencyRecord{Tenant: tenant, Key: key, RequestHash: "h", ExpiresAt: exp})
	if err == nil && won != wantWon {
		return fmt.Errorf("won = %v, want %v", won, wantWon)
	}
	return err
}
