package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// NewLogger returns the process logger: JSON lines for log collectors (LogJSON) or
// text lines for a terminal (LogText), where each line's outcome is also shown as an
// emoji (✅ ok, ❌ failed, ⏳ in progress, 🔍 diagnostics) so a reader can tell them
// apart at a glance. The JSON output is never decorated.
func NewLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	lvl, err := parseLevel(level)
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch format {
	case LogJSON:
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case LogText, "":
		return slog.New(&emojiHandler{next: slog.NewTextHandler(w, opts)}), nil
	}
	return nil, fmt.Errorf("log format %q: want text or json", format)
}

// parseLevel parses debug, info, warn or error ("" is info).
func parseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info", "":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("%q: want debug, info, warn or error", s)
}

// emojiHandler prefixes each message with the emoji of its outcome: the "outcome"
// attribute when the line has one, else what a well-known message means.
type emojiHandler struct {
	next    slog.Handler
	outcome string // from WithAttrs
}

// Enabled reports whether the wrapped handler logs level.
func (h *emojiHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

// Handle decorates the message and hands the record on.
func (h *emojiHandler) Handle(ctx context.Context, r slog.Record) error {
	outcome := h.outcome
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "outcome" {
			outcome = a.Value.String()
			return false
		}
		return true
	})
	mark := emojiFor(r.Message, outcome, r.Level)
	if mark == "" {
		return h.next.Handle(ctx, r)
	}
	out := slog.NewRecord(r.Time, r.Level, mark+" "+r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool { out.AddAttrs(a); return true })
	return h.next.Handle(ctx, out)
}

// WithAttrs remembers an outcome set once for every line.
func (h *emojiHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	outcome := h.outcome
	for _, a := range attrs {
		if a.Key == "outcome" {
			outcome = a.Value.String()
		}
	}
	return &emojiHandler{next: h.next.WithAttrs(attrs), outcome: outcome}
}

// WithGroup opens a group on the wrapped handler; attributes inside it are not
// outcomes of the line.
func (h *emojiHandler) WithGroup(name string) slog.Handler {
	return &emojiHandler{next: h.next.WithGroup(name), outcome: h.outcome}
}

// Emoji of outcomes and messages.
const (
	markOK       = "✅"
	markFail     = "❌"
	markProgress = "⏳"
	markDiag     = "🔍"
)

// messageMarks are the outcomes of well-known messages that carry no outcome attribute.
var messageMarks = map[string]string{
	"session_connected":         markOK,
	"session_paired":            markOK,
	"wagate_ready":              markOK,
	"session_connecting":        markProgress,
	"session_reconnecting":      markProgress,
	"session_connect_deferred":  markProgress,
	"session_qr":                markProgress,
	"session_restore":           markProgress,
	"wagate_stopping":           markProgress,
	"session_stopped":           markFail,
	"session_client_outdated":   markFail,
	"session_connect_failed":    markFail,
	"session_fenced":            markFail,
	"message_send_failed":       markFail,
	"simulator_key_mismatch":    markFail,
	"diagnostics_store_failed":  markFail,
	"heartbeat_write_failed":    markFail,
	"message_sent":              markOK,
	"session_logged_out":        markOK,
	"session_deleted":           markOK,
	"session_pair_code_issued":  markProgress,
	"session_network_settings":  markProgress,
	"event_subscriber_too_slow": markFail,
}

// emojiFor returns the emoji of a line, or "" for a line with no outcome.
func emojiFor(msg, outcome string, level slog.Level) string {
	mark := ""
	switch strings.ToLower(outcome) {
	case "ok", "success", "succeeded", "connected", "done":
		mark = markOK
	case "fail", "failed", "error", "timeout":
		mark = markFail
	case "pending", "waiting", "retry", "retrying", "started":
		mark = markProgress
	case "":
		if m, ok := messageMarks[msg]; ok {
			mark = m
		} else if level >= slog.LevelError {
			mark = markFail
		}
	}
	if strings.HasPrefix(msg, "diagnostics") {
		if mark == "" {
			return markDiag
		}
		return markDiag + " " + mark
	}
	return mark
}
