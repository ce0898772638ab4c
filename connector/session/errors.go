package session

import "github.com/wagate/wagate/core"

// ErrClosed is returned by the Supervisor's methods after Close, Abort or Delete: the
// supervisor no longer runs. Its code is connector_unavailable, so a command that met
// it is retried (by this connector after a restart, or by another one).
var ErrClosed = core.Errorf(core.CodeConnectorUnavailable, "the session is not held by this connector any more")

// ErrLinked is returned by PairPhone for a session that is already linked to a phone.
var ErrLinked = core.Errorf(core.CodeWrongState, "the session is already linked; log out first to link another phone")

// ErrStopped is returned to a PairPhone or Logout caller when the session was stopped
// (disconnected, or a fatal outcome) before the request could be completed.
var ErrStopped = core.Errorf(core.CodeWrongState, "the session stopped before the request completed; connect it and try again")
