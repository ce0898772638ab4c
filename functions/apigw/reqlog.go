package apigw

import (
	"context"
	"log/slog"
)

// reqLogger writes the log lines of one request. Each line carries the request's
// id, tenant and session; they are added when a line is written, so a level that is
// off costs nothing.
type reqLogger struct {
	l   *slog.Logger
	ctx context.Context
}

// log returns the logger of the request whose context is ctx.
func (s *Server) log(ctx context.Context) reqLogger { return reqLogger{l: s.Logger, ctx: ctx} }

// Info logs at LevelInfo.
func (r reqLogger) Info(msg string, args ...any) { r.Log(r.ctx, slog.LevelInfo, msg, args...) }

// Warn logs at LevelWarn.
func (r reqLogger) Warn(msg string, args ...any) { r.Log(r.ctx, slog.LevelWarn, msg, args...) }

// Error logs at LevelError.
func (r reqLogger) Error(msg string, args ...any) { r.Log(r.ctx, slog.LevelError, msg, args...) }

// Log logs at level, with the request's attributes first.
func (r reqLogger) Log(ctx context.Context, level slog.Level, msg string, args ...any) {
	if !r.l.Enabled(ctx, level) {
		return
	}
	i := infoFrom(r.ctx)
	all := make([]any, 0, 6+len(args))
	all = append(all, "request_id", i.id, "tenant", i.tenant)
	if i.session != "" {
		all = append(all, "session", i.session)
	}
	r.l.Log(ctx, level, msg, append(all, args...)...)
}
