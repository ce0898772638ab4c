package dynamo

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// errConditionFailed marks a transaction cancelled by a failed condition (an insert that
// found its item already there, or a compare-and-swap that lost a race).
var errConditionFailed = errors.New("condition failed")

func txPut(t *table, it item, cond string) types.TransactWriteItem {
	p := &types.Put{TableName: t.name, Item: it}
	if cond != "" {
		p.ConditionExpression = aws.String(cond)
	}
	return types.TransactWriteItem{Put: p}
}

func txDelete(t *table, pk, sk, cond string, values item) types.TransactWriteItem {
	d := &types.Delete{TableName: t.name, Key: keyOf(pk, sk)}
	if cond != "" {
		d.ConditionExpression = aws.String(cond)
		d.ExpressionAttributeValues = values
	}
	return types.TransactWriteItem{Delete: d}
}

func txUpdate(t *table, pk, sk, expr string, values item) types.TransactWriteItem {
	return types.TransactWriteItem{Update: &types.Update{
		TableName: t.name, Key: keyOf(pk, sk), UpdateExpression: aws.String(expr),
		ExpressionAttributeValues: values,
	}}
}

func actionSize(a types.TransactWriteItem) int {
	n := 64
	switch {
	case a.Put != nil:
		n += itemSize(a.Put.Item) + len(aws.ToString(a.Put.ConditionExpression))
		n += itemSize(a.Put.ExpressionAttributeValues)
	case a.Update != nil:
		n += itemSize(a.Update.Key) + itemSize(a.Update.ExpressionAttributeValues) + len(aws.ToString(a.Update.UpdateExpression))
	case a.Delete != nil:
		n += itemSize(a.Delete.Key) + itemSize(a.Delete.ExpressionAttributeValues)
	case a.ConditionCheck != nil:
		n += itemSize(a.ConditionCheck.Key) + itemSize(a.ConditionCheck.ExpressionAttributeValues)
	}
	return n
}

// chunkActions splits actions into transactions of at most 100 actions and about 4 MB.
// The caller guarantees that no two actions touch the same item.
func chunkActions(actions []types.TransactWriteItem) [][]types.TransactWriteItem {
	groups := make([][]types.TransactWriteItem, len(actions))
	for i := range actions {
		groups[i] = actions[i : i+1]
	}
	return chunkGroups(groups)
}

// chunkGroups is chunkActions for groups of actions that must land in the same
// transaction (a group is never split; none is larger than one transaction).
func chunkGroups(groups [][]types.TransactWriteItem) [][]types.TransactWriteItem {
	var chunks [][]types.TransactWriteItem
	var cur []types.TransactWriteItem
	size := 0
	for _, g := range groups {
		s := 0
		for _, a := range g {
			s += actionSize(a)
		}
		if len(cur) > 0 && (len(cur)+len(g) > maxTransactItems || size+s > maxTransactBytes) {
			chunks = append(chunks, cur)
			cur, size = nil, 0
		}
		cur = append(cur, g...)
		size += s
	}
	if len(cur) > 0 {
		chunks = append(chunks, cur)
	}
	return chunks
}

// transactWrite runs actions as TransactWriteItems, each chunk atomic on its own.
// With skipExisting, actions whose condition fails are dropped and the rest of the
// chunk is retried, which gives insert-or-ignore semantics. Conflicts with concurrent
// transactions and throttling are retried with backoff, a bounded number of times.
func (t *table) transactWrite(ctx context.Context, actions []types.TransactWriteItem, skipExisting bool) error {
	return t.transactChunks(ctx, chunkActions(actions), skipExisting)
}

// transactChunks runs chunks made by chunkActions or chunkGroups, one transaction each.
func (t *table) transactChunks(ctx context.Context, chunks [][]types.TransactWriteItem, skipExisting bool) error {
	for _, chunk := range chunks {
		if err := t.transactChunk(ctx, chunk, skipExisting); err != nil {
			return err
		}
	}
	return nil
}

func (t *table) transactChunk(ctx context.Context, chunk []types.TransactWriteItem, skipExisting bool) error {
	for _, a := range chunk {
		if a.Put != nil {
			if err := checkSize(a.Put.Item); err != nil {
				return err
			}
		}
	}
	retries := 0
	for len(chunk) > 0 {
		_, err := t.api.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: chunk})
		if err == nil {
			return nil
		}
		var tce *types.TransactionCanceledException
		if !errors.As(err, &tce) {
			return err
		}
		var failed []int
		transient := false
		for i, r := range tce.CancellationReasons {
			switch aws.ToString(r.Code) {
			case "", "None":
			case "ConditionalCheckFailed":
				failed = append(failed, i)
			case "TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded":
				transient = true
			default:
				return fmt.Errorf("transaction cancelled (%s): %w", aws.ToString(r.Code), err)
			}
		}
		switch {
		case len(failed) > 0 && !skipExisting:
			return fmt.Errorf("transaction cancelled: %w", errConditionFailed)
		case len(failed) > 0:
			chunk = without(chunk, failed)
		case transient:
			retries++
			if retries >= retryAttempts {
				return fmt.Errorf("transaction still conflicting after %d attempts: %w", retries, err)
			}
			if err := backoff(ctx, retries); err != nil {
				return err
			}
		default:
			return err
		}
	}
	return nil
}

func without(chunk []types.TransactWriteItem, drop []int) []types.TransactWriteItem {
	skip := make(map[int]bool, len(drop))
	for _, i := range drop {
		skip[i] = true
	}
	out := make([]types.TransactWriteItem, 0, len(chunk)-len(drop))
	for i, a := range chunk {
		if !skip[i] {
			out = append(out, a)
		}
	}
	return out
}

func isTxConditionFailed(err error) bool { return errors.Is(err, errConditionFailed) }
