package main

import (
	"context"
	"fmt"
	"log/slog"

	waLog "go.mau.fi/whatsmeow/util/log"
)

// slogLogger bridges whatsmeow's logger interface to slog: Sub(module) becomes
// With("module", …).
type slogLogger struct{ l *slog.Logger }

var _ waLog.Logger = slogLogger{}

func (s slogLogger) Errorf(msg string, args ...any) { s.log(slog.LevelError, msg, args) }
func (s slogLogger) Warnf(msg string, args ...any)  { s.log(slog.LevelWarn, msg, args) }
func (s slogLogger) Infof(msg string, args ...any)  { s.log(slog.LevelInfo, msg, args) }
func (s slogLogger) Debugf(msg string, args ...any) { s.log(slog.LevelDebug, msg, args) }

// Sub returns a logger that tags every record with the whatsmeow module.
func (s slogLogger) Sub(module string) waLog.Logger {
	return slogLogger{l: s.l.With("module", module)}
}

// log keeps the message constant ("whatsmeow") and puts whatsmeow's formatted text
// in a field, so records stay machine-readable.
func (s slogLogger) log(level slog.Level, msg string, args []any) {
	ctx := context.Background()
	if !s.l.Enabled(ctx, level) {
		return
	}
	s.l.Log(ctx, level, "whatsmeow", "detail", fmt.Sprintf(msg, args...))
}
