package apigw_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestBadInput sends every kind of bad request to every endpoint it applies to:
// each gets its documented status and code, and the server keeps serving.
func TestBadInput(t *testing.T) {
	e := newEnv(t)
	e.startConnector(t)
	e.connectedSession("s1") // tenant A's; tenant B asks for it below

	escaped := "/v1/sessions/" + url.PathEscape("../x")
	long := "/v1/sessions/" + strings.Repeat("a", 65)
	upper := "/v1/sessions/Support"
	send := `{"to":"15551234567","text":"hi"}`
	big := `{"to":"15551234567","text":"` + strings.Repeat("x", 70_000) + `"}`
	bigSettings := `{"displayName":"` + strings.Repeat("x", 70_000) + `"}`
	text4097 := `{"to":"15551234567","text":"` + strings.Repeat("é", 4097) + `"}`

	cases := []struct {
		name   string
		rq     req
		status int
		code   string
		allow  string // expected Allow header of a 405
	}{
		// Credentials.
		{"no_token", req{method: "GET", path: "/v1/sessions"}, 401, "unauthorized", ""},
		{"bad_token", req{method: "GET", path: "/v1/sessions", token: "nope"}, 401, "unauthorized", ""},
		{"basic_auth", req{method: "GET", path: "/v1/sessions/s1", header: map[string]string{"Authorization": "Basic dG9rZW4tYTo="}}, 401, "unauthorized", ""},
		{"bearer_without_token", req{method: "GET", path: "/v1/sessions/s1", header: map[string]string{"Authorization": "Bearer "}}, 401, "unauthorized", ""},
		{"no_token_send", req{method: "POST", path: "/v1/sessions/s1/messages", body: send}, 401, "unauthorized", ""},
		{"no_token_events", req{method: "GET", path: "/v1/events"}, 401, "unauthorized", ""},
		{"no_token_diagnostics", req{method: "POST", path: "/v1/diagnostics"}, 401, "unauthorized", ""},

		// Routing.
		{"unknown_route", req{method: "GET", path: "/v1/nope", token: tokenA}, 404, "not_found", ""},
		{"unknown_route_no_token", req{method: "GET", path: "/v2/sessions"}, 404, "not_found", ""},
		{"trailing_slash", req{method: "GET", path: "/v1/sessions/", token: tokenA}, 404, "not_found", ""},
		{"wrong_method_session", req{method: "PATCH", path: "/v1/sessions/s1", token: tokenA}, 405, "method_not_allowed", "DELETE, GET, PUT"},
		{"wrong_method_health", req{method: "POST", path: "/v1/health"}, 405, "method_not_allowed", "GET"},
		{"wrong_method_qr", req{method: "DELETE", path: "/v1/sessions/s1/qr", token: tokenA}, 405, "method_not_allowed", "GET"},
		{"wrong_method_messages", req{method: "PUT", path: "/v1/sessions/s1/messages", token: tokenA}, 405, "method_not_allowed", "GET, POST"},
		{"wrong_method_connect", req{method: "GET", path: "/v1/sessions/s1/connect", token: tokenA}, 405, "method_not_allowed", "POST"},

		// Session ids.
		{"escaped_dots_get", req{method: "GET", path: escaped, token: tokenA}, 400, "invalid_request", ""},
		{"escaped_dots_put", req{method: "PUT", path: escaped, token: tokenA, body: `{}`}, 400, "invalid_request", ""},
		{"long_id_get", req{method: "GET", path: long, token: tokenA}, 400, "invalid_request", ""},
		{"long_id_put", req{method: "PUT", path: long, token: tokenA, body: `{}`}, 400, "invalid_request", ""},
		{"upper_id_get", req{method: "GET", path: upper, token: tokenA}, 400, "invalid_request", ""},
		{"upper_id_delete", req{method: "DELETE", path: upper, token: tokenA}, 400, "invalid_request", ""},
		{"upper_id_connect", req{method: "POST", path: upper + "/connect", token: tokenA}, 400, "invalid_request", ""},
		{"upper_id_disconnect", req{method: "POST", path: upper + "/disconnect", token: tokenA}, 400, "invalid_request", ""},
		{"upper_id_logout", req{method: "POST", path: upper + "/logout", token: tokenA}, 400, "invalid_request", ""},
		{"upper_id_qr", req{method: "GET", path: upper + "/qr", token: tokenA}, 400, "invalid_request", ""},
		{"upper_id_pair", req{method: "POST", path: upper + "/pair-code", token: tokenA, body: `{"phone":"15551234567"}`}, 400, "invalid_request", ""},
		{"upper_id_send", req{method: "POST", path: upper + "/messages", token: tokenA, body: send}, 400, "invalid_request", ""},
		{"escaped_dots_send", req{method: "POST", path: escaped + "/messages", token: tokenA, body: send}, 400, "invalid_request", ""},
		{"long_id_list", req{method: "GET", path: long + "/messages", token: tokenA}, 400, "invalid_request", ""},
		{"bad_message_id", req{method: "GET", path: "/v1/sessions/s1/messages/" + url.PathEscape("a b"), token: tokenA}, 400, "invalid_request", ""},
		{"bad_command_id", req{method: "GET", path: "/v1/sessions/s1/pair-code/xyz", token: tokenA}, 400, "invalid_request", ""},

		// Bodies: JSON, fields, size, media type.
		{"malformed_settings", req{method: "PUT", path: "/v1/sessions/s2", token: tokenA, body: `{"displayName":`}, 400, "invalid_request", ""},
		{"unknown_setting", req{method: "PUT", path: "/v1/sessions/s2", token: tokenA, body: `{"displayName":"x","colour":"red"}`}, 400, "invalid_request", ""},
		{"wrong_type_setting", req{method: "PUT", path: "/v1/sessions/s2", token: tokenA, body: `{"preferIPv4":"yes"}`}, 400, "invalid_request", ""},
		{"empty_settings_body", req{method: "PUT", path: "/v1/sessions/s2", token: tokenA, noValidate: true}, 400, "invalid_request", ""},
		{"trailing_settings", req{method: "PUT", path: "/v1/sessions/s2", token: tokenA, body: `{} {}`}, 400, "invalid_request", ""},
		{"long_display_name", req{method: "PUT", path: "/v1/sessions/s2", token: tokenA, body: `{"displayName":"` + strings.Repeat("n", 101) + `"}`}, 400, "invalid_request", ""},
		{"bad_proxy", req{method: "PUT", path: "/v1/sessions/s2", token: tokenA, body: `{"proxyURL":"ftp://proxy:21"}`}, 400, "invalid_request", ""},
		{"insecure_webhook", req{method: "PUT", path: "/v1/sessions/s2", token: tokenA, body: `{"webhookURL":"http://example.com/hook"}`}, 400, "invalid_request", ""},
		{"oversize_settings", req{method: "PUT", path: "/v1/sessions/s2", token: tokenA, body: bigSettings}, 413, "too_large", ""},
		{"text_plain_settings", req{method: "PUT", path: "/v1/sessions/s2", token: tokenA, body: `{}`, header: map[string]string{"Content-Type": "text/plain"}}, 415, "unsupported_media_type", ""},
		{"malformed_send", req{method: "POST", path: "/v1/sessions/s1/messages", token: tokenA, body: `{"to":"15551234567","text":"hi"`}, 400, "invalid_request", ""},
		{"unknown_send_field", req{method: "POST", path: "/v1/sessions/s1/messages", token: tokenA, body: `{"to":"15551234567","text":"hi","media":"x"}`}, 400, "invalid_request", ""},
		{"trailing_send", req{method: "POST", path: "/v1/sessions/s1/messages", token: tokenA, body: send + `{}`}, 400, "invalid_request", ""},
		{"bad_recipient", req{method: "POST", path: "/v1/sessions/s1/messages", token: tokenA, body: `{"to":"call me","text":"hi"}`}, 400, "invalid_request", ""},
		{"group_recipient", req{method: "POST", path: "/v1/sessions/s1/messages", token: tokenA, body: `{"to":"123@g.us","text":"hi"}`}, 400, "invalid_request", ""},
		{"empty_text", req{method: "POST", path: "/v1/sessions/s1/messages", token: tokenA, body: `{"to":"15551234567","text":"  "}`}, 400, "invalid_request", ""},
		{"text_4097", req{method: "POST", path: "/v1/sessions/s1/messages", token: tokenA, body: text4097}, 413, "too_large", ""},
		{"oversize_send", req{method: "POST", path: "/v1/sessions/s1/messages", token: tokenA, body: big}, 413, "too_large", ""},
		{"form_send", req{method: "POST", path: "/v1/sessions/s1/messages", token: tokenA, body: send, header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}, 415, "unsupported_media_type", ""},
		{"long_idempotency_key", req{method: "POST", path: "/v1/sessions/s1/messages", token: tokenA, body: send, header: map[string]string{"Idempotency-Key": strings.Repeat("k", 129)}}, 400, "invalid_request", ""},
		{"bad_phone_letters", req{method: "POST", path: "/v1/sessions/s1/pair-code", token: tokenA, body: `{"phone":"555-CALL-NOW"}`}, 400, "invalid_request", ""},
		{"bad_phone_short", req{method: "POST", path: "/v1/sessions/s1/pair-code", token: tokenA, body: `{"phone":"12345"}`}, 400, "invalid_request", ""},
		{"bad_phone_leading_zero", req{method: "POST", path: "/v1/sessions/s1/pair-code", token: tokenA, body: `{"phone":"05551234567"}`}, 400, "invalid_request", ""},
		{"unknown_pair_field", req{method: "POST", path: "/v1/sessions/s1/pair-code", token: tokenA, body: `{"phone":"15551234567","pin":1}`}, 400, "invalid_request", ""},
		{"malformed_pair", req{method: "POST", path: "/v1/sessions/s1/pair-code", token: tokenA, body: `[`}, 400, "invalid_request", ""},

		// Query parameters.
		{"bad_direction", req{method: "GET", path: "/v1/sessions/s1/messages?direction=sideways", token: tokenA}, 400, "invalid_request", ""},
		{"limit_zero", req{method: "GET", path: "/v1/sessions/s1/messages?limit=0", token: tokenA}, 400, "invalid_request", ""},
		{"limit_too_big", req{method: "GET", path: "/v1/sessions/s1/messages?limit=201", token: tokenA}, 400, "invalid_request", ""},
		{"limit_text", req{method: "GET", path: "/v1/sessions/s1/messages?limit=ten", token: tokenA}, 400, "invalid_request", ""},
		{"bad_cursor", req{method: "GET", path: "/v1/sessions/s1/messages?cursor=not-a-cursor", token: tokenA}, 400, "invalid_request", ""},

		// Another tenant's session is not found, never forbidden.
		{"other_tenant_get", req{method: "GET", path: "/v1/sessions/s1", token: tokenB}, 404, "not_found", ""},
		{"other_tenant_delete", req{method: "DELETE", path: "/v1/sessions/s1", token: tokenB}, 404, "not_found", ""},
		{"other_tenant_connect", req{method: "POST", path: "/v1/sessions/s1/connect", token: tokenB}, 404, "not_found", ""},
		{"other_tenant_disconnect", req{method: "POST", path: "/v1/sessions/s1/disconnect", token: tokenB}, 404, "not_found", ""},
		{"other_tenant_logout", req{method: "POST", path: "/v1/sessions/s1/logout", token: tokenB}, 404, "not_found", ""},
		{"other_tenant_qr", req{method: "GET", path: "/v1/sessions/s1/qr", token: tokenB}, 404, "not_found", ""},
		{"other_tenant_pair", req{method: "POST", path: "/v1/sessions/s1/pair-code", token: tokenB, body: `{"phone":"15551234567"}`}, 404, "not_found", ""},
		{"other_tenant_send", req{method: "POST", path: "/v1/sessions/s1/messages", token: tokenB, body: send}, 404, "not_found", ""},
		{"other_tenant_list", req{method: "GET", path: "/v1/sessions/s1/messages", token: tokenB}, 404, "not_found", ""},
		{"missing_session", req{method: "GET", path: "/v1/sessions/nobody", token: tokenA}, 404, "not_found", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.rq.noValidate = true
			r := e.do(tc.rq)
			expect(t, r, tc.status, tc.code)
			if tc.status == http.StatusUnauthorized && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without WWW-Authenticate: Bearer, got %q", r.header.Get("WWW-Authenticate"))
			}
			if tc.allow != "" && r.header.Get("Allow") != tc.allow {
				t.Errorf("Allow %q, want %q", r.header.Get("Allow"), tc.allow)
			}
			expect(t, e.do(req{method: "GET", path: "/v1/health"}), http.StatusOK, "")
		})
	}
	// Nothing bad reached the connector: only the session set-up happened.
	if n := len(e.sent.ofType("")); n != 0 {
		t.Fatalf("%d commands sent for bad requests", n)
	}
	// Tenant B's PUT of the same id creates its own session, not A's.
	expect(t, e.do(req{method: "PUT", path: "/v1/sessions/s1", token: tokenB, body: `{}`}), http.StatusCreated, "")
}
