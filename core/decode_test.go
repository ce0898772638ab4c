package core_test

import (
	"errors"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/wagate/wagate/core"
)

func TestDecodeJSON(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		code    core.Code // "" for success
		mention string    // what the message must name
	}{
		{"valid", `{"displayName":"Desk","preferIPv4":false}`, "", ""},
		{"valid_with_whitespace", " \n{\"autoConnect\":true}\n\t", "", ""},
		{"unknown_field", `{"displayName":"Desk","colour":"red"}`, core.CodeInvalid, `"colour"`},
		{"trailing_object", `{"displayName":"a"}{"displayName":"b"}`, core.CodeInvalid, "after the object"},
		{"trailing_garbage", `{"displayName":"a"} x`, core.CodeInvalid, "after the object"},
		{"trailing_brace", `{"displayName":"a"}}`, core.CodeInvalid, "after the object"},
		{"wrong_type", `{"preferIPv4":"yes"}`, core.CodeInvalid, `"preferIPv4" must be bool`},
		{"wrong_type_string", `{"displayName":5}`, core.CodeInvalid, `"displayName" must be string`},
		{"syntax_error", `{"displayName":}`, core.CodeInvalid, "syntax error at byte"},
		{"truncated", `{"displayName":"a"`, core.CodeInvalid, "unexpected end"},
		{"empty", ``, core.CodeInvalid, "JSON object"},
		{"blank", "  \n", core.CodeInvalid, "JSON object"},
		{"array", `[]`, core.CodeInvalid, "expected a JSON object"},
		{"string", `"desk"`, core.CodeInvalid, "expected a JSON object"},
		{"oversize", `{"displayName":"` + strings.Repeat("a", core.MaxBodyBytes) + `"}`, core.CodeTooLarge, "over 65536 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s core.Settings
			err := core.DecodeJSON(strings.NewReader(tt.body), &s)
			if core.ErrorCode(err) != tt.code {
				t.Fatalf("DecodeJSON(%.60q) = %v, want code %q", tt.body, err, tt.code)
			}
			if msg := core.ErrorMessage(err); !strings.Contains(msg, tt.mention) {
				t.Fatalf("DecodeJSON(%.60q) message %q does not mention %q", tt.body, msg, tt.mention)
			}
		})
	}
}

func TestDecodeJSONExactLimit(t *testing.T) {
	pad := core.MaxBodyBytes - len(`{"displayName":""}`)
	body := `{"displayName":"` + strings.Repeat("a", pad) + `"}`
	var s core.Settings
	if err := core.DecodeJSON(strings.NewReader(body), &s); err != nil {
		t.Fatalf("a body of exactly %d bytes: %v", len(body), err)
	}
	if len(s.DisplayName) != pad {
		t.Fatalf("decoded %d characters, want %d", len(s.DisplayName), pad)
	}
}

func TestDecodeJSONReadError(t *testing.T) {
	var s core.Settings
	err := core.DecodeJSON(iotest.ErrReader(errors.New("connection reset")), &s)
	if !core.IsCode(err, core.CodeInvalid) {
		t.Fatalf("read failure: %v, want %s", err, core.CodeInvalid)
	}
	if strings.Contains(core.ErrorMessage(err), "connection reset") {
		t.Fatal("the caller-safe message leaks the read error")
	}
}

func TestDecodePayload(t *testing.T) {
	c := core.Command{Type: core.CmdPairCode, Payload: []byte(`{"phone":"15551234567","extra":1}`)}
	var p core.PairCodePayload
	if err := c.DecodePayload(&p); !core.IsCode(err, core.CodeInvalid) {
		t.Fatalf("payload with an unknown field: %v, want %s", err, core.CodeInvalid)
	}
	c.Payload = []byte(`{"phone":15551234567}`)
	if err := c.DecodePayload(&p); err == nil || !strings.Contains(err.Error(), `"phone" must be string`) {
		t.Fatalf("payload with a number for a string: %v", err)
	}
	s := core.Command{Type: core.CmdSettings, Payload: []byte(`{"settings":[1]}`)}
	var sp core.SettingsPayload
	if err := s.DecodePayload(&sp); err == nil || strings.Contains(err.Error(), "core.") {
		t.Fatalf("nested type mismatch: %v (must not name Go types)", err)
	}
	c.Payload = []byte(`{"phone":"15551234567"}`)
	if err := c.DecodePayload(&p); err != nil || p.Phone != "15551234567" {
		t.Fatalf("DecodePayload = %+v, %v", p, err)
	}
}
