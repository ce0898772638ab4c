package dynamo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wagate/wagate/core"
)

// Client is the part of the DynamoDB API the store uses. *dynamodb.Client implements
// it; a wrapper can count or fail calls in tests.
type Client interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, opts ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

// Store is core.State and core.LeaseStore on one DynamoDB table (see the package
// documentation for the layout). It is safe for concurrent use.
type Store struct {
	// Now returns the current time; it decides QR, idempotency and lease expiry and
	// the ttl attributes. Set it before first use (tests inject a fake clock).
	Now func() time.Time

	client Client
	table  string
}

// Compile-time checks that Store implements the ports.
var (
	_ core.State      = (*Store)(nil)
	_ core.LeaseStore = (*Store)(nil)
)

// New returns a store on table using client and the wall clock.
func New(client Client, table string) *Store {
	return &Store{Now: time.Now, client: client, table: table}
}

// Attribute names shared by several item types.
const (
	attrPK     = "pk"
	attrSK     = "sk"
	attrGSI1PK = "gsi1pk"
	attrLSI1SK = "lsi1sk"
	attrLSI2SK = "lsi2sk"
	attrDoc    = "doc" // the item's JSON document
	attrTTL    = "ttl" // epoch seconds after which DynamoDB may delete the item
	attrExp    = "exp" // expiry in unix nanoseconds, compared on read and in conditions
	attrVer    = "ver" // version for optimistic concurrency
)

// Index names (see CreateTable).
const (
	indexGSI1 = "gsi1"
	indexLSI1 = "lsi1"
	indexLSI2 = "lsi2"
)

// maxUpdateAttempts bounds the optimistic-concurrency retries of one update.
const maxUpdateAttempts = 100

// now reads the clock in UTC without a monotonic reading.
func (s *Store) now() time.Time { return s.Now().UTC().Round(0) }

// esc makes a tenant safe to embed in a key between '#' separators: '%' and '#'
// are percent-encoded, so distinct tenants never produce the same key.
func esc(v string) string {
	if !strings.ContainsAny(v, "%#") {
		return v
	}
	return strings.NewReplacer("%", "%25", "#", "%23").Replace(v)
}

// Keys of the item types; see the package documentation.
func tenantPK(tenant string) string          { return "t#" + esc(tenant) }
func sessionSK(id string) string             { return "s#" + id }
func sessionPK(k core.SessionKey) string     { return tenantPK(k.Tenant) + "#s#" + k.ID }
func leasePK(k core.SessionKey) string       { return tenantPK(k.Tenant) + "#l#" + k.ID }
func idemPK(tenant, key string) string       { return tenantPK(tenant) + "#i#" + key }
func resultPK(tenant, command string) string { return tenantPK(tenant) + "#r#" + command }

// Fixed keys of singleton items and families.
const (
	skQR        = "qr"
	skLease     = "lease"
	skIdem      = "idem"
	skResult    = "result"
	pkHeartbeat = "hb"
	pkDiag      = "diag"
	skDiag      = "latest"
	prefixMsg   = "m#"
	prefixHB    = "c#"
	prefixRes   = "r#" // result marker in a session partition
)

func itemKey(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: str(pk), attrSK: str(sk)}
}

func str(v string) *types.AttributeValueMemberS { return &types.AttributeValueMemberS{Value: v} }

func num(v int64) *types.AttributeValueMemberN {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

// ttlOf returns the ttl attribute for an item that may go at t.
func ttlOf(t time.Time) *types.AttributeValueMemberN { return num(t.Unix() + 1) }

// getNum reads a number attribute; a missing one is 0.
func getNum(item map[string]types.AttributeValue, name string) (int64, error) {
	v, ok := item[name]
	if !ok {
		return 0, nil
	}
	n, ok := v.(*types.AttributeValueMemberN)
	if !ok {
		return 0, fmt.Errorf("attribute %s is not a number", name)
	}
	return strconv.ParseInt(n.Value, 10, 64)
}

// getStr reads a string attribute; a missing one is "".
func getStr(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// withDoc returns item with doc set to v encoded as JSON.
func withDoc(item map[string]types.AttributeValue, v any) (map[string]types.AttributeValue, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode item: %w", err)
	}
	item[attrDoc] = str(string(data))
	return item, nil
}

// readDoc decodes the doc attribute of item into v.
func readDoc(item map[string]types.AttributeValue, v any) error {
	doc, ok := item[attrDoc].(*types.AttributeValueMemberS)
	if !ok {
		return errors.New("decode item: no doc attribute")
	}
	if err := json.Unmarshal([]byte(doc.Value), v); err != nil {
		return fmt.Errorf("decode item: %w", err)
	}
	return nil
}

// getItem reads one item with a strongly consistent read; nil if there is none.
func (s *Store) getItem(ctx context.Context, pk, sk string) (map[string]types.AttributeValue, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table, Key: itemKey(pk, sk), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, err
	}
	if len(out.Item) == 0 {
		return nil, nil
	}
	return out.Item, nil
}

// putItem writes item unconditionally.
func (s *Store) putItem(ctx context.Context, item map[string]types.AttributeValue) error {
	_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item})
	return err
}

// conditionFailed reports whether err is a lost conditional write, and returns the
// item as it was when the condition failed (nil when there was none or it was not
// asked for).
func conditionFailed(err error) (bool, map[string]types.AttributeValue) {
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return true, ccf.Item
	}
	return false, nil
}
