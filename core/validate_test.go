package core_test

import (
	"strings"
	"testing"

	"github.com/wagate/wagate/core"
)

func TestValidateSessionID(t *testing.T) {
	tests := []struct {
		name string
		id   string
		ok   bool
	}{
		{"single_letter", "a", true},
		{"digits_first", "0front", true},
		{"dash_and_underscore_inside", "a-b_c", true},
		{"max_length_64", strings.Repeat("a", 64), true},
		{"too_long_65", strings.Repeat("a", 65), false},
		{"empty", "", false},
		{"path_traversal", "../x", false},
		{"slash", "a/b", false},
		{"upper_case", "Front", false},
		{"leading_dash", "-a", false},
		{"leading_underscore", "_a", false},
		{"space", "a b", false},
		{"dot", "a.b", false},
		{"non_ascii", "café", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := core.ValidateSessionID(tt.id)
			if tt.ok && err != nil {
				t.Fatalf("ValidateSessionID(%q) = %v, want nil", tt.id, err)
			}
			if !tt.ok && !core.IsCode(err, core.CodeInvalid) {
				t.Fatalf("ValidateSessionID(%q) = %v, want %s", tt.id, err, core.CodeInvalid)
			}
		})
	}
}

func TestNormalizePhone(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain_digits", "15551234567", "15551234567"},
		{"formatted", "+1 (555) 123-4567", "15551234567"},
		{"dots_and_spaces", " 49.30.1234 5678 ", "493012345678"},
		{"seven_digits", "1234567", "1234567"},
		{"fifteen_digits", "123456789012345", "123456789012345"},
		{"six_digits", "123456", ""},
		{"sixteen_digits", "1234567890123456", ""},
		{"leading_zero", "015551234567", ""},
		{"letters", "1555CALLNOW", ""},
		{"plus_inside", "1555+1234567", ""},
		{"empty", "", ""},
		{"jid", "15551234567@s.whatsapp.net", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := core.NormalizePhone(tt.in)
			if tt.want == "" {
				if !core.IsCode(err, core.CodeInvalid) {
					t.Fatalf("NormalizePhone(%q) = %q, %v; want %s", tt.in, got, err, core.CodeInvalid)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("NormalizePhone(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestNormalizeRecipient(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"phone", "+1 555 123 4567", "15551234567@s.whatsapp.net"},
		{"user_jid", "15551234567@s.whatsapp.net", "15551234567@s.whatsapp.net"},
		{"lid_jid", "123456789012345@lid", "123456789012345@lid"},
		{"padded_jid", "  15551234567@s.whatsapp.net ", "15551234567@s.whatsapp.net"},
		{"group_jid", "120363000000000000@g.us", ""},
		{"other_server", "15551234567@example.com", ""},
		{"device_jid", "15551234567:12@s.whatsapp.net", ""},
		{"empty_user", "@s.whatsapp.net", ""},
		{"long_user", strings.Repeat("1", 21) + "@lid", ""},
		{"bad_phone", "12", ""},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := core.NormalizeRecipient(tt.in)
			if tt.want == "" {
				if !core.IsCode(err, core.CodeInvalid) {
					t.Fatalf("NormalizeRecipient(%q) = %q, %v; want %s", tt.in, got, err, core.CodeInvalid)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("NormalizeRecipient(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestValidateText(t *testing.T) {
	tests := []struct {
		name string
		text string
		code core.Code // "" for valid
	}{
		{"short", "hi", ""},
		{"max_ascii", strings.Repeat("a", core.MaxTextChars), ""},
		{"max_multibyte", strings.Repeat("é", core.MaxTextChars), ""}, // 8192 bytes, 4096 characters
		{"max_emoji", strings.Repeat("👋", core.MaxTextChars), ""},
		{"over_ascii", strings.Repeat("a", core.MaxTextChars+1), core.CodeTooLarge},
		{"over_multibyte", strings.Repeat("é", core.MaxTextChars+1), core.CodeTooLarge},
		{"empty", "", core.CodeInvalid},
		{"blank", " \n\t ", core.CodeInvalid},
		{"invalid_utf8", "hi \xff", core.CodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := core.ValidateText(tt.text)
			if core.ErrorCode(err) != tt.code {
				t.Fatalf("ValidateText(%d bytes) = %v, want code %q", len(tt.text), err, tt.code)
			}
		})
	}
}

func TestValidateSettings(t *testing.T) {
	tests := []struct {
		name     string
		s        core.Settings
		insecure bool
		ok       bool
		mention  string // a word the error must contain
	}{
		{"defaults", core.DefaultSettings(), false, true, ""},
		{"https_webhook", core.Settings{WebhookURL: "https://example.com/hook"}, false, true, ""},
		{"http_webhook_refused", core.Settings{WebhookURL: "http://example.com/hook"}, false, false, "webhookURL"},
		{"http_webhook_allowed_locally", core.Settings{WebhookURL: "http://127.0.0.1:9000/hook"}, true, true, ""},
		{"ftp_webhook", core.Settings{WebhookURL: "ftp://example.com/"}, true, false, "webhookURL"},
		{"relative_webhook", core.Settings{WebhookURL: "/hook"}, false, false, "webhookURL"},
		{"socks5_proxy", core.Settings{ProxyURL: "socks5://127.0.0.1:1080"}, false, true, ""},
		{"http_proxy", core.Settings{ProxyURL: "http://proxy.local:3128"}, false, true, ""},
		{"proxy_without_host", core.Settings{ProxyURL: "socks5://"}, false, false, "proxyURL"},
		{"proxy_bad_scheme", core.Settings{ProxyURL: "socks4://127.0.0.1:1080"}, false, false, "proxyURL"},
		{"display_name_100", core.Settings{DisplayName: strings.Repeat("ü", core.MaxDisplayNameLen)}, false, true, ""},
		{"display_name_101", core.Settings{DisplayName: strings.Repeat("ü", core.MaxDisplayNameLen+1)}, false, false, "displayName"},
		{"two_problems", core.Settings{ProxyURL: "x", WebhookURL: "y"}, false, false, "proxyURL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := core.ValidateSettings(tt.s, tt.insecure)
			if tt.ok {
				if err != nil {
					t.Fatalf("ValidateSettings = %v, want nil", err)
				}
				return
			}
			if !core.IsCode(err, core.CodeInvalid) || !strings.Contains(core.ErrorMessage(err), tt.mention) {
				t.Fatalf("ValidateSettings = %v, want %s naming %s", err, core.CodeInvalid, tt.mention)
			}
		})
	}
	err := core.ValidateSettings(core.Settings{ProxyURL: "x", WebhookURL: "y"}, false)
	if msg := core.ErrorMessage(err); !strings.Contains(msg, "webhookURL") {
		t.Fatalf("with two bad fields the message names only some: %q", msg)
	}
}
