package core

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"reflect"
	"strings"
	"unicode/utf8"
)

// Limits of the API contract.
const (
	MaxBodyBytes       = 64 << 10 // request bodies
	MaxTextChars       = 4096     // message text, in characters
	MaxDisplayNameLen  = 100      // settings.displayName, in characters
	MaxIdempotencyKey  = 128      // Idempotency-Key header, in bytes
	minPhoneDigits     = 7
	maxPhoneDigits     = 15
	sessionIDPatternRE = `^[a-z0-9][a-z0-9_-]{0,63}$`
)

// SessionIDPattern is the pattern every session id matches (documented in the OpenAPI spec).
const SessionIDPattern = sessionIDPatternRE

// ValidateSessionID checks a session id from a path against SessionIDPattern.
func ValidateSessionID(id string) error {
	if !validSessionID(id) {
		return Errorf(CodeInvalid, "session id must match %s (lower case letters, digits, _ and -; at most 64)", SessionIDPattern)
	}
	return nil
}

func validSessionID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '_' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

// ValidateSettings checks settings; allowInsecureWebhooks permits http:// webhook
// targets (local use). Address checks after DNS resolution happen at delivery.
func ValidateSettings(s Settings, allowInsecureWebhooks bool) error {
	var problems []string
	if n := utf8.RuneCountInString(s.DisplayName); n > MaxDisplayNameLen {
		problems = append(problems, fmt.Sprintf("displayName is %d characters; at most %d", n, MaxDisplayNameLen))
	}
	if s.ProxyURL != "" {
		if err := validateURL(s.ProxyURL, "http", "https", "socks5"); err != nil {
			problems = append(problems, "proxyURL "+err.Error())
		}
	}
	if s.WebhookURL != "" {
		schemes := []string{"https"}
		if allowInsecureWebhooks {
			schemes = append(schemes, "http")
		}
		if err := validateURL(s.WebhookURL, schemes...); err != nil {
			problems = append(problems, "webhookURL "+err.Error())
		}
	}
	if len(problems) > 0 {
		return Errorf(CodeInvalid, "%s", strings.Join(problems, "; "))
	}
	return nil
}

func validateURL(raw string, schemes ...string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("must be an absolute URL like %s://host:port", schemes[0])
	}
	for _, s := range schemes {
		if u.Scheme == s {
			return nil
		}
	}
	return fmt.Errorf("must use %s", strings.Join(schemes, ", "))
}

// NormalizePhone turns a user-typed phone number ("+1 555-000 1111") into digits and
// checks it looks like an international number: 7–15 digits, no leading 0.
func NormalizePhone(raw string) (string, error) {
	var b strings.Builder
	for i, r := range strings.TrimSpace(raw) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0, r == ' ', r == '-', r == '(', r == ')', r == '.':
		default:
			return "", Errorf(CodeInvalid, "phone must be an international number in digits, like 15551234567")
		}
	}
	d := b.String()
	if len(d) < minPhoneDigits || len(d) > maxPhoneDigits || d[0] == '0' {
		return "", Errorf(CodeInvalid, "phone must have %d to %d digits with the country code and no leading 0", minPhoneDigits, maxPhoneDigits)
	}
	return d, nil
}

// NormalizeRecipient accepts a phone number or a user JID (digits@s.whatsapp.net or
// digits@lid) and returns the JID string to send to.
func NormalizeRecipient(raw string) (string, error) {
	if user, server, ok := strings.Cut(strings.TrimSpace(raw), "@"); ok {
		if server != "s.whatsapp.net" && server != "lid" {
			return "", Errorf(CodeInvalid, "to must be a phone number or a JID ending in @s.whatsapp.net or @lid")
		}
		if user == "" || strings.Trim(user, "0123456789") != "" || len(user) > 20 {
			return "", Errorf(CodeInvalid, "to has a malformed JID user part")
		}
		return user + "@" + server, nil
	}
	d, err := NormalizePhone(raw)
	if err != nil {
		return "", Errorf(CodeInvalid, "to must be a phone number like 15551234567 or a JID")
	}
	return d + "@s.whatsapp.net", nil
}

// ValidateText checks a message text: not blank, at most MaxTextChars characters.
func ValidateText(text string) error {
	if strings.TrimSpace(text) == "" {
		return Errorf(CodeInvalid, "text must not be empty")
	}
	if !utf8.ValidString(text) {
		return Errorf(CodeInvalid, "text must be valid UTF-8")
	}
	if n := utf8.RuneCountInString(text); n > MaxTextChars {
		return Errorf(CodeTooLarge, "text is %d characters; at most %d", n, MaxTextChars)
	}
	return nil
}

// DecodeJSON decodes one JSON value from r into v, rejecting unknown fields, trailing
// data and bodies over MaxBodyBytes, with errors that say what is wrong.
func DecodeJSON(r io.Reader, v any) error {
	data, err := io.ReadAll(io.LimitReader(r, MaxBodyBytes+1))
	if err != nil {
		return WrapError(CodeInvalid, err, "could not read the request body")
	}
	if len(data) > MaxBodyBytes {
		return Errorf(CodeTooLarge, "request body is over %d bytes", MaxBodyBytes)
	}
	return decodeStrict(data, v)
}

func decodeStrict(data []byte, v any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return Errorf(CodeInvalid, "request body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return Errorf(CodeInvalid, "malformed JSON: %s", jsonProblem(err))
	}
	if dec.More() {
		return Errorf(CodeInvalid, "malformed JSON: unexpected data after the object")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Errorf(CodeInvalid, "malformed JSON: unexpected data after the object")
	}
	return nil
}

// jsonProblem turns a decoder error into a short message naming the field or offset.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("syntax error at byte %d", syn.Offset)
	case errors.As(err, &typ):
		if typ.Field != "" {
			return fmt.Sprintf("field %q must be %s", typ.Field, jsonType(typ.Type))
		}
		return "expected " + jsonType(typ.Type)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "unexpected end of input"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	}
	return "invalid JSON"
}

// jsonType names what JSON a Go type takes, without Go type names (callers never
// see those).
func jsonType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "a JSON object"
	case reflect.Slice, reflect.Array:
		return "a JSON array"
	}
	return t.Kind().String()
}
