//go:build unix

package awse2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// itemSizes scans both tables and renders the count, average and largest size of
// each kind of item, computed with DynamoDB's rules (attribute names plus values;
// numbers about one byte per two digits), which decide the request units.
func itemSizes(tb testing.TB, s *stack) string {
	tb.Helper()
	var b strings.Builder
	for _, table := range []struct{ name, title string }{{s.stateTable, "state table"}, {s.keyTable, "key table"}} {
		type agg struct{ n, sum, most int }
		kinds := map[string]*agg{}
		p := dynamodb.NewScanPaginator(s.ddb, &dynamodb.ScanInput{TableName: aws.String(table.name)})
		for p.HasMorePages() {
			c, cancel := context.WithTimeout(context.Background(), opTimeout)
			out, err := p.NextPage(c)
			cancel()
			if err != nil {
				tb.Fatalf("scan %s: %v", table.title, err)
			}
			for _, it := range out.Items {
				k := itemKind(it)
				a := kinds[k]
				if a == nil {
					a = &agg{}
					kinds[k] = a
				}
				size := itemSize(it)
				a.n, a.sum, a.most = a.n+1, a.sum+size, max(a.most, size)
			}
		}
		fmt.Fprintf(&b, "%s item sizes (kind: count, average bytes, largest bytes):\n", table.title)
		for _, k := range sortedKeys(kinds) {
			a := kinds[k]
			fmt.Fprintf(&b, "  %-22s %5d %6d %6d\n", k, a.n, a.sum/a.n, a.most)
		}
	}
	return b.String()
}

// itemKind names an item by its key: the sort key up to its first '#', or the
// partition for the singleton partitions (heartbeats, devices, LID map).
func itemKind(it map[string]types.AttributeValue) string {
	pk, sk := attrString(it["pk"]), attrString(it["sk"])
	switch pk {
	case "hb", "diag", "devices", "pn", "lid":
		return pk
	}
	if k, _, ok := strings.Cut(sk, "#"); ok {
		return k
	}
	return sk
}

func attrString(v types.AttributeValue) string {
	if s, ok := v.(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}

// itemSize is the size DynamoDB bills for an item.
func itemSize(it map[string]types.AttributeValue) int {
	n := 0
	for name, v := range it {
		n += len(name) + valueSize(v)
	}
	return n
}

func valueSize(v types.AttributeValue) int {
	switch x := v.(type) {
	case *types.AttributeValueMemberS:
		return len(x.Value)
	case *types.AttributeValueMemberB:
		return len(x.Value)
	case *types.AttributeValueMemberN:
		return (len(strings.TrimLeft(x.Value, "-0"))+1)/2 + 1
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	case *types.AttributeValueMemberM:
		n := 3
		for k, e := range x.Value {
			n += len(k) + valueSize(e) + 1
		}
		return n
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range x.Value {
			n += valueSize(e) + 1
		}
		return n
	case *types.AttributeValueMemberSS:
		n := 0
		for _, e := range x.Value {
			n += len(e)
		}
		return n
	case *types.AttributeValueMemberBS:
		n := 0
		for _, e := range x.Value {
			n += len(e)
		}
		return n
	}
	return 0
}
