package dynamo_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"

	"github.com/wagate/wagate/connector/dynamo"
)

func TestLIDMap(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c container) {
		ctx := testCtx(t)
		m := pairedDevice(t, c, "15550001111:7@s.whatsapp.net").LIDs
		pn1, pn2 := mustJID(t, "15550004444@s.whatsapp.net"), mustJID(t, "15550005555@s.whatsapp.net")
		lid1, lid2 := mustJID(t, "88000000001@lid"), mustJID(t, "88000000002@lid")

		if got, err := m.GetLIDForPN(ctx, pn1); err != nil || !got.IsEmpty() {
			t.Fatalf("unknown PN = %v, %v", got, err)
		}
		if _, err := m.GetLIDForPN(ctx, lid1); err == nil {
			t.Error("GetLIDForPN accepted a LID")
		}
		if err := m.PutLIDMapping(ctx, pn1, lid1); err == nil {
			t.Error("PutLIDMapping accepted a swapped pair")
		}
		must(t, m.PutLIDMapping(ctx, lid1, pn1))
		pnDev := mustJID(t, "15550004444:3@s.whatsapp.net")
		if got, _ := m.GetLIDForPN(ctx, pnDev); got != (types.JID{User: lid1.User, Device: 3, Server: types.HiddenUserServer}) {
			t.Errorf("LID of PN device 3 = %v", got)
		}
		if got, _ := m.GetPNForLID(ctx, lid1); got != pn1 {
			t.Errorf("PN of LID = %v, want %v", got, pn1)
		}

		// whatsmeow's CachedLIDMap keeps a replaced pair in its cache although its table
		// drops it; this store answers what the table holds, so only it is checked here.
		_, exact := c.(*dynamo.Container)
		// The PN moves to another LID: the old LID loses its PN.
		must(t, m.PutLIDMapping(ctx, lid2, pn1))
		if got, _ := m.GetLIDForPN(ctx, pn1); got != lid2 {
			t.Errorf("LID of PN after move = %v, want %v", got, lid2)
		}
		if got, _ := m.GetPNForLID(ctx, lid1); exact && !got.IsEmpty() {
			t.Errorf("old LID still maps to %v", got)
		}
		// The LID moves to another PN: the old PN loses its LID.
		must(t, m.PutLIDMapping(ctx, lid2, pn2))
		if got, _ := m.GetPNForLID(ctx, lid2); got != pn2 {
			t.Errorf("PN of LID after move = %v, want %v", got, pn2)
		}
		if got, _ := m.GetLIDForPN(ctx, pn1); exact && !got.IsEmpty() {
			t.Errorf("old PN still maps to %v", got)
		}

		var batch []store.LIDMapping
		for i := 0; i < 60; i++ {
			batch = append(batch, store.LIDMapping{
				LID: mustJID(t, fmt.Sprintf("8810000%04d@lid", i)), PN: mustJID(t, fmt.Sprintf("1777000%04d@s.whatsapp.net", i)),
			})
		}
		batch = append(batch, store.LIDMapping{LID: pn1, PN: lid1}) // invalid: skipped
		must(t, m.PutManyLIDMappings(ctx, batch))
		if got, _ := m.GetPNForLID(ctx, batch[59].LID); got != batch[59].PN {
			t.Errorf("PN of batch entry 59 = %v", got)
		}
		query := []types.JID{
			mustJID(t, "17770000003:2@s.whatsapp.net"), batch[42].PN, pn1, mustJID(t, "17779999999@s.whatsapp.net"), lid2, pn2,
		}
		got, err := m.GetManyLIDsForPNs(ctx, query)
		if err != nil {
			t.Fatal(err)
		}
		want := map[types.JID]types.JID{
			query[0]: {User: "88100000003", Device: 2, Server: types.HiddenUserServer},
			query[1]: batch[42].LID,
			pn2:      lid2,
		}
		if !exact {
			want[pn1] = lid2 // sqlstore's stale cache entry, see above
		}
		if len(got) != len(want) {
			t.Errorf("GetManyLIDsForPNs = %v, want %v", got, want)
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("GetManyLIDsForPNs[%v] = %v, want %v", k, got[k], v)
			}
		}
	})
}

// TestLIDMapAcrossContainers shows that the map is shared through the table: mappings
// written by one connector are read by another, and concurrent conflicting writes from
// two containers leave the two directions consistent.
func TestLIDMapAcrossContainers(t *testing.T) {
	a, client, table := openDynamo(t)
	b := dynamo.New(client, table, nil)
	ctx := testCtx(t)
	pn, lid := mustJID(t, "15550004444@s.whatsapp.net"), mustJID(t, "88000000001@lid")
	must(t, a.LIDMap.PutLIDMapping(ctx, lid, pn))
	if got, _ := b.LIDMap.GetPNForLID(ctx, lid); got != pn {
		t.Fatalf("second container reads %v, want %v", got, pn)
	}

	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for w := 0; w < 8; w++ {
		m := []*dynamo.LIDMap{a.LIDMap, b.LIDMap}[w%2]
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, seed))
			for i := 0; i < 5; i++ {
				l := types.JID{User: fmt.Sprint("8800000000", r.IntN(3)), Server: types.HiddenUserServer}
				p := types.JID{User: fmt.Sprint("1555000000", r.IntN(3)), Server: types.DefaultUserServer}
				if err := m.PutLIDMapping(context.Background(), l, p); err != nil {
					errs <- err
				}
			}
		}(uint64(w + 1))
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent PutLIDMapping: %v", err)
	}
	pnToLID, lidToPN := rawMap(t, client, table, "pn"), rawMap(t, client, table, "lid")
	for p, l := range pnToLID {
		if lidToPN[l] != p {
			t.Errorf("pn %s maps to lid %s, which maps back to %q", p, l, lidToPN[l])
		}
	}
	for l, p := range lidToPN {
		if pnToLID[p] != l {
			t.Errorf("lid %s maps to pn %s, which maps back to %q", l, p, pnToLID[p])
		}
	}
}

func rawMap(t *testing.T, client *dynamodb.Client, table, pk string) map[string]string {
	t.Helper()
	out, err := client.Query(testCtx(t), &dynamodb.QueryInput{
		TableName:                 aws.String(table),
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":pk": &ddbtypes.AttributeValueMemberS{Value: pk}},
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, it := range out.Items {
		m[it["sk"].(*ddbtypes.AttributeValueMemberS).Value] = it["v"].(*ddbtypes.AttributeValueMemberS).Value
	}
	return m
}
