package core_test

import (
	"encoding/json"
	"regexp"
	"testing"
	"time"

	"github.com/wagate/wagate/core"
)

func TestMessageStatusAdvances(t *testing.T) {
	all := []core.MessageStatus{core.MessageQueued, core.MessageSent, core.MessageDelivered, core.MessageRead, core.MessageFailed}
	// allowed lists, for each status, the statuses it may move to.
	allowed := map[core.MessageStatus][]core.MessageStatus{
		core.MessageQueued:    {core.MessageSent, core.MessageDelivered, core.MessageRead, core.MessageFailed},
		core.MessageSent:      {core.MessageDelivered, core.MessageRead},
		core.MessageDelivered: {core.MessageRead},
		core.MessageRead:      {},
		core.MessageFailed:    {},
	}
	for _, from := range all {
		for _, to := range all {
			want := false
			for _, a := range allowed[from] {
				want = want || a == to
			}
			t.Run(string(from)+"_to_"+string(to), func(t *testing.T) {
				if got := from.Advances(to); got != want {
					t.Fatalf("%s.Advances(%s) = %v, want %v", from, to, got, want)
				}
			})
		}
	}
	if core.MessageQueued.Advances("bogus") || core.MessageStatus("bogus").Advances("other") {
		t.Fatal("an unknown status counts as progress")
	}
}

func TestNewMessageID(t *testing.T) {
	re := regexp.MustCompile(`^3EB0[0-9A-F]{18}$`)
	seen := map[string]bool{}
	for range 100 {
		id := core.NewMessageID()
		if !re.MatchString(id) {
			t.Fatalf("NewMessageID() = %q, want WhatsApp's 3EB0 + 18 hex format", id)
		}
		if seen[id] {
			t.Fatalf("NewMessageID repeated %q", id)
		}
		seen[id] = true
	}
}

func TestNewEventAndCommand(t *testing.T) {
	key := core.SessionKey{Tenant: "acme", ID: "desk"}
	at := time.Date(2030, 1, 1, 12, 0, 0, 0, time.FixedZone("CET", 3600))
	e, err := core.NewEvent(core.EventSessionStatus, key, at, map[string]string{"status": "qr"})
	if err != nil {
		t.Fatal(err)
	}
	if len(e.ID) != 32 || e.Tenant != "acme" || e.SessionID != "desk" || e.At.Location() != time.UTC || !e.At.Equal(at) || string(e.Data) != `{"status":"qr"}` {
		t.Fatalf("NewEvent = %+v", e)
	}
	if _, err := core.NewEvent(core.EventMessageIn, key, at, func() {}); !core.IsCode(err, core.CodeInternal) {
		t.Fatalf("NewEvent with unencodable data: %v", err)
	}

	c, err := core.NewCommand(core.CmdSendMessage, key, at, core.SendPayload{MessageID: "3EB0", To: "1@lid", Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	if c.V != core.CommandVersion || c.GroupID() != "acme/desk" || c.Key() != key || c.At.Location() != time.UTC {
		t.Fatalf("NewCommand = %+v (group %s)", c, c.GroupID())
	}
	var p core.SendPayload
	if err := json.Unmarshal(c.Payload, &p); err != nil || p.Text != "hi" {
		t.Fatalf("payload %s: %v", c.Payload, err)
	}
	d, err := core.NewCommand(core.CmdDiagnostics, core.SessionKey{Tenant: "acme"}, at, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.Payload != nil || d.GroupID() != "acme/-" {
		t.Fatalf("diagnostics command: payload %s, group %s", d.Payload, d.GroupID())
	}
	if d.ID == c.ID {
		t.Fatal("two commands got the same id")
	}
}

func TestStatus(t *testing.T) {
	fatal := map[core.Status]bool{core.StatusLoggedOut: true, core.StatusReplaced: true, core.StatusBanned: true, core.StatusOutdated: true, core.StatusFailed: true}
	active := map[core.Status]bool{core.StatusConnecting: true, core.StatusQR: true, core.StatusPairing: true, core.StatusConnected: true, core.StatusReconnecting: true}
	if n := len(core.Statuses()); n != 12 {
		t.Fatalf("%d statuses, the contract has 12", n)
	}
	for _, s := range core.Statuses() {
		if !s.Valid() {
			t.Fatalf("%s is listed but not valid", s)
		}
		if s.Fatal() != fatal[s] || s.Active() != active[s] {
			t.Fatalf("%s: fatal=%v active=%v", s, s.Fatal(), s.Active())
		}
		if s.Fatal() && s.Active() {
			t.Fatalf("%s is both fatal and active", s)
		}
	}
	if core.Status("CONNECTED").Valid() || core.Status("").Valid() {
		t.Fatal("an unknown status is valid")
	}
}
