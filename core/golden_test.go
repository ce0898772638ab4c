package core_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/wagate/wagate/core"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var (
	t0 = time.Date(2030, 1, 2, 3, 4, 5, 123456789, time.UTC)
	t1 = t0.Add(90 * time.Second)
)

// fixtures are contract values with every field set; their JSON is in testdata/.
func fixtures() map[string]any {
	ok := true
	settings := core.Settings{
		DisplayName: "Front desk", PreferIPv4: true, ProxyURL: "socks5://127.0.0.1:1080",
		WebhookURL: "https://example.com/hooks/wagate", AutoConnect: true,
	}
	session := core.Session{
		ID: "front-desk", Tenant: "acme", DisplayName: "Front desk", Status: core.StatusBanned,
		JID: "15550001111:12@s.whatsapp.net", PushName: "Alice", Settings: settings,
		LastError: &core.ErrorInfo{Code: "temp_ban", Message: "WhatsApp banned this number until retryAt", At: t0},
		RetryAt:   &t1, ConnectedAt: &t0, CreatedAt: t0, UpdatedAt: t1,
		Desired: true, Version: 7, Fence: 3, // not part of the API: must not appear in the JSON
	}
	message := core.Message{
		ID: "3EB0A1B2C3D4E5F6A7B8C9", Tenant: "acme", SessionID: "front-desk", Direction: core.DirectionOut,
		Chat: "15550002222@s.whatsapp.net", To: "15550002222@s.whatsapp.net", Text: "Olá 👋 – your order shipped",
		Status: core.MessageFailed, Error: "recipient is not on WhatsApp", CreatedAt: t0, UpdatedAt: t1,
	}
	return map[string]any{
		"settings": settings,
		"session":  session,
		"message":  message,
		"event": core.Event{
			ID: "0123456789abcdef0123456789abcdef", Type: core.EventMessageStatus, Tenant: "acme",
			SessionID: "front-desk", At: t1, Data: json.RawMessage(`{"id":"3EB0A1B2C3D4E5F6A7B8C9","status":"read"}`),
		},
		"command": core.Command{
			V: core.CommandVersion, ID: "fedcba9876543210fedcba9876543210", Type: core.CmdSendMessage, Tenant: "acme",
			SessionID: "front-desk", At: t0,
			Payload: json.RawMessage(`{"messageId":"3EB0A1B2C3D4E5F6A7B8C9","to":"15550002222@s.whatsapp.net","text":"hi"}`),
		},
		"report": core.Report{
			ID: "r1", Connector: "ecs-task-1", Reason: "start", StartedAt: t0, FinishedAt: t1, OK: false,
			Checks: []core.Check{
				{Kind: core.CheckDNSA, Target: "web.whatsapp.com", Outcome: core.OutcomeOK, Address: "157.240.0.53", DurationMS: 12.5},
				{Kind: core.CheckTCP6, Target: "web.whatsapp.com:443", Outcome: core.OutcomeFail, DurationMS: 5000,
					Error: "connect: network is unreachable", Advice: "the host has no IPv6 route; keep preferIPv4 on"},
				{Kind: core.CheckTLS, Target: "web.whatsapp.com:443", Outcome: core.OutcomeSkipped},
			},
		},
		"qr":           core.QR{Code: "2@abc,def,ghi", ExpiresAt: t1, PNG: "iVBORw0KGgo="},
		"heartbeat":    core.Heartbeat{ConnectorID: "vps-1", Version: "1.2.3", Sessions: 4, StartedAt: t0, At: t1, DiagnosticsOK: &ok},
		"message_page": core.MessagePage{Messages: []core.Message{message}, NextCursor: "opaque"},
	}
}

// TestGolden checks that every contract type encodes exactly as its golden file
// (run with -update after an intended change) and that decoding the file and
// encoding again gives the same bytes.
func TestGolden(t *testing.T) {
	for name, v := range fixtures() {
		t.Run(name, func(t *testing.T) {
			got, err := json.MarshalIndent(v, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", name+".json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%s changed; the JSON contract is fixed (run -update only for an intended change)\n got: %s\nwant: %s", path, got, want)
			}

			back := reflect.New(reflect.TypeOf(v))
			if err := json.Unmarshal(want, back.Interface()); err != nil {
				t.Fatalf("decode %s: %v", path, err)
			}
			again, err := json.MarshalIndent(back.Elem().Interface(), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(append(again, '\n'), want) {
				t.Fatalf("decoding and re-encoding %s changed it:\n%s", path, again)
			}
		})
	}
}

// TestSessionRoundTrip checks field by field that a session survives JSON, except
// the fields that are not part of the API.
func TestSessionRoundTrip(t *testing.T) {
	in := fixtures()["session"].(core.Session)
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out core.Session
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out.Desired || out.Version != 0 || out.Fence != 0 {
		t.Fatalf("internal fields crossed the API: desired=%v version=%d fence=%d", out.Desired, out.Version, out.Fence)
	}
	in.Desired, in.Version, in.Fence = false, 0, 0
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip changed the session:\n in: %+v\nout: %+v", in, out)
	}
	for _, key := range []string{"desired", "Desired", "version", "Version", "fence", "Fence"} {
		if bytes.Contains(b, []byte(`"`+key+`"`)) {
			t.Fatalf("session JSON has internal field %q: %s", key, b)
		}
	}
}

// TestEmptyFieldsOmitted checks that a new session shows only what is set.
func TestEmptyFieldsOmitted(t *testing.T) {
	b, err := json.Marshal(core.Session{ID: "s", Tenant: "t", Status: core.StatusNew, Settings: core.DefaultSettings(), CreatedAt: t0, UpdatedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"s","tenant":"t","status":"new","settings":{"preferIPv4":true,"autoConnect":true},"createdAt":"2030-01-02T03:04:05.123456789Z","updatedAt":"2030-01-02T03:04:05.123456789Z"}`
	if string(b) != want {
		t.Fatalf("new session JSON:\n got %s\nwant %s", b, want)
	}
}
