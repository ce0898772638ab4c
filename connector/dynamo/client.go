package dynamo

import (
	"context"
	"sort"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// API is the part of the DynamoDB client that the store calls. *dynamodb.Client implements it.
type API interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

var _ API = (*dynamodb.Client)(nil)

// OpStats counts the calls of one DynamoDB operation and the capacity units they consumed,
// as reported by DynamoDB (ReturnConsumedCapacity TOTAL).
type OpStats struct {
	Calls      int64
	ReadUnits  float64
	WriteUnits float64
}

// Stats maps a DynamoDB operation name (GetItem, Query, TransactWriteItems, ...) to its counters.
type Stats map[string]OpStats

// Calls is the number of DynamoDB calls of every operation.
func (s Stats) Calls() int64 {
	var n int64
	for _, op := range s {
		n += op.Calls
	}
	return n
}

// Sub returns the counters accumulated since the snapshot prev was taken.
func (s Stats) Sub(prev Stats) Stats {
	out := make(Stats, len(s))
	for name, op := range s {
		p := prev[name]
		d := OpStats{Calls: op.Calls - p.Calls, ReadUnits: op.ReadUnits - p.ReadUnits, WriteUnits: op.WriteUnits - p.WriteUnits}
		if d != (OpStats{}) {
			out[name] = d
		}
	}
	return out
}

// Names lists the operations in s in a stable order.
func (s Stats) Names() []string {
	names := make([]string, 0, len(s))
	for name := range s {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// counter wraps an API and counts every call by operation. It asks DynamoDB for the
// consumed capacity so that reads and writes are reported in units, not only calls.
type counter struct {
	api API

	mu    sync.Mutex
	stats Stats
}

func newCounter(api API) *counter {
	return &counter{api: api, stats: make(Stats)}
}

func (c *counter) snapshot() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(Stats, len(c.stats))
	for k, v := range c.stats {
		out[k] = v
	}
	return out
}

func (c *counter) add(op string, consumed []types.ConsumedCapacity, write bool) {
	var units float64
	for _, cc := range consumed {
		if cc.CapacityUnits != nil {
			units += *cc.CapacityUnits
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.stats[op]
	st.Calls++
	if write {
		st.WriteUnits += units
	} else {
		st.ReadUnits += units
	}
	c.stats[op] = st
}

func one(cc *types.ConsumedCapacity) []types.ConsumedCapacity {
	if cc == nil {
		return nil
	}
	return []types.ConsumedCapacity{*cc}
}

const total = types.ReturnConsumedCapacityTotal

func (c *counter) GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	in.ReturnConsumedCapacity = total
	out, err := c.api.GetItem(ctx, in, opts...)
	if out != nil {
		c.add("GetItem", one(out.ConsumedCapacity), false)
	} else {
		c.add("GetItem", nil, false)
	}
	return out, err
}

func (c *counter) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	in.ReturnConsumedCapacity = total
	out, err := c.api.PutItem(ctx, in, opts...)
	if out != nil {
		c.add("PutItem", one(out.ConsumedCapacity), true)
	} else {
		c.add("PutItem", nil, true)
	}
	return out, err
}

func (c *counter) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	in.ReturnConsumedCapacity = total
	out, err := c.api.UpdateItem(ctx, in, opts...)
	if out != nil {
		c.add("UpdateItem", one(out.ConsumedCapacity), true)
	} else {
		c.add("UpdateItem", nil, true)
	}
	return out, err
}

func (c *counter) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	in.ReturnConsumedCapacity = total
	out, err := c.api.DeleteItem(ctx, in, opts...)
	if out != nil {
		c.add("DeleteItem", one(out.ConsumedCapacity), true)
	} else {
		c.add("DeleteItem", nil, true)
	}
	return out, err
}

func (c *counter) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	in.ReturnConsumedCapacity = total
	out, err := c.api.Query(ctx, in, opts...)
	if out != nil {
		c.add("Query", one(out.ConsumedCapacity), false)
	} else {
		c.add("Query", nil, false)
	}
	return out, err
}

func (c *counter) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	in.ReturnConsumedCapacity = total
	out, err := c.api.BatchGetItem(ctx, in, opts...)
	if out != nil {
		c.add("BatchGetItem", out.ConsumedCapacity, false)
	} else {
		c.add("BatchGetItem", nil, false)
	}
	return out, err
}

func (c *counter) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	in.ReturnConsumedCapacity = total
	out, err := c.api.BatchWriteItem(ctx, in, opts...)
	if out != nil {
		c.add("BatchWriteItem", out.ConsumedCapacity, true)
	} else {
		c.add("BatchWriteItem", nil, true)
	}
	return out, err
}

func (c *counter) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	in.ReturnConsumedCapacity = total
	out, err := c.api.TransactWriteItems(ctx, in, opts...)
	if out != nil {
		c.add("TransactWriteItems", out.ConsumedCapacity, true)
	} else {
		c.add("TransactWriteItems", nil, true)
	}
	return out, err
}
