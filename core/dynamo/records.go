package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wagate/wagate/core"
)

// How long items without an expiry of their own are kept before DynamoDB's TTL may
// delete them. Callers poll results only briefly; heartbeats matter for minutes.
const (
	resultTTL    = 7 * 24 * time.Hour
	heartbeatTTL = 24 * time.Hour
)

// attrAt is a heartbeat's time in unix nanoseconds, for the since filter.
const attrAt = "at"

// PutQR replaces the session's current code: one PutItem. The item expires with
// the code (ttl), and reads check the expiry themselves because TTL deletion lags.
func (s *Store) PutQR(ctx context.Context, key core.SessionKey, qr core.QR) error {
	qr.PNG = ""
	item, err := withDoc(map[string]types.AttributeValue{
		attrPK:  str(sessionPK(key)),
		attrSK:  str(skQR),
		attrExp: num(qr.ExpiresAt.UnixNano()),
		attrTTL: ttlOf(qr.ExpiresAt),
	}, qr)
	if err != nil {
		return err
	}
	if err := s.putItem(ctx, item); err != nil {
		return fmt.Errorf("put qr: %w", err)
	}
	return nil
}

// GetQR returns the current code; CodeNotFound if there is none or it expired.
// One GetItem.
func (s *Store) GetQR(ctx context.Context, key core.SessionKey) (core.QR, error) {
	item, err := s.getItem(ctx, sessionPK(key), skQR)
	if err != nil {
		return core.QR{}, fmt.Errorf("get qr: %w", err)
	}
	var qr core.QR
	if item != nil {
		if err := readDoc(item, &qr); err != nil {
			return core.QR{}, err
		}
	}
	if item == nil || !s.now().Before(qr.ExpiresAt) {
		return core.QR{}, core.Errorf(core.CodeNotFound, "session %q has no current QR code", key.ID)
	}
	return qr, nil
}

// DeleteQR removes the code; deleting none is not an error. One DeleteItem.
func (s *Store) DeleteQR(ctx context.Context, key core.SessionKey) error {
	_, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: itemKey(sessionPK(key), skQR)})
	if err != nil {
		return fmt.Errorf("delete qr: %w", err)
	}
	return nil
}

// PutIdempotency stores rec unless a live record with the same tenant and key
// exists, in which case it returns that record and false. One PutItem conditional
// on the item being absent or expired; a lost condition returns the live item with
// it, so no second read is needed. Expired items are replaced even before TTL
// deletes them.
func (s *Store) PutIdempotency(ctx context.Context, rec core.IdempotencyRecord) (core.IdempotencyRecord, bool, error) {
	if rec.ExpiresAt.IsZero() {
		return core.IdempotencyRecord{}, false, core.Errorf(core.CodeInvalid, "idempotency record needs an expiry")
	}
	item, err := withDoc(map[string]types.AttributeValue{
		attrPK:  str(idemPK(rec.Tenant, rec.Key)),
		attrSK:  str(skIdem),
		attrExp: num(rec.ExpiresAt.UnixNano()),
		attrTTL: ttlOf(rec.ExpiresAt),
	}, rec)
	if err != nil {
		return core.IdempotencyRecord{}, false, err
	}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                           &s.table,
		Item:                                item,
		ConditionExpression:                 aws.String("attribute_not_exists(pk) OR #exp <= :now"),
		ExpressionAttributeNames:            map[string]string{"#exp": attrExp},
		ExpressionAttributeValues:           map[string]types.AttributeValue{":now": num(s.now().UnixNano())},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	lost, old := conditionFailed(err)
	if !lost {
		if err != nil {
			return core.IdempotencyRecord{}, false, fmt.Errorf("put idempotency record: %w", err)
		}
		return rec, true, nil
	}
	if old == nil {
		return core.IdempotencyRecord{}, false, fmt.Errorf("put idempotency record: condition failed without the stored item")
	}
	var live core.IdempotencyRecord
	if err := readDoc(old, &live); err != nil {
		return core.IdempotencyRecord{}, false, err
	}
	return live, false, nil
}

// DeleteIdempotency forgets a record; forgetting none is not an error. One DeleteItem.
func (s *Store) DeleteIdempotency(ctx context.Context, tenant, key string) error {
	_, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: itemKey(idemPK(tenant, key), skIdem)})
	if err != nil {
		return fmt.Errorf("delete idempotency record: %w", err)
	}
	return nil
}

// PutResult stores a command's result, replacing an earlier one for that command.
// A result that belongs to a session is written together with a marker in the
// session's partition (one TransactWriteItems), so DeleteSession finds and deletes
// it; others take one PutItem. Results expire after a week.
func (s *Store) PutResult(ctx context.Context, r core.CommandResult) error {
	ttl := ttlOf(s.now().Add(resultTTL))
	item, err := withDoc(map[string]types.AttributeValue{
		attrPK:  str(resultPK(r.Tenant, r.CommandID)),
		attrSK:  str(skResult),
		attrTTL: ttl,
	}, r)
	if err != nil {
		return err
	}
	if r.SessionID == "" {
		if err := s.putItem(ctx, item); err != nil {
			return fmt.Errorf("put result: %w", err)
		}
		return nil
	}
	marker := map[string]types.AttributeValue{
		attrPK:  str(sessionPK(core.SessionKey{Tenant: r.Tenant, ID: r.SessionID})),
		attrSK:  str(prefixRes + r.CommandID),
		attrTTL: ttl,
	}
	_, err = s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: &s.table, Item: item}},
		{Put: &types.Put{TableName: &s.table, Item: marker}},
	}})
	if err != nil {
		return fmt.Errorf("put result: %w", err)
	}
	return nil
}

// GetResult returns the result of a command; CodeNotFound while there is none.
// One GetItem.
func (s *Store) GetResult(ctx context.Context, tenant, commandID string) (core.CommandResult, error) {
	item, err := s.getItem(ctx, resultPK(tenant, commandID), skResult)
	if err != nil {
		return core.CommandResult{}, fmt.Errorf("get result: %w", err)
	}
	if item == nil {
		return core.CommandResult{}, core.Errorf(core.CodeNotFound, "no result for command %q yet", commandID)
	}
	var r core.CommandResult
	if err := readDoc(item, &r); err != nil {
		return core.CommandResult{}, err
	}
	return r, nil
}

// PutReport stores r as the latest report (one PutItem over the previous one).
func (s *Store) PutReport(ctx context.Context, r core.Report) error {
	item, err := withDoc(map[string]types.AttributeValue{attrPK: str(pkDiag), attrSK: str(skDiag)}, r)
	if err != nil {
		return err
	}
	if err := s.putItem(ctx, item); err != nil {
		return fmt.Errorf("put diagnostics report: %w", err)
	}
	return nil
}

// LatestReport returns the latest report; CodeNotFound when none ran yet. One GetItem.
func (s *Store) LatestReport(ctx context.Context) (core.Report, error) {
	item, err := s.getItem(ctx, pkDiag, skDiag)
	if err != nil {
		return core.Report{}, fmt.Errorf("get diagnostics report: %w", err)
	}
	if item == nil {
		return core.Report{}, core.Errorf(core.CodeNotFound, "no diagnostics report yet")
	}
	var r core.Report
	if err := readDoc(item, &r); err != nil {
		return core.Report{}, err
	}
	return r, nil
}

// PutHeartbeat records that a connector is alive, replacing its previous heartbeat
// (one PutItem; the item expires a day after its time).
func (s *Store) PutHeartbeat(ctx context.Context, h core.Heartbeat) error {
	item, err := withDoc(map[string]types.AttributeValue{
		attrPK:  str(pkHeartbeat),
		attrSK:  str(prefixHB + h.ConnectorID),
		attrAt:  num(h.At.UnixNano()),
		attrTTL: ttlOf(h.At.Add(heartbeatTTL)),
	}, h)
	if err != nil {
		return err
	}
	if err := s.putItem(ctx, item); err != nil {
		return fmt.Errorf("put heartbeat: %w", err)
	}
	return nil
}

// ListHeartbeats returns each connector's latest heartbeat if its At is not before
// since, ordered by connector id: one Query of the heartbeat partition (one item
// per connector seen in the last day) filtered on the time.
func (s *Store) ListHeartbeats(ctx context.Context, since time.Time) ([]core.Heartbeat, error) {
	in := &dynamodb.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    aws.String("pk = :pk"),
		FilterExpression:          aws.String("#at >= :since"),
		ExpressionAttributeNames:  map[string]string{"#at": attrAt},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(pkHeartbeat), ":since": num(since.UnixNano())},
		ConsistentRead:            aws.Bool(true),
	}
	out := []core.Heartbeat{}
	for {
		page, err := s.client.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list heartbeats: %w", err)
		}
		for _, item := range page.Items {
			var h core.Heartbeat
			if err := readDoc(item, &h); err != nil {
				return nil, err
			}
			out = append(out, h)
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}
