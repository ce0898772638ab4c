package dynamo_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/core/awstest"
	"github.com/wagate/wagate/core/coretest"
	"github.com/wagate/wagate/core/dynamo"
)

// newTable creates a fresh state table in DynamoDB Local, deleted when the test ends.
func newTable(t *testing.T) (*dynamodb.Client, string) {
	t.Helper()
	client := awstest.DynamoDB(t)
	table := awstest.Name("wagate-state-")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := dynamo.CreateTable(ctx, client, table); err != nil {
		t.Fatalf("create table: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(table)}); err != nil {
			t.Errorf("delete table %s: %v", table, err)
		}
	})
	return client, table
}

func TestState(t *testing.T) {
	client, table := newTable(t)
	st := dynamo.New(client, table)
	coretest.RunState(t, func(*testing.T) core.State { return st })
}

func TestLeases(t *testing.T) {
	client, table := newTable(t)
	st := dynamo.New(client, table)
	coretest.RunLeases(t, func(*testing.T) core.LeaseStore { return st })
}

func TestCreateTableIsIdempotent(t *testing.T) {
	client, table := newTable(t)
	ctx := context.Background()
	if err := dynamo.CreateTable(ctx, client, table); err != nil {
		t.Fatalf("second CreateTable on an existing table: %v", err)
	}
	ttl, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatal(err)
	}
	if d := ttl.TimeToLiveDescription; d == nil || aws.ToString(d.AttributeName) != "ttl" {
		t.Fatalf("TTL description %+v, want TTL on attribute ttl", d)
	}
}
