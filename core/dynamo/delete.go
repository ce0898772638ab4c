package dynamo

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wagate/wagate/core"
)

// batchSize is the most requests one BatchWriteItem call takes.
const batchSize = 25

// maxBatchAttempts bounds the retries of a batch's unprocessed items.
const maxBatchAttempts = 10

// DeleteSession removes the session with its QR, messages and results:
// it reads the session item (CodeNotFound if missing), pages through the session's
// partition deleting every item in batches of 25 (a result marker also deletes the
// result it points to), and deletes the session item last, so an interrupted delete
// can be retried. The lease record is kept: its fence must keep increasing if the
// session is created again. Calls: one GetItem, one Query per MB of the partition,
// one BatchWriteItem per 25 items, one DeleteItem.
func (s *Store) DeleteSession(ctx context.Context, key core.SessionKey) error {
	if _, err := s.GetSession(ctx, key); err != nil {
		return err
	}
	in := &dynamodb.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(sessionPK(key))},
		ProjectionExpression:      aws.String("pk, sk"),
		ConsistentRead:            aws.Bool(true),
	}
	for {
		page, err := s.client.Query(ctx, in)
		if err != nil {
			return fmt.Errorf("list session items: %w", err)
		}
		var keys []map[string]types.AttributeValue
		for _, item := range page.Items {
			sk := getStr(item, attrSK)
			keys = append(keys, itemKey(sessionPK(key), sk))
			if cmd, ok := strings.CutPrefix(sk, prefixRes); ok {
				keys = append(keys, itemKey(resultPK(key.Tenant, cmd), skResult))
			}
		}
		if err := s.deleteKeys(ctx, keys); err != nil {
			return err
		}
		if len(page.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
	_, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: &s.table, Key: itemKey(tenantPK(key.Tenant), sessionSK(key.ID)),
	})
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// deleteKeys deletes items in batches, retrying unprocessed ones with backoff.
func (s *Store) deleteKeys(ctx context.Context, keys []map[string]types.AttributeValue) error {
	for len(keys) > 0 {
		n := min(len(keys), batchSize)
		reqs := make([]types.WriteRequest, 0, n)
		for _, k := range keys[:n] {
			reqs = append(reqs, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: k}})
		}
		keys = keys[n:]
		pending := map[string][]types.WriteRequest{s.table: reqs}
		for attempt := 0; len(pending[s.table]) > 0; attempt++ {
			if attempt == maxBatchAttempts {
				return fmt.Errorf("delete session items: %d deletes still unprocessed after %d attempts", len(pending[s.table]), attempt)
			}
			if attempt > 0 {
				if err := backoff(ctx, attempt); err != nil {
					return err
				}
			}
			out, err := s.client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
			if err != nil {
				return fmt.Errorf("delete session items: %w", err)
			}
			pending = out.UnprocessedItems
		}
	}
	return nil
}
