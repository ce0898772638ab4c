package core_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/wagate/wagate/core"
)

func TestErrorCodeAndMessage(t *testing.T) {
	cause := errors.New("dial tcp 10.0.0.5:443: secret detail")
	tests := []struct {
		name string
		err  error
		code core.Code
		msg  string
	}{
		{"nil", nil, "", ""},
		{"plain_error_is_internal", cause, core.CodeInternal, "internal error; see the server logs"},
		{"domain_error", core.Errorf(core.CodeNotFound, "session %q not found", "x"), core.CodeNotFound, `session "x" not found`},
		{"wrapped_domain_error", fmt.Errorf("get session: %w", core.Errorf(core.CodeWrongState, "not in qr")), core.CodeWrongState, "not in qr"},
		{"wrapped_cause_hidden", core.WrapError(core.CodeInvalid, cause, "bad body"), core.CodeInvalid, "bad body"},
		{"internal_message_hidden", core.WrapError(core.CodeInternal, cause, "store failed"), core.CodeInternal, "internal error; see the server logs"},
		{"retry_after", core.NewRetryAfter(3, "send queue full"), core.CodeRateLimited, "send queue full"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := core.ErrorCode(tt.err); got != tt.code {
				t.Fatalf("ErrorCode = %q, want %q", got, tt.code)
			}
			if got := core.ErrorMessage(tt.err); got != tt.msg {
				t.Fatalf("ErrorMessage = %q, want %q", got, tt.msg)
			}
		})
	}
	if !errors.Is(core.WrapError(core.CodeInternal, cause, "x"), cause) {
		t.Fatal("WrapError hides its cause from errors.Is")
	}
}

func TestRetryAfterError(t *testing.T) {
	var err error = fmt.Errorf("enqueue: %w", core.NewRetryAfter(7, "the send queue of %s is full", "desk"))
	var ra *core.RetryAfterError
	if !errors.As(err, &ra) || ra.Seconds != 7 {
		t.Fatalf("errors.As did not find the retry delay in %v", err)
	}
	if !core.IsCode(err, core.CodeRateLimited) || core.ErrorMessage(err) != "the send queue of desk is full" {
		t.Fatalf("code %q message %q", core.ErrorCode(err), core.ErrorMessage(err))
	}
}
