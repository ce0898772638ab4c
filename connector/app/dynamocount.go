package app

import (
	"context"
	"errors"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	keystore "github.com/wagate/wagate/connector/dynamo"
	statedb "github.com/wagate/wagate/core/dynamo"
)

// CallCounter wraps the state table's client and counts every call by operation with
// the capacity units DynamoDB reports for it (ReturnConsumedCapacity TOTAL), as the
// key store counts its own calls. A conditional write that fails consumes capacity
// but reports none: it is counted as one write unit (items up to 1 KB), as DynamoDB
// bills it.
type CallCounter struct {
	api statedb.Client

	mu    sync.Mutex
	stats keystore.Stats
}

var _ statedb.Client = (*CallCounter)(nil)

// NewCallCounter returns a CallCounter forwarding to api.
func NewCallCounter(api statedb.Client) *CallCounter {
	return &CallCounter{api: api, stats: make(keystore.Stats)}
}

// Stats returns a copy of the counters.
func (c *CallCounter) Stats() keystore.Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(keystore.Stats, len(c.stats))
	for k, v := range c.stats {
		out[k] = v
	}
	return out
}

// add counts one call of op with the capacity it consumed.
func (c *CallCounter) add(op string, write bool, err error, consumed ...*types.ConsumedCapacity) {
	var units float64
	for _, cc := range consumed {
		if cc != nil && cc.CapacityUnits != nil {
			units += *cc.CapacityUnits
		}
	}
	var ccf *types.ConditionalCheckFailedException
	if write && units == 0 && errors.As(err, &ccf) {
		units = 1
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

const consumedTotal = types.ReturnConsumedCapacityTotal

// GetItem counts and forwards the call.
func (c *CallCounter) GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	in.ReturnConsumedCapacity = consumedTotal
	out, err := c.api.GetItem(ctx, in, opts...)
	var cc *types.ConsumedCapacity
	if out != nil {
		cc = out.ConsumedCapacity
	}
	c.add("GetItem", false, err, cc)
	return out, err
}

// PutItem counts and forwards the call.
func (c *CallCounter) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	in.ReturnConsumedCapacity = consumedTotal
	out, err := c.api.PutItem(ctx, in, opts...)
	var cc *types.ConsumedCapacity
	if out != nil {
		cc = out.ConsumedCapacity
	}
	c.add("PutItem", true, err, cc)
	return out, err
}

// UpdateItem counts and forwards the call.
func (c *CallCounter) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	in.ReturnConsumedCapacity = consumedTotal
	out, err := c.api.UpdateItem(ctx, in, opts...)
	var cc *types.ConsumedCapacity
	if out != nil {
		cc = out.ConsumedCapacity
	}
	c.add("UpdateItem", true, err, cc)
	return out, err
}

// DeleteItem counts and forwards the call.
func (c *CallCounter) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	in.ReturnConsumedCapacity = consumedTotal
	out, err := c.api.DeleteItem(ctx, in, opts...)
	var cc *types.ConsumedCapacity
	if out != nil {
		cc = out.ConsumedCapacity
	}
	c.add("DeleteItem", true, err, cc)
	return out, err
}

// Query counts and forwards the call.
func (c *CallCounter) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	in.ReturnConsumedCapacity = consumedTotal
	out, err := c.api.Query(ctx, in, opts...)
	var cc *types.ConsumedCapacity
	if out != nil {
		cc = out.ConsumedCapacity
	}
	c.add("Query", false, err, cc)
	return out, err
}

// Scan counts and forwards the call.
func (c *CallCounter) Scan(ctx context.Context, in *dynamodb.ScanInput, opts ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	in.ReturnConsumedCapacity = consumedTotal
	out, err := c.api.Scan(ctx, in, opts...)
	var cc *types.ConsumedCapacity
	if out != nil {
		cc = out.ConsumedCapacity
	}
	c.add("Scan", false, err, cc)
	return out, err
}

// BatchWriteItem counts and forwards the call.
func (c *CallCounter) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	in.ReturnConsumedCapacity = consumedTotal
	out, err := c.api.BatchWriteItem(ctx, in, opts...)
	var cc []*types.ConsumedCapacity
	if out != nil {
		for i := range out.ConsumedCapacity {
			cc = append(cc, &out.ConsumedCapacity[i])
		}
	}
	c.add("BatchWriteItem", true, err, cc...)
	return out, err
}

// TransactWriteItems counts and forwards the call.
func (c *CallCounter) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	in.ReturnConsumedCapacity = consumedTotal
	out, err := c.api.TransactWriteItems(ctx, in, opts...)
	var cc []*types.ConsumedCapacity
	if out != nil {
		for i := range out.ConsumedCapacity {
			cc = append(cc, &out.ConsumedCapacity[i])
		}
	}
	c.add("TransactWriteItems", true, err, cc...)
	return out, err
}
