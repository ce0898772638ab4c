package templatetest

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wagate/wagate/core/dynamo"
)

// stateTable returns the logical id of the table the functions know as
// WAGATE_STATE_TABLE.
func stateTable(t *testing.T, tp tmpl) string {
	t.Helper()
	vars := asMap(asMap(asMap(asMap(tp["Globals"])["Function"])["Environment"])["Variables"])
	id := target(vars["WAGATE_STATE_TABLE"])
	if tp.resources()[id]["Type"] != "AWS::DynamoDB::Table" {
		t.Fatalf("Globals WAGATE_STATE_TABLE %v is not a table", vars["WAGATE_STATE_TABLE"])
	}
	return id
}

var storeSub = regexp.MustCompile(`^dynamodb:\$\{([A-Za-z0-9]+)\}$`)

// keyTable returns the logical id of the whatsmeow key table: the table of the
// connector's WAGATE_STORE=dynamodb:<table>.
func keyTable(t *testing.T, tp tmpl) string {
	t.Helper()
	for _, id := range tp.ofType("AWS::ECS::TaskDefinition") {
		for _, c := range asList(tp.props(id)["ContainerDefinitions"]) {
			for _, e := range asList(asMap(c)["Environment"]) {
				if asMap(e)["Name"] != "WAGATE_STORE" {
					continue
				}
				sub, _ := asMap(asMap(e)["Value"])["Fn::Sub"].(string)
				if m := storeSub.FindStringSubmatch(sub); m != nil && tp.resources()[m[1]]["Type"] == "AWS::DynamoDB::Table" {
					return m[1]
				}
				t.Fatalf("connector WAGATE_STORE is %v, want !Sub dynamodb:${<key table>}", asMap(e)["Value"])
			}
		}
	}
	t.Fatal("no task definition sets WAGATE_STORE")
	return ""
}

// tableKey returns the logical id of the KMS key a table is encrypted with.
func tableKey(tp tmpl, table string) string {
	return target(asMap(tp.props(table)["SSESpecification"])["KMSMasterKeyId"])
}

func TestTablesEncryptedWithCMKAndPITR(t *testing.T) {
	tp := load(t)
	tables := tp.ofType("AWS::DynamoDB::Table")
	if len(tables) != 2 {
		t.Errorf("tables %v, want the state table and the key table", tables)
	}
	for _, id := range tables {
		p := tp.props(id)
		if p["BillingMode"] != "PAY_PER_REQUEST" {
			t.Errorf("%s: BillingMode %v, want PAY_PER_REQUEST", id, p["BillingMode"])
		}
		if asMap(p["PointInTimeRecoverySpecification"])["PointInTimeRecoveryEnabled"] != true {
			t.Errorf("%s: point-in-time recovery is not enabled", id)
		}
		sse := asMap(p["SSESpecification"])
		if sse["SSEEnabled"] != true || sse["SSEType"] != "KMS" {
			t.Errorf("%s: SSESpecification %v, want KMS encryption", id, sse)
		}
		key := tableKey(tp, id)
		if tp.resources()[key]["Type"] != "AWS::KMS::Key" {
			t.Errorf("%s: KMSMasterKeyId %v is not a customer managed key of the template", id, sse["KMSMasterKeyId"])
		} else if tp.props(key)["EnableKeyRotation"] != true {
			t.Errorf("%s: key %s does not rotate", id, key)
		}
		if r := tp.resources()[id]; r["DeletionPolicy"] != "Retain" || r["UpdateReplacePolicy"] != "Retain" {
			t.Errorf("%s: DeletionPolicy/UpdateReplacePolicy must be Retain (the tables hold the sessions)", id)
		}
	}
	if tableKey(tp, stateTable(t, tp)) == tableKey(tp, keyTable(t, tp)) {
		t.Error("the state table and the key table share a KMS key; the key table's key must be the connector's alone")
	}
}

// describeKeys renders a key schema as "name:HASH name:RANGE".
func describeKeys(ks []types.KeySchemaElement) string {
	var parts []string
	for _, k := range ks {
		parts = append(parts, aws.ToString(k.AttributeName)+":"+string(k.KeyType))
	}
	return strings.Join(parts, " ")
}

func templateKeys(v any) string {
	var parts []string
	for _, k := range asList(v) {
		parts = append(parts, fmt.Sprintf("%v:%v", asMap(k)["AttributeName"], asMap(k)["KeyType"]))
	}
	return strings.Join(parts, " ")
}

func templateIndexes(v any) map[string]string {
	out := map[string]string{}
	for _, ix := range asList(v) {
		m := asMap(ix)
		out[fmt.Sprint(m["IndexName"])] = templateKeys(m["KeySchema"]) + " " + fmt.Sprint(asMap(m["Projection"])["ProjectionType"])
	}
	return out
}

func TestStateTableMatchesCoreDynamo(t *testing.T) {
	tp := load(t)
	p := tp.props(stateTable(t, tp))
	want := dynamo.TableInput("state")

	var wantAttrs, gotAttrs []string
	for _, a := range want.AttributeDefinitions {
		wantAttrs = append(wantAttrs, aws.ToString(a.AttributeName)+":"+string(a.AttributeType))
	}
	for _, a := range asList(p["AttributeDefinitions"]) {
		gotAttrs = append(gotAttrs, fmt.Sprintf("%v:%v", asMap(a)["AttributeName"], asMap(a)["AttributeType"]))
	}
	sort.Strings(wantAttrs)
	sort.Strings(gotAttrs)
	if strings.Join(gotAttrs, " ") != strings.Join(wantAttrs, " ") {
		t.Errorf("AttributeDefinitions %v, want %v (core/dynamo TableInput)", gotAttrs, wantAttrs)
	}
	if got, w := templateKeys(p["KeySchema"]), describeKeys(want.KeySchema); got != w {
		t.Errorf("KeySchema %q, want %q", got, w)
	}
	wantIdx := map[string]string{}
	for _, g := range want.GlobalSecondaryIndexes {
		wantIdx[aws.ToString(g.IndexName)] = describeKeys(g.KeySchema) + " " + string(g.Projection.ProjectionType)
	}
	gotIdx := templateIndexes(p["GlobalSecondaryIndexes"])
	if fmt.Sprint(gotIdx) != fmt.Sprint(wantIdx) {
		t.Errorf("GlobalSecondaryIndexes %v, want %v", gotIdx, wantIdx)
	}
	wantIdx = map[string]string{}
	for _, l := range want.LocalSecondaryIndexes {
		wantIdx[aws.ToString(l.IndexName)] = describeKeys(l.KeySchema) + " " + string(l.Projection.ProjectionType)
	}
	gotIdx = templateIndexes(p["LocalSecondaryIndexes"])
	if fmt.Sprint(gotIdx) != fmt.Sprint(wantIdx) {
		t.Errorf("LocalSecondaryIndexes %v, want %v", gotIdx, wantIdx)
	}
	ttl := asMap(p["TimeToLiveSpecification"])
	if ttl["AttributeName"] != "ttl" || ttl["Enabled"] != true {
		t.Errorf("TimeToLiveSpecification %v, want ttl enabled", ttl)
	}
}

func TestKeyTableSchema(t *testing.T) {
	tp := load(t)
	p := tp.props(keyTable(t, tp))
	if got := templateKeys(p["KeySchema"]); got != "pk:HASH sk:RANGE" {
		t.Errorf("key table KeySchema %q, want pk:HASH sk:RANGE", got)
	}
	if len(asList(p["AttributeDefinitions"])) != 2 || p["GlobalSecondaryIndexes"] != nil || p["LocalSecondaryIndexes"] != nil {
		t.Errorf("key table has attributes %v and indexes; the whatsmeow store uses pk S / sk S only", p["AttributeDefinitions"])
	}
}
