package server_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wagate/wagate/wasim/server"
)

func newControl(t *testing.T) (*server.Server, *httptest.Server) {
	t.Helper()
	srv, err := server.New(server.WithStrict(true))
	if err != nil {
		t.Fatalf("new server: %v", err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		_ = srv.Close()
	})
	return srv, hs
}

func call(t *testing.T, hs *httptest.Server, method, path, body string) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, hs.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	resp, err := hs.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("%s %s: body is not a JSON object: %q", method, path, data)
	}
	return resp.StatusCode, resp.Header, out
}

// errorCode returns error.code of an error body, or "".
func errorCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	code, _ := e["code"].(string)
	if msg, _ := e["message"].(string); code != "" && msg == "" {
		return "missing message"
	}
	return code
}

func TestControlCreatePhone(t *testing.T) {
	_, hs := newControl(t)
	cases := []struct {
		name   string
		body   string
		status int
		code   string
	}{
		{"created", `{"phone":"15550001111","name":"Alice"}`, 201, ""},
		{"same_again_is_idempotent", `{"phone":"15550001111","name":"Alice"}`, 200, ""},
		{"other_name_conflicts", `{"phone":"15550001111","name":"Mallory"}`, 409, "conflict"},
		{"too_short", `{"phone":"123456","name":"A"}`, 400, "invalid"},
		{"too_long", `{"phone":"1234567890123456","name":"A"}`, 400, "invalid"},
		{"leading_zero", `{"phone":"0155500011","name":"A"}`, 400, "invalid"},
		{"not_digits", `{"phone":"+15550001111","name":"A"}`, 400, "invalid"},
		{"unknown_field", `{"phone":"15550002222","name":"B","extra":1}`, 400, "invalid"},
		{"trailing_data", `{"phone":"15550002222","name":"B"} {}`, 400, "invalid"},
		{"empty_body", ``, 400, "invalid"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := call(t, hs, http.MethodPost, "/_sim/phones", tc.body)
			if status != tc.status || errorCode(body) != tc.code {
				t.Fatalf("status %d, body %v; want %d with code %q", status, body, tc.status, tc.code)
			}
			if tc.code == "" && (body["phone"] != "15550001111" || body["jid"] != "15550001111@s.whatsapp.net") {
				t.Fatalf("body = %v, want phone and jid", body)
			}
		})
	}
}

func TestControlErrors(t *testing.T) {
	srv, hs := newControl(t)
	if _, _, err := srv.CreatePhone(t.Context(), "15550001111", "Alice"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := srv.CreatePhone(t.Context(), "15550002222", "Bob"); err != nil {
		t.Fatal(err)
	}
	key := base64.StdEncoding.EncodeToString(make([]byte, 32))
	cases := []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"unknown_endpoint", "GET", "/_sim/nothing", "", 404, "not_found"},
		{"method_not_allowed", "DELETE", "/_sim/phones", "", 405, "method_not_allowed"},
		{"inbox_of_unknown_phone", "GET", "/_sim/phones/15559999999/messages", "", 404, "not_found"},
		{"send_to_unknown", "POST", "/_sim/phones/15550001111/messages", `{"to":"15559999999","text":"hi"}`, 404, "not_found"},
		{"send_to_self", "POST", "/_sim/phones/15550001111/messages", `{"to":"15550001111","text":"hi"}`, 400, "invalid"},
		{"send_empty_text", "POST", "/_sim/phones/15550001111/messages", `{"to":"15550002222","text":""}`, 400, "invalid"},
		{"receipt_bad_type", "POST", "/_sim/phones/15550001111/receipts", `{"messageId":"X","type":"seen"}`, 400, "invalid"},
		{"receipt_unknown_message", "POST", "/_sim/phones/15550001111/receipts", `{"messageId":"X","type":"read"}`, 404, "not_found"},
		{"scan_bad_qr", "POST", "/_sim/phones/15550001111/scan", `{"qr":"nonsense"}`, 400, "invalid"},
		{"scan_no_waiting_client", "POST", "/_sim/phones/15550001111/scan", `{"qr":"2@x,` + key + `,` + key + `,` + key + `"}`, 404, "not_found"},
		{"link_code_no_waiting_client", "POST", "/_sim/phones/15550001111/link-code", `{"code":"ABCD-EFGH"}`, 404, "not_found"},
		{"fault_unknown_kind", "POST", "/_sim/devices/15550001111:1@s.whatsapp.net/faults", `{"kind":"meteor"}`, 400, "invalid"},
		{"fault_bad_jid", "POST", "/_sim/devices/not-a-jid@@/faults", `{"kind":"drop"}`, 400, "invalid"},
		{"fault_unknown_device", "POST", "/_sim/devices/15550001111:9@s.whatsapp.net/faults", `{"kind":"drop"}`, 404, "not_found"},
		{"fault_unknown_field", "POST", "/_sim/devices/15550001111:1@s.whatsapp.net/faults", `{"kind":"drop","secs":1}`, 400, "invalid"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, hdr, body := call(t, hs, tc.method, tc.path, tc.body)
			if status != tc.status || errorCode(body) != tc.code {
				t.Fatalf("status %d, body %v; want %d with code %q", status, body, tc.status, tc.code)
			}
			if tc.status == 405 && hdr.Get("Allow") == "" {
				t.Fatal("405 without an Allow header")
			}
		})
	}
}

func TestControlPhoneToPhoneMessageAndReceipt(t *testing.T) {
	_, hs := newControl(t)
	for _, body := range []string{`{"phone":"15550001111","name":"Alice"}`, `{"phone":"15550002222","name":"Bob"}`} {
		if status, _, b := call(t, hs, "POST", "/_sim/phones", body); status != 201 {
			t.Fatalf("create: %d %v", status, b)
		}
	}
	status, _, sent := call(t, hs, "POST", "/_sim/phones/15550001111/messages", `{"to":"15550002222","text":"hi bob"}`)
	id, _ := sent["id"].(string)
	if status != 200 || len(id) != 22 || !strings.HasPrefix(id, "3EB0") || strings.ToUpper(id) != id {
		t.Fatalf("send: %d %v, want an id like 3EB0 and 18 uppercase hex digits", status, sent)
	}
	_, _, inbox := call(t, hs, "GET", "/_sim/phones/15550002222/messages", "")
	msgs, _ := inbox["messages"].([]any)
	if len(msgs) != 1 {
		t.Fatalf("bob's inbox = %v, want one message", inbox)
	}
	m := msgs[0].(map[string]any)
	if m["id"] != id || m["from"] != "15550001111" || m["text"] != "hi bob" || m["at"] == "" {
		t.Fatalf("bob's message = %v", m)
	}
	if status, _, b := call(t, hs, "POST", "/_sim/phones/15550002222/receipts", `{"messageId":"`+id+`","type":"read"}`); status != 200 {
		t.Fatalf("receipt: %d %v", status, b)
	}
	_, _, out := call(t, hs, "GET", "/_sim/phones/15550001111/sent", "")
	list, _ := out["messages"].([]any)
	if len(list) != 1 {
		t.Fatalf("alice's sent = %v", out)
	}
	receipts, _ := list[0].(map[string]any)["receipts"].([]any)
	if len(receipts) != 1 || receipts[0].(map[string]any)["type"] != "read" ||
		receipts[0].(map[string]any)["from"] != "15550002222@s.whatsapp.net" {
		t.Fatalf("receipts = %v, want one read receipt from bob's phone", receipts)
	}
}

func TestControlHealthCertAndDevices(t *testing.T) {
	srv, hs := newControl(t)
	if status, _, _ := call(t, hs, "GET", "/_sim/health", ""); status != 200 {
		t.Fatalf("health: %d", status)
	}
	_, _, cert := call(t, hs, "GET", "/_sim/cert", "")
	key, err := base64.StdEncoding.DecodeString(cert["publicKey"].(string))
	if want := srv.RootKey(); err != nil || string(key) != string(want[:]) {
		t.Fatalf("cert = %v, want the root key", cert)
	}
	_, _, devs := call(t, hs, "GET", "/_sim/devices", "")
	if list, ok := devs["devices"].([]any); !ok || len(list) != 0 {
		t.Fatalf("devices = %v, want an empty list", devs)
	}
}
