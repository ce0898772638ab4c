package dynamo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// item is one DynamoDB item.
type item = map[string]types.AttributeValue

const (
	attrPK = "pk"
	attrSK = "sk"

	maxBatchGet      = 100
	maxBatchWrite    = 25
	maxTransactItems = 100
	// maxTransactBytes stays under the 4 MB request limit with room for names and expressions.
	maxTransactBytes = 3_800_000
	// maxItemBytes is DynamoDB's item size limit.
	maxItemBytes = 400 * 1024
	// retryAttempts bounds the retries of unprocessed batch entries and conflicting transactions.
	retryAttempts = 8
)

// ErrItemTooLarge is returned when a value would make an item exceed DynamoDB's 400 KB item limit.
var ErrItemTooLarge = errors.New("item exceeds the 400 KB DynamoDB item limit")

func attrS(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func attrB(v []byte) types.AttributeValue { return &types.AttributeValueMemberB{Value: v} }
func attrN(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}
func attrU(v uint64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatUint(v, 10)}
}
func attrBool(v bool) types.AttributeValue { return &types.AttributeValueMemberBOOL{Value: v} }

func keyOf(pk, sk string) item { return item{attrPK: attrS(pk), attrSK: attrS(sk)} }

func getS(it item, name string) string {
	if v, ok := it[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func getB(it item, name string) []byte {
	if v, ok := it[name].(*types.AttributeValueMemberB); ok {
		return v.Value
	}
	return nil
}

func getN(it item, name string) int64 {
	if v, ok := it[name].(*types.AttributeValueMemberN); ok {
		n, _ := strconv.ParseInt(v.Value, 10, 64)
		return n
	}
	return 0
}

func getU(it item, name string) uint64 {
	if v, ok := it[name].(*types.AttributeValueMemberN); ok {
		n, _ := strconv.ParseUint(v.Value, 10, 64)
		return n
	}
	return 0
}

func getBool(it item, name string) bool {
	if v, ok := it[name].(*types.AttributeValueMemberBOOL); ok {
		return v.Value
	}
	return false
}

// itemSize approximates DynamoDB's item size: attribute names plus values.
func itemSize(it item) int {
	n := 0
	for name, v := range it {
		n += len(name) + valueSize(v)
	}
	return n
}

func valueSize(v types.AttributeValue) int {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberB:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		return len(v.Value)/2 + 1
	default:
		return 1
	}
}

func checkSize(it item) error {
	if itemSize(it) > maxItemBytes {
		return ErrItemTooLarge
	}
	return nil
}

// isConditionFailed reports whether err is a failed condition of a single-item write.
func isConditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

// table holds the client and the table name; every store in the package goes through it.
type table struct {
	api  API
	name *string
}

func (t *table) get(ctx context.Context, pk, sk string) (item, error) {
	out, err := t.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: t.name, Key: keyOf(pk, sk), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, err
	}
	return out.Item, nil
}

func (t *table) put(ctx context.Context, it item, cond string) error {
	return t.putCond(ctx, it, cond, nil, nil)
}

// putCond is put with a condition that refers to attribute name and value placeholders.
func (t *table) putCond(ctx context.Context, it item, cond string, names map[string]string, values item) error {
	if err := checkSize(it); err != nil {
		return err
	}
	in := &dynamodb.PutItemInput{TableName: t.name, Item: it}
	if cond != "" {
		in.ConditionExpression = aws.String(cond)
	}
	if len(names) > 0 {
		in.ExpressionAttributeNames = names
	}
	if len(values) > 0 {
		in.ExpressionAttributeValues = values
	}
	_, err := t.api.PutItem(ctx, in)
	return err
}

func (t *table) del(ctx context.Context, pk, sk string) error {
	_, err := t.api.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: t.name, Key: keyOf(pk, sk)})
	return err
}

func (t *table) update(ctx context.Context, pk, sk, expr, cond string, names map[string]string, values item) error {
	in := &dynamodb.UpdateItemInput{
		TableName: t.name, Key: keyOf(pk, sk), UpdateExpression: aws.String(expr),
		ExpressionAttributeValues: values,
	}
	if len(names) > 0 {
		in.ExpressionAttributeNames = names
	}
	if cond != "" {
		in.ConditionExpression = aws.String(cond)
	}
	_, err := t.api.UpdateItem(ctx, in)
	return err
}

// queryPrefix calls fn with every item of partition pk whose sort key starts with prefix,
// in sort key order (reverse when desc), page by page until fn returns false or the
// partition ends. limit > 0 sets the page size. keysOnly projects pk and sk only.
func (t *table) queryPrefix(ctx context.Context, pk, prefix string, desc, keysOnly bool, limit int32, fn func(item) bool) error {
	in := &dynamodb.QueryInput{
		KeyConditionExpression:    aws.String("pk = :pk AND begins_with(sk, :p)"),
		ExpressionAttributeValues: item{":pk": attrS(pk), ":p": attrS(prefix)},
	}
	if prefix == "" { // the whole partition: begins_with rejects an empty prefix
		in.KeyConditionExpression = aws.String("pk = :pk")
		in.ExpressionAttributeValues = item{":pk": attrS(pk)}
	}
	return t.query(ctx, in, desc, keysOnly, limit, fn)
}

// queryRange is queryPrefix for sort keys between lo and hi (both included).
func (t *table) queryRange(ctx context.Context, pk, lo, hi string, filter string, values item, fn func(item) bool) error {
	vals := item{":pk": attrS(pk), ":lo": attrS(lo), ":hi": attrS(hi)}
	for k, v := range values {
		vals[k] = v
	}
	in := &dynamodb.QueryInput{
		KeyConditionExpression:    aws.String("pk = :pk AND sk BETWEEN :lo AND :hi"),
		ExpressionAttributeValues: vals,
	}
	if filter != "" {
		in.FilterExpression = aws.String(filter)
	}
	return t.query(ctx, in, false, false, 0, fn)
}

func (t *table) query(ctx context.Context, in *dynamodb.QueryInput, desc, keysOnly bool, limit int32, fn func(item) bool) error {
	in.TableName = t.name
	in.ConsistentRead = aws.Bool(true)
	in.ScanIndexForward = aws.Bool(!desc)
	if keysOnly {
		in.ProjectionExpression = aws.String("pk, sk")
	}
	if limit > 0 {
		in.Limit = aws.Int32(limit)
	}
	for {
		out, err := t.api.Query(ctx, in)
		if err != nil {
			return err
		}
		for _, it := range out.Items {
			if !fn(it) {
				return nil
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// batchGet reads keys (strongly consistent) in chunks of 100, retrying unprocessed keys.
func (t *table) batchGet(ctx context.Context, keys []item) ([]item, error) {
	var found []item
	for start := 0; start < len(keys); start += maxBatchGet {
		pending := keys[start:min(start+maxBatchGet, len(keys))]
		for attempt := 0; len(pending) > 0; attempt++ {
			if attempt > 0 {
				if attempt >= retryAttempts {
					return nil, fmt.Errorf("batch get: %d keys still unprocessed after %d attempts", len(pending), attempt)
				}
				if err := backoff(ctx, attempt); err != nil {
					return nil, err
				}
			}
			out, err := t.api.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{
				RequestItems: map[string]types.KeysAndAttributes{
					*t.name: {Keys: pending, ConsistentRead: aws.Bool(true)},
				},
			})
			if err != nil {
				return nil, err
			}
			found = append(found, out.Responses[*t.name]...)
			pending = out.UnprocessedKeys[*t.name].Keys
		}
	}
	return found, nil
}

// batchWrite applies puts and deletes in chunks of 25, retrying unprocessed entries.
// It is not atomic; callers that need atomicity use transactWrite.
func (t *table) batchWrite(ctx context.Context, reqs []types.WriteRequest) error {
	for _, r := range reqs {
		if r.PutRequest != nil {
			if err := checkSize(r.PutRequest.Item); err != nil {
				return err
			}
		}
	}
	for start := 0; start < len(reqs); start += maxBatchWrite {
		pending := reqs[start:min(start+maxBatchWrite, len(reqs))]
		for attempt := 0; len(pending) > 0; attempt++ {
			if attempt > 0 {
				if attempt >= retryAttempts {
					return fmt.Errorf("batch write: %d entries still unprocessed after %d attempts", len(pending), attempt)
				}
				if err := backoff(ctx, attempt); err != nil {
					return err
				}
			}
			out, err := t.api.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{
				RequestItems: map[string][]types.WriteRequest{*t.name: pending},
			})
			if err != nil {
				return err
			}
			pending = out.UnprocessedItems[*t.name]
		}
	}
	return nil
}

func putReq(it item) types.WriteRequest {
	return types.WriteRequest{PutRequest: &types.PutRequest{Item: it}}
}

func delReq(pk, sk string) types.WriteRequest {
	return types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: keyOf(pk, sk)}}
}

// deletePrefix deletes every item of partition pk whose sort key starts with prefix.
func (t *table) deletePrefix(ctx context.Context, pk, prefix string) (int, error) {
	var reqs []types.WriteRequest
	err := t.queryPrefix(ctx, pk, prefix, false, true, 0, func(it item) bool {
		reqs = append(reqs, delReq(pk, getS(it, attrSK)))
		return true
	})
	if err != nil {
		return 0, err
	}
	return len(reqs), t.batchWrite(ctx, reqs)
}

// backoff waits before retry number attempt: 50 ms doubling up to 1.6 s, the second
// half of each delay random, so that writers that lost the same race do not retry in step
// (without it, eight connectors updating one LID mapping kept colliding until
// they ran out of attempts).
func backoff(ctx context.Context, attempt int) error {
	d := time.Duration(25<<min(attempt, 6)) * time.Millisecond
	d = d/2 + rand.N(d/2+1)
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}
