package wa

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"

	waLog "go.mau.fi/whatsmeow/util/log"
)

// longDigits matches runs of digits long enough to be a phone number.
var longDigits = regexp.MustCompile(`\d{7,}`)

// Logger adapts a *slog.Logger to whatsmeow's waLog.Logger. whatsmeow formats its
// own messages; the adapter logs them under the constant message "whatsmeow" with
// the text in "detail", phone-number-like digit runs redacted to their last 4 digits.
type Logger struct {
	log   *slog.Logger
	debug bool
	// module is whatsmeow's sub-logger name ("Recv", "Socket"; nested ones joined
	// by "/"). It is added to a line when the line is written: whatsmeow makes
	// several sub-loggers per client, and deriving a slog logger for each would
	// cost every idle session memory for lines it rarely writes.
	module string
}

var _ waLog.Logger = (*Logger)(nil)

// NewLogger returns the adapter over log. whatsmeow's debug lines (every node sent and
// received) are dropped unless debug is true.
func NewLogger(log *slog.Logger, debug bool) *Logger {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Logger{log: log, debug: debug}
}

// Sub returns a logger whose lines carry module.
func (l *Logger) Sub(module string) waLog.Logger {
	if l.module != "" {
		module = l.module + "/" + module
	}
	return &Logger{log: l.log, debug: l.debug, module: module}
}

// Errorf logs at error level.
func (l *Logger) Errorf(msg string, args ...any) { l.emit(slog.LevelError, msg, args) }

// Warnf logs at warn level.
func (l *Logger) Warnf(msg string, args ...any) { l.emit(slog.LevelWarn, msg, args) }

// Infof logs at info level.
func (l *Logger) Infof(msg string, args ...any) { l.emit(slog.LevelInfo, msg, args) }

// Debugf logs at debug level when debug logging was asked for.
func (l *Logger) Debugf(msg string, args ...any) {
	if l.debug {
		l.emit(slog.LevelDebug, msg, args)
	}
}

func (l *Logger) emit(level slog.Level, msg string, args []any) {
	ctx := context.Background()
	if !l.log.Enabled(ctx, level) {
		return
	}
	detail := Redact(fmt.Sprintf(msg, args...))
	if l.module == "" {
		l.log.Log(ctx, level, "whatsmeow", "event", "whatsmeow", "detail", detail)
		return
	}
	l.log.Log(ctx, level, "whatsmeow", "event", "whatsmeow", "module", l.module, "detail", detail)
}

// Redact replaces every run of 7 or more digits in s (a phone number, a JID user) by
// asterisks and its last 4 digits.
func Redact(s string) string {
	return longDigits.ReplaceAllStringFunc(s, func(d string) string {
		return "***" + d[len(d)-4:]
	})
}
