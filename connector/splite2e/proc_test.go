//go:build unix

package splite2e

import "github.com/wagate/wagate/connector/internal/proctest"

// proc is a child process of the stack (devapi or a connector).
type proc = proctest.Proc

// logLine is one decoded JSON log line of a child process.
type logLine = proctest.LogLine
