package dynamo_test

import (
	"fmt"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
)

func TestContacts(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c container) {
		ctx := testCtx(t)
		s := pairedDevice(t, c, "15550001111:7@s.whatsapp.net").Contacts
		bob := mustJID(t, "15550004444@s.whatsapp.net")

		if info, err := s.GetContact(ctx, bob); err != nil || info.Found {
			t.Fatalf("unknown contact = %+v, %v", info, err)
		}
		changed, prev, err := s.PutPushName(ctx, bob, "Bob")
		if err != nil || !changed || prev != "" {
			t.Fatalf("first PutPushName = %v %q %v", changed, prev, err)
		}
		if changed, _, _ := s.PutPushName(ctx, bob, "Bob"); changed {
			t.Error("PutPushName with the same name reported a change")
		}
		changed, prev, _ = s.PutPushName(ctx, bob, "Bobby")
		if !changed || prev != "Bob" {
			t.Errorf("PutPushName rename = %v %q, want true Bob", changed, prev)
		}
		changed, prev, _ = s.PutBusinessName(ctx, bob, "Bob's Bikes")
		if !changed || prev != "" {
			t.Errorf("PutBusinessName = %v %q", changed, prev)
		}
		must(t, s.PutContactName(ctx, bob, "Robert", "Robert Smith"))

		info, _ := s.GetContact(ctx, bob)
		want := types.ContactInfo{Found: true, FirstName: "Robert", FullName: "Robert Smith", PushName: "Bobby", BusinessName: "Bob's Bikes"}
		if info != want {
			t.Errorf("contact = %+v, want %+v", info, want)
		}

		// A fresh container reads what was stored, not a cache.
		reloaded, _ := c.GetDevice(ctx, mustJID(t, "15550001111:7@s.whatsapp.net"))
		if info, _ := reloaded.Contacts.GetContact(ctx, bob); info != want {
			t.Errorf("reloaded contact = %+v, want %+v", info, want)
		}

		// The bulk names update keeps push and business names; 300 contacts plus a duplicate.
		entries := []store.ContactEntry{{JID: bob, FirstName: "Rob", FullName: "Rob Smith"}}
		for i := 0; i < 300; i++ {
			entries = append(entries, store.ContactEntry{
				JID: mustJID(t, fmt.Sprintf("1666%07d@s.whatsapp.net", i)), FirstName: fmt.Sprint("F", i), FullName: fmt.Sprint("Full ", i),
			})
		}
		entries = append(entries, store.ContactEntry{JID: entries[5].JID, FirstName: "Second", FullName: "Second entry"}) // the first entry wins
		must(t, s.PutAllContactNames(ctx, entries))
		must(t, s.PutManyRedactedPhones(ctx, []store.RedactedPhoneEntry{{JID: bob, RedactedPhone: "+1 555•••44"}}))

		all, err := s.GetAllContacts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 301 {
			t.Fatalf("GetAllContacts has %d contacts, want 301", len(all))
		}
		want = types.ContactInfo{Found: true, FirstName: "Rob", FullName: "Rob Smith", PushName: "Bobby", BusinessName: "Bob's Bikes", RedactedPhone: "+1 555•••44"}
		if all[bob] != want {
			t.Errorf("after bulk updates bob = %+v, want %+v", all[bob], want)
		}
		if got := all[entries[5].JID]; got.FirstName != "F4" || got.FullName != "Full 4" {
			t.Errorf("duplicate entry: got %+v, want the first one", got)
		}
		if got := all[entries[300].JID]; got.FirstName != "F299" || !got.Found {
			t.Errorf("contact 300 = %+v", got)
		}
		if info, _ := s.GetContact(ctx, entries[200].JID); info.FullName != "Full 199" {
			t.Errorf("GetContact after bulk = %+v", info)
		}
	})
}

func TestChatSettings(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c container) {
		ctx := testCtx(t)
		s := pairedDevice(t, c, "15550001111:7@s.whatsapp.net").ChatSettings
		chat := mustJID(t, "120363000000000001@g.us")
		if got, err := s.GetChatSettings(ctx, chat); err != nil || got.Found {
			t.Fatalf("unknown chat settings = %+v, %v", got, err)
		}
		until := time.Unix(1_900_000_000, 0)
		must(t, s.PutMutedUntil(ctx, chat, until))
		must(t, s.PutPinned(ctx, chat, true))
		got, _ := s.GetChatSettings(ctx, chat)
		if !got.Found || !got.MutedUntil.Equal(until) || !got.Pinned || got.Archived {
			t.Errorf("settings = %+v", got)
		}
		must(t, s.PutArchived(ctx, chat, true))
		must(t, s.PutPinned(ctx, chat, false))
		must(t, s.PutMutedUntil(ctx, chat, store.MutedForever))
		got, _ = s.GetChatSettings(ctx, chat)
		if !got.MutedUntil.Equal(store.MutedForever) || got.Pinned || !got.Archived {
			t.Errorf("settings after updates = %+v", got)
		}
		must(t, s.PutMutedUntil(ctx, chat, time.Time{}))
		if got, _ := s.GetChatSettings(ctx, chat); !got.MutedUntil.IsZero() || !got.Archived {
			t.Errorf("unmuted settings = %+v", got)
		}
	})
}
