package session

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/socket"
	"go.mau.fi/whatsmeow/types/events"
	waLog "go.mau.fi/whatsmeow/util/log"

	"github.com/wagate/wagate/core"
)

func TestClassifyWhatsmeowEvents(t *testing.T) {
	tests := []struct {
		name       string
		evt        any
		action     action
		status     core.Status
		code       string
		reconnects bool
		wipe       bool
		retryAfter time.Duration
	}{
		{"connected", &events.Connected{}, actConnected, core.StatusConnected, "", false, false, 0},
		{"pair_success_waits_for_login", &events.PairSuccess{}, actPaired, core.StatusConnecting, "", false, false, 0},
		{"disconnected_retries", &events.Disconnected{}, actRetry, core.StatusReconnecting, CodeDisconnected, true, false, 0},
		{"one_missed_keepalive_is_tolerated", &events.KeepAliveTimeout{ErrorCount: 1}, actIgnore, "", "", false, false, 0},
		{"keepalives_beyond_threshold_retry", &events.KeepAliveTimeout{ErrorCount: 3}, actRetry, core.StatusReconnecting, CodeKeepAliveTimeout, true, false, 0},
		{"stream_error_retries", &events.StreamError{Code: "516"}, actRetry, core.StatusReconnecting, CodeStreamError, true, false, 0},
		{"failure_503_retries", &events.ConnectFailure{Reason: events.ConnectFailureServiceUnavailable}, actRetry, core.StatusReconnecting, CodeServerError, true, false, 0},
		{"failure_500_retries", &events.ConnectFailure{Reason: events.ConnectFailureInternalServerError}, actRetry, core.StatusReconnecting, CodeServerError, true, false, 0},
		{"logged_out_wipes_and_stops", &events.LoggedOut{Reason: events.ConnectFailureLoggedOut}, actStop, core.StatusLoggedOut, CodeLoggedOut, false, true, 0},
		{"failure_401_is_logged_out", &events.ConnectFailure{Reason: events.ConnectFailureLoggedOut}, actStop, core.StatusLoggedOut, CodeLoggedOut, false, true, 0},
		{"replaced_never_fights", &events.StreamReplaced{}, actStop, core.StatusReplaced, CodeReplaced, false, false, 0},
		{"outdated_stops", &events.ClientOutdated{}, actStop, core.StatusOutdated, CodeOutdated, false, false, 0},
		{"failure_405_is_outdated", &events.ConnectFailure{Reason: events.ConnectFailureClientOutdated}, actStop, core.StatusOutdated, CodeOutdated, false, false, 0},
		{"temporary_ban_until_expiry", &events.TemporaryBan{Code: events.TempBanBlockedByUsers, Expire: 90 * time.Second}, actBanned, core.StatusBanned, CodeBanned, false, false, 90 * time.Second},
		{"unknown_failure_fails", &events.ConnectFailure{Reason: events.ConnectFailureBadUserAgent, Message: "bad ua"}, actStop, core.StatusFailed, CodeConnectFailure, false, false, 0},
		{"failure_without_reason_fails", &events.ConnectFailure{}, actStop, core.StatusFailed, CodeConnectFailure, false, false, 0},
		{"pair_error_stops", &events.PairError{Error: errors.New("hmac")}, actStop, core.StatusDisconnected, CodePairFailed, false, false, 0},
		{"other_events_ignored", &events.OfflineSyncCompleted{}, actIgnore, "", "", false, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := classify(tt.evt, 3)
			if o.action != tt.action || o.status != tt.status || o.code != tt.code {
				t.Fatalf("classify(%T) = action %d status %q code %q; want %d %q %q",
					tt.evt, o.action, o.status, o.code, tt.action, tt.status, tt.code)
			}
			if got := o.action == actRetry; got != tt.reconnects {
				t.Errorf("reconnects = %v, want %v", got, tt.reconnects)
			}
			if tt.status.Fatal() && o.action == actRetry {
				t.Errorf("fatal status %q must not reconnect", tt.status)
			}
			if o.wipe != tt.wipe || o.retryAfter != tt.retryAfter {
				t.Errorf("wipe %v retryAfter %v, want %v %v", o.wipe, o.retryAfter, tt.wipe, tt.retryAfter)
			}
			if o.action != actIgnore && o.action != actConnected && o.action != actPaired && o.message == "" {
				t.Error("a lastError needs a message")
			}
		})
	}
}

// dialStatus returns the error whatsmeow's socket gives when the websocket upgrade
// is answered with HTTP status code.
func dialStatus(t *testing.T, code int) error {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(code)
	}))
	defer srv.Close()
	fs := socket.NewFrameSocket(waLog.Noop, srv.Client())
	fs.URL = "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws/chat"
	err := fs.Connect(context.Background())
	var se socket.ErrWithStatusCode
	if !errors.As(err, &se) || se.StatusCode != code {
		t.Fatalf("dial answered %d gave %v", code, err)
	}
	return err
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

var _ net.Error = timeoutErr{}

func TestClassifyConnectErrors(t *testing.T) {
	tests := []struct {
		name string
		err  error
		act  action
		code string
	}{
		{"already_connected_ignored", whatsmeow.ErrAlreadyConnected, actIgnore, ""},
		{"http_503_is_server_error", dialStatus(t, 503), actRetry, CodeServerError},
		{"http_403_retries", dialStatus(t, 403), actRetry, CodeConnectFailed},
		{"dns_failure_retries", &net.DNSError{Err: "no such host", Name: "web.whatsapp.com"}, actRetry, CodeConnectFailed},
		{"refused_retries", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, actRetry, CodeConnectFailed},
		{"deadline_is_timeout", fmt.Errorf("dial: %w", context.DeadlineExceeded), actRetry, CodeConnectTimeout},
		{"net_timeout_is_timeout", &net.OpError{Op: "dial", Err: timeoutErr{}}, actRetry, CodeConnectTimeout},
		{"handshake_failure_retries", errors.New("noise handshake failed: timed out"), actRetry, CodeConnectFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := classifyConnectError(tt.err)
			if o.action != tt.act || o.code != tt.code {
				t.Errorf("classifyConnectError(%v) = %d %q, want %d %q", tt.err, o.action, o.code, tt.act, tt.code)
			}
			if o.action == actRetry && o.status != core.StatusReconnecting {
				t.Errorf("status %q, want reconnecting", o.status)
			}
		})
	}
}

func TestConfigValidateListsEveryProblem(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	err := Config{SendInterval: -1}.Validate()
	if err == nil {
		t.Fatal("zero config accepted")
	}
	for _, want := range []string{"send queue", "send interval", "send timeout", "connect timeout", "keepalive", "call timeout"} {
		if !contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
