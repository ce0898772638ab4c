package dynamo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wagate/wagate/core"
)

// Attributes of a session item besides the doc (the JSON of core.Session, which
// leaves out these fields).
const (
	attrFence   = "fence"
	attrDesired = "desired"
)

func sessionNotFound(key core.SessionKey) error {
	return core.Errorf(core.CodeNotFound, "session %q not found", key.ID)
}

func sessionItem(sess core.Session) (map[string]types.AttributeValue, error) {
	key := sess.Key()
	return withDoc(map[string]types.AttributeValue{
		attrPK:      str(tenantPK(key.Tenant)),
		attrSK:      str(sessionSK(key.ID)),
		attrGSI1PK:  str(sessionPK(key)),
		attrVer:     num(sess.Version),
		attrFence:   num(sess.Fence),
		attrDesired: &types.AttributeValueMemberBOOL{Value: sess.Desired},
	}, sess)
}

func decodeSession(item map[string]types.AttributeValue) (core.Session, error) {
	var sess core.Session
	if err := readDoc(item, &sess); err != nil {
		return core.Session{}, err
	}
	var err error
	if sess.Version, err = getNum(item, attrVer); err != nil {
		return core.Session{}, fmt.Errorf("decode session: %w", err)
	}
	if sess.Fence, err = getNum(item, attrFence); err != nil {
		return core.Session{}, fmt.Errorf("decode session: %w", err)
	}
	if b, ok := item[attrDesired].(*types.AttributeValueMemberBOOL); ok {
		sess.Desired = b.Value
	}
	return sess, nil
}

// CreateSession stores a new session with Version 1; CodeConflict if one exists.
// One conditional PutItem.
func (s *Store) CreateSession(ctx context.Context, sess core.Session) error {
	sess.Version = 1
	item, err := sessionItem(sess)
	if err != nil {
		return err
	}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	if ok, _ := conditionFailed(err); ok {
		return core.Errorf(core.CodeConflict, "session %q already exists", sess.ID)
	}
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// GetSession returns one session; CodeNotFound if the tenant has no such session.
func (s *Store) GetSession(ctx context.Context, key core.SessionKey) (core.Session, error) {
	item, err := s.getItem(ctx, tenantPK(key.Tenant), sessionSK(key.ID))
	if err != nil {
		return core.Session{}, fmt.Errorf("get session: %w", err)
	}
	if item == nil {
		return core.Session{}, sessionNotFound(key)
	}
	return decodeSession(item)
}

// ListSessions returns a tenant's sessions ordered by id: a strongly consistent
// Query of the tenant's partition, one call per MB of sessions.
func (s *Store) ListSessions(ctx context.Context, tenant string) ([]core.Session, error) {
	in := &dynamodb.QueryInput{
		TableName:              &s.table,
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :s)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str(tenantPK(tenant)), ":s": str(sessionSK("")),
		},
		ConsistentRead: aws.Bool(true),
	}
	out := []core.Session{}
	for {
		page, err := s.client.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list sessions: %w", err)
		}
		for _, item := range page.Items {
			sess, err := decodeSession(item)
			if err != nil {
				return nil, err
			}
			out = append(out, sess)
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

// ListAllSessions returns every tenant's sessions ordered by tenant, then id. It
// scans the sparse index gsi1, which holds session items only (one call per MB of
// sessions; eventually consistent: a session created a moment ago may be missing).
func (s *Store) ListAllSessions(ctx context.Context) ([]core.Session, error) {
	in := &dynamodb.ScanInput{TableName: &s.table, IndexName: aws.String(indexGSI1)}
	out := []core.Session{}
	for {
		page, err := s.client.Scan(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list all sessions: %w", err)
		}
		for _, item := range page.Items {
			sess, err := decodeSession(item)
			if err != nil {
				return nil, err
			}
			out = append(out, sess)
		}
		if len(page.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Tenant != out[j].Tenant {
			return out[i].Tenant < out[j].Tenant
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// UpdateSession applies fn to the stored session and writes the result with a
// PutItem conditional on the version read and on the stored fence not exceeding the
// new one. When the version moved, the failed write returns the current item and fn
// runs again on it. The tenant and id cannot change; a result whose Fence is below
// the stored Fence is rejected with CodeConflict. Uncontended: one GetItem and one
// PutItem.
func (s *Store) UpdateSession(ctx context.Context, key core.SessionKey, fn func(*core.Session) error) (core.Session, error) {
	cur, err := s.GetSession(ctx, key)
	if err != nil {
		return core.Session{}, err
	}
	for attempt := 0; attempt < maxUpdateAttempts; attempt++ {
		next := cur
		if err := fn(&next); err != nil {
			return core.Session{}, err
		}
		next.Tenant, next.ID = key.Tenant, key.ID
		if next.Fence < cur.Fence {
			return core.Session{}, core.Errorf(core.CodeConflict, "session %q is held by a newer lease (fence %d > %d)", key.ID, cur.Fence, next.Fence)
		}
		next.Version = cur.Version + 1
		item, err := sessionItem(next)
		if err != nil {
			return core.Session{}, err
		}
		_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
			TableName:                &s.table,
			Item:                     item,
			ConditionExpression:      aws.String("#ver = :ver AND #fence <= :fence"),
			ExpressionAttributeNames: map[string]string{"#ver": attrVer, "#fence": attrFence},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":ver": num(cur.Version), ":fence": num(next.Fence),
			},
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		})
		lost, old := conditionFailed(err)
		if !lost {
			if err != nil {
				return core.Session{}, fmt.Errorf("update session: %w", err)
			}
			return next, nil
		}
		if old == nil {
			return core.Session{}, sessionNotFound(key)
		}
		if cur, err = decodeSession(old); err != nil {
			return core.Session{}, err
		}
		if err := backoff(ctx, attempt); err != nil {
			return core.Session{}, err
		}
	}
	return core.Session{}, core.Errorf(core.CodeConflict, "session %q changed too often to update", key.ID)
}

// backoff waits a short, jittered, growing time after a lost conditional write, so
// concurrent writers of one item spread out instead of colliding again.
func backoff(ctx context.Context, attempt int) error {
	ceiling := time.Duration(min(attempt+1, 10)) * 5 * time.Millisecond
	t := time.NewTimer(rand.N(ceiling) + time.Millisecond)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
