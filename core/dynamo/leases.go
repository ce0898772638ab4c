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

// Attributes of a lease item (besides fence and ver). A released lease has no
// owner, until or dur.
const (
	attrOwner = "owner"
	attrUntil = "until" // unix nanoseconds
	attrDur   = "dur"   // nanoseconds
)

// leaseNames maps the placeholders of lease expressions to attribute names.
func leaseNames(names ...string) map[string]string {
	out := make(map[string]string, len(names))
	for _, n := range names {
		out["#"+n] = n
	}
	return out
}

func decodeLease(key core.SessionKey, item map[string]types.AttributeValue) (core.Lease, error) {
	l := core.Lease{Key: key, Owner: getStr(item, attrOwner)}
	var until, dur int64
	var err error
	for name, dst := range map[string]*int64{attrFence: &l.Fence, attrVer: &l.Version, attrUntil: &until, attrDur: &dur} {
		if *dst, err = getNum(item, name); err != nil {
			return core.Lease{}, fmt.Errorf("decode lease: %w", err)
		}
	}
	if _, ok := item[attrUntil]; ok {
		l.Until = time.Unix(0, until).UTC()
	}
	l.Duration = time.Duration(dur)
	return l, nil
}

func leaseLost(key core.SessionKey) error {
	return core.Errorf(core.CodeConflict, "lease of session %q changed", key.ID)
}

// ReadLease returns the current lease record of a session (one strongly consistent
// GetItem); CodeNotFound if there is none. A released lease has an empty Owner.
func (s *Store) ReadLease(ctx context.Context, key core.SessionKey) (core.Lease, error) {
	item, err := s.getItem(ctx, leasePK(key), skLease)
	if err != nil {
		return core.Lease{}, fmt.Errorf("read lease: %w", err)
	}
	if item == nil {
		return core.Lease{}, core.Errorf(core.CodeNotFound, "session %q has no lease", key.ID)
	}
	return decodeLease(key, item)
}

// TakeLease makes owner the holder if the record's Version still equals
// expectVersion (0: no record exists), incrementing Fence and Version: one
// UpdateItem conditional on `attribute_not_exists(pk)` or `ver = :expect`;
// CodeConflict when the condition fails.
func (s *Store) TakeLease(ctx context.Context, key core.SessionKey, owner string, d time.Duration, expectVersion int64) (core.Lease, error) {
	if owner == "" || d <= 0 {
		return core.Lease{}, core.Errorf(core.CodeInvalid, "a lease needs an owner and a positive duration")
	}
	in := &dynamodb.UpdateItemInput{
		TableName: &s.table,
		Key:       itemKey(leasePK(key), skLease),
		UpdateExpression: aws.String("SET #owner = :owner, #fence = if_not_exists(#fence, :zero) + :one, " +
			"#ver = if_not_exists(#ver, :zero) + :one, #until = :until, #dur = :dur"),
		ExpressionAttributeNames: leaseNames(attrOwner, attrFence, attrVer, attrUntil, attrDur),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":owner": str(owner), ":zero": num(0), ":one": num(1),
			":until": num(s.now().Add(d).UnixNano()), ":dur": num(int64(d)),
		},
		ReturnValues: types.ReturnValueAllNew,
	}
	if expectVersion == 0 {
		in.ConditionExpression = aws.String("attribute_not_exists(pk)")
	} else {
		in.ConditionExpression = aws.String("#ver = :expect")
		in.ExpressionAttributeValues[":expect"] = num(expectVersion)
	}
	out, err := s.client.UpdateItem(ctx, in)
	if ok, _ := conditionFailed(err); ok {
		return core.Lease{}, leaseLost(key)
	}
	if err != nil {
		return core.Lease{}, fmt.Errorf("take lease: %w", err)
	}
	return decodeLease(key, out.Attributes)
}

// RenewLease extends l by d from now if owner and fence are unchanged: one
// UpdateItem conditional on `owner = :me AND fence = :fence`; CodeConflict otherwise.
func (s *Store) RenewLease(ctx context.Context, l core.Lease, d time.Duration) (core.Lease, error) {
	if d <= 0 {
		return core.Lease{}, core.Errorf(core.CodeInvalid, "a lease needs a positive duration")
	}
	if l.Owner == "" {
		return core.Lease{}, leaseLost(l.Key)
	}
	out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                &s.table,
		Key:                      itemKey(leasePK(l.Key), skLease),
		UpdateExpression:         aws.String("SET #ver = #ver + :one, #until = :until, #dur = :dur"),
		ConditionExpression:      aws.String("#owner = :owner AND #fence = :fence"),
		ExpressionAttributeNames: leaseNames(attrOwner, attrFence, attrVer, attrUntil, attrDur),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":owner": str(l.Owner), ":fence": num(l.Fence), ":one": num(1),
			":until": num(s.now().Add(d).UnixNano()), ":dur": num(int64(d)),
		},
		ReturnValues: types.ReturnValueAllNew,
	})
	if ok, _ := conditionFailed(err); ok {
		return core.Lease{}, leaseLost(l.Key)
	}
	if err != nil {
		return core.Lease{}, fmt.Errorf("renew lease: %w", err)
	}
	return decodeLease(l.Key, out.Attributes)
}

// ReleaseLease gives l up if owner and fence are unchanged, so another connector can
// take it at once: one UpdateItem that removes the owner and bumps the version,
// conditional like RenewLease; CodeConflict otherwise. The record stays, so the
// fence keeps increasing.
func (s *Store) ReleaseLease(ctx context.Context, l core.Lease) error {
	if l.Owner == "" {
		return leaseLost(l.Key)
	}
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                &s.table,
		Key:                      itemKey(leasePK(l.Key), skLease),
		UpdateExpression:         aws.String("SET #ver = #ver + :one REMOVE #owner, #until, #dur"),
		ConditionExpression:      aws.String("#owner = :owner AND #fence = :fence"),
		ExpressionAttributeNames: leaseNames(attrOwner, attrFence, attrVer, attrUntil, attrDur),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":owner": str(l.Owner), ":fence": num(l.Fence), ":one": num(1),
		},
	})
	if ok, _ := conditionFailed(err); ok {
		return leaseLost(l.Key)
	}
	if err != nil {
		return fmt.Errorf("release lease: %w", err)
	}
	return nil
}
