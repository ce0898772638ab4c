package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wagate/wagate/core"
)

func messageNotFound(id string) error {
	return core.Errorf(core.CodeNotFound, "message %q not found", id)
}

// sortKey renders p so that string order is time order: the nanoseconds with the
// sign bit flipped (so times before 1970 sort first) as 20 digits, then the id.
func sortKey(p core.Position) string {
	return fmt.Sprintf("%020d#%s", uint64(p.At)^(1<<63), p.ID)
}

func lsi1Key(p core.Position) string                   { return prefixMsg + sortKey(p) }
func lsi2Key(d core.Direction, p core.Position) string { return string(d) + "#" + sortKey(p) }

func messageItem(m core.Message, version int64) (map[string]types.AttributeValue, error) {
	p := core.PositionOf(m)
	return withDoc(map[string]types.AttributeValue{
		attrPK:     str(sessionPK(m.Key())),
		attrSK:     str(prefixMsg + m.ID),
		attrLSI1SK: str(lsi1Key(p)),
		attrLSI2SK: str(lsi2Key(m.Direction, p)),
		attrVer:    num(version),
	}, m)
}

func decodeMessage(item map[string]types.AttributeValue) (core.Message, int64, error) {
	var m core.Message
	if err := readDoc(item, &m); err != nil {
		return core.Message{}, 0, err
	}
	v, err := getNum(item, attrVer)
	if err != nil {
		return core.Message{}, 0, fmt.Errorf("decode message: %w", err)
	}
	return m, v, nil
}

// PutMessage stores a new message; CodeConflict if that id exists in the session.
// One conditional PutItem (the item and its two index entries).
func (s *Store) PutMessage(ctx context.Context, m core.Message) error {
	if m.ID == "" {
		return core.Errorf(core.CodeInvalid, "message id must not be empty")
	}
	item, err := messageItem(m, 1)
	if err != nil {
		return err
	}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	if ok, _ := conditionFailed(err); ok {
		return core.Errorf(core.CodeConflict, "message %q already exists", m.ID)
	}
	if err != nil {
		return fmt.Errorf("put message: %w", err)
	}
	return nil
}

// GetMessage returns one message; CodeNotFound if the session has no such message.
// One GetItem.
func (s *Store) GetMessage(ctx context.Context, key core.SessionKey, id string) (core.Message, error) {
	item, err := s.getItem(ctx, sessionPK(key), prefixMsg+id)
	if err != nil {
		return core.Message{}, fmt.Errorf("get message: %w", err)
	}
	if item == nil {
		return core.Message{}, messageNotFound(id)
	}
	m, _, err := decodeMessage(item)
	return m, err
}

// UpdateMessage applies fn to the stored message and writes it with a PutItem
// conditional on the version read, running fn again on the current message when it
// moved. The message's id, tenant and session cannot change. Uncontended: one
// GetItem and one PutItem.
func (s *Store) UpdateMessage(ctx context.Context, key core.SessionKey, id string, fn func(*core.Message) error) (core.Message, error) {
	item, err := s.getItem(ctx, sessionPK(key), prefixMsg+id)
	if err != nil {
		return core.Message{}, fmt.Errorf("get message: %w", err)
	}
	for attempt := 0; attempt < maxUpdateAttempts; attempt++ {
		if item == nil {
			return core.Message{}, messageNotFound(id)
		}
		cur, version, err := decodeMessage(item)
		if err != nil {
			return core.Message{}, err
		}
		if err := fn(&cur); err != nil {
			return core.Message{}, err
		}
		cur.ID, cur.Tenant, cur.SessionID = id, key.Tenant, key.ID
		next, err := messageItem(cur, version+1)
		if err != nil {
			return core.Message{}, err
		}
		_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
			TableName:                           &s.table,
			Item:                                next,
			ConditionExpression:                 aws.String("#ver = :ver"),
			ExpressionAttributeNames:            map[string]string{"#ver": attrVer},
			ExpressionAttributeValues:           map[string]types.AttributeValue{":ver": num(version)},
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		})
		lost, old := conditionFailed(err)
		if !lost {
			if err != nil {
				return core.Message{}, fmt.Errorf("update message: %w", err)
			}
			return cur, nil
		}
		item = old
		if err := backoff(ctx, attempt); err != nil {
			return core.Message{}, err
		}
	}
	return core.Message{}, core.Errorf(core.CodeConflict, "message %q changed too often to update", id)
}

// ListMessages returns a page of messages, newest first, from a strongly consistent
// Query of lsi1 (all directions) or lsi2 (one direction) read backwards. It asks for
// one message more than the page so that the last page has no cursor; a page whose
// messages exceed 1 MB takes more than one Query. CodeInvalid for a bad cursor,
// limit or direction.
func (s *Store) ListMessages(ctx context.Context, key core.SessionKey, q core.MessageQuery) (core.MessagePage, error) {
	limit := q.Limit
	switch {
	case limit == 0:
		limit = core.DefaultPageSize
	case limit < 0 || limit > core.MaxPageSize:
		return core.MessagePage{}, core.Errorf(core.CodeInvalid, "limit must be between 1 and %d", core.MaxPageSize)
	}
	in := &dynamodb.QueryInput{
		TableName:        &s.table,
		ScanIndexForward: aws.Bool(false),
		ConsistentRead:   aws.Bool(true),
	}
	values := map[string]types.AttributeValue{":pk": str(sessionPK(key))}
	switch q.Direction {
	case "":
		in.IndexName = aws.String(indexLSI1)
		in.KeyConditionExpression = aws.String("pk = :pk")
	case core.DirectionIn, core.DirectionOut:
		in.IndexName = aws.String(indexLSI2)
		in.KeyConditionExpression = aws.String("pk = :pk AND begins_with(lsi2sk, :dir)")
		values[":dir"] = str(string(q.Direction) + "#")
	default:
		return core.MessagePage{}, core.Errorf(core.CodeInvalid, "direction must be in or out")
	}
	in.ExpressionAttributeValues = values
	if q.Cursor != "" {
		p, err := core.ParseCursor(q.Cursor)
		if err != nil {
			return core.MessagePage{}, err
		}
		start := itemKey(sessionPK(key), prefixMsg+p.ID)
		if q.Direction == "" {
			start[attrLSI1SK] = str(lsi1Key(p))
		} else {
			start[attrLSI2SK] = str(lsi2Key(q.Direction, p))
		}
		in.ExclusiveStartKey = start
	}

	msgs := make([]core.Message, 0, limit+1)
	for len(msgs) <= limit {
		in.Limit = aws.Int32(int32(limit + 1 - len(msgs)))
		out, err := s.client.Query(ctx, in)
		if err != nil {
			return core.MessagePage{}, fmt.Errorf("list messages: %w", err)
		}
		for _, item := range out.Items {
			m, _, err := decodeMessage(item)
			if err != nil {
				return core.MessagePage{}, err
			}
			msgs = append(msgs, m)
		}
		if len(out.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	page := core.MessagePage{Messages: msgs}
	if len(msgs) > limit {
		page.Messages = msgs[:limit]
		page.NextCursor = core.PositionOf(msgs[limit-1]).Cursor()
	}
	return page, nil
}
